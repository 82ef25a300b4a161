import { GELU, Identity, LeakyReLU, ReLU, Sigmoid, Tanh } from './activation';
import { BatchNorm1d, BatchNorm2d } from './batchnorm';
import { Conv2d } from './conv';
import { Dropout } from './dropout';
import { Flatten } from './flatten';
import { Linear } from './linear';
import { Module } from './module';
import { AvgPool2d, MaxPool2d } from './pooling';

/**
 * Built-in layers whose forward keeps no reference to its input or output outside the autograd
 * graph (the exact classes, not subclasses, and not with a replaced forward/call). Batch norm
 * updates its running statistics, its own buffers, and keeps nothing of the batch.
 */
const PLAIN: ReadonlySet<unknown> = new Set<unknown>([
  Linear, Conv2d, ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Identity, Dropout, Flatten, MaxPool2d, AvgPool2d,
  BatchNorm1d, BatchNorm2d,
]);

/** Built-in containers (Sequential, Residual) that only hand tensors between their children. */
const CONTAINERS = new Set<unknown>();

/** @internal Registers a built-in container class (exact class) for isPlain. */
export function registerPlainContainer(ctor: unknown): void {
  CONTAINERS.add(ctor);
}

/**
 * Whether m keeps no reference to its input or output outside the autograd graph: a PLAIN
 * layer, or a built-in container whose children all are. Such activations can go back to the
 * buffer pool once backward() has freed the graph.
 */
export function isPlain(m: Module): boolean {
  const ctor = m.constructor as { prototype: Module };
  if (m.forward !== ctor.prototype.forward || m.call !== Module.prototype.call) return false;
  if (PLAIN.has(ctor)) return true;
  return CONTAINERS.has(ctor) && m.children().every(isPlain);
}
