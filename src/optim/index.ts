/**
 * Optimizers (SGD, Adam, AdamW, RMSprop, and the gradient-free OnePlusOneES), learning-rate
 * schedulers, gradient clipping, and optimizer state files (`optim.save`, `optim.load`).
 */
export { Optimizer, OptimizerStateError } from './optimizer';
export type { Closure, OptimizerStateDict, ParamGroup, ParamGroupInput, ParamState, Params } from './optimizer';
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { RMSprop } from './rmsprop';
export type { RMSpropOptions } from './rmsprop';
export { OnePlusOneES } from './es';
export type { OnePlusOneESOptions } from './es';
export {
  LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, LambdaLR, SequentialLR,
} from './lr_scheduler';
export type { OptimizerLike } from './lr_scheduler';
export { OneCycleLR } from './one_cycle';
export type { OneCycleOptions } from './one_cycle';
export { ReduceLROnPlateau } from './plateau';
export type { ReduceLROnPlateauOptions } from './plateau';
export { clipGradNorm, clipGradValue } from './clip';
export { save, load, encodeOptimizerState, decodeOptimizerState } from './serialize';
