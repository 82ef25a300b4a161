import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { fileKind } from '../files';
import { DataError } from './errors';

/**
 * The IDX format (LeCun's MNIST files): a 4-byte magic number `0x00 0x00 <dtype> <ndims>`, then
 * `ndims` big-endian uint32 dimensions, then the values, big-endian, row-major.
 *
 * Decisions:
 * - A dimension of 0 is allowed (an empty data set is a valid file); the data part is then empty.
 * - The file length must equal header + Π dims × element size exactly: a truncated file and
 *   trailing bytes are both errors.
 * - The expected size is compared with the real file size (fstat) before anything is allocated,
 *   so a corrupt header that claims 2³¹ × 2³¹ values fails at once.
 */
export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export interface IdxArrays {
  uint8: Uint8Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  float32: Float32Array;
  float64: Float64Array;
}

export type IdxData = IdxArrays[IdxDtype];

export interface IdxFile<D extends IdxDtype = IdxDtype> {
  dtype: D;
  /** Dimensions, outermost first (for MNIST images: [N, 28, 28]). */
  dims: number[];
  /** The values, row-major, in native byte order. */
  data: IdxArrays[D];
}

interface DtypeInfo { code: number; size: number; ctor: { new (b: ArrayBuffer): IdxData; from(a: ArrayLike<number>): IdxData } }

const DTYPES: Record<IdxDtype, DtypeInfo> = {
  uint8: { code: 0x08, size: 1, ctor: Uint8Array },
  int8: { code: 0x09, size: 1, ctor: Int8Array },
  int16: { code: 0x0b, size: 2, ctor: Int16Array },
  int32: { code: 0x0c, size: 4, ctor: Int32Array },
  float32: { code: 0x0d, size: 4, ctor: Float32Array },
  float64: { code: 0x0e, size: 8, ctor: Float64Array },
};
const BY_CODE = new Map<number, IdxDtype>(Object.entries(DTYPES).map(([k, v]) => [v.code, k as IdxDtype]));

export const IDX_MAX_DIMS = 8;
/** Default cap on the decompressed size of a `.gz` IDX file. */
export const DEFAULT_MAX_GUNZIP_BYTES = 1 << 30;

export interface ReadIdxOptions {
  /** Cap on the decompressed size of a `.gz` file (default 1 GiB). */
  maxBytes?: number;
}

let tmpCounter = 0;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0').toUpperCase()}`;
}

interface Header { dtype: IdxDtype; dims: number[]; headerBytes: number; dataBytes: number }

/**
 * Parses and checks the header against the total length `size`. `head` holds at least the first
 * min(size, 4 + 4·8) bytes of the file.
 */
function parseHeader(name: string, head: Uint8Array, size: number): Header {
  if (size < 4) throw new DataError(name, `file has ${size} bytes, too short for an IDX header (4-byte magic number)`);
  if (head[0] !== 0 || head[1] !== 0) {
    throw new DataError(name, `not an IDX file: the magic number must start with two zero bytes, got ${hex(head[0]!)} ${hex(head[1]!)}`);
  }
  const dtype = BY_CODE.get(head[2]!);
  if (dtype === undefined) {
    throw new DataError(name, `unknown IDX dtype code ${hex(head[2]!)} (expected 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32 or 0x0E float64)`);
  }
  const ndims = head[3]!;
  if (ndims < 1 || ndims > IDX_MAX_DIMS) throw new DataError(name, `IDX header has ${ndims} dimensions, expected 1 to ${IDX_MAX_DIMS}`);
  const headerBytes = 4 + 4 * ndims;
  if (size < headerBytes) {
    throw new DataError(name, `file has ${size} bytes, too short for the IDX header of ${ndims} dimensions (${headerBytes} bytes)`);
  }
  const view = new DataView(head.buffer, head.byteOffset, headerBytes);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  // BigInt: 2^32 dims multiply past 2^53 quickly and must not round to a matching size.
  const elemSize = DTYPES[dtype].size;
  const expected = dims.reduce((p, d) => p * BigInt(d), BigInt(elemSize));
  const actual = BigInt(size - headerBytes);
  if (expected !== actual) {
    const total = expected + BigInt(headerBytes);
    const what = actual < expected ? 'truncated' : `${actual - expected} trailing bytes`;
    throw new DataError(name, `file has ${size} bytes but the header promises ${dims.join('×')} ${dtype} values = ${expected} data bytes + ${headerBytes} header bytes = ${total} (${what})`);
  }
  return { dtype, dims, headerBytes, dataBytes: Number(expected) };
}

/** Turns big-endian bytes (owned, aligned, whole buffer) into a typed array in native order. */
function toTyped(dtype: IdxDtype, bytes: Uint8Array): IdxData {
  const size = DTYPES[dtype].size;
  if (size > 1 && LITTLE_ENDIAN) {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (size === 2) b.swap16(); else if (size === 4) b.swap32(); else b.swap64();
  }
  return new DTYPES[dtype].ctor(bytes.buffer as ArrayBuffer);
}

