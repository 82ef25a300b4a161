import { afterAll } from 'vitest';
import { setBackend } from '../../src/backend';
import { Tensor } from '../../src/tensor/tensor';
import { BACKENDS } from '../helpers/backends';

export const BACKEND_NAMES = BACKENDS.map((b) => b.name);

/**
 * For `describe.each(BACKEND_NAMES)`: selects the backend for the suite and returns `on`,
 * which wraps a test body so that it runs on that backend (suites interleave).
 */
export function useBackend(name: (typeof BACKEND_NAMES)[number]): (fn: () => void | Promise<void>) => () => void | Promise<void> {
  setBackend(name);
  afterAll(() => setBackend(BACKENDS[0]!.name));
  return (fn) => () => { setBackend(name); return fn(); };
}

export const arr = (t: Tensor | Float32Array): number[] => Array.from(t instanceof Tensor ? t.data : t);

export const T = (values: number[], shape: number[], grad = false): Tensor => new Tensor(Float32Array.from(values), shape, grad);

/** Elementwise closeness with a relative + absolute tolerance, with a readable failure. */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-6): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}
