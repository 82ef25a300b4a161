import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as nn from '../../src/nn';
import * as optim from '../../src/optim';
import { StateFileError, crc32, decodeState, encodeState } from '../../src/nn';
import { manualSeed } from '../../src/tensor/random';
import type { Tensor } from '../../src/tensor/tensor';
import { randT } from '../helpers/gradcheck';
import { withHeader } from '../helpers/state-file';
import { BACKEND_NAMES, T, arr, useBackend } from './util';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-state-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (n: string) => path.join(dir, n);

const makeModel = () => new nn.Sequential(
  new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.ReLU(), new nn.Flatten(), new nn.Linear(8, 3),
);

/** The model's parameters and buffers are exactly `before` (a `stateDict({ copy: true })`). */
function expectUnchanged(m: nn.Module, before: Record<string, Tensor>): void {
  for (const [k, t] of Object.entries(m.stateDict())) expect(arr(t), k).toEqual(arr(before[k]!));
}

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe.each(BACKEND_NAMES)('state files on %s', (name) => {
  const on = useBackend(name);

  it('save → load round trip gives identical outputs, shapes, names and meta', on(() => {
    manualSeed(1);
    const a = makeModel();
    const x = randT([2, 1, 4, 4], 3, { grad: false });
    a.call(x); // non-trivial running statistics
    a.eval();
    const p = file(`model-${name}.lernen`);
    nn.save(a, p, { epoch: 3, note: 'hello', nested: { acc: [0.5, 0.9] } });
    const loaded = nn.load(p);
    expect(loaded.version).toBe(1);
    expect(loaded.meta).toEqual({ epoch: 3, note: 'hello', nested: { acc: [0.5, 0.9] } });
    expect(Object.keys(loaded.stateDict)).toEqual(Object.keys(a.stateDict()));
    manualSeed(99);
    const b = makeModel().eval();
    expect(arr(b.call(x))).not.toEqual(arr(a.call(x)));
    b.loadStateDict(loaded);
    expect(arr(b.call(x))).toEqual(arr(a.call(x)));
    for (const [k, t] of Object.entries(a.stateDict())) {
      expect(loaded.stateDict[k]!.shape, k).toEqual(t.shape);
      expect(arr(loaded.stateDict[k]!), k).toEqual(arr(t));
    }
    // A plain record of tensors (with a 0-element and a scalar tensor) round-trips too.
    nn.save({ empty: T([], [0, 3]), scalar: T([2.5], []) }, p);
    const r = nn.load(p).stateDict;
    expect(r.empty!.shape).toEqual([0, 3]);
    expect(r.scalar!.item()).toBe(2.5);
  }));

  it('payload is 64-byte aligned little-endian float32 after the JSON header', on(() => {
    const bytes = encodeState({ a: T([1, 2, 3], [3]), b: T([-1], [1]) });
    expect(bytes.subarray(0, 7).toString('latin1')).toBe('LERNEN\0');
    expect(bytes.readUInt32LE(7)).toBe(1);
    const hlen = bytes.readUInt32LE(11);
    const h = JSON.parse(bytes.subarray(23, 23 + hlen).toString());
    expect(h.tensors).toEqual([{ name: 'a', shape: [3], offset: 0 }, { name: 'b', shape: [1], offset: 64 }]);
    const start = Math.ceil((23 + hlen) / 64) * 64;
    expect(bytes.readFloatLE(start + 4)).toBe(2);
    expect(bytes.readFloatLE(start + 64)).toBe(-1);
    expect(bytes.length).toBe(start + 68);
  }));

  it('refuses NaN/Infinity unless allowNonFinite', on(() => {
    const p = file(`nan-${name}.lernen`);
    expect(() => nn.save({ w: T([1, Number.NaN], [2]) }, p)).toThrow(/nan-\w+\.lernen: tensor "w" holds a non-finite value \(NaN at index 1\).*allowNonFinite/);
    expect(fs.existsSync(p)).toBe(false);
    nn.save({ w: T([1, Infinity], [2]) }, p, {}, { allowNonFinite: true });
    expect(arr(nn.load(p).stateDict.w!)).toEqual([1, Infinity]);
  }));
});

