import { describe, expect, it } from 'vitest';
import type { LernenBinding } from '../../src/backend/binding';
import { loadAddon } from '../../src/backend/loader';
import { createNativeBackend } from '../../src/backend/native';
// The entry-point table, guarded buffers and bad values are shared with the robustness fuzzers.
import { Arena, COUNTS, Rng, SPECS, badValues } from '../helpers/native-specs';

// Every entry point of the addon, fed bad arguments: each must throw an Error whose message
// starts with the kernel's name, and never crash or write out of bounds. Run on the raw addon
// and through the adapter.

const load = loadAddon();
if (!load.ok) throw new Error(`the native addon did not load:\n  ${load.reasons.join('\n  ')}`);
const raw = load.addon as LernenBinding;
const adapter = createNativeBackend(raw);
type Fn = (...args: unknown[]) => unknown;
const rawFn = (name: string): Fn => (raw as unknown as Record<string, Fn>)[name]!.bind(raw);
const adapterFn = (name: string): Fn =>
  (adapter as unknown as Record<string, Fn>)[name]!.bind(adapter);

function expectKernelError(name: string, call: () => unknown, what: string): void {
  let thrown: unknown = undefined;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  if (!(thrown instanceof Error)) throw new Error(`${what}: expected an Error, got ${thrown === undefined ? 'no throw' : String(thrown)}`);
  if (!thrown.message.startsWith(`${name}: `)) {
    throw new Error(`${what}: message does not start with "${name}: ": ${thrown.message}`);
  }
}

function describeValue(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  if (typeof v === 'symbol' || typeof v === 'bigint') return String(v);
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}

describe('bad arguments: every entry point, every argument', () => {
  const rawEntries = Object.keys(raw).filter((k) => typeof (raw as unknown as Record<string, unknown>)[k] === 'function');
  it('the table covers every exported kernel', () => {
    const covered = new Set([...SPECS.map((s) => s.name), 'getNumThreads', 'info']);
    expect(rawEntries.filter((k) => !covered.has(k))).toEqual([]);
  });

  for (const spec of SPECS) {
    it(`${spec.name}: wrong types, sizes, lengths and counts throw an Error naming it`, () => {
      const arena = new Arena();
      const valid = spec.make(new Rng(7), arena);
      expect(valid.length).toBe(spec.kinds.length);
      // The valid call itself works on both surfaces.
      // The valid call returns nothing, or a count for the optimizer steps (non-finite values written).
      const want = COUNTS.has(spec.name) ? 0 : undefined;
      expect(rawFn(spec.name)(...valid)).toBe(want);
      if (spec.name !== 'setNumThreads') expect(adapterFn(spec.name)(...valid)).toBe(want);
      spec.kinds.forEach((kind, i) => {
        for (const bad of badValues(kind, valid[i])) {
          const args = valid.slice();
          args[i] = bad;
          const what = `${spec.name} argument ${i} = ${describeValue(bad)}`;
          expectKernelError(spec.name, () => rawFn(spec.name)(...args), `raw ${what}`);
          expectKernelError(spec.name, () => adapterFn(spec.name)(...args), `adapter ${what}`);
        }
      });
      expectKernelError(spec.name, () => rawFn(spec.name)(...valid, 0), `${spec.name} with an extra argument`);
      expectKernelError(spec.name, () => rawFn(spec.name)(), `${spec.name} with no arguments`);
      expect(arena.intact()).toBe(true);
    });
  }
});

