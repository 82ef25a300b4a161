/**
 * Argument checks shared by the backends. Every check throws an `Error` whose message starts
 * with the kernel's name and names the offending argument, e.g.
 * `gemm: buffer a has 10 elements but m·k = 12 are required`.
 *
 * Messages are built only on failure; the passing path is a few comparisons.
 */

/** Highest rank accepted by the shape-taking kernels (binary, sumTo, permute). */
export const MAX_RANK = 8;

/** Throws `Error("<kernel>: <message>")`. */
export function fail(kernel: string, message: string): never {
  throw new Error(`${kernel}: ${message}`);
}

/** How a value reads in a message: `1.5 (number)`, `'x' (string)`, `Float64Array(3)`. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (ArrayBuffer.isView(v)) {
    const ctor = (v as object).constructor?.name ?? 'ArrayBufferView';
    return `${ctor}(${(v as unknown as { length?: number }).length ?? (v as DataView).byteLength})`;
  }
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === 'string') return `'${v}' (string)`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return `${String(v)} (${typeof v})`;
}

/** A size: a non-negative safe integer. */
export function checkSize(kernel: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(kernel, `${name} must be a non-negative integer, got ${describe(v)}`);
  }
}

/** A size that must be at least 1 (kernel extents, strides). */
export function checkPositive(kernel: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    fail(kernel, `${name} must be a positive integer, got ${describe(v)}`);
  }
}

/** Any number (NaN and ±Infinity included: they propagate as IEEE says). */
export function checkNumber(kernel: string, name: string, v: number): void {
  if (typeof v !== 'number') fail(kernel, `${name} must be a number, got ${describe(v)}`);
}

/** A finite number. */
export function checkFinite(kernel: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    fail(kernel, `${name} must be a finite number, got ${describe(v)}`);
  }
}

/**
 * A finite number that the kernel uses as a float32 (the native backend converts it): one that
 * rounds to ±Infinity there is refused on both backends.
 */
export function checkFiniteF32(kernel: string, name: string, v: number): void {
  checkFinite(kernel, name, v);
  if (!Number.isFinite(Math.fround(v))) fail(kernel, `${name} must be a finite number, got ${describe(v)} (beyond float32's range)`);
}

/** A finite number in [lo, hi] (or [lo, hi) when `hiOpen`). */
export function checkRange(kernel: string, name: string, v: number, lo: number, hi: number,
  hiOpen = false): void {
  if (typeof v !== 'number' || !(v >= lo) || (hiOpen ? !(v < hi) : !(v <= hi))) {
    fail(kernel, `${name} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${describe(v)}`);
  }
}

export function checkBool(kernel: string, name: string, v: boolean): void {
  if (typeof v !== 'boolean') fail(kernel, `${name} must be a boolean, got ${describe(v)}`);
}

/** One of a fixed list of string options (op names, activations). */
export function checkOneOf<T extends string>(kernel: string, name: string, v: T,
  options: readonly T[]): void {
  if (!options.includes(v)) {
    fail(kernel, `${name} must be one of ${options.map((o) => `'${o}'`).join(', ')}, ` +
      `got ${describe(v)}`);
  }
}

type Typed = Float32Array | Int32Array | Uint32Array | Uint8Array;
type TypedCtor = Float32ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor | Uint8ArrayConstructor;

function checkTyped(kernel: string, name: string, buf: Typed, ctor: TypedCtor,
  required: number, expr: string): void {
  // The toStringTag of a typed array names its element type in every realm (instanceof does not
  // hold across vm contexts).
  if (!ArrayBuffer.isView(buf) || (buf as Typed)[Symbol.toStringTag] !== ctor.name) {
    fail(kernel, `${name} must be a ${ctor.name}, got ${describe(buf)}`);
  }
  if (buf.length < required) {
    const need = expr === '' || expr === String(required) ? `${required}` : `${expr} = ${required}`;
    fail(kernel, `buffer ${name} has ${buf.length} elements but ${need} are required`);
  }
}

/**
 * A Float32Array with at least `required` elements; `expr` says where the count comes from
 * (`'m·k'`), for the message.
 */
export function checkF32(kernel: string, name: string, buf: Float32Array, required: number,
  expr = ''): void {
  checkTyped(kernel, name, buf, Float32Array, required, expr);
}

export function checkI32(kernel: string, name: string, buf: Int32Array, required: number,
  expr = ''): void {
  checkTyped(kernel, name, buf, Int32Array, required, expr);
}

export function checkU32(kernel: string, name: string, buf: Uint32Array, required: number,
  expr = ''): void {
  checkTyped(kernel, name, buf, Uint32Array, required, expr);
}

export function checkU8(kernel: string, name: string, buf: Uint8Array, required: number,
  expr = ''): void {
  checkTyped(kernel, name, buf, Uint8Array, required, expr);
}

