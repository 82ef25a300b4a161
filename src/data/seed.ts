import { ValueError } from '../tensor/errors';
import { Generator } from '../tensor/random';

/** murmur3's 32-bit finaliser: a bijective avalanche mix. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function checkSeed(where: string, seed: number): number {
  if (!Number.isSafeInteger(seed)) throw new ValueError(`${where}: seed must be a safe integer, got ${seed}`);
  return seed;
}

/**
 * A seed for an independent stream derived from `seed` and integer keys (stream id, epoch,
 * batch…), e.g. the shuffle of epoch k is `new Generator(deriveSeed(seed, SHUFFLE, k))`, so it
 * does not depend on how many epochs ran before. Result: a non-negative integer below 2⁵².
 */
export function deriveSeed(seed: number, ...keys: number[]): number {
  const lo = seed % 0x100000000 >>> 0;
  const hi = Math.floor(seed / 0x100000000) >>> 0;
  let a = fmix32(lo ^ 0x9e3779b9);
  let b = fmix32(hi ^ 0x7f4a7c15 ^ a);
  for (const k of keys) {
    const kl = k % 0x100000000 >>> 0;
    const kh = Math.floor(k / 0x100000000) >>> 0;
    a = fmix32((a ^ kl) + 0x9e3779b9 + Math.imul(b, 5));
    b = fmix32((b ^ kh ^ a) + 0x85ebca6b);
  }
  return (b & 0xfffff) * 0x100000000 + a;
}

/** The generator for the stream `deriveSeed(seed, ...keys)`. */
export function streamGenerator(seed: number, ...keys: number[]): Generator {
  return new Generator(deriveSeed(seed, ...keys));
}

/** Stream ids, so streams drawn from one seed never coincide. */
export const STREAM = { shuffle: 1, augment: 2, split: 3, synthetic: 4 } as const;
