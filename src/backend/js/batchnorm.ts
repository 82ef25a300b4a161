/**
 * Batch norm over x viewed as [outer, channels, inner] and its training-mode backward.
 * Per-channel statistics are two-pass float64 (mean, then Σ(x − mean)²), so large offsets do
 * not cancel. Training writes saveMean/saveInvStd and updates the running stats with the
 * unbiased variance (PyTorch); eval reads the running stats and leaves saveMean/saveInvStd
 * untouched. Training needs at least 2 values per channel (outer·inner ≥ 2), as PyTorch.
 */
import {
  checkBool, checkF32, checkNoAlias, checkFiniteF32, checkOptF32, checkSize, fail,
} from '../validate';

let stats = new Float64Array(64);

function channelScratch(channels: number): Float64Array {
  if (stats.length < 3 * channels) stats = new Float64Array(3 * channels);
  stats.fill(0, 0, 3 * channels);
  return stats;
}

export function batchNorm(x: Float32Array, outer: number, channels: number, inner: number,
  gamma: Float32Array | null, beta: Float32Array | null, runningMean: Float32Array,
  runningVar: Float32Array, training: boolean, momentum: number, eps: number,
  out: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array): void {
  const K = 'batchNorm';
  checkSize(K, 'outer', outer);
  checkSize(K, 'channels', channels);
  checkSize(K, 'inner', inner);
  checkBool(K, 'training', training);
  checkFiniteF32(K, 'momentum', momentum);
  checkFiniteF32(K, 'eps', eps);
  // A negative eps can make var + eps negative: a silent NaN. (0 is allowed, as in PyTorch.)
  if (!(eps >= 0)) fail(K, `eps must be ≥ 0, got ${eps}`);
  const n = outer * channels * inner;
  const count = outer * inner;
  if (training && channels > 0 && count < 2) {
    fail(K, `training needs more than 1 value per channel, got outer·inner = ${count}`);
  }
  checkF32(K, 'x', x, n, 'outer·channels·inner');
  checkOptF32(K, 'gamma', gamma, channels, 'channels');
  checkOptF32(K, 'beta', beta, channels, 'channels');
  checkF32(K, 'runningMean', runningMean, channels, 'channels');
  checkF32(K, 'runningVar', runningVar, channels, 'channels');
  checkF32(K, 'out', out, n, 'outer·channels·inner');
  // eval does not touch saveMean/saveInvStd, so they need no length then.
  const saved = training ? channels : 0;
  checkF32(K, 'saveMean', saveMean, saved, 'channels');
  checkF32(K, 'saveInvStd', saveInvStd, saved, 'channels');
  checkNoAlias(K, 'out', out, n, 'x', x, n);
  checkNoAlias(K, 'out', out, n, 'gamma', gamma, channels);
  checkNoAlias(K, 'out', out, n, 'beta', beta, channels);
  checkNoAlias(K, 'out', out, n, 'runningMean', runningMean, channels);
  checkNoAlias(K, 'out', out, n, 'runningVar', runningVar, channels);
  if (training) {
    checkNoAlias(K, 'runningMean', runningMean, channels, 'runningVar', runningVar, channels);
    checkNoAlias(K, 'runningMean', runningMean, channels, 'x', x, n);
    checkNoAlias(K, 'runningVar', runningVar, channels, 'x', x, n);
    checkNoAlias(K, 'out', out, n, 'saveMean', saveMean, channels);
    checkNoAlias(K, 'out', out, n, 'saveInvStd', saveInvStd, channels);
    checkNoAlias(K, 'saveMean', saveMean, channels, 'saveInvStd', saveInvStd, channels);
    checkNoAlias(K, 'saveMean', saveMean, channels, 'x', x, n);
    checkNoAlias(K, 'saveInvStd', saveInvStd, channels, 'x', x, n);
  }
  if (channels === 0) return;
  const s = channelScratch(channels);
  // s[ch]: mean, s[C + ch]: scale = invStd·γ, s[2C + ch]: shift = β − mean·scale.
  const C = channels;
  if (training) {
    for (let o = 0; o < outer; o++) {
      for (let ch = 0; ch < C; ch++) {
        const base = (o * C + ch) * inner;
        let t = 0;
        for (let i = 0; i < inner; i++) t += x[base + i]!;
        s[ch] = s[ch]! + t;
      }
    }
    for (let ch = 0; ch < C; ch++) s[ch] = s[ch]! / count;
    for (let o = 0; o < outer; o++) {
      for (let ch = 0; ch < C; ch++) {
        const base = (o * C + ch) * inner;
        const mu = s[ch]!;
        let t = 0;
        for (let i = 0; i < inner; i++) { const d = x[base + i]! - mu; t += d * d; }
        s[C + ch] = s[C + ch]! + t;
      }
    }
    for (let ch = 0; ch < C; ch++) {
      const mean = s[ch]!;
      const v = s[C + ch]! / count;
      const invStd = 1 / Math.sqrt(v + eps);
      saveMean[ch] = mean;
      saveInvStd[ch] = invStd;
      runningMean[ch] = (1 - momentum) * runningMean[ch]! + momentum * mean;
      runningVar[ch] = (1 - momentum) * runningVar[ch]! + momentum * ((v * count) / (count - 1));
      const g = gamma ? gamma[ch]! : 1;
      s[C + ch] = invStd * g;
      s[2 * C + ch] = (beta ? beta[ch]! : 0) - mean * invStd * g;
    }
  } else {
    for (let ch = 0; ch < C; ch++) {
      const invStd = 1 / Math.sqrt(runningVar[ch]! + eps);
      const g = gamma ? gamma[ch]! : 1;
      s[C + ch] = invStd * g;
      s[2 * C + ch] = (beta ? beta[ch]! : 0) - runningMean[ch]! * invStd * g;
    }
  }
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < C; ch++) {
      const base = (o * C + ch) * inner;
      const sc = s[C + ch]!, sh = s[2 * C + ch]!;
      for (let i = 0; i < inner; i++) out[base + i] = x[base + i]! * sc + sh;
    }
  }
}

