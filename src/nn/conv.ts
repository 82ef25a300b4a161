import { ValueError } from '../tensor/errors';
import * as F from '../tensor/functional';
import type { Generator } from '../tensor/random';
import { Tensor } from '../tensor/tensor';
import * as init from './init';
import { Module } from './module';

export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  /** Zero padding per side, or 'valid' (0) or 'same' (stride 1 and odd kernels only). */
  padding?: Pair | 'valid' | 'same';
  bias?: boolean;
  generator?: Generator;
}

export function toPair(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!Array.isArray(v) && typeof v !== 'number') throw new ValueError(`${op}: ${name} must be a number or a pair, got ${String(v)}`);
  for (const x of p) {
    if (!Number.isInteger(x) || x < min) throw new ValueError(`${op}: ${name} must be an integer ≥ ${min} (or a pair of them), got ${String(v)}`);
  }
  return p;
}

/**
 * 2-D convolution (cross-correlation) over NCHW input: x [N, inChannels, H, W] →
 * [N, outChannels, H', W'] with H' = ⌊(H + 2·padding − k)/stride⌋ + 1. Weight
 * [outChannels, inChannels, kh, kw], bias [outChannels]; PyTorch's default initialisation
 * (Kaiming-uniform a = √5: U(±1/√fanIn), fanIn = inChannels·kh·kw; bias the same range).
 * Not supported: dilation, groups, padding modes other than zeros.
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  weight: Tensor;
  bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dOptions = {}) {
    super();
    for (const [n, v] of [['inChannels', inChannels], ['outChannels', outChannels]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ValueError(`Conv2d: ${n} must be a positive integer, got ${v}`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toPair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = toPair('Conv2d', 'stride', opts.stride ?? 1, 1);
    const pad = opts.padding ?? 0;
    if (pad === 'valid') this.padding = [0, 0];
    else if (pad === 'same') {
      const [kh, kw] = this.kernelSize;
      if (this.stride[0] !== 1 || this.stride[1] !== 1 || kh % 2 === 0 || kw % 2 === 0) {
        throw new ValueError(`Conv2d: padding='same' needs stride 1 and odd kernel sizes, got kernel ${kh}x${kw}, stride ${this.stride.join('x')}`);
      }
      this.padding = [(kh - 1) / 2, (kw - 1) / 2];
    } else this.padding = toPair('Conv2d', 'padding', pad, 0);
    const [kh, kw] = this.kernelSize;
    this.weight = this.registerParameter('weight',
      new Tensor(new Float32Array(outChannels * inChannels * kh * kw), [outChannels, inChannels, kh, kw], true));
    this.bias = this.registerParameter('bias', opts.bias === false ? null : new Tensor(new Float32Array(outChannels), [outChannels], true));
    this.resetParameters(opts.generator);
  }

  /** Re-draws the weights with PyTorch's default initialisation. */
  resetParameters(generator?: Generator): void {
    const g = generator ? { generator } : {};
    init.kaimingUniform(this.weight, { a: Math.sqrt(5), ...g });
    if (this.bias) {
      const bound = 1 / Math.sqrt(this.inChannels * this.kernelSize[0] * this.kernelSize[1]);
      init.uniform(this.bias, -bound, bound, g);
    }
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }

  /** forward() with an activation fused into the convolution (Sequential uses it for Conv2d → ReLU). */
  forwardActivation(x: Tensor, act: 'none' | 'relu'): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, act });
  }

  /**
   * forward() with an activation and max pooling (window = stride = pool, no padding) fused in
   * (Sequential uses it for Conv2d → ReLU → MaxPool2d): maxPool2d(act(conv(x))).
   */
  forwardPooled(x: Tensor, act: 'none' | 'relu', pool: readonly [number, number]): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, act, pool });
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize.join(', ')}], stride=[${this.stride.join(', ')}]`;
    if (this.padding[0] || this.padding[1]) s += `, padding=[${this.padding.join(', ')}]`;
    if (!this.bias) s += ', bias=false';
    return s;
  }
}
