import { describe, expect, it } from 'vitest';
import { seedState, splitmix32 } from '../../src/backend/rng';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, expectIdentical, guardedF32 } from '../helpers/close';

const EACH = BACKENDS.map((b) => [b.name, b] as const);

// ------------------------------------------------------------------ a straightforward reference
// BigInt arithmetic, written from the published algorithms, independent of Math.imul tricks.

const M32 = 0xffffffffn;
const rotl = (x: bigint, k: number) => ((x << BigInt(k)) | (x >> BigInt(32 - k))) & M32;

/** splitmix32 seeding as documented on seedState (seeds below 2³²). */
function refSeed(seed: number): bigint[] {
  let x = BigInt(seed) & M32;
  const s: bigint[] = [];
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9n) & M32;
    let z = x;
    z = ((z ^ (z >> 16n)) * 0x21f0aaadn) & M32;
    z = ((z ^ (z >> 15n)) * 0x735a2d97n) & M32;
    s.push(z ^ (z >> 15n));
  }
  return s;
}

/** xoshiro128** (Blackman & Vigna): returns a uint32 generator over a copy of the state. */
function refXoshiro(state: ArrayLike<number | bigint>): { next(): number; state(): number[] } {
  const s = Array.from(state, (v) => BigInt(v));
  return {
    next() {
      const result = (rotl((s[1]! * 5n) & M32, 7) * 9n) & M32;
      const t = (s[1]! << 9n) & M32;
      s[2] = s[2]! ^ s[0]!;
      s[3] = s[3]! ^ s[1]!;
      s[1] = s[1]! ^ s[2]!;
      s[0] = s[0]! ^ s[3]!;
      s[2] = s[2]! ^ t;
      s[3] = rotl(s[3]!, 11);
      return Number(result);
    },
    state: () => s.map(Number),
  };
}

const TWO_M24 = 2 ** -24;
const refUniform = (g: { next(): number }) => (g.next() >>> 8) * TWO_M24;

/** Wellons's lowbias32: x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16. */
function refMix32(x: bigint): bigint {
  x ^= x >> 16n;
  x = (x * 0x7feb352dn) & M32;
  x ^= x >> 15n;
  x = (x * 0x846ca68bn) & M32;
  return x ^ (x >> 16n);
}

/**
 * The words of one dropout call of n elements (Backend.dropoutMask): two draws k0, k1 of the
 * stream, then h_i = mix32(mix32(lo + k0) ^ (k1 + hi·0x9E3779B9)) for i = hi·2³² + lo.
 */
function refDropoutWords(g: { next(): number }, n: number): number[] {
  if (n === 0) return [];
  const k0 = BigInt(g.next()), k1 = BigInt(g.next());
  return Array.from({ length: n }, (_, i) => {
    const lo = BigInt(i) & M32, hi = BigInt(i) >> 32n;
    return Number(refMix32(refMix32((lo + k0) & M32) ^ ((k1 + hi * 0x9e3779b9n) & M32)));
  });
}

/** First eight (u >>> 8) values for seeds 0 and 1, computed once with refSeed + refXoshiro. */
const KNOWN: Record<number, { state: number[]; u24: number[] }> = {
  0: {
    state: [1684164658, 3653269916, 2939563536, 2141751570],
    u24: [6991927, 175668, 9849168, 15034131, 4446578, 2926695, 7419964, 7793708],
  },
  1: {
    state: [1580013426, 350525680, 3524174333, 3011703609],
    u24: [1536281, 8492589, 14901402, 8174785, 7285844, 8512387, 12528885, 11165441],
  },
};

describe('seedState and the reference generator', () => {
  it('the reference xoshiro128** reproduces the hand-worked start from state [1, 2, 3, 4]', () => {
    // result = rotl(s1·5, 7)·9: rotl(10, 7)·9 = 11520; then s1 = 0 → 0; then s1 = 1029 → 5927040.
    const g = refXoshiro([1, 2, 3, 4]);
    expect([g.next(), g.next(), g.next()]).toEqual([11520, 0, 5927040]);
  });

  it('seeds 0 and 1 give the documented splitmix32 states and known first values', () => {
    for (const seed of [0, 1]) {
      const want = KNOWN[seed]!;
      expect(refSeed(seed).map(Number)).toEqual(want.state);
      expect(Array.from(seedState(seed))).toEqual(want.state);
      const g = refXoshiro(want.state);
      expect(Array.from({ length: 8 }, () => g.next() >>> 8)).toEqual(want.u24);
    }
  });

  it('splitmix32 matches its definition, seeds differ, and big/negative seeds work', () => {
    const [next, out] = splitmix32(0);
    expect(next).toBe(0x9e3779b9);
    expect(out).toBe(KNOWN[0]!.state[0]);
    const states = new Set<string>();
    for (const seed of [0, 1, 2, 42, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 7, Date.UTC(2024, 0, 1), -1, -(2 ** 45)]) {
      const s = seedState(seed);
      expect(s).toBeInstanceOf(Uint32Array);
      expect(s.length).toBe(4);
      expect(s.some((v) => v !== 0)).toBe(true);
      expect(Array.from(seedState(seed))).toEqual(Array.from(s)); // deterministic
      states.add(Array.from(s).join(','));
    }
    expect(states.size).toBe(10);
    // seeds below 2³² use their value as is: 2³² and 0 differ only through the high word.
    expect(Array.from(seedState(2 ** 32))).not.toEqual(Array.from(seedState(0)));
    expect(() => seedState(1.5)).toThrow(/seedState: seed/);
    expect(() => seedState(Number.NaN)).toThrow(/seedState: seed/);
    expect(() => seedState(2 ** 53)).toThrow(/seedState: seed/);
  });
});

