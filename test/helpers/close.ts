/**
 * Comparison helpers for the kernel tests: normalised error (ggml's NMSE), allclose with
 * per-element tolerance and readable failure messages, and sentinel-guarded buffers that catch
 * out-of-bounds writes (and offset views that catch kernels ignoring byteOffset).
 */

type Num = ArrayLike<number>;

/** Σ(a − e)² / Σe² over finite expected values (Σ(a − e)² when Σe² = 0). */
export function nmse(actual: Num, expected: Num): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    if (!Number.isFinite(e)) continue;
    const d = actual[i]! - e;
    num += d * d;
    den += e * e;
  }
  return den === 0 ? num : num / den;
}

export function maxAbsDiff(actual: Num, expected: Num): number {
  let m = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (d > m || d !== d) m = d;
  }
  return m;
}

export interface CloseOptions {
  /** Relative tolerance (default 2e-6, a few float32 ulps). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Per-element scale for the relative part instead of |expected| (e.g. Σ|a||b| for GEMM). */
  scale?: Num;
  /** Also require nmse(actual, expected) ≤ this (default: not checked). */
  maxNmse?: number;
  /** A name for the message. */
  label?: string;
}

/**
 * Throws unless every element satisfies |a − e| ≤ atol + rtol·(scale ?? |e|), with NaN matching
 * NaN and infinities matching exactly. The message lists the worst offenders.
 */
export function expectClose(actual: Num, expected: Num, opts: CloseOptions = {}): void {
  const rtol = opts.rtol ?? 2e-6;
  const atol = opts.atol ?? 1e-6;
  const label = opts.label ?? 'values';
  if (actual.length < expected.length) {
    throw new Error(`${label}: got ${actual.length} values, expected at least ${expected.length}`);
  }
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    let ok: boolean;
    if (e !== e) ok = a !== a;
    else if (!Number.isFinite(e)) ok = a === e;
    else {
      const s = opts.scale ? Math.abs(opts.scale[i]!) : Math.abs(e);
      ok = Math.abs(a - e) <= atol + rtol * s;
    }
    if (!ok) {
      count++;
      if (bad.length < 8) bad.push(`[${i}] got ${a}, expected ${e} (diff ${Math.abs(a - e)})`);
    }
  }
  if (count > 0) {
    throw new Error(`${label}: ${count} of ${expected.length} elements differ ` +
      `(rtol ${rtol}, atol ${atol}):\n  ${bad.join('\n  ')}`);
  }
  if (opts.maxNmse !== undefined) {
    const err = nmse(actual, expected);
    if (!(err <= opts.maxNmse)) {
      throw new Error(`${label}: nmse ${err} exceeds ${opts.maxNmse}`);
    }
  }
}

/** Throws unless the two arrays hold exactly the same values (bit patterns for floats). */
export function expectIdentical(actual: Num, expected: Num, label = 'values'): void {
  if (actual.length < expected.length) {
    throw new Error(`${label}: got ${actual.length} values, expected ${expected.length}`);
  }
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!(Object.is(a, e) || (a !== a && e !== e))) {
      throw new Error(`${label}: first difference at [${i}]: ${a} vs ${e}`);
    }
  }
}

// ------------------------------------------------------------------ sentinels and views

export const SENTINEL = 12345;
const PAD = 7;

export interface Guarded<T extends Float32Array | Int32Array> {
  /**
   * What the kernel gets: a view that starts PAD elements into the allocation and runs to its
   * end, so it holds `length` elements plus a sentinel tail (allowed by the contract, which the
   * kernel must leave untouched), behind a sentinel head (caught only if a kernel writes before
   * its view, i.e. ignores byteOffset).
   */
  buf: T;
  /** The first `length` elements of buf (what the kernel is meant to write). */
  data: T;
  /** Throws if any sentinel changed. */
  check(label?: string): void;
}

function guard<T extends Float32Array | Int32Array>(full: T, length: number): Guarded<T> {
  full.fill(SENTINEL);
  const buf = full.subarray(PAD) as T;
  const data = full.subarray(PAD, PAD + length) as T;
  return {
    buf,
    data,
    check(label = 'output') {
      for (let i = 0; i < full.length; i++) {
        if (i >= PAD && i < PAD + length) continue;
        if (full[i] !== SENTINEL) {
          const where = i < PAD ? `head[${i - PAD}]` : `tail[${i - PAD - length}]`;
          throw new Error(`${label}: sentinel ${where} was overwritten with ${full[i]}`);
        }
      }
    },
  };
}

/**
 * A guarded Float32Array output of `length` elements, pre-filled with `init` or else with the
 * sentinel (so an output element a kernel forgets to write stands out).
 */
export function guardedF32(length: number, init?: Num): Guarded<Float32Array> {
  const g = guard(new Float32Array(length + 2 * PAD), length);
  if (init) g.data.set(init);
  return g;
}

export function guardedI32(length: number, init?: Num): Guarded<Int32Array> {
  const g = guard(new Int32Array(length + 2 * PAD), length);
  if (init) g.data.set(init);
  return g;
}

/**
 * An input as an offset view (byteOffset ≠ 0) inside a larger buffer filled with NaN, so a
 * kernel that reads outside its input turns the result into NaN.
 */
export function inputF32(values: Num, offset = 3): Float32Array {
  const full = new Float32Array(values.length + offset + 5).fill(NaN);
  const view = full.subarray(offset, offset + values.length);
  view.set(values);
  return view;
}

export function inputI32(values: Num, offset = 3): Int32Array {
  const full = new Int32Array(values.length + offset + 5).fill(-999999);
  const view = full.subarray(offset, offset + values.length);
  view.set(values);
  return view;
}

/** Float64 copy (for references). */
export function f64(values: Num): Float64Array {
  return Float64Array.from(values as ArrayLike<number>);
}
