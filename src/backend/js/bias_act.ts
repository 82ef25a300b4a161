/**
 * Fused bias + activation over x viewed as [outer, channels, inner] (Linear: inner = 1,
 * Conv: inner = H·W), and its backward. relu propagates NaN (as torch.relu) and relu'(y) is
 * taken as y > 0 (so relu'(0) = 0).
 */
import type { Activation } from '../backend';
import {
  checkExactAliasOr, checkF32, checkNoAlias, checkOneOf, checkOptF32, checkSize,
} from '../validate';

const ACTIVATIONS: readonly Activation[] = ['none', 'relu'];

let biasAcc = new Float64Array(64);

function checkSizes(kernel: string, outer: number, channels: number, inner: number,
  act: Activation): number {
  checkSize(kernel, 'outer', outer);
  checkSize(kernel, 'channels', channels);
  checkSize(kernel, 'inner', inner);
  checkOneOf(kernel, 'act', act, ACTIVATIONS);
  return outer * channels * inner;
}

export function biasAct(x: Float32Array, bias: Float32Array, outer: number, channels: number,
  inner: number, act: Activation, out: Float32Array): void {
  const K = 'biasAct';
  const n = checkSizes(K, outer, channels, inner, act);
  checkF32(K, 'x', x, n, 'outer·channels·inner');
  checkF32(K, 'bias', bias, channels, 'channels');
  checkF32(K, 'out', out, n, 'outer·channels·inner');
  checkExactAliasOr(K, 'out', out, n, 'x', x, n, true);
  checkNoAlias(K, 'out', out, n, 'bias', bias, channels);
  const relu = act === 'relu';
  for (let o = 0; o < outer; o++) {
    if (inner === 1) {
      const base = o * channels;
      if (relu) {
        for (let ch = 0; ch < channels; ch++) {
          const v = Math.fround(x[base + ch]! + bias[ch]!);
          out[base + ch] = v < 0 ? 0 : v;
        }
      } else {
        for (let ch = 0; ch < channels; ch++) out[base + ch] = x[base + ch]! + bias[ch]!;
      }
      continue;
    }
    for (let ch = 0; ch < channels; ch++) {
      const base = (o * channels + ch) * inner;
      const b = bias[ch]!;
      if (relu) {
        for (let i = 0; i < inner; i++) {
          const v = Math.fround(x[base + i]! + b);
          out[base + i] = v < 0 ? 0 : v;
        }
      } else {
        for (let i = 0; i < inner; i++) out[base + i] = x[base + i]! + b;
      }
    }
  }
}

export function biasActBackward(y: Float32Array, dy: Float32Array, outer: number,
  channels: number, inner: number, act: Activation, dx: Float32Array,
  dbias: Float32Array | null): void {
  const K = 'biasActBackward';
  const n = checkSizes(K, outer, channels, inner, act);
  checkF32(K, 'y', y, n, 'outer·channels·inner');
  checkF32(K, 'dy', dy, n, 'outer·channels·inner');
  checkF32(K, 'dx', dx, n, 'outer·channels·inner');
  checkOptF32(K, 'dbias', dbias, channels, 'channels');
  checkExactAliasOr(K, 'dx', dx, n, 'dy', dy, n, true);
  checkNoAlias(K, 'dx', dx, n, 'y', y, n);
  if (dbias) {
    checkNoAlias(K, 'dbias', dbias, channels, 'dx', dx, n);
    checkNoAlias(K, 'dbias', dbias, channels, 'dy', dy, n);
    checkNoAlias(K, 'dbias', dbias, channels, 'y', y, n);
  }
  const relu = act === 'relu';
  if (biasAcc.length < channels) biasAcc = new Float64Array(channels);
  const s = biasAcc;
  s.fill(0, 0, channels);
  for (let o = 0; o < outer; o++) {
    if (inner === 1) {
      const base = o * channels;
      for (let ch = 0; ch < channels; ch++) {
        const g = relu ? (y[base + ch]! > 0 ? dy[base + ch]! : 0) : dy[base + ch]!;
        dx[base + ch] = g;
        s[ch] = s[ch]! + g;
      }
      continue;
    }
    for (let ch = 0; ch < channels; ch++) {
      const base = (o * channels + ch) * inner;
      let t = 0;
      for (let i = 0; i < inner; i++) {
        const g = relu ? (y[base + i]! > 0 ? dy[base + i]! : 0) : dy[base + i]!;
        dx[base + i] = g;
        t += g;
      }
      s[ch] = s[ch]! + t;
    }
  }
  if (dbias) for (let ch = 0; ch < channels; ch++) dbias[ch] = dbias[ch]! + s[ch]!;
}
