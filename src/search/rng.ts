/**
 * A small seeded generator for samplers (mulberry32 over a splitmix-mixed seed). Samplers derive
 * one stream per (seed, trial number, purpose), so a seeded study draws the same parameters for
 * trial n whichever worker claims it and in whatever order.
 */
export class Rng {
  private s: number;

  constructor(...seeds: number[]) {
    let h = 0x811c9dc5;
    for (const v of seeds) {
      // Mix each word (low and high 32 bits) into an FNV-style hash, then splitmix it.
      const lo = v >>> 0;
      const hi = Math.floor(v / 4294967296) >>> 0;
      h = Math.imul(h ^ lo, 0x01000193) >>> 0;
      h = Math.imul(h ^ hi, 0x01000193) >>> 0;
      h = mix(h + 0x9e3779b9);
    }
    this.s = h >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = this.next();
    while (u <= 1e-300) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
  choice(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
}

function mix(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** A stable 32-bit hash of a string (FNV-1a), for deriving per-purpose seeds. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
