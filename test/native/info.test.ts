import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/backend/loader';
import { createNativeBackend, nativeInfo } from '../../src/backend/native';
import type { LernenBinding } from '../../src/backend/binding';

// No silent skip: if the addon does not load, this file fails with the loader's reasons.
const load = loadAddon();
if (!load.ok) {
  throw new Error(`the native addon did not load:\n  ${load.reasons.join('\n  ')}`);
}
const addon = load.addon as LernenBinding;

describe('native addon: load and info', () => {
  it('loads from a local build or a prebuild', () => {
    expect(load.ok).toBe(true);
    expect(load.file).toMatch(/\.node$/);
  });

  it('info() reports Node-API 8 and OpenBLAS', () => {
    const info = nativeInfo(addon);
    expect(info.napiVersion).toBe(8);
    expect(info.openblasConfig).toMatch(/OpenBLAS/);
    expect(typeof info.coreType).toBe('string');
    expect(info.coreType.length).toBeGreaterThan(0);
    expect(Number.isInteger(info.numThreads) && info.numThreads >= 1).toBe(true);
    expect([0, 1, 2]).toContain(info.parallel);
  });

  it('setNumThreads / getNumThreads round-trip', () => {
    const before = addon.getNumThreads();
    try {
      addon.setNumThreads(1);
      expect(addon.getNumThreads()).toBe(1);
      expect(addon.info().numThreads).toBe(1);
      const backend = createNativeBackend(addon);
      backend.setNumThreads(2);
      // The count is lernen's kernel team (OpenBLAS runs one-threaded), whatever OpenBLAS's build.
      expect(backend.getNumThreads()).toBe(2);
      expect(addon.info().numThreads).toBe(2);
    } finally {
      addon.setNumThreads(before);
    }
    expect(addon.getNumThreads()).toBe(before);
  });

  it('setNumThreads refuses non-integers and out-of-range counts', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity, 1e6, '2', undefined]) {
      expect(() => (addon.setNumThreads as (n: unknown) => void)(bad)).toThrow(/^setNumThreads: /);
    }
  });

  it('the adapter reports name "native" and refuses something that is not the addon', () => {
    expect(createNativeBackend(addon).name).toBe('native');
    expect(() => createNativeBackend({})).toThrow(/lacks gemm/);
    expect(() => createNativeBackend(null)).toThrow(/createNativeBackend/);
  });

  it('gemm computes a small product', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]); // [2,3]
    const b = Float32Array.from([7, 8, 9, 10, 11, 12]); // [3,2]
    const c = new Float32Array(4).fill(NaN); // beta = 0: C is not read
    addon.gemm(false, false, 2, 2, 3, 1, a, b, 0, c);
    expect([...c]).toEqual([58, 64, 139, 154]);
  });
});
