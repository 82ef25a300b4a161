import { ValueError } from '../tensor/errors';
import * as F from '../tensor/functional';
import type { Generator } from '../tensor/random';
import type { Tensor } from '../tensor/tensor';
import { Module } from './module';

/**
 * Inverted dropout: while training, each element is zeroed with probability p and the rest are
 * scaled by 1/(1−p), so eval() needs no rescaling and is the identity. Masks come from
 * `generator` or the default seeded generator.
 */
export class Dropout extends Module {
  readonly p: number;
  private readonly _generator: Generator | undefined;

  constructor(p = 0.5, opts: { generator?: Generator } = {}) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new ValueError(`dropout probability has to be between 0 and 1, but got ${p}`);
    }
    this.p = p;
    this._generator = opts.generator;
  }

  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training, this._generator);
  }

  override extraRepr(): string { return `p=${this.p}`; }
}
