/**
 * The seeded generator, bit-identical with the native one: xoshiro128** over the caller's
 * 4×uint32 state (advanced in place). 32-bit arithmetic via Math.imul and >>> 0.
 *
 * Rounding, step by step (the native kernel does the same in C):
 *   uniform f = (u >>> 8)·2⁻²⁴ (exact in float32);
 *   randUniform: lo' = f32(lo), hi' = f32(hi), out = f32(lo' + f32(f32(hi' − lo')·f));
 *   randNormal: z from Box–Muller in float64 (u1 = 2⁻²⁴ when 0; θ = 2π·u2), out = f32(mean +
 *     std·z) with mean + std·z in float64; pairs (z0 = r·cos θ, z1 = r·sin θ), u1 drawn first;
 *   dropoutMask: two draws k0, k1 of the stream (none when n = 0) key a counter-based hash:
 *     element i's word is h = mix32(mix32(lo + k0) ^ (k1 + hi·0x9E3779B9)), lo and hi the low
 *     and high 32 bits of i, mix32 = Wellons's lowbias32; keep iff (h >>> 8)·2⁻²⁴ ≥ p compared
 *     in float64; the kept value is f32(1/(1 − p));
 *   dropout: the same mask, and out = f32(x·mask).
 */
import { checkExactAliasOr, checkF32, checkNoAlias, checkFinite, checkFiniteF32, checkRange, checkSize, checkU32, fail } from '../validate';

const fround = Math.fround;
const TWO_POW_M24 = 1 / 16777216;
const TWO_PI = 2 * Math.PI;

// The state lives in these four locals between load() and store(), so the inner loops touch no
// typed array for it.
let s0 = 0, s1 = 0, s2 = 0, s3 = 0;

function load(state: Uint32Array): void {
  s0 = state[0]!; s1 = state[1]!; s2 = state[2]!; s3 = state[3]!;
}

function store(state: Uint32Array): void {
  state[0] = s0; state[1] = s1; state[2] = s2; state[3] = s3;
}

/** One xoshiro128** output (uint32). */
function next(): number {
  const x = Math.imul(s1, 5);
  const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = (s3 << 11) | (s3 >>> 21);
  return result;
}

/** (u >>> 8)·2⁻²⁴ in [0, 1), exact in float32. */
function uniform(): number {
  return (next() >>> 8) * TWO_POW_M24;
}

function checkState(kernel: string, state: Uint32Array): void {
  checkU32(kernel, 'state', state, 4, '4');
  if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0) {
    fail(kernel, 'state is all zeros (xoshiro128** would only ever return 0; seed it with seedState)');
  }
}

function checkOut(kernel: string, name: string, state: Uint32Array, out: Float32Array,
  n: number): void {
  checkSize(kernel, 'n', n);
  checkF32(kernel, name, out, n, 'n');
  checkNoAlias(kernel, name, out, n, 'state', state, 4);
}

export function randUniform(state: Uint32Array, out: Float32Array, n: number, lo: number,
  hi: number): void {
  const K = 'randUniform';
  checkState(K, state);
  checkOut(K, 'out', state, out, n);
  checkFiniteF32(K, 'lo', lo);
  checkFiniteF32(K, 'hi', hi);
  const l = fround(lo);
  const width = fround(fround(hi) - l);
  load(state);
  for (let i = 0; i < n; i++) out[i] = l + fround(width * uniform());
  store(state);
}

export function randNormal(state: Uint32Array, out: Float32Array, n: number, mean: number,
  std: number): void {
  const K = 'randNormal';
  checkState(K, state);
  checkOut(K, 'out', state, out, n);
  checkFinite(K, 'mean', mean);
  checkFinite(K, 'std', std);
  load(state);
  for (let i = 0; i < n; i += 2) {
    let u1 = uniform();
    const u2 = uniform();
    if (u1 === 0) u1 = TWO_POW_M24;
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = TWO_PI * u2;
    out[i] = mean + std * (r * Math.cos(theta));
    if (i + 1 < n) out[i + 1] = mean + std * (r * Math.sin(theta));
  }
  store(state);
}

export function dropoutMask(state: Uint32Array, mask: Float32Array, n: number, p: number): void {
  const K = 'dropoutMask';
  checkState(K, state);
  checkOut(K, 'mask', state, mask, n);
  checkRange(K, 'p', p, 0, 1, true);
  fillDropout(state, null, n, p, null, mask);
}

/**
 * The dropout loop: two draws of the stream key a counter-based hash of the element index (see
 * the header; native/kernels/rng.cc explains why a hash and not the stream itself). Keep iff
 * (h >>> 8)·2⁻²⁴ ≥ p, i.e. (h >>> 8) ≥ ceil(p·2²⁴). With x and out, also out = x·mask.
 */
function fillDropout(state: Uint32Array, x: Float32Array | null, n: number, p: number,
  out: Float32Array | null, mask: Float32Array): void {
  if (n <= 0) return;
  load(state);
  const k0 = next(), k1 = next();
  store(state);
  const keep = fround(1 / (1 - p));
  const t = Math.ceil(p * 16777216);
  for (let i = 0; i < n;) {
    const hi = Math.floor(i / 4294967296);
    const stop = Math.min(n, (hi + 1) * 4294967296);
    const k1h = (k1 + Math.imul(hi, 0x9e3779b9)) | 0;
    if (out === null) maskWords(mask, i, stop - i, ((i >>> 0) + k0) | 0, k1h, t, keep);
    else dropoutWords(x!, out, mask, i, stop - i, ((i >>> 0) + k0) | 0, k1h, t, keep);
    i = stop;
  }
}

/** Wellons's lowbias32 (int32 in, int32 out; callers read it with >>> 0 or >>> 8). */
function mix32(h: number): number {
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d); h ^= h >>> 15; h = Math.imul(h, 0x846ca68b);
  return h ^ (h >>> 16);
}

// mask[at + j] for j < m: h = mix32(mix32(c0 + j) ^ k1h), keep iff (h >>> 8) ≥ t.
function maskWords(mask: Float32Array, at: number, m: number, c0: number, k1h: number, t: number, keep: number): void {
  for (let j = 0; j < m; j++) {
    const h = mix32(mix32((c0 + j) | 0) ^ k1h);
    mask[at + j] = (h >>> 8) >= t ? keep : 0;
  }
}

function dropoutWords(x: Float32Array, out: Float32Array, mask: Float32Array, at: number, m: number,
  c0: number, k1h: number, t: number, keep: number): void {
  for (let j = 0; j < m; j++) {
    const h = mix32(mix32((c0 + j) | 0) ^ k1h);
    const v = (h >>> 8) >= t ? keep : 0;
    mask[at + j] = v;
    out[at + j] = x[at + j]! * v; // out may be x: each element is read before it is written
  }
}

export function dropout(state: Uint32Array, x: Float32Array, n: number, p: number,
  out: Float32Array, mask: Float32Array): void {
  const K = 'dropout';
  checkState(K, state);
  checkOut(K, 'out', state, out, n);
  checkF32(K, 'x', x, n, 'n');
  checkF32(K, 'mask', mask, n, 'n');
  checkRange(K, 'p', p, 0, 1, true);
  checkNoAlias(K, 'mask', mask, n, 'state', state, 4);
  checkNoAlias(K, 'mask', mask, n, 'x', x, n);
  checkNoAlias(K, 'mask', mask, n, 'out', out, n);
  checkNoAlias(K, 'state', state, 4, 'x', x, n);
  checkExactAliasOr(K, 'out', out, n, 'x', x, n, true);
  fillDropout(state, x, n, p, out, mask);
}
