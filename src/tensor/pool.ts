/**
 * Buffer recycling for tensor internals. A training step makes the same buffers every time:
 * activations, dropout masks, pooling indices, backward temporaries, gradients of intermediate
 * tensors. Allocating them fresh costs a zero-fill each (V8 always zero-fills) and, worse, GC
 * work driven by megabytes of external memory per step. Instead, buffers whose every reference
 * is known to be gone are handed back here and reused for the next request of the same size.
 *
 * Only buffers that provably do not escape to user code come back (see `release` callers):
 * - backward temporaries that never leave their closure;
 * - buffers owned by a graph node's backward closure (masks, argmax indices), and gradients of
 *   intermediate (non-leaf, not retained) tensors, when backward() frees the graph;
 * - activations between two built-in layers of a `Sequential` (nothing but the graph holds
 *   them), when backward() frees the graph.
 * Nothing that user code can reach (a tensor's data that was returned, a leaf's gradient) is
 * ever released.
 *
 * Buffers below `POOL_MIN_BYTES` are not pooled (V8 allocates small arrays cheaply). The pool
 * holds at most `POOL_MAX_BYTES`; beyond that released buffers are left to the GC.
 */

/** Buffers smaller than this are plain allocations. */
export const POOL_MIN_BYTES = 16 * 1024;
/** Allocations of at least this size count as "large" in the statistics. */
export const LARGE_BYTES = 64 * 1024;
/** Most bytes the pool keeps; released buffers beyond this are dropped for the GC. */
const POOL_MAX_BYTES = 512 * 1024 * 1024;

/** Free buffers by byte length. */
const free = new Map<number, ArrayBuffer[]>();
/** The same buffers as a set: a buffer released twice must not be handed out twice. */
const inPool = new WeakSet<ArrayBuffer>();
let pooledBytes = 0;
/** Whether the last take() reused a buffer (its contents are then stale). */
let lastReused = false;
/** Off: every request is a fresh (zeroed) allocation and release() keeps nothing (A/B tests). */
let enabled = true;

/** Turns buffer reuse on or off (for measurements and tests); returns the previous setting. */
export function setPooling(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  if (!on) emptyPool();
  return prev;
}

/** What the tensor allocation path did (since the last reset). */
export interface MemoryStats {
  /** Fresh (not reused) allocations of at least 64 KiB: the number that should stay 0 in a warmed-up training step. */
  largeAllocations: number;
  largeBytes: number;
  /** All fresh allocations through the tensor allocation path, any size. */
  allocations: number;
  allocatedBytes: number;
  /** Requests served from the pool. */
  reused: number;
  reusedBytes: number;
  /** Buffers handed back. */
  released: number;
  /** Bytes held by the pool now. */
  pooledBytes: number;
}

const stats = {
  largeAllocations: 0, largeBytes: 0, allocations: 0, allocatedBytes: 0, reused: 0, reusedBytes: 0, released: 0,
};

/** Counters of the tensor allocation path, for benchmarks and tests. */
export function memoryStats(): MemoryStats {
  return { ...stats, pooledBytes };
}

/** Zeroes the counters of memoryStats() (the pool keeps its buffers). */
export function resetMemoryStats(): void {
  for (const k of Object.keys(stats) as (keyof typeof stats)[]) stats[k] = 0;
}

/** Drops every pooled buffer (the GC reclaims them). */
export function emptyPool(): void {
  for (const list of free.values()) for (const ab of list) inPool.delete(ab);
  free.clear();
  pooledBytes = 0;
}

function take(bytes: number): ArrayBuffer {
  if (bytes >= POOL_MIN_BYTES) {
    const list = free.get(bytes);
    if (list && list.length > 0) {
      const ab = list.pop()!;
      inPool.delete(ab);
      pooledBytes -= bytes;
      stats.reused++;
      stats.reusedBytes += bytes;
      lastReused = true;
      return ab;
    }
  }
  lastReused = false;
  stats.allocations++;
  stats.allocatedBytes += bytes;
  if (bytes >= LARGE_BYTES) {
    stats.largeAllocations++;
    stats.largeBytes += bytes;
  }
  // Through the Float32Array constructor (not `new ArrayBuffer`), so allocation counters that
  // wrap that constructor (bench) see every fresh buffer.
  return new Float32Array(bytes >>> 2).buffer as ArrayBuffer;
}

/**
 * A Float32Array of n elements whose contents are UNSPECIFIED (a reused buffer keeps old
 * values): for outputs that the kernel overwrites completely.
 */
export function alloc(n: number): Float32Array {
  return new Float32Array(take(n * 4));
}

/** A Float32Array of n zeros. */
export function allocZeroed(n: number): Float32Array {
  const a = alloc(n);
  if (lastReused) a.fill(0);
  return a;
}

/** An Int32Array of n elements with unspecified contents. */
export function allocInt32(n: number): Int32Array {
  return new Int32Array(take(n * 4));
}

/**
 * Hands a buffer back for reuse. The caller guarantees that nothing else references it (or any
 * view of its memory) any more. Views that do not cover their whole ArrayBuffer are ignored.
 */
export function release(buf: Float32Array | Int32Array): void {
  const ab = buf.buffer;
  const bytes = ab.byteLength;
  if (bytes < POOL_MIN_BYTES || buf.byteOffset !== 0 || buf.byteLength !== bytes) return;
  if (!enabled || !(ab instanceof ArrayBuffer) || inPool.has(ab)) return;  // never a SharedArrayBuffer
  if (pooledBytes + bytes > POOL_MAX_BYTES) return;
  let list = free.get(bytes);
  if (!list) free.set(bytes, (list = []));
  list.push(ab);
  inPool.add(ab);
  pooledBytes += bytes;
  stats.released++;
}

/** Releases each distinct underlying buffer of `bufs` once. */
export function releaseAll(bufs: readonly (Float32Array | Int32Array)[]): void {
  if (bufs.length === 0) return;
  const seen = new Set<ArrayBufferLike>();
  for (const b of bufs) {
    if (seen.has(b.buffer)) continue;
    seen.add(b.buffer);
    release(b);
  }
}