/** The same, for an optional buffer (`null`/`undefined` pass). */
export function checkOptF32(kernel: string, name: string, buf: Float32Array | null | undefined,
  required: number, expr = ''): void {
  if (buf !== null && buf !== undefined) checkF32(kernel, name, buf, required, expr);
}

/**
 * A shape: an array of at most MAX_RANK non-negative integers. Returns its element count.
 */
export function checkShape(kernel: string, name: string, shape: readonly number[]): number {
  if (!Array.isArray(shape)) fail(kernel, `${name} must be an array of sizes, got ${describe(shape)}`);
  if (shape.length > MAX_RANK) {
    fail(kernel, `${name} has rank ${shape.length} but at most ${MAX_RANK} is supported`);
  }
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(kernel, `${name}[${i}] must be a non-negative integer, got ${describe(d)} ` +
        `(${name} = ${fmtShape(shape)})`);
    }
    n *= d;
  }
  return n;
}

/** `[2,3,4]` */
export function fmtShape(shape: readonly unknown[]): string {
  return `[${shape.join(',')}]`;
}

/** Byte range [start, end) a kernel touches in `buf` when it uses `count` elements. */
function span(buf: Typed, count: number): [number, number] {
  const start = buf.byteOffset;
  return [start, start + count * buf.BYTES_PER_ELEMENT];
}

/** Whether the first `na` elements of a and the first `nb` of b share any byte. */
export function overlaps(a: Typed, na: number, b: Typed, nb: number): boolean {
  if (na <= 0 || nb <= 0 || a.buffer !== b.buffer) return false;
  const [a0, a1] = span(a, na);
  const [b0, b1] = span(b, nb);
  return a0 < b1 && b0 < a1;
}

/**
 * `out` (its first `nOut` elements) must not share memory with `inp` (its first `nIn`).
 */
export function checkNoAlias(kernel: string, outName: string, out: Typed, nOut: number,
  inName: string, inp: Typed | null | undefined, nIn: number): void {
  if (inp && overlaps(out, nOut, inp, nIn)) {
    fail(kernel, `${outName} overlaps ${inName} (they must not share memory)`);
  }
}

/**
 * `out` may be exactly `inp` (same memory, same start, `allowed` true), or disjoint from it;
 * any partial overlap, or aliasing where `allowed` is false, throws.
 */
export function checkExactAliasOr(kernel: string, outName: string, out: Typed, nOut: number,
  inName: string, inp: Typed | null | undefined, nIn: number, allowed: boolean,
  why = ''): void {
  if (!inp || !overlaps(out, nOut, inp, nIn)) return;
  const exact = out.byteOffset === inp.byteOffset &&
    out.BYTES_PER_ELEMENT === inp.BYTES_PER_ELEMENT && nOut === nIn;
  if (exact && allowed) return;
  if (exact) fail(kernel, `${outName} may not alias ${inName}${why ? ` (${why})` : ''}`);
  fail(kernel, `${outName} partially overlaps ${inName}: they must be the same buffer or disjoint`);
}

/** The output extent of a sliding window: floor((size + 2·pad − kernel)/stride) + 1. */
export function windowOut(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/**
 * The shared sliding-window arguments of im2col, col2im and pooling: n, c, h, w ≥ 0;
 * kh, kw, strides ≥ 1; pads ≥ 0; the kernel must fit the padded input (so oh, ow ≥ 1).
 * With `pool` (max pooling), h, w ≥ 1 (unless n·c = 0) and pads are at most half the kernel
 * (PyTorch's rule): every window then holds at least one input element. Returns [oh, ow].
 */
export function checkWindow(kernel: string, n: number, c: number, h: number, w: number,
  kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
  pool: boolean): [oh: number, ow: number] {
  checkSize(kernel, 'n', n);
  checkSize(kernel, 'c', c);
  checkSize(kernel, 'h', h);
  checkSize(kernel, 'w', w);
  checkPositive(kernel, 'kh', kh);
  checkPositive(kernel, 'kw', kw);
  checkPositive(kernel, 'strideH', strideH);
  checkPositive(kernel, 'strideW', strideW);
  checkSize(kernel, 'padH', padH);
  checkSize(kernel, 'padW', padW);
  if (pool && n * c > 0 && (h < 1 || w < 1)) {
    fail(kernel, `h and w must be at least 1 for max pooling, got h = ${h}, w = ${w}`);
  }
  if (pool && 2 * padH > kh) fail(kernel, `padH = ${padH} must be at most kh/2 = ${kh / 2}`);
  if (pool && 2 * padW > kw) fail(kernel, `padW = ${padW} must be at most kw/2 = ${kw / 2}`);
  if (h + 2 * padH < kh) fail(kernel, `kh = ${kh} is larger than h + 2·padH = ${h + 2 * padH}`);
  if (w + 2 * padW < kw) fail(kernel, `kw = ${kw} is larger than w + 2·padW = ${w + 2 * padW}`);
  return [windowOut(h, kh, strideH, padH), windowOut(w, kw, strideW, padW)];
}
