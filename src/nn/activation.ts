/** Activation layers: parameter-free modules around the tensor ops (gradients included). */
import { ValueError } from '../tensor/errors';
import type { Tensor } from '../tensor/tensor';
import { Module } from './module';

/** max(0, x). Followed directly after a Linear inside Sequential, it is fused into its kernel. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
}

/** x for x ≥ 0, negativeSlope·x otherwise (default slope 0.01). */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  constructor(negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope)) {
      throw new ValueError(`LeakyReLU: negativeSlope must be a finite number, got ${negativeSlope}`);
    }
    this.negativeSlope = negativeSlope;
  }
  forward(x: Tensor): Tensor { return x.leakyRelu(this.negativeSlope); }
  override extraRepr(): string { return `negativeSlope=${this.negativeSlope}`; }
}

/** 1/(1 + e^(−x)). */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
}

/** GELU, exact erf form 0.5·x·(1 + erf(x/√2)) (PyTorch's default; no tanh approximation). */
export class GELU extends Module {
  forward(x: Tensor): Tensor { return x.gelu(); }
}

/** Softmax along `dim` (default −1, the last dimension; PyTorch has no default and warns). */
export class Softmax extends Module {
  constructor(readonly dim = -1) { super(); }
  forward(x: Tensor): Tensor { return x.softmax(this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

/** log(softmax(x)) along `dim` (default −1), computed stably. */
export class LogSoftmax extends Module {
  constructor(readonly dim = -1) { super(); }
  forward(x: Tensor): Tensor { return x.logSoftmax(this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

/** Returns its input. */
export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
}
