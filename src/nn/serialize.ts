/**
 * The lernen state file: named float32 tensors plus JSON metadata, in one binary file.
 *
 * Layout (all integers little-endian):
 * ```
 * offset  size  field
 *      0     7  magic "LERNEN\0"
 *      7     4  format version (u32, currently 1)
 *     11     4  header length H in bytes (u32)
 *     15     4  CRC-32 of the header bytes (u32)
 *     19     4  CRC-32 of the payload bytes (u32)
 *     23     H  header: UTF-8 JSON {format: "lernen.state", dtype: "float32", byteOrder: "little",
 *               payloadLength, tensors: [{name, shape, offset}], meta}
 *      …        zero padding up to the next multiple of 64: the payload start P
 *      P        payload: each tensor's float32 values, little-endian, row-major, at P + offset
 *               (offsets are multiples of 64); the file ends at P + payloadLength
 * ```
 * Writes are atomic: a temporary file in the same directory is written, fsynced and renamed
 * over the target, then the directory is fsynced. Reading validates everything before it
 * builds a tensor (magic, version, lengths against the real file size, both checksums, JSON,
 * each name, shape and range, overlaps) and never evaluates anything from the file: the
 * header goes through JSON.parse only, and tensors land in a null-prototype record.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileKind } from '../files';
import { LernenError, quote } from '../tensor/errors';
import { Tensor } from '../tensor/tensor';
import { Module, type LoadedState, type StateDict } from './module';

export const FORMAT_VERSION = 1;
const MAGIC = Buffer.from('LERNEN\0', 'latin1');
const PREAMBLE = 23;
const ALIGN = 64;
const MAX_DIMS = 64;

/** A state file could not be written, read or validated; the message names the file. */
export class StateFileError extends LernenError {}

// ------------------------------------------------------------------ CRC-32 (IEEE, as zlib)
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, the zlib/PNG polynomial) of `bytes`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const LITTLE = os.endianness() === 'LE';

export interface EncodeOptions {
  /** Allow NaN and ±Infinity values (refused by default: they usually mean a diverged run). */
  allowNonFinite?: boolean;
}

function toStateDict(what: Module | StateDict): StateDict {
  if (what instanceof Module) return what.stateDict();
  if (typeof what !== 'object' || what === null) throw new StateFileError(`expected a Module or a record of tensors, got ${String(what)}`);
  return what;
}

/** Encodes named tensors and JSON-serialisable `meta` into the state file format. */
export function encodeState(what: Module | StateDict, meta: Record<string, unknown> = {}, opts: EncodeOptions = {}): Buffer {
  const sd = toStateDict(what);
  const entries = Object.entries(sd);
  const tensors: Array<{ name: string; shape: number[]; offset: number }> = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new StateFileError(`value for ${JSON.stringify(name)} is not a Tensor`);
    if (name === '') throw new StateFileError('tensor names must not be empty');
    if (!opts.allowNonFinite) {
      const d = t.data;
      for (let i = 0; i < d.length; i++) {
        if (!Number.isFinite(d[i]!)) {
          throw new StateFileError(`tensor ${JSON.stringify(name)} holds a non-finite value (${d[i]} at index ${i}); pass { allowNonFinite: true } to save it anyway`);
        }
      }
    }
    tensors.push({ name, shape: [...t.shape], offset });
    offset = align(offset + t.size * 4);
  }
  const payloadLength = tensors.length ? tensors[tensors.length - 1]!.offset + sd[tensors[tensors.length - 1]!.name]!.size * 4 : 0;
  let metaJson: unknown;
  try {
    metaJson = JSON.parse(JSON.stringify(meta ?? {}));
  } catch (e) {
    throw new StateFileError(`meta is not JSON-serialisable: ${(e as Error).message}`);
  }
  if (typeof metaJson !== 'object' || metaJson === null || Array.isArray(metaJson)) throw new StateFileError('meta must be a plain object');
  const header = Buffer.from(JSON.stringify({
    format: 'lernen.state', dtype: 'float32', byteOrder: 'little', payloadLength, tensors, meta: metaJson,
  }), 'utf8');
  const start = align(PREAMBLE + header.length);
  const buf = Buffer.alloc(start + payloadLength);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(FORMAT_VERSION, 7);
  buf.writeUInt32LE(header.length, 11);
  header.copy(buf, PREAMBLE);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  tensors.forEach(({ name, offset: off }) => {
    const d = sd[name]!.data;
    const at = start + off;
    if (LITTLE) buf.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    else for (let i = 0; i < d.length; i++) view.setFloat32(at + 4 * i, d[i]!, true);
  });
  buf.writeUInt32LE(crc32(header), 15);
  buf.writeUInt32LE(crc32(buf.subarray(start)), 19);
  return buf;
}

