/**
 * Seeding for the backends' shared generator (xoshiro128**, state = 4×uint32 held by the
 * caller; see `Backend.randUniform`). Backend-neutral: both backends read the same state format,
 * so a state seeded here gives bit-identical uniform streams on native and JS.
 */

const GOLDEN = 0x9e3779b9;

/**
 * splitmix32: one step of the 32-bit SplitMix generator. Adds the golden-ratio increment to
 * `x` and returns [new x, mixed output]. The mixer is `z ^= z >>> 16; z *= 0x21f0aaad;
 * z ^= z >>> 15; z *= 0x735a2d97; z ^= z >>> 15` (all mod 2³²).
 */
export function splitmix32(x: number): [next: number, out: number] {
  const next = (x + GOLDEN) >>> 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  z ^= z >>> 15;
  return [next, z >>> 0];
}

/**
 * A fresh xoshiro128** state for `seed`.
 *
 * `seed` is any safe integer (negative and ≥ 2³² included, e.g. `Date.now()`): its low 32 bits
 * are xored with its high 32 bits times 0x85ebca6b (so seeds below 2³² use their value as is),
 * and four successive splitmix32 outputs of that word are the state words s[0..3]. splitmix32's
 * mixer is a bijection, so at most one of the four words can be 0 and the state is never all
 * zeros (xoshiro's one forbidden state); the guard below only documents that.
 *
 * The same seed gives the same state on every platform and backend.
 */
export function seedState(seed: number): Uint32Array {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new Error(`seedState: seed must be a safe integer, got ${String(seed)} (${typeof seed})`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let x = (lo ^ Math.imul(hi, 0x85ebca6b)) >>> 0;
  const state = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const [next, out] = splitmix32(x);
    x = next;
    state[i] = out;
  }
  if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0) state[0] = GOLDEN;
  return state;
}