export function batchNormBackward(x: Float32Array, dy: Float32Array, outer: number,
  channels: number, inner: number, gamma: Float32Array | null, saveMean: Float32Array,
  saveInvStd: Float32Array, dx: Float32Array, dgamma: Float32Array | null,
  dbeta: Float32Array | null): void {
  const K = 'batchNormBackward';
  checkSize(K, 'outer', outer);
  checkSize(K, 'channels', channels);
  checkSize(K, 'inner', inner);
  const n = outer * channels * inner;
  checkF32(K, 'x', x, n, 'outer·channels·inner');
  checkF32(K, 'dy', dy, n, 'outer·channels·inner');
  checkOptF32(K, 'gamma', gamma, channels, 'channels');
  checkF32(K, 'saveMean', saveMean, channels, 'channels');
  checkF32(K, 'saveInvStd', saveInvStd, channels, 'channels');
  checkF32(K, 'dx', dx, n, 'outer·channels·inner');
  checkOptF32(K, 'dgamma', dgamma, channels, 'channels');
  checkOptF32(K, 'dbeta', dbeta, channels, 'channels');
  checkNoAlias(K, 'dx', dx, n, 'x', x, n);
  checkNoAlias(K, 'dx', dx, n, 'dy', dy, n);
  checkNoAlias(K, 'dx', dx, n, 'gamma', gamma, channels);
  checkNoAlias(K, 'dx', dx, n, 'saveMean', saveMean, channels);
  checkNoAlias(K, 'dx', dx, n, 'saveInvStd', saveInvStd, channels);
  if (dgamma) checkNoAlias(K, 'dgamma', dgamma, channels, 'dx', dx, n);
  if (dbeta) checkNoAlias(K, 'dbeta', dbeta, channels, 'dx', dx, n);
  if (dgamma && dbeta) checkNoAlias(K, 'dgamma', dgamma, channels, 'dbeta', dbeta, channels);
  if (channels === 0) return;
  const C = channels;
  const count = outer * inner;
  const s = channelScratch(C);
  // s[ch]: Σ dy, s[C + ch]: Σ dy·(x − mean).
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < C; ch++) {
      const base = (o * C + ch) * inner;
      const mu = saveMean[ch]!;
      let sd = 0, sdx = 0;
      for (let i = 0; i < inner; i++) {
        const g = dy[base + i]!;
        sd += g;
        sdx += g * (x[base + i]! - mu);
      }
      s[ch] = s[ch]! + sd;
      s[C + ch] = s[C + ch]! + sdx;
    }
  }
  // dx = (dy − Σdy/M − (x − mean)·invStd²·Σ dy·(x − mean)/M)·invStd·γ
  const m = count > 0 ? count : 1;
  for (let ch = 0; ch < C; ch++) {
    const invStd = saveInvStd[ch]!;
    const sumDy = s[ch]!, dot = s[C + ch]!;
    if (dgamma) dgamma[ch] = dgamma[ch]! + dot * invStd;
    if (dbeta) dbeta[ch] = dbeta[ch]! + sumDy;
    s[ch] = sumDy / m;
    s[C + ch] = (dot * invStd * invStd) / m;
    s[2 * C + ch] = invStd * (gamma ? gamma[ch]! : 1);
  }
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < C; ch++) {
      const base = (o * C + ch) * inner;
      const mu = saveMean[ch]!, gm = s[ch]!, k = s[C + ch]!, sc = s[2 * C + ch]!;
      for (let i = 0; i < inner; i++) {
        dx[base + i] = (dy[base + i]! - gm - (x[base + i]! - mu) * k) * sc;
      }
    }
  }
}
