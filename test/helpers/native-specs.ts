/**
 * The addon's entry points as a table: for each kernel, the kind of every argument and a maker of
 * valid arguments (every size >= 1) in guarded buffers, plus the values that are wrong for each
 * kind. Shared by test/native/bad-args.test.ts and the fuzzers in test/robustness/.
 */
// ------------------------------------------------------------------ seeded randomness
export class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (Math.imul(this.s ^ (this.s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return this.s / 2 ** 32;
  }
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick<T>(xs: readonly T[]): T { return xs[Math.floor(this.next() * xs.length)]!; }
}

// ------------------------------------------------------------------ guarded buffers
// Every typed array handed to the addon is a view with 4 sentinel elements on each side in
// the same ArrayBuffer, so an out-of-bounds write just past either end is caught.
export const GUARD = 4;
export const SENT_F = -7777.25, SENT_I = -77777, SENT_U8 = 0xa5;
export interface Guarded { view: Float32Array | Int32Array | Uint32Array | Uint8Array; check(): boolean }
export class Arena {
  readonly all: Guarded[] = [];
  /** Registers `whole` (n + 2·GUARD elements) and returns its guarded middle view. */
  guard<T extends Float32Array | Int32Array | Uint32Array | Uint8Array>(whole: T, n: number, sent: number): T {
    whole.fill(sent as never, 0, GUARD);
    whole.fill(sent as never, GUARD + n);
    const view = whole.subarray(GUARD, GUARD + n) as T;
    const check = (): boolean => {
      for (let i = 0; i < GUARD; i++) {
        if (!Object.is(whole[i], sent) || !Object.is(whole[GUARD + n + i], sent)) return false;
      }
      return true;
    };
    this.all.push({ view, check });
    return view;
  }
  f32(n: number, fill = 0.5): Float32Array {
    const v = this.guard(new Float32Array(n + 2 * GUARD), n, SENT_F);
    v.fill(fill);
    return v;
  }
  i32(n: number, fill = 0): Int32Array {
    const v = this.guard(new Int32Array(n + 2 * GUARD), n, SENT_I);
    v.fill(fill);
    return v;
  }
  u8(n: number, fill = 7): Uint8Array {
    const v = this.guard(new Uint8Array(n + 2 * GUARD), n, SENT_U8);
    v.fill(fill);
    return v;
  }
  state(): Uint32Array {
    const v = this.guard(new Uint32Array(4 + 2 * GUARD), 4, SENT_I >>> 0);
    v.set([1, 2, 3, 4]);
    return v;
  }
  intact(): boolean { return this.all.every((g) => g.check()); }
}

// ------------------------------------------------------------------ the entry points
export type Kind =
  | 'f32' | 'f32?' | 'i32' | 'i32?' | 'u8' | 'state' | 'size' | 'num' | 'bool' | 'shape' | 'perm'
  | { op: readonly string[] };

export interface Spec {
  name: string;
  kinds: Kind[];
  /** Valid arguments, every size ≥ 1, so that an empty buffer is always too short. */
  make(r: Rng, a: Arena): unknown[];
}

export const UNARY = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'square', 'reciprocal', 'relu',
  'leakyRelu', 'sigmoid', 'tanh', 'gelu', 'pow', 'scale', 'addScalar', 'clampMin'];
const win: Kind[] = ['size', 'size', 'size', 'size', 'size', 'size', 'size', 'size', 'size', 'size'];
export function window(r: Rng): { n: number; c: number; h: number; w: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number; oh: number; ow: number } {
  const kh = r.int(1, 3), kw = r.int(1, 3);
  const ph = r.int(0, kh >> 1), pw = r.int(0, kw >> 1);
  const h = r.int(kh, 6), w = r.int(kw, 6), sh = r.int(1, 2), sw = r.int(1, 2);
  return { n: r.int(1, 2), c: r.int(1, 3), h, w, kh, kw, sh, sw, ph, pw,
    oh: Math.floor((h + 2 * ph - kh) / sh) + 1, ow: Math.floor((w + 2 * pw - kw) / sw) + 1 };
}

