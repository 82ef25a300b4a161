import { expect } from 'vitest';
import { Tensor } from '../../src/tensor/tensor';

/** A deterministic pseudo-random sequence (test data, independent of lernen's RNG). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function randT(shape: number[], seed: number, opts: { lo?: number; hi?: number; grad?: boolean } = {}): Tensor {
  const r = lcg(seed);
  const lo = opts.lo ?? -1;
  const hi = opts.hi ?? 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * r();
  return new Tensor(d, shape, opts.grad ?? true);
}

/**
 * Compares the analytic gradient of L = Σ w·fn(inputs) (w fixed random weights, L summed in
 * float64) with central finite differences for every element of every input that requires grad.
 * `skip(inputIndex, elementIndex)` lets a test exclude points within eps of a kink.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: {
  eps?: number; tol?: number; skip?: (i: number, j: number) => boolean;
} = {}): void {
  const eps = opts.eps ?? 1e-2;
  const tol = opts.tol ?? 1e-2;
  const out0 = fn(...inputs);
  const r = lcg(99);
  const w = new Float32Array(out0.size);
  for (let i = 0; i < w.length; i++) w[i] = r() * 2 - 1;
  const lossOf = (t: Tensor): number => {
    let s = 0;
    for (let i = 0; i < t.size; i++) s += t.data[i]! * w[i]!;
    return s;
  };
  for (const x of inputs) x.grad = null;
  const out = fn(...inputs);
  out.mul(new Tensor(w, out.shape)).sum().backward();
  inputs.forEach((x, i) => {
    if (!x.requiresGrad) return;
    expect(x.grad, `input ${i} received no gradient`).not.toBeNull();
    const analytic = x.grad!.data;
    let maxAbs = 0;
    let maxErr = 0;
    let worst = '';
    for (let j = 0; j < x.size; j++) {
      if (opts.skip?.(i, j)) continue;
      const orig = x.data[j]!;
      x.data[j] = orig + eps;
      const lp = lossOf(fn(...inputs.map((t) => t.detach())));
      x.data[j] = orig - eps;
      const lm = lossOf(fn(...inputs.map((t) => t.detach())));
      x.data[j] = orig;
      const numeric = (lp - lm) / (2 * eps);
      maxAbs = Math.max(maxAbs, Math.abs(numeric));
      const err = Math.abs(numeric - analytic[j]!);
      if (err > maxErr) {
        maxErr = err;
        worst = `input ${i}[${j}]: analytic ${analytic[j]} vs numeric ${numeric}`;
      }
    }
    expect(maxErr, worst).toBeLessThanOrEqual(tol * Math.max(1, maxAbs));
  });
}