/** Parses an IDX file held in memory (e.g. after gunzip). `name` is used in error messages. */
export function parseIdx(bytes: Uint8Array, name = 'IDX data'): IdxFile {
  const h = parseHeader(name, bytes, bytes.length);
  // Copy into an own, aligned buffer: the values must not alias the input.
  const own = new Uint8Array(h.dataBytes);
  own.set(bytes.subarray(h.headerBytes));
  return { dtype: h.dtype, dims: h.dims, data: toTyped(h.dtype, own) };
}

function readAll(fd: number, out: Uint8Array, position: number, name: string): void {
  let done = 0;
  while (done < out.length) {
    const n = fs.readSync(fd, out, done, Math.min(out.length - done, 1 << 30), position + done);
    if (n === 0) throw new DataError(name, `file shrank while reading (got ${done} of ${out.length} bytes at offset ${position})`);
    done += n;
  }
}

/**
 * Reads an IDX file. A name ending in `.gz` is gunzipped (at most `maxBytes` decompressed).
 * uint8 data stays a Uint8Array; other dtypes become the matching typed array in native order.
 * Throws a DataError naming the file and the problem.
 */
export function readIdx(file: string, opts: ReadIdxOptions = {}): IdxFile {
  const name = path.basename(file);
  // Only regular files: a FIFO would block open(2) forever, a device never ends, and a directory
  // fails deep in read(2) without naming the file.
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new DataError(name, `cannot open ${file}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new DataError(name, `${file} is not a regular file (${fileKind(st)})`);
  if (file.endsWith('.gz')) return parseIdx(gunzipFile(file, opts.maxBytes ?? DEFAULT_MAX_GUNZIP_BYTES), name);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new DataError(name, `cannot open ${file}: ${(e as Error).message}`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = new Uint8Array(Math.min(size, 4 + 4 * IDX_MAX_DIMS));
    readAll(fd, head, 0, name);
    const h = parseHeader(name, head, size);
    const data = new Uint8Array(h.dataBytes);
    readAll(fd, data, h.headerBytes, name);
    return { dtype: h.dtype, dims: h.dims, data: toTyped(h.dtype, data) };
  } finally {
    fs.closeSync(fd);
  }
}

function gunzipFile(file: string, maxBytes: number): Uint8Array {
  const name = path.basename(file);
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(name, `cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return zlib.gunzipSync(raw, { maxOutputLength: maxBytes });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new DataError(name, `decompressed data exceeds the limit of ${maxBytes} bytes (raise maxBytes if the file is genuine)`);
    }
    throw new DataError(name, `gunzip failed: ${err.message}`);
  }
}

/**
 * Writes an IDX file atomically (a temporary file in the same directory, then rename). A name
 * ending in `.gz` is gzipped. `data` may be the matching typed array or any numbers (converted;
 * they must fit the dtype).
 */
export function writeIdx(file: string, idx: { dtype: IdxDtype; dims: readonly number[]; data: ArrayLike<number> }): void {
  const name = path.basename(file);
  const info = DTYPES[idx.dtype];
  if (!info) throw new DataError(name, `writeIdx: unknown dtype '${String(idx.dtype)}'`);
  const dims = idx.dims;
  if (dims.length < 1 || dims.length > IDX_MAX_DIMS) throw new DataError(name, `writeIdx: ${dims.length} dimensions, expected 1 to ${IDX_MAX_DIMS}`);
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new DataError(name, `writeIdx: dimension ${d} is not an unsigned 32-bit integer`);
  }
  const count = dims.reduce((p, d) => p * d, 1);
  if (idx.data.length !== count) {
    throw new DataError(name, `writeIdx: ${idx.data.length} values do not fill dims ${dims.join('×')} (${count} values)`);
  }
  let values: IdxData;
  if (idx.data instanceof info.ctor) {
    values = idx.data as IdxData;
  } else {
    values = info.ctor.from(idx.data);
    if (idx.dtype !== 'float32' && idx.dtype !== 'float64') {
      for (let i = 0; i < count; i++) {
        if (values[i] !== idx.data[i]) throw new DataError(name, `writeIdx: value ${idx.data[i]} at index ${i} does not fit ${idx.dtype}`);
      }
    }
  }
  const headerBytes = 4 + 4 * dims.length;
  const out = Buffer.alloc(headerBytes + count * info.size);
  out[2] = info.code;
  out[3] = dims.length;
  dims.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  const body = out.subarray(headerBytes);
  body.set(new Uint8Array(values.buffer, values.byteOffset, count * info.size));
  if (info.size > 1 && LITTLE_ENDIAN) {
    if (info.size === 2) body.swap16(); else if (info.size === 4) body.swap32(); else body.swap64();
  }
  const bytes = file.endsWith('.gz') ? zlib.gzipSync(out) : out;
  const tmp = path.join(path.dirname(file), `.${name}.${process.pid}.${threadId}.${++tmpCounter}.tmp`);
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new DataError(name, `writeIdx: cannot write ${file}: ${(e as Error).message}`);
  }
}
