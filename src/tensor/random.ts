import { backend } from '../backend';
import { seedState } from '../backend/rng';
import { ValueError } from './errors';
import { alloc, release } from './pool';

/**
 * A seeded random stream (xoshiro128**), identical on the native and JS backends. Each
 * Generator owns its state: no hidden global state is shared between models or workers.
 */
export class Generator {
  /** 4×uint32 xoshiro128** state, advanced in place by the kernels. */
  readonly state: Uint32Array;

  constructor(seed = 0) {
    this.state = seedState(checkSeed(seed));
  }

  /** Restarts the stream from `seed`. */
  manualSeed(seed: number): this {
    this.state.set(seedState(checkSeed(seed)));
    return this;
  }

  /** Uniform floats in [lo, hi). */
  uniform(out: Float32Array, lo = 0, hi = 1): Float32Array {
    backend().randUniform(this.state, out, out.length, lo, hi);
    return out;
  }

  /** Normal(mean, std) floats. */
  normal(out: Float32Array, mean = 0, std = 1): Float32Array {
    backend().randNormal(this.state, out, out.length, mean, std);
    return out;
  }

  /** A uniform integer in [0, n) (for shuffles and sampling). */
  int(n: number): number {
    const f = new Float32Array(1);
    backend().randUniform(this.state, f, 1, 0, 1);
    return Math.min(n - 1, Math.floor(f[0]! * n));
  }

  /** A seeded Fisher–Yates permutation of [0, n). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    // The uniforms never leave this function: their buffer goes back to the pool (a data
    // loader shuffles 60,000 samples each epoch).
    const u = alloc(n);
    backend().randUniform(this.state, u, n, 0, 1);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor(u[i]! * (i + 1)));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    release(u);
    return p;
  }
}

function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) throw new ValueError(`manualSeed: seed must be a safe integer, got ${seed}`);
  return seed;
}

let defaultGen: Generator | null = null;

/** The generator used when none is passed (init, dropout, shuffling). */
export function defaultGenerator(): Generator {
  return (defaultGen ??= new Generator(0));
}

/** Seeds the default generator (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  defaultGenerator().manualSeed(seed);
}