/** The decoded contents of a state file. */
export interface DecodedState extends LoadedState {
  version: number;
}

/**
 * Decodes a state file's bytes, validating everything (see the file comment). `source` names
 * the file in error messages.
 */
export function decodeState(bytes: Uint8Array, source = '<buffer>'): DecodedState {
  function fail(msg: string): never { throw new StateFileError(`${source}: ${msg}`); }
  const size = bytes.length;
  if (size < PREAMBLE) fail(`not a lernen state file: ${size} bytes, shorter than the ${PREAMBLE}-byte preamble (truncated?)`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) fail('not a lernen state file (wrong magic bytes; expected "LERNEN\\0")');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(7, true);
  if (version !== FORMAT_VERSION) fail(`unsupported format version ${version} (this version of lernen reads version ${FORMAT_VERSION})`);
  const headerLength = view.getUint32(11, true);
  if (headerLength > size - PREAMBLE) {
    fail(`header length ${headerLength} exceeds the ${size - PREAMBLE} bytes after the preamble (truncated or corrupt file)`);
  }
  const headerBytes = bytes.subarray(PREAMBLE, PREAMBLE + headerLength);
  if (crc32(headerBytes) !== view.getUint32(15, true)) fail('header checksum mismatch (the file is corrupt)');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const h = header as Record<string, unknown>;
  if (h.format !== 'lernen.state') fail(`header format is ${quote(h.format)}, expected "lernen.state"`);
  if (h.dtype !== 'float32') fail(`unsupported dtype ${quote(h.dtype)} (expected "float32")`);
  if (h.byteOrder !== 'little') fail(`unsupported byte order ${quote(h.byteOrder)} (expected "little")`);
  const payloadLength = h.payloadLength;
  if (typeof payloadLength !== 'number' || !Number.isSafeInteger(payloadLength) || payloadLength < 0) {
    fail(`header payloadLength ${quote(payloadLength)} is not a non-negative integer`);
  }
  const start = align(PREAMBLE + headerLength);
  const plen = payloadLength as number;
  if (start + plen > size) fail(`the payload needs ${start + plen} bytes but the file has ${size} (truncated)`);
  if (start + plen < size) fail(`${size - start - plen} unexpected bytes after the payload (corrupt file)`);
  for (let i = PREAMBLE + headerLength; i < start; i++) {
    if (bytes[i] !== 0) fail(`non-zero byte in the padding before the payload at offset ${i} (corrupt file)`);
  }
  if (!Array.isArray(h.tensors)) fail('header "tensors" is not an array');
  const list = h.tensors as unknown[];
  const names = new Set<string>();
  const specs: Array<{ name: string; shape: number[]; offset: number; bytes: number }> = [];
  list.forEach((entry, i) => {
    if (typeof entry !== 'object' || entry === null) fail(`tensor entry ${i} is not an object`);
    const e = entry as Record<string, unknown>;
    const name = e.name;
    if (typeof name !== 'string' || name === '') fail(`tensor entry ${i} has no valid name`);
    const n = name as string;
    if (names.has(n)) fail(`tensor ${quote(n)} appears twice`);
    names.add(n);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.length > MAX_DIMS) fail(`tensor ${quote(n)} has an invalid shape ${quote(shape)}`);
    let count = 1;
    for (const d of shape as unknown[]) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        fail(`tensor ${quote(n)} has an invalid dimension ${quote(d)} in shape ${quote(shape)}`);
      }
      count *= d as number;
      // Stop before the product can overflow: nothing larger than the payload can be valid.
      if (count * 4 > plen) {
        fail(`tensor ${quote(n)} with shape ${quote(shape)} needs more bytes than the ${plen}-byte payload holds`);
      }
    }
    const offset = e.offset;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || offset % 4 !== 0) {
      fail(`tensor ${quote(n)} has an invalid offset ${quote(offset)}`);
    }
    const off = offset as number;
    if (off + count * 4 > plen) {
      fail(`tensor ${quote(n)} (offset ${off}, ${count * 4} bytes) extends past the ${plen}-byte payload`);
    }
    specs.push({ name: n, shape: shape as number[], offset: off, bytes: count * 4 });
  });
  const sorted = specs.filter((s) => s.bytes > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    if (prev.offset + prev.bytes > sorted[i]!.offset) {
      fail(`tensors ${quote(prev.name)} and ${quote(sorted[i]!.name)} overlap in the payload`);
    }
  }
  const meta = h.meta ?? {};
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) fail('header "meta" is not an object');
  const payload = bytes.subarray(start, start + plen);
  if (crc32(payload) !== view.getUint32(19, true)) fail('payload checksum mismatch (the file is corrupt)');
  const stateDict: StateDict = Object.create(null) as StateDict;
  for (const s of specs) {
    const data = new Float32Array(s.bytes / 4);
    const at = start + s.offset;
    if (LITTLE) new Uint8Array(data.buffer).set(bytes.subarray(at, at + s.bytes));
    else for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(at + 4 * i, true);
    stateDict[s.name] = new Tensor(data, s.shape);
  }
  return { stateDict, meta: meta as Record<string, unknown>, version };
}