describe('bad arguments: specific rules and messages', () => {
  const f = (n: number): Float32Array => new Float32Array(n);
  const cases: [string, unknown[], RegExp][] = [
    ['gemm', [false, false, 3, 4, 4, 1, f(10), f(16), 0, f(12)], /^gemm: buffer a has 10 elements but m·k = 12 are required$/],
    ['gemm', [false, false, 2 ** 31, 1, 1, 1, f(1), f(1), 0, f(1)], /^gemm: m = 2147483648 exceeds the limit 2147483647$/],
    ['gemm', [false, false, 1.5, 1, 1, 1, f(1), f(1), 0, f(1)], /^gemm: m must be a non-negative integer but got 1\.5$/],
    ['gemm', [false, false, 2, 2, 2, 1, new Float64Array(4), f(4), 0, f(4)], /^gemm: a must be a Float32Array but got Float64Array$/],
    ['gemmBatched', [2, false, false, 2, 2, 2, 1, f(8), 4, f(8), 4, 0, f(8), 3], /^gemmBatched: strideC = 3 must be ≥ m·n = 4/],
    ['gemmBatched', [3, false, false, 2, 2, 2, 1, f(11), 4, f(12), 4, 0, f(12), 4], /^gemmBatched: buffer a has 11 elements but \(batch−1\)·strideA \+ m·k = 12 are required$/],
    ['gemmBatched', [3, false, false, 2, 2, 2, 1, f(12), 4, f(12), 4, 0, f(11), 4], /^gemmBatched: buffer c has 11 elements/],
    ['gemmBatched', [2 ** 52, false, false, 2, 2, 2, 1, f(4), 2 ** 40, f(4), 0, 0, f(4), 4], /^gemmBatched: \(batch−1\)·strideA \+ m·k overflows/],
    ['binary', ['add', f(6), [2, 3], f(4), [4], f(6), [2, 3]], /^binary: shapes \[2,3\] and \[4\] do not broadcast$/],
    ['binary', ['add', f(6), [2, 3], f(3), [3], f(6), [6]], /^binary: outShape \[6\] is not the broadcast \[2,3\]/],
    ['binary', ['add', f(1), [2 ** 30, 2 ** 30, 2 ** 30], f(1), [1], f(1), [1]], /^binary: the product of aShape overflows/],
    ['binary', ['frobnicate', f(1), [1], f(1), [1], f(1), [1]], /^binary: op must be one of add, sub, mul, div, max, min, pow but got 'frobnicate'$/],
    ['unary', ['leakyRelu', 3, f(3), f(3)], /^unary: param is required by op 'leakyRelu'$/],
    ['sumTo', [f(6), [2, 3], f(2), [2]], /^sumTo: outShape \[2\] cannot be reached by summing xShape \[2,3\]/],
    ['permute', [f(6), [2, 3], [0, 0], f(6)], /^permute: perm \[0,0\] is not a permutation of \[0, 2\)$/],
    ['permute', [f(6), [2, 3], [1, 0, 2], f(6)], /^permute: perm \[1,0,2\] has 3 entries but shape \[2,3\] has rank 2$/],
    ['reduce', ['max', f(3), 3, 0, 1, f(3), null], /^reduce: dim must be ≥ 1 for max and min$/],
    ['reduce', ['sum', f(6), 2, 3, 1, f(1), null], /^reduce: buffer out has 1 elements but outer·inner = 2 are required$/],
    ['softmaxCrossEntropy', [f(40), Int32Array.from([1, 2, 3, 12]), 4, 10, 0, f(4), f(40)], /^softmaxCrossEntropy: target 12 at row 3 is out of range \[0, 10\)$/],
    ['softmaxCrossEntropy', [f(40), Int32Array.from([-1, 2, 3, 4]), 4, 10, 0, f(4), f(40)], /^softmaxCrossEntropy: target -1 at row 0 is out of range \[0, 10\)$/],
    ['softmaxCrossEntropy', [f(4), Int32Array.from([0, 1]), 2, 2, 1.5, f(2), f(4)], /^softmaxCrossEntropy: labelSmoothing must be in \[0, 1\] but got 1\.5$/],
    ['softmaxCrossEntropyBackward', [f(4), Int32Array.from([0, 2]), f(2), 2, 2, 0, f(4)], /^softmaxCrossEntropyBackward: target 2 at row 1 is out of range \[0, 2\)$/],
    ['im2col', [f(9), 1, 1, 3, 3, 5, 1, 1, 1, 0, 0, f(100)], /^im2col: kh = 5 is larger than h \+ 2·padH = 3$/],
    ['im2col', [f(9), 1, 1, 3, 3, 1, 1, 0, 1, 0, 0, f(100)], /^im2col: strideH must be an integer ≥ 1 but got 0$/],
    ['im2col', [f(9), 2 ** 40, 2 ** 40, 3, 3, 1, 1, 1, 1, 0, 0, f(9)], /^im2col: n·c overflows/],
    ['maxPool2d', [f(16), 1, 1, 4, 4, 2, 2, 2, 2, 2, 0, f(9), new Int32Array(9)], /^maxPool2d: padH = 2 must be at most kh\/2/],
    ['maxPool2dBackward', [f(9), Int32Array.from([0, 1, 2, 3, 4, 99, 0, 0, 0]), 1, 1, 4, 4, 3, 3, f(16)], /^maxPool2dBackward: idx\[5\] = 99 is out of range \[0, 16\)$/],
    ['maxPool2dBackward', [f(1), Int32Array.from([-1]), 1, 1, 2, 2, 1, 1, f(4)], /^maxPool2dBackward: idx\[0\] = -1 is out of range \[0, 4\)$/],
    ['conv2dMaxPool', [f(16), 1, 1, 4, 4, 3, 3, 1, 1, 0, 0, f(18), 2, null, 'relu', 3, 2, f(2), new Int32Array(2)], /^conv2dMaxPool: poolH = 3 is larger than the convolution output height oh = 2$/],
    ['conv2dMaxPoolBackward', [f(16), 1, 1, 4, 4, 3, 3, 1, 1, 0, 0, f(18), 2, f(2), Int32Array.from([0, 4]), f(2), 'relu', 2, 2, f(16), f(18), f(2)], /^conv2dMaxPoolBackward: idx\[1\] = 4 is out of range \[0, 4\)$/],
    ['batchNorm', [f(3), 1, 3, 1, null, null, f(3), f(3), true, 0.1, 1e-5, f(3), f(3), f(3)], /^batchNorm: training needs more than one value per channel but outer·inner = 1$/],
    ['sgdStep', [3, f(3), f(3), null, 0.1, 0.9, 0, false, 0, false], /^sgdStep: buf must be a Float32Array when momentum is not 0$/],
    ['adamStep', [3, f(3), f(3), f(3), f(3), 0.1, 0.9, 0.999, 1e-8, 0, 0, false], /^adamStep: step must be an integer ≥ 1 but got 0$/],
    ['adamStep', [3, f(3), f(3), f(3), f(3), 0.1, 1, 0.999, 1e-8, 0, 1, false], /^adamStep: beta1 must be in \[0, 1\) but got 1$/],
    ['rmspropStep', [3, f(3), f(3), f(3), null, null, 0.1, 0.99, 1e-8, 0, 0, true], /^rmspropStep: gAvg must be a Float32Array when centered$/],
    ['randUniform', [new Uint32Array(4), f(3), 3, 0, 1], /^randUniform: state is all zeros/],
    ['dropoutMask', [Uint32Array.from([1, 2, 3, 4]), f(3), 3, 1], /^dropoutMask: p must be in \[0, 1\) but got 1$/],
    ['dropout', [Uint32Array.from([1, 2, 3, 4]), f(3), 3, 0.5, f(3), f(2)], /^dropout: buffer mask has 2 elements but n = 3 are required$/],
    ['setNumThreads', [0], /^setNumThreads: n must be an integer ≥ 1 but got 0$/],
  ];
  for (const [name, args, message] of cases) {
    it(`${name}: ${message.source.slice(0, 90)}`, () => {
      expect(() => rawFn(name)(...args)).toThrow(message);
      if (name !== 'setNumThreads') expect(() => adapterFn(name)(...args)).toThrow(message);
    });
  }

  it('refuses forbidden aliasing, allows the documented in-place calls', () => {
    const buf = new Float32Array(64);
    // gemm: C must not overlap A or B (byte ranges compared, views of one buffer included).
    expect(() => raw.gemm(false, false, 2, 2, 2, 1, buf.subarray(0, 4), buf.subarray(8, 12), 0, buf.subarray(2, 6)))
      .toThrow(/^gemm: c overlaps a \(they must not share memory\)$/);
    expect(() => raw.gemm(false, false, 2, 2, 2, 1, buf.subarray(0, 4), buf.subarray(8, 12), 0, buf.subarray(11, 15)))
      .toThrow(/^gemm: c overlaps b/);
    raw.gemm(false, false, 2, 2, 2, 1, buf.subarray(0, 4), buf.subarray(0, 4), 0, buf.subarray(4, 8)); // A = B is fine
    // binary: out may be a only as the very same elements.
    raw.binary('add', buf.subarray(0, 6), [2, 3], buf.subarray(8, 11), [3], buf.subarray(0, 6), [2, 3]);
    expect(() => raw.binary('add', buf.subarray(0, 6), [2, 3], buf.subarray(8, 11), [3], buf.subarray(1, 7), [2, 3]))
      .toThrow(/^binary: out partially overlaps a/);
    expect(() => raw.binary('add', buf.subarray(0, 6), [2, 3], buf.subarray(8, 11), [3], buf.subarray(8, 14), [2, 3]))
      .toThrow(/^binary: out partially overlaps b/);
    // softmax: out must not alias x; softmaxBackward: dx may be dy.
    expect(() => raw.softmax(buf.subarray(0, 4), 1, 4, 1, buf.subarray(0, 4), false)).toThrow(/^softmax: out overlaps x/);
    raw.softmaxBackward(buf.subarray(0, 4), buf.subarray(4, 8), 1, 4, 1, buf.subarray(4, 8), false);
    // permute: out must not alias x.
    expect(() => raw.permute(buf.subarray(0, 6), [2, 3], [1, 0], buf.subarray(3, 9))).toThrow(/^permute: out overlaps x/);
    // optimizer state buffers must be distinct.
    expect(() => raw.adamStep(4, buf.subarray(0, 4), buf.subarray(4, 8), buf.subarray(8, 12), buf.subarray(8, 12), 0.1, 0.9, 0.99, 1e-8, 0, 1, false))
      .toThrow(/^adamStep: m overlaps v|^adamStep: v overlaps m/);
    // rng: the state must not sit inside the output.
    const shared = new ArrayBuffer(64);
    const st = new Uint32Array(shared, 0, 4);
    st.set([1, 2, 3, 4]);
    expect(() => raw.randUniform(st, new Float32Array(shared, 0, 8), 8, 0, 1)).toThrow(/^randUniform: (state overlaps out|out overlaps state)/);
    // dropout: out may be x (in place), the mask may alias neither.
    raw.dropout(Uint32Array.from([1, 2, 3, 4]), buf.subarray(0, 8), 8, 0.5, buf.subarray(0, 8), buf.subarray(8, 16));
    expect(() => raw.dropout(Uint32Array.from([1, 2, 3, 4]), buf.subarray(0, 8), 8, 0.5, buf.subarray(16, 24), buf.subarray(4, 12)))
      .toThrow(/^dropout: mask overlaps x/);
  });

  it('a refused call writes nothing', () => {
    const loss = new Float32Array(4).fill(9), probs = new Float32Array(40).fill(9);
    expect(() => raw.softmaxCrossEntropy(new Float32Array(40), Int32Array.from([1, 2, 3, 12]), 4, 10, 0, loss, probs)).toThrow();
    expect([...loss, ...probs].every((v) => v === 9)).toBe(true);
    const dx = new Float32Array(16).fill(9);
    expect(() => raw.maxPool2dBackward(new Float32Array(4), Int32Array.from([0, 1, 2, 16]), 1, 1, 4, 4, 2, 2, dx)).toThrow();
    expect(dx.every((v) => v === 9)).toBe(true);
  });

  it('a detached buffer counts as empty', () => {
    const ab = new ArrayBuffer(16);
    const x = new Float32Array(ab);
    structuredClone(ab, { transfer: [ab] });
    expect(() => raw.unary('neg', 4, x, new Float32Array(4))).toThrow(/^unary: buffer x has 0 elements but n = 4 are required$/);
  });
});

