/**
 * The pure-TypeScript backend: every kernel of the `Backend` contract on Float32Array, one
 * file per kernel family (mirroring native/kernels/). Single-threaded: setNumThreads validates
 * its argument and is otherwise a no-op, getNumThreads is always 1.
 */
import type { Backend } from '../backend';
import { checkPositive } from '../validate';
import { batchNorm, batchNormBackward } from './batchnorm';
import { biasAct, biasActBackward } from './bias_act';
import { col2im, im2col } from './conv';
import { conv2d, conv2dBackward, conv2dMaxPool, conv2dMaxPoolBackward } from './conv_fused';
import { axpy, binary, gatherBytes, permute, sumTo, unary, unaryBackward } from './elementwise';
import { gemm, gemmBatched } from './gemm';
import { adamStep, rmspropStep, sgdStep } from './optim';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from './pool';
import { reduce } from './reduce';
import { dropout, dropoutMask, randNormal, randUniform } from './rng';
import {
  softmax, softmaxBackward, softmaxCrossEntropy, softmaxCrossEntropyBackward,
} from './softmax';

export function createJsBackend(): Backend {
  return {
    name: 'js',
    gemm,
    gemmBatched,
    binary,
    unary,
    unaryBackward,
    axpy,
    sumTo,
    permute,
    gatherBytes,
    reduce,
    softmax,
    softmaxBackward,
    softmaxCrossEntropy,
    softmaxCrossEntropyBackward,
    biasAct,
    biasActBackward,
    im2col,
    col2im,
    conv2d,
    conv2dBackward,
    conv2dMaxPool,
    conv2dMaxPoolBackward,
    maxPool2d,
    maxPool2dBackward,
    avgPool2d,
    avgPool2dBackward,
    batchNorm,
    batchNormBackward,
    sgdStep,
    adamStep,
    rmspropStep,
    randUniform,
    randNormal,
    dropoutMask,
    dropout,
    setNumThreads(n: number): void {
      checkPositive('setNumThreads', 'n', n);
    },
    getNumThreads(): number {
      return 1;
    },
  };
}
