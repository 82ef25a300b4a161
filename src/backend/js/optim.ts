/**
 * Optimizer steps with PyTorch's update rules, in place over n elements. Each element's update
 * is computed in float64 from the float32 state and rounded once per stored value. As PyTorch,
 * a weight decay of 0 is skipped (so an infinite parameter does not turn g into NaN), and the
 * first SGD momentum buffer is the gradient itself (no dampening).
 */
import {
  checkBool, checkF32, checkFiniteF32, checkNoAlias, checkPositive, checkRange, checkSize, fail,
} from '../validate';

/** How many of param[0, n) are NaN or ±Infinity (what each step returns). */
function countNonFinite(param: Float32Array, n: number): number {
  let bad = 0;
  for (let i = 0; i < n; i++) if (!(Math.abs(param[i]!) <= 3.4028234663852886e38)) bad++;
  return bad;
}

const fround = Math.fround;

type Named = [name: string, buf: Float32Array | null];

/** The state buffers of one step must be pairwise disjoint (each is read and written). */
function checkDisjoint(kernel: string, n: number, bufs: Named[]): void {
  for (let i = 0; i < bufs.length; i++) {
    const [ni, bi] = bufs[i]!;
    if (!bi) continue;
    for (let j = i + 1; j < bufs.length; j++) {
      const [nj, bj] = bufs[j]!;
      if (bj) checkNoAlias(kernel, ni, bi, n, nj, bj, n);
    }
  }
}

export function sgdStep(n: number, param: Float32Array, grad: Float32Array,
  buf: Float32Array | null, lr: number, momentum: number, dampening: number, nesterov: boolean,
  weightDecay: number, first: boolean): number {
  const K = 'sgdStep';
  checkSize(K, 'n', n);
  checkFiniteF32(K, 'lr', lr);
  checkFiniteF32(K, 'momentum', momentum);
  checkFiniteF32(K, 'dampening', dampening);
  checkBool(K, 'nesterov', nesterov);
  checkFiniteF32(K, 'weightDecay', weightDecay);
  checkBool(K, 'first', first);
  checkF32(K, 'param', param, n, 'n');
  checkF32(K, 'grad', grad, n, 'n');
  const useMomentum = momentum !== 0;
  if (useMomentum) {
    if (buf === null || buf === undefined) fail(K, 'buf is required when momentum ≠ 0');
    checkF32(K, 'buf', buf, n, 'n');
  }
  checkDisjoint(K, n, [['param', param], ['grad', grad], ['buf', useMomentum ? buf : null]]);
  const wd = weightDecay;
  if (!useMomentum) {
    if (wd === 0) for (let i = 0; i < n; i++) param[i] = param[i]! - lr * grad[i]!;
    else for (let i = 0; i < n; i++) param[i] = param[i]! - lr * (grad[i]! + wd * param[i]!);
    return countNonFinite(param, n);
  }
  const b = buf!;
  const keep = 1 - dampening;
  if (wd === 0 && !first && !nesterov) {
    // The common case (plain momentum), without per-element branches.
    for (let i = 0; i < n; i++) {
      const mb = fround(momentum * b[i]! + keep * grad[i]!);
      b[i] = mb;
      param[i] = param[i]! - lr * mb;
    }
    return countNonFinite(param, n);
  }
  for (let i = 0; i < n; i++) {
    const p = param[i]!;
    const g = wd === 0 ? grad[i]! : grad[i]! + wd * p;
    const m = first ? g : momentum * b[i]! + keep * g;
    b[i] = m;
    // The buffer is used as stored (float32), as the native kernel and PyTorch do.
    const mb = b[i]!;
    param[i] = p - lr * (nesterov ? g + momentum * mb : mb);
  }
  return countNonFinite(param, n);
}