describe('fuzz: mixed valid and invalid calls never crash or write out of bounds', () => {
  it('a few thousand seeded calls: each returns or throws an Error naming its kernel', () => {
    const r = new Rng(20240601);
    const threadsBefore = raw.getNumThreads();
    let returned = 0, threw = 0;
    for (let iter = 0; iter < 4000; iter++) {
      const spec = r.pick(SPECS);
      const arena = new Arena();
      const args = spec.make(r, arena);
      const mutations = r.next() < 0.35 ? 0 : r.int(1, 3);
      for (let m = 0; m < mutations; m++) {
        const i = r.int(0, args.length - 1);
        const kind = spec.kinds[i]!;
        const roll = r.next();
        if (roll < 0.3) {
          args[i] = r.pick(badValues(kind, args[i]));
        } else if (kind === 'size' && roll < 0.8) {
          args[i] = r.int(0, 9); // plausible but maybe inconsistent
        } else if ((kind === 'f32' || kind === 'f32?') && roll < 0.65) {
          args[i] = arena.f32(r.int(0, 30)); // a buffer of a random length
        } else if ((kind === 'f32' || kind === 'f32?') && roll < 0.85) {
          // alias another float buffer of the same call (or a shifted view of it)
          const others = args.filter((v): v is Float32Array => v instanceof Float32Array);
          const o = others.length ? r.pick(others) : arena.f32(r.int(0, 30));
          const shift = r.int(0, Math.min(2, o.length));
          args[i] = o.subarray(shift);
        } else if ((kind === 'i32' || kind === 'i32?') && roll < 0.8) {
          const len = r.int(0, 20);
          args[i] = arena.i32(len);
          (args[i] as Int32Array).forEach((_, j, a) => { a[j] = r.int(-3, 40); });
        } else if (kind === 'shape' && roll < 0.8) {
          args[i] = Array.from({ length: r.int(0, 3) }, () => r.int(0, 5));
        } else if (kind === 'num' && roll < 0.8) {
          args[i] = (r.next() - 0.5) * 10;
        }
      }
      const call = r.next() < 0.5 || spec.name === 'setNumThreads' ? rawFn(spec.name) : adapterFn(spec.name);
      try {
        const r = call(...args);
        if (COUNTS.has(spec.name)) expect(Number.isSafeInteger(r) && (r as number) >= 0).toBe(true);
        else expect(r).toBeUndefined();
        returned++;
      } catch (e) {
        if (!(e instanceof Error)) throw new Error(`${spec.name} threw a non-Error: ${String(e)}`);
        if (!e.message.startsWith(`${spec.name}: `)) {
          throw new Error(`${spec.name} threw an Error that does not name it: ${e.message}`);
        }
        threw++;
      }
      if (!arena.intact()) {
        throw new Error(`${spec.name} wrote outside a buffer: ${args.map(describeValue).join(', ')}`);
      }
    }
    raw.setNumThreads(threadsBefore);
    // Both outcomes were exercised a fair number of times.
    expect(returned).toBeGreaterThan(500);
    expect(threw).toBeGreaterThan(500);
  });
});