/** Writes `data` to `file` atomically (temp file in the same directory, fsync, rename, fsync dir). */
export function writeFileAtomic(file: string, data: Uint8Array): void {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      let off = 0;
      while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* it may not exist */ }
    throw new StateFileError(`${file}: could not write the state file (any previous file is unchanged): ${(e as Error).message}`);
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch { /* directories cannot be fsynced on every platform (e.g. Windows); the rename stands */ }
  sweepStaleTemps(dir, path.basename(target));
}

/** A temp file older than this whose writer is gone is a leftover of a killed save. */
const STALE_TEMP_MS = 10 * 60 * 1000;

/**
 * Removes the temp files that killed writers of `base` left in `dir` (`.<base>.<pid>.<id>.tmp`
 * whose process no longer runs here and that are older than 10 minutes: a writer on another
 * machine sharing the directory is never that slow). Best effort: errors are ignored.
 */
function sweepStaleTemps(dir: string, base: string): void {
  const prefix = `.${base}.`;
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return; }
  const now = Date.now();
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const m = /^(\d+)\.[a-z0-9]+\.tmp$/.exec(n.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // still running (or not ours to signal): leave it
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    try {
      const p = path.join(dir, n);
      if (now - fs.lstatSync(p).mtimeMs >= STALE_TEMP_MS) fs.unlinkSync(p);
    } catch { /* gone already, or not ours to remove */ }
  }
}

/**
 * Saves a model's stateDict (or any record of tensors) and JSON metadata to `file`,
 * atomically. Refuses NaN/Infinity unless `{ allowNonFinite: true }`.
 *
 * ```ts
 * nn.save(model, 'mnist.lernen', { epoch: 3, accuracy: 0.98 });
 * model.loadStateDict(nn.load('mnist.lernen'));
 * ```
 */
export function save(what: Module | StateDict, file: string, meta: Record<string, unknown> = {}, opts: EncodeOptions = {}): void {
  let bytes: Buffer;
  try {
    bytes = encodeState(what, meta, opts);
  } catch (e) {
    if (e instanceof StateFileError) throw new StateFileError(`${file}: ${e.message}`);
    throw e;
  }
  writeFileAtomic(file, bytes);
}

/**
 * Refuses anything but a regular file before opening it: opening a FIFO blocks until a writer
 * appears, and a device such as /dev/zero never ends.
 */
export function checkRegularFile(file: string, fail: (msg: string) => never): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    fail(`cannot read the state file: ${(e as Error).message}`);
  }
  if (!st.isFile()) {
    fail(`not a regular file (${fileKind(st)})`);
  }
}

/** Reads and validates a state file: { stateDict, meta, version, file } (loadStateDict's errors name the file). */
export function load(file: string): DecodedState {
  checkRegularFile(file, (msg) => { throw new StateFileError(`${file}: ${msg}`); });
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new StateFileError(`${file}: cannot read the state file: ${(e as Error).message}`);
  }
  return { ...decodeState(bytes, file), file };
}
