/**
 * Central finite differences in float64, for gradient checks: the analytic backward of a
 * kernel (on any backend) is compared with these derivatives of the float64 reference forward.
 * Points within `kink` of a non-differentiable point should be skipped by the caller (ggml's
 * grad_expect, tinygrad's ReLU NOTE): the helpers take an optional `skip` predicate.
 */

/** f'(x) ≈ (f(x + h) − f(x − h)) / 2h with h = eps·max(1, |x|). */
export function derivative(f: (x: number) => number, x: number, eps = 1e-6): number {
  const h = eps * Math.max(1, Math.abs(x));
  return (f(x + h) - f(x - h)) / (2 * h);
}

/**
 * ∇f(x) of a scalar function of a vector, one coordinate at a time (x is restored after each).
 */
export function numericGrad(f: (x: Float64Array) => number, x: Float64Array,
  eps = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const h = eps * Math.max(1, Math.abs(v));
    x[i] = v + h;
    const fp = f(x);
    x[i] = v - h;
    const fm = f(x);
    x[i] = v;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/**
 * Vector–Jacobian product wᵀ·J_f(x): the gradient of ⟨w, f(x)⟩ with respect to x. This is what
 * a backward kernel computes from the upstream gradient w.
 */
export function numericVjp(f: (x: Float64Array) => ArrayLike<number>, x: Float64Array,
  w: ArrayLike<number>, eps = 1e-6): Float64Array {
  return numericGrad((v) => {
    const y = f(v);
    let s = 0;
    for (let i = 0; i < w.length; i++) s += w[i]! * y[i]!;
    return s;
  }, x, eps);
}

/**
 * Elementwise derivative of a scalar function at every x[i], NaN where `skip(x[i])` (a kink or
 * a point outside the domain): callers compare only where the value is finite.
 */
export function elementwiseDerivative(f: (x: number) => number, xs: ArrayLike<number>,
  skip: (x: number) => boolean = () => false, eps = 1e-6): Float64Array {
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    out[i] = skip(x) ? NaN : derivative(f, x, eps);
  }
  return out;
}
