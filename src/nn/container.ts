import { ValueError } from '../tensor/errors';
import type { Tensor } from '../tensor/tensor';
import { ReLU } from './activation';
import { Conv2d } from './conv';
import { Linear } from './linear';
import { Module } from './module';

/**
 * Runs modules in order; children are keyed "0", "1", … (or by the names of a record passed
 * as the only argument). A Linear directly followed by a ReLU runs as one fused
 * linear + bias + ReLU kernel call (same values and gradients, one pass less); set
 * `fuse = false` to run them separately.
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
    for (let i = 0; i < mods.length; i++) {
      const m = mods[i]!;
      const next = mods[i + 1];
      if (this.fuse && next && (m.constructor === Linear || m.constructor === Conv2d) && next.constructor === ReLU) {
        x = (m as Linear | Conv2d).forwardActivation(x, 'relu');
        i++;
      } else {
        x = m.call(x);
      }
    }
    return x;
  }
}
