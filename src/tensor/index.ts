export { Tensor, concat, stack } from './tensor';
export { tensor, fromBuffer, zeros, ones, full, zerosLike, onesLike, arange, rand, randn } from './create';
export type { TensorOptions } from './create';
export { noGrad, enableGrad, isGradEnabled } from './autograd';
export { Generator, manualSeed, defaultGenerator } from './random';
export { LernenError, ShapeError, ValueError } from './errors';
export { memoryStats, resetMemoryStats, emptyPool } from './pool';
export type { MemoryStats } from './pool';