describe.each(EACH)('random kernels on %s', (_name, be) => {
  it('randUniform(0, 1) yields the known first values for seeds 0 and 1', () => {
    for (const seed of [0, 1]) {
      const out = guardedF32(8);
      const st = seedState(seed);
      be.randUniform(st, out.buf, 8, 0, 1);
      out.check();
      expect(Array.from(out.data, (v) => v * 2 ** 24)).toEqual(KNOWN[seed]!.u24);
      const g = refXoshiro(KNOWN[seed]!.state);
      for (let i = 0; i < 8; i++) g.next();
      expect(Array.from(st)).toEqual(g.state()); // state advanced in place by 8 outputs
    }
  });

  it('randUniform maps to [lo, hi) exactly as lo + (hi − lo)·f in float32', () => {
    const n = 1001;
    const st = seedState(123);
    const g = refXoshiro(st);
    const out = guardedF32(n);
    be.randUniform(st, out.buf, n, -0.3, 1.7);
    out.check();
    const lo = Math.fround(-0.3), w = Math.fround(Math.fround(1.7) - lo);
    const want = Array.from({ length: n }, () => Math.fround(lo + Math.fround(w * refUniform(g))));
    expectIdentical(out.data, want, `${be.name} randUniform`);
    expect(Array.from(st)).toEqual(g.state());
    expect(Math.min(...out.data)).toBeGreaterThanOrEqual(lo);
    expect(Math.max(...out.data)).toBeLessThan(1.7);
  });

  it('randNormal: Box–Muller on pairs, consumes 2·ceil(n/2) uniforms, sane mean and std', () => {
    for (const n of [1, 2, 7]) {
      const st = seedState(5);
      const g = refXoshiro(st);
      const out = guardedF32(n);
      be.randNormal(st, out.buf, n, 0.5, 2);
      out.check();
      const want: number[] = [];
      for (let i = 0; i < n; i += 2) {
        let u1 = refUniform(g);
        const u2 = refUniform(g);
        if (u1 === 0) u1 = TWO_M24;
        const r = Math.sqrt(-2 * Math.log(u1));
        want.push(0.5 + 2 * r * Math.cos(2 * Math.PI * u2), 0.5 + 2 * r * Math.sin(2 * Math.PI * u2));
      }
      // The float64 libm (cos, sin, log) may differ in its last bit across platforms; allow 1 float32 ulp.
      expectClose(out.data, want.slice(0, n), { rtol: 1.2e-7, atol: 1e-7, label: `${be.name} randNormal n=${n}` });
      expect(Array.from(st)).toEqual(g.state());
    }
    const N = 200_000;
    const big = new Float32Array(N);
    be.randNormal(seedState(9), big, N, 3, 2);
    let s = 0, s2 = 0;
    for (const v of big) { s += v; s2 += v * v; }
    const mean = s / N, std = Math.sqrt(s2 / N - mean * mean);
    expect(Math.abs(mean - 3)).toBeLessThan(0.03);
    expect(Math.abs(std - 2)).toBeLessThan(0.03);
  });

  it('dropoutMask: values are 0 or f32(1/(1−p)), keep iff the hashed word\'s uniform ≥ p, keep fraction ≈ 1 − p', () => {
    for (const p of [0, 0.1, 0.5, 0.9]) {
      const n = 20_000;
      const st = seedState(77);
      const g = refXoshiro(st);
      const mask = guardedF32(n);
      be.dropoutMask(st, mask.buf, n, p);
      mask.check();
      const keep = Math.fround(1 / (1 - p));
      const want = refDropoutWords(g, n).map((h) => ((h >>> 8) * TWO_M24 >= p ? keep : 0));
      expectIdentical(mask.data, want, `${be.name} dropout p=${p}`);
      const kept = mask.data.reduce((c, v) => c + (v !== 0 ? 1 : 0), 0) / n;
      expect(Math.abs(kept - (1 - p))).toBeLessThan(0.015);
      expect(Array.from(st)).toEqual(g.state());
    }
  });

  it('dropout masks: two draws of the stream per call, independent calls, no correlation between neighbours', () => {
    const n = 50_000, p = 0.5;
    const st = seedState(5);
    const before = refXoshiro(st);
    const a = new Float32Array(n), b = new Float32Array(n);
    be.dropoutMask(st, a, n, p);
    before.next(); before.next();
    expect(Array.from(st)).toEqual(before.state()); // a call advances the stream by exactly 2 draws
    be.dropoutMask(st, b, n, p);
    // Keep indicators k ∈ {0, 1}: neighbours in one call, and the same element in two calls, agree
    // half of the time (independent fair coins: 0.5 ± 0.007 at 3σ for n = 50,000).
    let nb = 0, same = 0;
    for (let i = 0; i < n; i++) {
      if (i + 1 < n && (a[i] !== 0) === (a[i + 1] !== 0)) nb++;
      if ((a[i] !== 0) === (b[i] !== 0)) same++;
    }
    expect(Math.abs(nb / (n - 1) - 0.5)).toBeLessThan(0.007);
    expect(Math.abs(same / n - 0.5)).toBeLessThan(0.007);
    // Runs of equal indicators are as long as for fair coins: no run above 25 in 50,000.
    let run = 1, longest = 1;
    for (let i = 1; i < n; i++) { run = (a[i] !== 0) === (a[i - 1] !== 0) ? run + 1 : 1; longest = Math.max(longest, run); }
    expect(longest).toBeLessThan(25);
  });

  it('dropout: the dropoutMask stream and values, out = x·mask, in place allowed', () => {
    for (const p of [0, 0.2, 0.5]) {
      const n = 5003;
      const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3 - (i % 7 === 0 ? Infinity : 0));
      const st = seedState(11), st2 = seedState(11);
      const mask = guardedF32(n), out = guardedF32(n), want = new Float32Array(n);
      be.dropout(st, x, n, p, out.buf, mask.buf);
      mask.check();
      out.check();
      be.dropoutMask(st2, want, n, p);
      expectIdentical(mask.data, Array.from(want), `${be.name} dropout mask p=${p}`);
      expectIdentical(out.data, Array.from(x, (v, i) => Math.fround(v * want[i]!)), `${be.name} dropout out p=${p}`);
      expect(Array.from(st)).toEqual(Array.from(st2));
      const inPlace = x.slice(), m2 = new Float32Array(n);
      be.dropout(seedState(11), inPlace, n, p, inPlace, m2);
      expectIdentical(inPlace, Array.from(out.data), `${be.name} dropout in place p=${p}`);
    }
  });

  it('n = 0 leaves the state alone', () => {
    const st = seedState(3);
    const before = Array.from(st);
    be.randUniform(st, new Float32Array(0), 0, 0, 1);
    be.randNormal(st, new Float32Array(0), 0, 0, 1);
    be.dropoutMask(st, new Float32Array(0), 0, 0.5);
    be.dropout(st, new Float32Array(0), 0, 0.5, new Float32Array(0), new Float32Array(0));
    expect(Array.from(st)).toEqual(before);
  });
});

