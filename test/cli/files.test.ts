// src/files.ts: the folder maker and the bounded reader behind the CLI's path flags, the SQLite
// storage and the checkpoint folders.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirs, readRegularFile } from '../../src/files';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-files-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('makeDirs', () => {
  it('creates missing levels and accepts an existing folder', () => {
    const d = path.join(tmp, 'a', 'b', 'c');
    makeDirs(d);
    expect(fs.statSync(d).isDirectory()).toBe(true);
    makeDirs(d);
    makeDirs(path.join(tmp, 'a'));
  });

  it('fails at once under /proc, where Node 20\'s recursive mkdir loops forever', () => {
    expect(() => makeDirs('/proc/lernen-nope/x/y')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('names a level that is a file (ENOTDIR), creating nothing below it', () => {
    const f = path.join(tmp, 'plain-file');
    fs.writeFileSync(f, 'x');
    expect(() => makeDirs(f)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(() => makeDirs(path.join(f, 'sub', 'deeper'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(fs.readFileSync(f, 'utf8')).toBe('x');
  });
});

describe('readRegularFile', () => {
  it('reads a regular file within the bound', () => {
    const f = path.join(tmp, 'ok.json');
    fs.writeFileSync(f, '{"a": 1}');
    expect(readRegularFile(f, 8)).toBe('{"a": 1}');
  });

  it('refuses a larger file, saying what the bound is', () => {
    const f = path.join(tmp, 'big.json');
    fs.writeFileSync(f, 'x'.repeat(3000));
    expect(() => readRegularFile(f, 2048)).toThrow('2.9 KiB is too large (at most 2 KiB)');
  });

  it('refuses a FIFO without blocking, a device, a folder and a missing file', () => {
    const fifo = path.join(tmp, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(() => readRegularFile(fifo, 1024)).toThrow('not a regular file (a FIFO)');
    expect(() => readRegularFile('/dev/zero', 1024)).toThrow('not a regular file (a device)');
    expect(() => readRegularFile(tmp, 1024)).toThrow('not a regular file (a directory)');
    expect(() => readRegularFile(path.join(tmp, 'nope'), 1024)).toThrow('cannot read the file (ENOENT)');
  });
});