export const SPECS: Spec[] = [
  { name: 'gemm', kinds: ['bool', 'bool', 'size', 'size', 'size', 'num', 'f32', 'f32', 'num', 'f32'],
    make: (r, a) => {
      const m = r.int(1, 6), n = r.int(1, 6), k = r.int(1, 6);
      return [r.next() < 0.5, r.next() < 0.5, m, n, k, 1, a.f32(m * k), a.f32(k * n), 0, a.f32(m * n)];
    } },
  { name: 'gemmBatched',
    kinds: ['size', 'bool', 'bool', 'size', 'size', 'size', 'num', 'f32', 'size', 'f32', 'size', 'num', 'f32', 'size'],
    make: (r, a) => {
      const batch = r.int(1, 3), m = r.int(1, 4), n = r.int(1, 4), k = r.int(1, 4);
      const sA = r.next() < 0.3 ? 0 : m * k, sB = r.next() < 0.3 ? 0 : k * n, sC = m * n + r.int(0, 2);
      return [batch, r.next() < 0.5, r.next() < 0.5, m, n, k, 1, a.f32((batch - 1) * sA + m * k), sA,
        a.f32((batch - 1) * sB + k * n), sB, 0.5, a.f32((batch - 1) * sC + m * n), sC];
    } },
  { name: 'binary', kinds: [{ op: ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow'] }, 'f32', 'shape', 'f32', 'shape', 'f32', 'shape'],
    make: (r, a) => {
      const rows = r.int(1, 4), cols = r.int(1, 5);
      const bShape = r.pick([[rows, cols], [cols], [1], [rows, 1]]);
      const bn = bShape.reduce((p, d) => p * d, 1);
      return [r.pick(['add', 'mul', 'max', 'pow']), a.f32(rows * cols), [rows, cols], a.f32(bn), bShape, a.f32(rows * cols), [rows, cols]];
    } },
  { name: 'unary', kinds: [{ op: UNARY }, 'size', 'f32', 'f32', 'num'],
    make: (r, a) => { const n = r.int(1, 20); return ['leakyRelu', n, a.f32(n), a.f32(n), 0.1]; } },
  { name: 'unaryBackward', kinds: [{ op: UNARY }, 'size', 'f32', 'f32', 'f32', 'f32', 'num'],
    make: (r, a) => { const n = r.int(1, 20); return ['pow', n, a.f32(n), a.f32(n), a.f32(n), a.f32(n), 2]; } },
  { name: 'axpy', kinds: ['size', 'num', 'f32', 'f32'],
    make: (r, a) => { const n = r.int(1, 20); return [n, 0.5, a.f32(n), a.f32(n)]; } },
  { name: 'gatherBytes', kinds: ['u8', 'i32', 'size', 'size', 'size', 'size', 'num', 'num', 'f32'],
    make: (r, a) => {
      const records = r.int(1, 4), stride = r.int(1, 6), count = r.int(1, 4);
      const offset = r.int(0, stride - 1), length = r.int(1, stride - offset);
      return [a.u8(records * stride), a.i32(count, records - 1), count, stride, offset, length, 0.5, 0.25, a.f32(count * stride)];
    } },
  { name: 'sumTo', kinds: ['f32', 'shape', 'f32', 'shape'],
    make: (r, a) => {
      const rows = r.int(1, 4), cols = r.int(1, 5);
      const os = r.pick([[cols], [rows, 1], [1, 1], [rows, cols]]);
      return [a.f32(rows * cols), [rows, cols], a.f32(os.reduce((p, d) => p * d, 1)), os];
    } },
  { name: 'permute', kinds: ['f32', 'shape', 'perm', 'f32'],
    make: (r, a) => {
      const s = [r.int(1, 3), r.int(1, 3), r.int(1, 3)];
      return [a.f32(s[0]! * s[1]! * s[2]!), s, r.pick([[2, 0, 1], [1, 0, 2], [0, 1, 2]]), a.f32(s[0]! * s[1]! * s[2]!)];
    } },
  { name: 'reduce', kinds: [{ op: ['sum', 'mean', 'max', 'min'] }, 'f32', 'size', 'size', 'size', 'f32', 'i32?'],
    make: (r, a) => {
      const o = r.int(1, 3), d = r.int(1, 4), i = r.int(1, 3);
      return [r.pick(['max', 'min']), a.f32(o * d * i), o, d, i, a.f32(o * i), a.i32(o * i)];
    } },
  { name: 'softmax', kinds: ['f32', 'size', 'size', 'size', 'f32', 'bool'],
    make: (r, a) => {
      const o = r.int(1, 3), d = r.int(1, 5), i = r.int(1, 3);
      return [a.f32(o * d * i), o, d, i, a.f32(o * d * i), r.next() < 0.5];
    } },
  { name: 'softmaxBackward', kinds: ['f32', 'f32', 'size', 'size', 'size', 'f32', 'bool'],
    make: (r, a) => {
      const o = r.int(1, 3), d = r.int(1, 5), i = r.int(1, 3), t = o * d * i;
      return [a.f32(t), a.f32(t), o, d, i, a.f32(t), r.next() < 0.5];
    } },
  { name: 'softmaxCrossEntropy', kinds: ['f32', 'i32', 'size', 'size', 'num', 'f32', 'f32'],
    make: (r, a) => {
      const n = r.int(1, 4), c = r.int(1, 6);
      return [a.f32(n * c), a.i32(n, c - 1), n, c, 0.1, a.f32(n), a.f32(n * c)];
    } },
  { name: 'softmaxCrossEntropyBackward', kinds: ['f32', 'i32', 'f32', 'size', 'size', 'num', 'f32'],
    make: (r, a) => {
      const n = r.int(1, 4), c = r.int(1, 6);
      return [a.f32(n * c), a.i32(n, 0), a.f32(n), n, c, 0, a.f32(n * c)];
    } },
  { name: 'biasAct', kinds: ['f32', 'f32', 'size', 'size', 'size', { op: ['none', 'relu'] }, 'f32'],
    make: (r, a) => {
      const o = r.int(1, 3), c = r.int(1, 4), i = r.int(1, 3);
      return [a.f32(o * c * i), a.f32(c), o, c, i, r.pick(['none', 'relu']), a.f32(o * c * i)];
    } },
  { name: 'biasActBackward', kinds: ['f32', 'f32', 'size', 'size', 'size', { op: ['none', 'relu'] }, 'f32', 'f32?'],
    make: (r, a) => {
      const o = r.int(1, 3), c = r.int(1, 4), i = r.int(1, 3), t = o * c * i;
      return [a.f32(t), a.f32(t), o, c, i, r.pick(['none', 'relu']), a.f32(t), a.f32(c)];
    } },
  { name: 'im2col', kinds: ['f32', ...win, 'f32'],
    make: (r, a) => {
      const g = window(r);
      return [a.f32(g.n * g.c * g.h * g.w), g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
        a.f32(g.n * g.c * g.kh * g.kw * g.oh * g.ow)];
    } },
  { name: 'col2im', kinds: ['f32', ...win, 'f32'],
    make: (r, a) => {
      const g = window(r);
      return [a.f32(g.n * g.c * g.kh * g.kw * g.oh * g.ow), g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw,
        g.ph, g.pw, a.f32(g.n * g.c * g.h * g.w)];
    } },
  { name: 'conv2d', kinds: ['f32', ...win, 'f32', 'size', 'f32?', { op: ['none', 'relu'] }, 'f32'],
    make: (r, a) => {
      const g = window(r), oc = r.int(1, 3);
      return [a.f32(g.n * g.c * g.h * g.w), g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
        a.f32(oc * g.c * g.kh * g.kw), oc, a.f32(oc), r.pick(['none', 'relu']), a.f32(g.n * oc * g.oh * g.ow)];
    } },
  { name: 'conv2dBackward',
    kinds: ['f32', ...win, 'f32', 'size', 'f32', 'f32', { op: ['none', 'relu'] }, 'f32?', 'f32?', 'f32?'],
    make: (r, a) => {
      const g = window(r), oc = r.int(1, 3), out = g.n * oc * g.oh * g.ow;
      return [a.f32(g.n * g.c * g.h * g.w), g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
        a.f32(oc * g.c * g.kh * g.kw), oc, a.f32(out), a.f32(out), 'relu', a.f32(g.n * g.c * g.h * g.w),
        a.f32(oc * g.c * g.kh * g.kw), a.f32(oc)];
    } },
  { name: 'conv2dMaxPool', kinds: ['f32', ...win, 'f32', 'size', 'f32?', { op: ['none', 'relu'] }, 'size', 'size', 'f32', 'i32'],
    make: (r, a) => {
      const g = window(r), oc = r.int(1, 3), qh = r.int(1, g.oh), qw = r.int(1, g.ow);
      const out = g.n * oc * Math.floor(g.oh / qh) * Math.floor(g.ow / qw);
      return [a.f32(g.n * g.c * g.h * g.w), g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
        a.f32(oc * g.c * g.kh * g.kw), oc, a.f32(oc), r.pick(['none', 'relu']), qh, qw, a.f32(out), a.i32(out)];
    } },
  { name: 'conv2dMaxPoolBackward',
    kinds: ['f32', ...win, 'f32', 'size', 'f32', 'i32', 'f32', { op: ['none', 'relu'] }, 'size', 'size', 'f32?', 'f32?', 'f32?'],
    make: (r, a) => {
      const g = window(r), oc = r.int(1, 3), qh = r.int(1, g.oh), qw = r.int(1, g.ow);
      const out = g.n * oc * Math.floor(g.oh / qh) * Math.floor(g.ow / qw);
      return [a.f32(g.n * g.c * g.h * g.w), g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
        a.f32(oc * g.c * g.kh * g.kw), oc, a.f32(out), a.i32(out), a.f32(out), 'relu', qh, qw, a.f32(g.n * g.c * g.h * g.w),
        a.f32(oc * g.c * g.kh * g.kw), a.f32(oc)];
    } },
  { name: 'maxPool2d', kinds: ['f32', ...win, 'f32', 'i32'],
    make: (r, a) => {
      const g = window(r);
      return [a.f32(g.n * g.c * g.h * g.w), g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
        a.f32(g.n * g.c * g.oh * g.ow), a.i32(g.n * g.c * g.oh * g.ow)];
    } },
  { name: 'maxPool2dBackward', kinds: ['f32', 'i32', 'size', 'size', 'size', 'size', 'size', 'size', 'f32'],
    make: (r, a) => {
      const g = window(r), out = g.n * g.c * g.oh * g.ow;
      return [a.f32(out), a.i32(out, g.h * g.w - 1), g.n, g.c, g.h, g.w, g.oh, g.ow, a.f32(g.n * g.c * g.h * g.w)];
    } },
  { name: 'avgPool2d', kinds: ['f32', ...win, 'f32'],
    make: (r, a) => {
      const g = window(r);
      return [a.f32(g.n * g.c * g.h * g.w), g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
        a.f32(g.n * g.c * g.oh * g.ow)];
    } },
  { name: 'avgPool2dBackward', kinds: ['f32', ...win, 'f32'],
    make: (r, a) => {
      const g = window(r);
      return [a.f32(g.n * g.c * g.oh * g.ow), g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw,
        a.f32(g.n * g.c * g.h * g.w)];
    } },
  { name: 'batchNorm',
    kinds: ['f32', 'size', 'size', 'size', 'f32?', 'f32?', 'f32', 'f32', 'bool', 'num', 'num', 'f32', 'f32', 'f32'],
    make: (r, a) => {
      const o = r.int(2, 4), c = r.int(1, 3), i = r.int(1, 3), t = o * c * i;
      return [a.f32(t), o, c, i, a.f32(c), a.f32(c), a.f32(c), a.f32(c, 1), true, 0.1, 1e-5, a.f32(t), a.f32(c), a.f32(c)];
    } },
  { name: 'batchNormBackward',
    kinds: ['f32', 'f32', 'size', 'size', 'size', 'f32?', 'f32', 'f32', 'f32', 'f32?', 'f32?'],
    make: (r, a) => {
      const o = r.int(1, 4), c = r.int(1, 3), i = r.int(1, 3), t = o * c * i;
      return [a.f32(t), a.f32(t), o, c, i, a.f32(c), a.f32(c), a.f32(c, 1), a.f32(t), a.f32(c), a.f32(c)];
    } },
  { name: 'sgdStep', kinds: ['size', 'f32', 'f32', 'f32?', 'num', 'num', 'num', 'bool', 'num', 'bool'],
    make: (r, a) => { const n = r.int(1, 20); return [n, a.f32(n), a.f32(n), a.f32(n), 0.1, 0.9, 0, false, 0, false]; } },
  { name: 'adamStep', kinds: ['size', 'f32', 'f32', 'f32', 'f32', 'num', 'num', 'num', 'num', 'num', 'size', 'bool'],
    make: (r, a) => {
      const n = r.int(1, 20);
      return [n, a.f32(n), a.f32(n), a.f32(n), a.f32(n), 1e-3, 0.9, 0.999, 1e-8, 0, r.int(1, 5), r.next() < 0.5];
    } },
  { name: 'rmspropStep', kinds: ['size', 'f32', 'f32', 'f32', 'f32?', 'f32?', 'num', 'num', 'num', 'num', 'num', 'bool'],
    make: (r, a) => {
      const n = r.int(1, 20);
      return [n, a.f32(n), a.f32(n), a.f32(n, 1), a.f32(n, 0), a.f32(n), 0.01, 0.99, 1e-8, 0, 0.9, true];
    } },
  { name: 'randUniform', kinds: ['state', 'f32', 'size', 'num', 'num'],
    make: (r, a) => { const n = r.int(1, 20); return [a.state(), a.f32(n), n, -1, 1]; } },
  { name: 'randNormal', kinds: ['state', 'f32', 'size', 'num', 'num'],
    make: (r, a) => { const n = r.int(1, 20); return [a.state(), a.f32(n), n, 0, 1]; } },
  { name: 'dropoutMask', kinds: ['state', 'f32', 'size', 'num'],
    make: (r, a) => { const n = r.int(1, 20); return [a.state(), a.f32(n), n, 0.5]; } },
  { name: 'dropout', kinds: ['state', 'f32', 'size', 'num', 'f32', 'f32'],
    make: (r, a) => { const n = r.int(1, 20); return [a.state(), a.f32(n), n, 0.5, a.f32(n), a.f32(n)]; } },
  { name: 'setNumThreads', kinds: ['size'], make: () => [1] },
];

/** Entry points that return a count (the optimizer steps: how many non-finite values they wrote). */
export const COUNTS: ReadonlySet<string> = new Set(['sgdStep', 'adamStep', 'rmspropStep']);

type TypedCtor = Float32ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor | Uint8ArrayConstructor;

/** The typed array an argument of `kind` takes (Float32Array for the non-buffer kinds). */
export function typedCtorOf(kind: Kind): TypedCtor {
  switch (kind) {
    case 'i32': case 'i32?': return Int32Array;
    case 'u8': return Uint8Array;
    case 'state': return Uint32Array;
    default: return Float32Array;
  }
}

/**
 * A typed array of `n` elements whose ArrayBuffer has been transferred away (detached): the
 * right element type, but it now has 0 elements and no memory behind it.
 */
export function detached<C extends TypedCtor>(ctor: C, n: number): InstanceType<C> {
  const ab = new ArrayBuffer(ctor.BYTES_PER_ELEMENT * n);
  const v = new ctor(ab) as InstanceType<C>;
  structuredClone(ab, { transfer: [ab] });
  return v;
}

// Values that are wrong for every argument of a kind (given valid sizes ≥ 1 elsewhere).
export function badValues(kind: Kind, valid: unknown): unknown[] {
  const len = (valid as { length?: number } | null)?.length ?? 1;
  const common = ['x', true, {}, Symbol.iterator, 10n];
  if (typeof kind === 'object') return ['nope', 3, undefined, null, ...common.slice(1)];
  switch (kind) {
    case 'f32':
    case 'f32?': {
      const v: unknown[] = [3, [1, 2, 3], new Float64Array(len), new Int32Array(len),
        new Uint8Array(4 * len), new Float32Array(0), detached(Float32Array, len), new ArrayBuffer(4 * len), ...common];
      return kind === 'f32' ? [undefined, null, ...v] : v;
    }
    case 'i32':
    case 'i32?': {
      const v: unknown[] = [new Float32Array(len), new Uint32Array(len), new Int32Array(0), detached(Int32Array, len), [0], 1, ...common];
      return kind === 'i32' ? [undefined, null, ...v] : v;
    }
    case 'u8':
      return [new Float32Array(len), new Int8Array(len), new Uint8ClampedArray(len), detached(Uint8Array, Math.max(len, 1)), [0], 1, undefined, null, ...common];
    case 'state':
      return [new Uint32Array(4), new Uint32Array(3), detached(Uint32Array, 4), Int32Array.from([1, 2, 3, 4]), new Float32Array(4), undefined, null, [1, 2, 3, 4]];
    case 'size':
      return [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 64, '3', undefined, null, true, -0.5];
    case 'num':
      return [NaN, Infinity, -Infinity, '1', undefined, null, true, 1n];
    case 'bool':
      return [1, 0, 'true', undefined, null, {}];
    case 'shape':
      return ['x', 3, undefined, null, [-1], [1.5], [NaN], [Infinity], ['2'], new Array(9).fill(1), [2 ** 40, 2 ** 40]];
    case 'perm':
      return ['x', undefined, [0, 0, 0], [0, 1], [0, 1, 3], [-1, 0, 1], [0.5, 1, 2], [0, 1, 2, 3]];
  }
}

/** A short description of an argument value for failure messages and case logs. */
export function describeValue(v: unknown): string {
  if (ArrayBuffer.isView(v)) {
    const t = v as unknown as { length: number; BYTES_PER_ELEMENT: number };
    const shared = typeof SharedArrayBuffer !== 'undefined' && v.buffer instanceof SharedArrayBuffer ? ' shared' : '';
    const at = v.byteOffset ? ` @${v.byteOffset / t.BYTES_PER_ELEMENT}` : '';
    return `${v.constructor.name}(${t.length}${at}${shared})`;
  }
  if (typeof v === 'symbol' || typeof v === 'bigint' || typeof v === 'function') return String(v);
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  try { return JSON.stringify(v) ?? String(v); } catch { /* a bigint inside, a cycle */ }
  try { return String(v); } catch { return Object.prototype.toString.call(v); } // null prototype
}
