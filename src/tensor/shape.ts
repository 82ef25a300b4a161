import { ShapeError, ValueError, fmtShape } from './errors';

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Checks that every dimension is a non-negative safe integer; returns a frozen copy. */
export function checkShape(op: string, shape: readonly number[]): readonly number[] {
  if (!Array.isArray(shape)) throw new ValueError(`${op}: shape must be an array of integers, got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ValueError(`${op}: shape ${fmtShape(shape)} has an invalid dimension ${d} (expected a non-negative integer)`);
    }
  }
  const n = numel(shape);
  if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1) {
    throw new ValueError(`${op}: shape ${fmtShape(shape)} has ${n} elements, more than a Float32Array can hold`);
  }
  return Object.freeze([...shape]);
}

/** NumPy broadcasting of two shapes; throws a ShapeError naming the op and both shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalises a possibly negative axis; throws naming the op, the axis and the rank. */
export function normAxis(op: string, dim: number, rank: number): number {
  if (!Number.isInteger(dim) || dim < -rank || dim >= Math.max(rank, 1)) {
    throw new ValueError(`${op}: dimension ${dim} is out of range for a tensor of rank ${rank}`);
  }
  return dim < 0 ? dim + rank : dim;
}

/** [outer, dim, inner] view of a shape around axis `axis`. */
export function splitAt(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return [outer, shape[axis] ?? 1, inner];
}
