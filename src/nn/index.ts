/**
 * Layers (`nn.Linear`, `nn.Conv2d`, …), the Module base, weight initialisation (`nn.init`),
 * stateless functions and losses (`nn.functional`), and state files (`nn.save`, `nn.load`).
 */
export { Module, StateDictError, isLoadedState } from './module';
export type { StateDict, LoadedState } from './module';
export { Linear } from './linear';
export type { LinearOptions } from './linear';
export { Conv2d } from './conv';
export type { Conv2dOptions, Pair } from './conv';
export { MaxPool2d, AvgPool2d } from './pooling';
export type { Pool2dOptions } from './pooling';
export { Flatten } from './flatten';
export { ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax, Identity } from './activation';
export { Sequential } from './container';
export { Dropout } from './dropout';
export { BatchNorm1d, BatchNorm2d } from './batchnorm';
export type { BatchNormOptions } from './batchnorm';
export { Residual } from './residual';
export { ActivityRegularization } from './regularization';
export type { ActivityRegularizationOptions } from './regularization';
export { save, load, encodeState, decodeState, writeFileAtomic, crc32, StateFileError, FORMAT_VERSION } from './serialize';
export type { DecodedState, EncodeOptions } from './serialize';
export * as init from './init';
export * as functional from './functional';