export function adamStep(n: number, param: Float32Array, grad: Float32Array, m: Float32Array,
  v: Float32Array, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number,
  step: number, decoupled: boolean): number {
  const K = 'adamStep';
  checkSize(K, 'n', n);
  checkFiniteF32(K, 'lr', lr);
  checkRange(K, 'beta1', beta1, 0, 1, true);
  checkRange(K, 'beta2', beta2, 0, 1, true);
  checkFiniteF32(K, 'eps', eps);
  checkFiniteF32(K, 'weightDecay', weightDecay);
  checkPositive(K, 'step', step);
  checkBool(K, 'decoupled', decoupled);
  checkF32(K, 'param', param, n, 'n');
  checkF32(K, 'grad', grad, n, 'n');
  checkF32(K, 'm', m, n, 'n');
  checkF32(K, 'v', v, n, 'n');
  checkDisjoint(K, n, [['param', param], ['grad', grad], ['m', m], ['v', v]]);
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  // AdamW: param −= lr·weightDecay·param (PyTorch: param.mul_(1 − lr·weightDecay)).
  const decay = decoupled ? 1 - lr * weightDecay : 1;
  const wd = decoupled ? 0 : weightDecay;
  const c1 = 1 - beta1, c2 = 1 - beta2;
  for (let i = 0; i < n; i++) {
    let p = param[i]!;
    if (decoupled) p = Math.fround(p * decay);
    const g = wd === 0 ? grad[i]! : grad[i]! + wd * p;
    const mi = beta1 * m[i]! + c1 * g;
    const vi = beta2 * v[i]! + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = p - stepSize * (m[i]! / (Math.sqrt(v[i]!) / bc2Sqrt + eps));
  }
  return countNonFinite(param, n);
}

export function rmspropStep(n: number, param: Float32Array, grad: Float32Array,
  sq: Float32Array, gAvg: Float32Array | null, buf: Float32Array | null, lr: number,
  alpha: number, eps: number, weightDecay: number, momentum: number, centered: boolean): number {
  const K = 'rmspropStep';
  checkSize(K, 'n', n);
  checkFiniteF32(K, 'lr', lr);
  checkFiniteF32(K, 'alpha', alpha);
  checkFiniteF32(K, 'eps', eps);
  checkFiniteF32(K, 'weightDecay', weightDecay);
  checkFiniteF32(K, 'momentum', momentum);
  checkBool(K, 'centered', centered);
  checkF32(K, 'param', param, n, 'n');
  checkF32(K, 'grad', grad, n, 'n');
  checkF32(K, 'sq', sq, n, 'n');
  if (centered) {
    if (gAvg === null || gAvg === undefined) fail(K, 'gAvg is required when centered');
    checkF32(K, 'gAvg', gAvg, n, 'n');
  }
  const useMomentum = momentum > 0;
  if (useMomentum) {
    if (buf === null || buf === undefined) fail(K, 'buf is required when momentum > 0');
    checkF32(K, 'buf', buf, n, 'n');
  }
  checkDisjoint(K, n, [['param', param], ['grad', grad], ['sq', sq],
    ['gAvg', centered ? gAvg : null], ['buf', useMomentum ? buf : null]]);
  const c = 1 - alpha, wd = weightDecay;
  const ga = gAvg!, b = buf!;
  for (let i = 0; i < n; i++) {
    const g = wd === 0 ? grad[i]! : grad[i]! + wd * param[i]!;
    sq[i] = alpha * sq[i]! + c * g * g;
    let avg: number;
    if (centered) {
      ga[i] = alpha * ga[i]! + c * g;
      const gi = ga[i]!;
      avg = Math.sqrt(sq[i]! - gi * gi) + eps;
    } else {
      avg = Math.sqrt(sq[i]!) + eps;
    }
    if (useMomentum) {
      b[i] = momentum * b[i]! + g / avg;
      param[i] = param[i]! - lr * b[i]!;
    } else {
      param[i] = param[i]! - (lr * g) / avg;
    }
  }
  return countNonFinite(param, n);
}