describe.runIf(NATIVE)('random kernels: native vs js directly', () => {
  it('uniform and dropout streams are bit-identical, normal within 1 ulp, states advance alike', () => {
    for (const seed of [0, 1, 42, 2 ** 40 + 3]) {
      const sn = seedState(seed), sj = seedState(seed);
      const n = 4099;
      const an = new Float32Array(n), aj = new Float32Array(n);
      NATIVE!.randUniform(sn, an, n, -2.5, 0.75);
      JS.randUniform(sj, aj, n, -2.5, 0.75);
      expectIdentical(an, aj, `uniform seed ${seed}`);
      NATIVE!.dropoutMask(sn, an, n, 0.3);
      JS.dropoutMask(sj, aj, n, 0.3);
      expectIdentical(an, aj, `dropout seed ${seed}`);
      const x = Float32Array.from(an, (v, i) => v - i * 0.25), on = new Float32Array(n), oj = new Float32Array(n);
      NATIVE!.dropout(sn, x, n, 0.25, on, an);
      JS.dropout(sj, x, n, 0.25, oj, aj);
      expectIdentical(an, aj, `fused dropout mask seed ${seed}`);
      expectIdentical(on, oj, `fused dropout out seed ${seed}`);
      // Long enough for several chunks on the native kernel team (threads split the elements).
      const big = 300_001, bn = new Float32Array(big), bj = new Float32Array(big);
      const prev = NATIVE!.getNumThreads();
      NATIVE!.setNumThreads(2);
      try {
        NATIVE!.dropoutMask(sn, bn, big, 0.2);
      } finally {
        NATIVE!.setNumThreads(prev);
      }
      JS.dropoutMask(sj, bj, big, 0.2);
      expectIdentical(bn, bj, `long dropout mask seed ${seed}`);
      NATIVE!.randNormal(sn, an, n, 0, 1);
      JS.randNormal(sj, aj, n, 0, 1);
      expectClose(an, aj, { rtol: 1.2e-7, atol: 1e-7, label: `normal seed ${seed}` });
      expect(Array.from(sn)).toEqual(Array.from(sj));
    }
  });
});
