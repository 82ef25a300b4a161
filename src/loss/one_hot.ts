import { ShapeError, ValueError, fmtShape } from '../tensor/errors';
import { Tensor } from '../tensor/tensor';

/** Class labels: an Int32Array, a number array, or a tensor holding integer values. */
export type Labels = Tensor | Int32Array | readonly number[];

/** Validated class labels as an Int32Array (the labels' values must be integers in [0, classes)). */
export function labelsToInt(op: string, labels: Labels, classes?: number): Int32Array {
  const src: ArrayLike<number> = labels instanceof Tensor ? labels.data : labels;
  if (!src || typeof src.length !== 'number') throw new ValueError(`${op}: labels must be an Int32Array, a number array or a Tensor`);
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (!Number.isInteger(v) || v < 0 || (classes !== undefined && v >= classes)) {
      throw new ValueError(`${op}: label ${v} at position ${i} is not a class index in [0, ${classes ?? '∞'})`);
    }
    out[i] = v;
  }
  return out;
}

/**
 * One-hot encoding: labels [N] → float32 [N, classes] with a 1 in each label's column (for
 * MSE or L1 against class labels). `classes` defaults to max(label) + 1, as PyTorch's −1.
 */
export function oneHot(labels: Labels, classes?: number): Tensor {
  if (labels instanceof Tensor && labels.ndim > 1) {
    throw new ShapeError(`oneHot: labels must be 1-D, got shape ${fmtShape(labels.shape)}`);
  }
  if (classes !== undefined && (!Number.isInteger(classes) || classes < 1)) {
    throw new ValueError(`oneHot: classes must be a positive integer, got ${classes}`);
  }
  const idx = labelsToInt('oneHot', labels, classes);
  const c = classes ?? idx.reduce((m, v) => Math.max(m, v + 1), 0);
  const out = new Float32Array(idx.length * c);
  for (let i = 0; i < idx.length; i++) out[i * c + idx[i]!] = 1;
  return new Tensor(out, [idx.length, c]);
}