describe.each(BACKEND_NAMES)('corrupted and mismatched state files on %s', (name) => {
  const on = useBackend(name);
  manualSeed(2);
  const model = makeModel();
  const good = encodeState(model, { tag: 1 });
  const p = file(`victim-${name}.lernen`);
  manualSeed(3);
  const victim = makeModel();
  const victimBefore = victim.stateDict({ copy: true });
  const x = randT([2, 1, 4, 4], 4, { grad: false });
  const victimOut = arr(victim.eval().call(x));

  /**
   * Writes the bytes and expects nn.load to refuse them with a StateFileError naming the file;
   * loading them into a model (model.loadStateDict(nn.load(file))) fails the same way and
   * leaves every parameter and buffer, and so the model's output, unchanged.
   */
  const expectError = (bytes: Uint8Array, re: RegExp) => {
    fs.writeFileSync(p, bytes);
    let err: unknown;
    try { nn.load(p); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as Error).message).toContain(p);
    expect((err as Error).message).toMatch(re);
    expect(() => victim.loadStateDict(nn.load(p))).toThrow(StateFileError);
    expectUnchanged(victim, victimBefore);
    expect(arr(victim.call(x))).toEqual(victimOut);
  };

  it('decodes the good bytes', on(() => {
    expect(Object.keys(decodeState(good).stateDict).length).toBe(Object.keys(model.stateDict()).length);
  }));

  it('rejects truncated files at every length', on(() => {
    expectError(good.subarray(0, 10), /shorter than the 23-byte preamble/);
    expectError(good.subarray(0, 30), /header length \d+ exceeds/);
    for (let n = 23; n < good.length; n += 37) {
      expect(() => decodeState(good.subarray(0, n), 'f')).toThrow(StateFileError);
    }
    expectError(good.subarray(0, good.length - 1), /truncated/);
    expectError(Buffer.concat([good, Buffer.from([0])]), /unexpected bytes after the payload/);
  }));

  it('rejects wrong magic and unsupported versions', on(() => {
    const m = Buffer.from(good);
    m[0] = 0x50;
    expectError(m, /not a lernen state file \(wrong magic/);
    const v = Buffer.from(good);
    v.writeUInt32LE(7, 7);
    expectError(v, /unsupported format version 7 \(this version of lernen reads version 1\)/);
  }));

  it('detects flipped bytes in the header and in the payload', on(() => {
    const h = Buffer.from(good);
    h[30] ^= 0x01;
    expectError(h, /header checksum mismatch/);
    const d = Buffer.from(good);
    d[d.length - 5] ^= 0x80;
    expectError(d, /payload checksum mismatch/);
    // Every single flipped bit anywhere is caught.
    for (let i = 0; i < good.length; i += 13) {
      const f = Buffer.from(good);
      f[i] ^= 1 << (i % 8);
      expect(() => decodeState(f, 'f'), `byte ${i}`).toThrow(StateFileError);
    }
  }));

  it('rejects giant, negative and fractional dims, bad offsets and overlaps without allocating them', on(() => {
    expectError(withHeader(good, (h) => { (h.tensors as any[])[0].shape = [2 ** 40, 2 ** 40]; }), /shape \[1099511627776,1099511627776\] needs more bytes than the \d+-byte payload/);
    expectError(withHeader(good, (h) => { (h.tensors as any[])[0].shape = [-1, 3]; }), /invalid dimension -1/);
    expectError(withHeader(good, (h) => { (h.tensors as any[])[0].shape = [1.5]; }), /invalid dimension 1\.5/);
    expectError(withHeader(good, (h) => { (h.tensors as any[])[0].shape = 'big'; }), /invalid shape "big"/);
    expectError(withHeader(good, (h) => { (h.tensors as any[])[0].offset = 2 ** 31; }), /extends past the \d+-byte payload/);
    expectError(withHeader(good, (h) => { (h.tensors as any[])[0].offset = 2; }), /invalid offset 2/);
    expectError(withHeader(good, (h) => { (h.tensors as any[])[1].offset = 0; }), /overlap/);
    expectError(withHeader(good, (h) => { (h.tensors as any[])[1].name = (h.tensors as any[])[0].name; }), /appears twice/);
    expectError(withHeader(good, (h) => { h.payloadLength = 10 ** 12; }), /truncated/);
    expectError(withHeader(good, (h) => { h.dtype = 'float64'; }), /unsupported dtype "float64"/);
    expectError(withHeader(good, (h) => { h.tensors = {}; }), /"tensors" is not an array/);
  }));

  it('rejects a header that is not JSON, and never evaluates header content', on(() => {
    const bad = Buffer.from(good);
    const hlen = bad.readUInt32LE(11);
    bad.write('{"format": oops', 23, 'utf8');
    bad.writeUInt32LE(crc32(bad.subarray(23, 23 + hlen)), 15);
    expectError(bad, /header is not valid JSON/);
    const proto = withHeader(good, (h) => { (h.tensors as any[])[0].name = '__proto__'; });
    const sd = decodeState(proto).stateDict;
    expect(Object.getPrototypeOf(sd)).toBeNull();
    expect(Object.keys(sd)).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }));

  it('quotes names from the file in at most about 100 characters', on(() => {
    const long = 'w'.repeat(100_000);
    const e = (() => { try { decodeState(withHeader(good, (h) => { (h.tensors as any[])[1].name = long; (h.tensors as any[])[0].name = long; })); } catch (err) { return err as Error; } return null; })();
    expect(e).toBeInstanceOf(StateFileError);
    expect(e!.message).toMatch(/tensor "w{99}… \(100002 characters\) appears twice/);
    expect(e!.message.length).toBeLessThan(300);
  }));

  it('an optimizer file with a tensor named state.0.__proto__ keeps it as an ordinary key', on(() => {
    const w = T([1, 2], [2]);
    const opt = new optim.SGD([w], { lr: 0.1, momentum: 0.9 });
    w.grad = T([1, 1], [2]);
    opt.step();
    const bytes = optim.encodeOptimizerState(opt);
    const evil = withHeader(bytes, (h) => { (h.tensors as any[])[0].name = 'state.0.__proto__'; });
    const { stateDict } = optim.decodeOptimizerState(evil);
    const rec = stateDict.state['0']!;
    expect(Object.getPrototypeOf(rec)).toBeNull();
    expect(Object.keys(rec)).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }));

  it('names the file when it cannot be read', on(() => {
    expect(() => nn.load(file('missing.lernen'))).toThrow(/missing\.lernen: cannot read the state file/);
  }));

  it('a model loading a mismatched file gets a clear error and stays unchanged', on(() => {
    const other = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.ReLU(), new nn.Flatten(), new nn.Linear(8, 4));
    const before = other.stateDict({ copy: true });
    const f = file('mismatch.lernen');
    nn.save(model, f);
    expect(() => other.loadStateDict(nn.load(f))).toThrow(/size mismatch for "4\.weight": the state has shape \[3, 8\], the model has \[4, 8\]/);
    expectUnchanged(other, before);
    const sd = { ...nn.load(f).stateDict };
    delete sd['1.runningVar'];
    sd.bogus = T([1], [1]);
    nn.save(sd, f);
    const fresh = makeModel();
    const fb = fresh.stateDict({ copy: true });
    expect(() => fresh.loadStateDict(nn.load(f))).toThrow(/missing keys: "1\.runningVar"[\s\S]*unexpected keys: "bogus"/);
    expectUnchanged(fresh, fb);
  }));
});

