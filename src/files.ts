/**
 * File-system helpers for paths that come from users (CLI flags, storage URLs, checkpoint
 * folders): folders are created one level at a time, and files are read only when they are
 * regular files, with a bound on what is read.
 */
import fs from 'node:fs';
import path from 'node:path';

/** What a non-regular file is, for an error message: 'a directory', 'a FIFO', 'a device', ... */
export function fileKind(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * `mkdir -p dir`, one level at a time: Node 20's `fs.mkdirSync(dir, { recursive: true })` loops
 * forever under /proc (and other file systems that refuse mkdir with ENOENT). Throws the errno
 * error of the level that failed (ENOTDIR when a level exists but is not a folder); a folder that
 * another process creates at the same moment is fine.
 */
export function makeDirs(dir: string): void {
  const target = path.resolve(dir);
  let st: fs.Stats | undefined;
  try { st = fs.statSync(target); } catch { /* does not exist yet */ }
  if (st) {
    if (st.isDirectory()) return;
    throw Object.assign(new Error(`ENOTDIR: not a directory (${fileKind(st)}), mkdir '${target}'`), { code: 'ENOTDIR', path: target });
  }
  const parent = path.dirname(target);
  if (parent !== target) makeDirs(parent);
  try {
    fs.mkdirSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(target).isDirectory()) throw e;
  }
}

/** The errno code of a file-system error, else its message. */
export function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
}

/**
 * Reads a regular file of at most `maxBytes` as UTF-8. The file is opened without blocking and
 * checked on the open descriptor (a FIFO would block a plain open or read forever, a device such
 * as /dev/zero never ends), and no more than `maxBytes + 1` bytes are read even if it grows.
 * Errors are plain messages meant to follow the file's name.
 */
export function readRegularFile(file: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new Error(`cannot read the file (${errnoOf(e)})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`not a regular file (${fileKind(st)})`);
    const limit = `at most ${fmtBytes(maxBytes)}`;
    if (st.size > maxBytes) throw new Error(`${fmtBytes(st.size)} is too large (${limit})`);
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > maxBytes) throw new Error(`grew while being read and is too large (${limit})`);
    }
    return buf.toString('utf8', 0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${+(n / 1024 / 1024).toFixed(1)} MiB`;
}
