import * as F from '../tensor/functional';
import type { Tensor } from '../tensor/tensor';
import { type Pair, toPair } from './conv';
import { Module } from './module';

export interface Pool2dOptions {
  /** Default: the kernel size (PyTorch). */
  stride?: Pair;
  /** Zero padding per side (max pooling treats it as −∞), at most half the kernel. */
  padding?: Pair;
}

abstract class Pool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(kernelSize: Pair, opts: Pool2dOptions = {}) {
    super();
    const name = new.target.name;
    this.kernelSize = toPair(name, 'kernelSize', kernelSize, 1);
    this.stride = toPair(name, 'stride', opts.stride ?? kernelSize, 1);
    this.padding = toPair(name, 'padding', opts.padding ?? 0, 0);
  }

  override extraRepr(): string {
    return `kernelSize=[${this.kernelSize.join(', ')}], stride=[${this.stride.join(', ')}], padding=[${this.padding.join(', ')}]`;
  }
}

/** Max pooling over NCHW input; stride defaults to the kernel size. No dilation or ceil mode. */
export class MaxPool2d extends Pool2d {
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}

/**
 * Average pooling over NCHW input; stride defaults to the kernel size; zero padding counts in
 * the divisor (PyTorch's count_include_pad = true). No ceil mode.
 */
export class AvgPool2d extends Pool2d {
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}