describe.each(BACKEND_NAMES)('atomic writes on %s', (name) => {
  const on = useBackend(name);

  it('the next save removes the temp files of killed writers (dead pid, older than 10 minutes) and nothing else', on(() => {
    const d = fs.mkdtempSync(path.join(dir, 'sweep-'));
    const p = path.join(d, 'm.lernen');
    const old = Date.now() / 1000 - 3600;
    const make = (n: string, ageSeconds: number | null) => {
      const f = path.join(d, n);
      fs.writeFileSync(f, 'partial');
      if (ageSeconds !== null) fs.utimesSync(f, old, old);
      return f;
    };
    // Linux pids stay below 2^22 (the largest pid_max): no process has this one.
    const dead = 4_194_304 + 12_345;
    const stale = make(`.m.lernen.${dead}.abc123.tmp`, 3600);
    const fresh = make(`.m.lernen.${dead}.def456.tmp`, null);
    const live = make(`.m.lernen.${process.ppid}.ghi789.tmp`, 3600);
    const other = make(`.other.lernen.${dead}.abc123.tmp`, 3600);
    const unrelated = make('notes.txt', 3600);
    nn.save({ w: T([1], [1]) }, p);
    expect(fs.existsSync(stale)).toBe(false);
    for (const f of [fresh, live, other, unrelated]) expect(fs.existsSync(f), f).toBe(true);
    expect(nn.load(p).stateDict.w!.data[0]).toBe(1);
  }));

  it('a failed write leaves the old file intact and no temporary file behind', on(() => {
    const p = file(`atomic-${name}.lernen`);
    nn.save({ w: T([1, 2, 3], [3]) }, p, { version: 'old' });
    const old = fs.readFileSync(p);
    let calls = 0;
    const spy = vi.spyOn(fs, 'writeSync').mockImplementation(((..._args: unknown[]) => {
      calls++;
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    }) as never);
    try {
      expect(() => nn.save({ w: T([9, 9, 9], [3]) }, p, { version: 'new' })).toThrow(/atomic-\w+\.lernen: could not write the state file \(any previous file is unchanged\): ENOSPC/);
    } finally {
      spy.mockRestore();
    }
    expect(calls).toBeGreaterThan(0);
    expect(fs.readFileSync(p).equals(old)).toBe(true);
    expect(nn.load(p).meta).toEqual({ version: 'old' });
    expect(fs.readdirSync(dir).filter((n) => n.includes(`atomic-${name}.lernen`) && n.endsWith('.tmp'))).toEqual([]);
    // A fsync failure is a failed write too.
    const fsyncSpy = vi.spyOn(fs, 'fsyncSync').mockImplementation(() => { throw new Error('EIO: i/o error'); });
    try {
      expect(() => nn.save({ w: T([9, 9, 9], [3]) }, p)).toThrow(/EIO/);
    } finally {
      fsyncSpy.mockRestore();
    }
    expect(fs.readFileSync(p).equals(old)).toBe(true);
    nn.save({ w: T([9, 9, 9], [3]) }, p, { version: 'new' });
    expect(nn.load(p).meta).toEqual({ version: 'new' });
  }));

  it('fails with the path when the directory does not exist', on(() => {
    expect(() => nn.save({ w: T([1], [1]) }, file('no/such/dir/x.lernen'))).toThrow(/x\.lernen: could not write/);
  }));
});
