import type { Activation } from '../backend/backend';
import { ValueError } from '../tensor/errors';
import * as F from '../tensor/functional';
import type { Generator } from '../tensor/random';
import { Tensor } from '../tensor/tensor';
import * as init from './init';
import { Module } from './module';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the seeded default generator). */
  generator?: Generator;
}

export function checkFeatures(op: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ValueError(`${op}: ${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * y = x·Wᵀ + b, with weight W [outFeatures, inFeatures] and bias b [outFeatures] (PyTorch
 * layout); x is [..., inFeatures]. Initialised as PyTorch: Kaiming-uniform with a = √5, which
 * is U(−1/√inFeatures, 1/√inFeatures) for the weight, and the same range for the bias.
 *
 * ```ts
 * const fc = new nn.Linear(784, 10);
 * fc.call(x); // x [batch, 784] → [batch, 10]
 * ```
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    this.inFeatures = checkFeatures('Linear', 'inFeatures', inFeatures);
    this.outFeatures = checkFeatures('Linear', 'outFeatures', outFeatures);
    this.weight = this.registerParameter('weight', new Tensor(new Float32Array(outFeatures * inFeatures), [outFeatures, inFeatures], true));
    this.bias = this.registerParameter('bias', opts.bias === false ? null : new Tensor(new Float32Array(outFeatures), [outFeatures], true));
    this.resetParameters(opts.generator);
  }

  /** Re-draws the weights with PyTorch's default initialisation. */
  resetParameters(generator?: Generator): void {
    const g = generator ? { generator } : {};
    init.kaimingUniform(this.weight, { a: Math.sqrt(5), ...g });
    if (this.bias) {
      const bound = 1 / Math.sqrt(this.inFeatures);
      init.uniform(this.bias, -bound, bound, g);
    }
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }

  /** forward fused with an activation (one kernel); Sequential uses it for Linear → ReLU. */
  forwardActivation(x: Tensor, act: Activation): Tensor {
    return F.linear(x, this.weight, this.bias, act);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
