import { isGradEnabled } from '../tensor/autograd';
import { ValueError } from '../tensor/errors';
import type { Tensor } from '../tensor/tensor';
import { ReLU } from './activation';
import { Conv2d } from './conv';
import { Linear } from './linear';
import { Module } from './module';
import { MaxPool2d } from './pooling';
import { isPlain, registerPlainContainer } from './plain';

/**
 * How many modules from mods[i] run as one fused kernel call: Linear → ReLU and Conv2d → ReLU
 * (2), Conv2d → ReLU → MaxPool2d and Conv2d → MaxPool2d with stride = window and no padding
 * (3 and 2), else 1. Only the exact built-in classes fuse (a subclass may change forward).
 */
function fusedRun(mods: Module[], i: number): number {
  const m = mods[i]!;
  const a = mods[i + 1];
  const b = mods[i + 2];
  const poolable = (p: Module | undefined): p is MaxPool2d => p !== undefined && p.constructor === MaxPool2d &&
    (p as MaxPool2d).stride[0] === (p as MaxPool2d).kernelSize[0] && (p as MaxPool2d).stride[1] === (p as MaxPool2d).kernelSize[1] &&
    (p as MaxPool2d).padding[0] === 0 && (p as MaxPool2d).padding[1] === 0;
  if (m.constructor === Conv2d) {
    if (a?.constructor === ReLU && poolable(b)) return 3;
    if (poolable(a)) return 2;
  }
  if ((m.constructor === Linear || m.constructor === Conv2d) && a?.constructor === ReLU) return 2;
  return 1;
}

/**
 * Runs modules in order; children are keyed "0", "1", … (or by the names of a record passed
 * as the only argument). A Linear (or Conv2d) directly followed by a ReLU runs as one fused
 * kernel call, and so does a Conv2d [→ ReLU] → MaxPool2d (window = stride, no padding), which
 * never writes the full-size convolution output (same values and gradients, fewer passes over
 * memory); set `fuse = false` to run them separately.
 *
 * An activation passed between two built-in layers (Linear, Conv2d, activations, Dropout,
 * Flatten, pooling, batch norm, and Sequential or Residual containers of those) is referenced by
 * nothing but the autograd graph: its buffer is reused for later steps once backward() has
 * freed the graph (the returned output never is).
 *
 * ```ts
 * const mlp = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
 * ```
 */
export class Sequential extends Module {
  /** Fuse Linear → ReLU pairs into one kernel call (default true). */
  fuse = true;

  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && first && !(first instanceof Module) && typeof first === 'object') {
      for (const [k, m] of Object.entries(first)) this.append(m, k);
    } else {
      (modules as Module[]).forEach((m) => this.append(m));
    }
  }

  /** Adds a module at the end (named by its index unless `name` is given). Returns this. */
  append(m: Module, name?: string): this {
    if (!(m instanceof Module)) throw new ValueError(`Sequential: item ${this._modules.size} is not a Module (got ${typeof m})`);
    this.registerModule(name ?? String(this._modules.size), m);
    return this;
  }

  get length(): number { return this._modules.size; }

  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    const mods = this.children();
    const m = mods[i < 0 ? mods.length + i : i];
    if (!m) throw new ValueError(`Sequential.at: index ${i} is out of range for ${mods.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<Module> { return this.children()[Symbol.iterator](); }

  forward(x: Tensor): Tensor {
    const mods = this.children();
    const input = x;
    // Activations produced by a plain layer and consumed by a plain layer.
    const between: Tensor[] = [];
    let producedByPlain = false;
    for (let i = 0; i < mods.length; i++) {
      const m = mods[i]!;
      const run = this.fuse ? fusedRun(mods, i) : 1;
      let plain = true;
      for (let k = i; k < i + run; k++) plain &&= isPlain(mods[k]!);
      if (producedByPlain && plain) between.push(x);
      if (run === 1) {
        x = m.call(x);
      } else {
        const last = mods[i + run - 1]!;
        const act = mods[i + 1]!.constructor === ReLU ? 'relu' : 'none';
        if (last instanceof MaxPool2d) x = (m as Conv2d).forwardPooled(x, act, last.kernelSize);
        else x = (m as Linear | Conv2d).forwardActivation(x, 'relu');
      }
      i += run - 1;
      producedByPlain = plain;
    }
    if (isGradEnabled()) {
      // Views share buffers (Flatten, an identity Dropout): never the input's or the output's.
      for (const t of between) {
        if (t.requiresGrad && t.data.buffer !== input.data.buffer && t.data.buffer !== x.data.buffer) t._recycle = true;
      }
    }
    return x;
  }
}
registerPlainContainer(Sequential);
