import { isGradEnabled } from '../tensor/autograd';
import { ShapeError, ValueError, fmtShape } from '../tensor/errors';
import type { Tensor } from '../tensor/tensor';
import { Module } from './module';
import { isPlain, registerPlainContainer } from './plain';

/**
 * Skip connection: y = s(x) + block(x), where s is the identity, or `projection` (e.g. a
 * Linear, or a 1x1 Conv2d with a stride) when the block changes the shape. State keys:
 * "block.…" and "projection.…".
 *
 * ```ts
 * new nn.Residual(new nn.Sequential(new nn.Linear(64, 64), new nn.ReLU(), new nn.Linear(64, 64)));
 * new nn.Residual(new nn.Conv2d(16, 32, 3, { stride: 2, padding: 1 }), { projection: new nn.Conv2d(16, 32, 1, { stride: 2 }) });
 * ```
 */
export class Residual extends Module {
  block: Module;
  projection: Module | null;

  constructor(block: Module, opts: { projection?: Module | null } = {}) {
    super();
    if (!(block instanceof Module)) throw new ValueError('Residual: block must be a Module');
    this.block = this.registerModule('block', block);
    this.projection = this.registerModule('projection', opts.projection ?? null);
  }

  forward(x: Tensor): Tensor {
    const y = this.block.call(x);
    const s = this.projection ? this.projection.call(x) : x;
    if (y.ndim !== s.ndim || y.shape.some((d, i) => d !== s.shape[i])) {
      throw new ShapeError(`Residual: the block maps ${fmtShape(x.shape)} to ${fmtShape(y.shape)} but the skip path gives ${fmtShape(s.shape)}`
        + (this.projection ? '' : '; pass a projection module that maps the input to the block\'s output shape'));
    }
    const out = s.add(y);
    if (isGradEnabled()) {
      // The branch outputs feed only the sum: when a built-in module made them, nothing but the
      // graph holds them, and their buffers go back to the pool once backward() frees it.
      for (const [t, m] of [[y, this.block], [s, this.projection]] as const) {
        if (m && t !== x && t.requiresGrad && t.data.buffer !== x.data.buffer && isPlain(m)) t._recycle = true;
      }
    }
    return out;
  }
}

registerPlainContainer(Residual);
