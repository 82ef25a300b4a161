/// <reference types="node" preserve="true" />
// lernen's declarations use Node's types (Buffer, AbortSignal, NodeJS.WritableStream): the directive
// makes a consumer's compiler load @types/node (a dependency of lernen) with them.
/**
 * lernen — typed deep learning for Node.js.
 *
 * Tensors with reverse-mode autograd on an OpenBLAS-backed native addon, with a pure-JS backend
 * implementing the same kernel contract as fallback and baseline.
 */
export * from './tensor';
export { getBackend, setBackend, setNumThreads, getNumThreads } from './backend';
export type { Backend, BackendName } from './backend';
export { doctor } from './doctor';
export type { DoctorReport } from './doctor';
import * as F from './tensor/functional';
/** Differentiable kernels-level ops (linear, conv2d, pooling, dropout, batchNorm, softmaxCrossEntropy). */
export const ops = F;
/** Layers, Module, init, functional ops and losses, state files. */
export * as nn from './nn';
/** Optimizers, learning-rate schedulers, gradient clipping. */
export * as optim from './optim';
/** IDX files, MNIST, datasets, loaders, augmentation, synthetic data. */
export * as data from './data';
/** fit(), evaluate(), History, callbacks, diagnose(), plots, preset networks. */
export * as train from './train';
export { fit, evaluate, evaluateAsync } from './train/fit';
export { diagnose } from './train/diagnose';
/** Hyperparameter search: spaces, samplers, pruners, budgets, studies in SQLite/PostgreSQL, workers. */
export * as search from './search';
