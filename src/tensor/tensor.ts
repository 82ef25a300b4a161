import { backend } from '../backend';
import type { UnaryOp } from '../backend/backend';
import { isGradEnabled } from './autograd';
import { ShapeError, ValueError, fmtShape } from './errors';
import { alloc, allocZeroed, release, releaseAll } from './pool';
import { broadcastShapes, checkShape, normAxis, numel, splitAt } from './shape';

type BackwardFn = (grad: Float32Array) => void;

/**
 * A float32, contiguous, row-major n-d array with reverse-mode autograd (define-by-run).
 *
 * Each operation returns a new tensor; when gradients are enabled and an input requires grad,
 * the result remembers its inputs and a backward closure that accumulates (+=) into their
 * gradients. `backward()` walks the graph in reverse topological order and then frees it.
 */
export class Tensor {
  /** The values, row-major. Reshapes and row slices share this buffer with their source. */
  readonly data: Float32Array;
  readonly shape: readonly number[];
  requiresGrad: boolean;
  /** Gradient accumulated by backward() (leaves, and tensors that called retainGrad()). */
  grad: Tensor | null = null;
  /** @internal inputs of the op that produced this tensor */
  _prev: readonly Tensor[] = [];
  /** @internal accumulates this tensor's gradient into its inputs' */
  _backward: BackwardFn | null = null;
  /** @internal name of the producing op, for messages */
  _op = '';
  /** @internal keep .grad on a non-leaf after backward */
  _retain = false;
  /**
   * @internal buffers only this tensor's backward closure uses (masks, argmax indices): handed
   * back to the buffer pool when backward() frees the graph.
   */
  _scratch: Array<Float32Array | Int32Array> | null = null;
  /**
   * @internal set by Sequential on an activation between two built-in layers, which nothing but
   * the graph references: its data goes back to the buffer pool when backward() frees the graph.
   */
  _recycle = false;
  /** @internal a gradient buffer to reuse (zeroed) when this leaf next needs a gradient (fit()). */
  _spareGrad: Float32Array | null = null;

  constructor(data: Float32Array, shape: readonly number[], requiresGrad = false) {
    backend(); // throws the load failure if LERNEN_BACKEND=native is set and the addon did not load
    const s = checkShape('Tensor', shape);
    if (data.length !== numel(s)) {
      throw new ShapeError(`Tensor: ${data.length} values do not fill shape ${fmtShape(s)} (${numel(s)} elements)`);
    }
    this.data = data;
    this.shape = s;
    this.requiresGrad = requiresGrad;
  }

  get ndim(): number { return this.shape.length; }
  get size(): number { return this.data.length; }
  numel(): number { return this.data.length; }
  /** True for tensors created by the user (not produced by a recorded op). */
  get isLeaf(): boolean { return this._backward === null; }

  /** A copy of the values, row-major. */
  toArray(): Float32Array { return this.data.slice(); }

  /** Nested JS arrays (for printing and tests). */
  tolist(): unknown {
    const rec = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return this.data[off];
      const step = numel(this.shape.slice(dim + 1));
      const out: unknown[] = [];
      for (let i = 0; i < this.shape[dim]!; i++) out.push(rec(dim + 1, off + i * step));
      return out;
    };
    return rec(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) {
      throw new ShapeError(`item: only one-element tensors can be converted to a number, got shape ${fmtShape(this.shape)}`);
    }
    return this.data[0]!;
  }

  toString(): string {
    const vals = this.data.length <= 20 ? Array.from(this.data, (v) => +v.toPrecision(5)).join(', ')
      : `${Array.from(this.data.subarray(0, 10), (v) => +v.toPrecision(5)).join(', ')}, …`;
    return `Tensor(shape=${fmtShape(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''}, [${vals}])`;
  }

  /** A tensor sharing this one's values but cut from the graph. */
  detach(): Tensor { return new Tensor(this.data, this.shape, false); }

  /** A copy of the values that stays in the graph (gradient flows through). */
  clone(): Tensor {
    return result('clone', this.data.slice(), this.shape, [this], (g) => accumulate(this, g));
  }

  /** Sets requiresGrad in place (leaves only) and returns this. */
  requiresGrad_(flag = true): this {
    if (!this.isLeaf) throw new ValueError('requiresGrad_: can only change requiresGrad of leaf tensors');
    this.requiresGrad = flag;
    return this;
  }

  /** Keep this non-leaf tensor's gradient after backward(). */
  retainGrad(): this { this._retain = true; return this; }

  /**
   * Reverse-mode differentiation from this tensor. Without `grad`, this must hold one element
   * (the loss) and its gradient is 1. The graph is freed afterwards (like retain_graph=False).
   */
  backward(grad?: Tensor): void {
    if (!this.requiresGrad) {
      throw new ValueError('backward: this tensor does not require grad (no input had requiresGrad, or it was computed under noGrad)');
    }
    let seed: Float32Array;
    if (grad) {
      if (grad.size !== this.size) {
        throw new ShapeError(`backward: gradient shape ${fmtShape(grad.shape)} does not match tensor shape ${fmtShape(this.shape)}`);
      }
      seed = grad.data.slice();
    } else {
      if (this.size !== 1) {
        throw new ShapeError(`backward: can only be called without a gradient on a one-element tensor, got shape ${fmtShape(this.shape)}`);
      }
      seed = new Float32Array([1]);
    }
    const order = topoSort(this);
    accumulate(this, seed, true);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      if (t._backward && t.grad) t._backward(t.grad.data);
    }
    // Free the graph. Gradients of intermediate tensors, buffers private to the closures and
    // activations marked recyclable are referenced by nothing else now: back to the pool.
    const spent: Array<Float32Array | Int32Array> = [];
    for (const t of order) {
      if (t._backward) {
        t._backward = null;
        t._prev = [];
        if (!t._retain) {
          if (t.grad) spent.push(t.grad.data);
          t.grad = null;
        }
        t._op = '';
        if (t._scratch) {
          for (const b of t._scratch) spent.push(b);
          t._scratch = null;
        }
        if (t._recycle) {
          t._recycle = false;
          spent.push(t.data);
        }
      }
    }
    releaseAll(spent);
  }

  // ------------------------------------------------------------------ elementwise
  add(o: Tensor | number): Tensor { return typeof o === 'number' ? this.unaryOp('addScalar', o) : binaryOp('add', this, o); }
  sub(o: Tensor | number): Tensor { return typeof o === 'number' ? this.unaryOp('addScalar', -o) : binaryOp('sub', this, o); }
  mul(o: Tensor | number): Tensor { return typeof o === 'number' ? this.unaryOp('scale', o) : binaryOp('mul', this, o); }
  div(o: Tensor | number): Tensor { return typeof o === 'number' ? this.unaryOp('scale', 1 / o) : binaryOp('div', this, o); }
  neg(): Tensor { return this.unaryOp('neg'); }
  exp(): Tensor { return this.unaryOp('exp'); }
  log(): Tensor { return this.unaryOp('log'); }
  sqrt(): Tensor { return this.unaryOp('sqrt'); }
  abs(): Tensor { return this.unaryOp('abs'); }
  square(): Tensor { return this.unaryOp('square'); }
  /** Elementwise power with a scalar exponent. */
  pow(p: number): Tensor {
    if (typeof p !== 'number' || !Number.isFinite(p)) throw new ValueError(`pow: exponent must be a finite number, got ${p}`);
    return this.unaryOp('pow', p);
  }
  relu(): Tensor { return this.unaryOp('relu'); }
  leakyRelu(negativeSlope = 0.01): Tensor { return this.unaryOp('leakyRelu', negativeSlope); }
  sigmoid(): Tensor { return this.unaryOp('sigmoid'); }
  tanh(): Tensor { return this.unaryOp('tanh'); }
  /** GELU, exact erf form (PyTorch's default). */
  gelu(): Tensor { return this.unaryOp('gelu'); }

  /** @internal */
  unaryOp(op: UnaryOp, param?: number): Tensor {
    const n = this.size;
    const out = alloc(n);
    backend().unary(op, n, this.data, out, param);
    return result(op, out, this.shape, [this], (g) => {
      const dx = alloc(n);
      backend().unaryBackward(op, n, this.data, out, g, dx, param);
      accumulate(this, dx, true);
    });
  }

  // ------------------------------------------------------------------ matmul
  /**
   * Matrix product. 2-D: [m,k]·[k,n]. Batched: [...b, m, k]·[...b, k, n] with equal batch dims,
   * or one side 2-D (shared across the batch). 1-D operands are treated as a row (left) or a
   * column (right) vector and that dimension is dropped from the result, as in PyTorch.
   */
  matmul(o: Tensor): Tensor { return matmul(this, o); }

  // ------------------------------------------------------------------ shape
  /** Same values, new shape (one dimension may be -1). Shares storage. */
  reshape(shape: readonly number[]): Tensor {
    const s = inferShape('reshape', shape, this.size, this.shape);
    const out = result('reshape', this.data, s, [this], (g) => {
      // An intermediate input takes the gradient buffer over instead of a copy: neither tensor
      // keeps its gradient after backward (not retained), which frees the shared buffer once.
      if (!this.grad && this._backward && !this._retain && !out._retain && this.requiresGrad) {
        this.grad = new Tensor(g, this.shape);
      } else {
        accumulate(this, g);
      }
    });
    return out;
  }
  view(shape: readonly number[]): Tensor { return this.reshape(shape); }
  /** Flattens dims [startDim, endDim] into one. */
  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape([1]);
    const s = normAxis('flatten', startDim, this.ndim);
    const e = normAxis('flatten', endDim, this.ndim);
    if (e < s) throw new ValueError(`flatten: endDim ${endDim} is before startDim ${startDim}`);
    const shape = [...this.shape.slice(0, s), numel(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1)];
    return this.reshape(shape);
  }
  /** Inserts a dimension of size 1 at `dim`. */
  unsqueeze(dim: number): Tensor {
    const d = normAxis('unsqueeze', dim, this.ndim + 1);
    return this.reshape([...this.shape.slice(0, d), 1, ...this.shape.slice(d)]);
  }
  /** Removes dimension `dim` if it has size 1 (all size-1 dims without an argument). */
  squeeze(dim?: number): Tensor {
    if (dim === undefined) return this.reshape(this.shape.filter((d) => d !== 1));
    const d = normAxis('squeeze', dim, this.ndim);
    if (this.shape[d] !== 1) return this;
    return this.reshape([...this.shape.slice(0, d), ...this.shape.slice(d + 1)]);
  }
  /** Swaps two dimensions (copies: storage stays contiguous). */
  transpose(d0: number, d1: number): Tensor {
    const a = normAxis('transpose', d0, this.ndim);
    const b = normAxis('transpose', d1, this.ndim);
    const perm = this.shape.map((_, i) => i);
    perm[a] = b;
    perm[b] = a;
    return this.permute(perm);
  }
  /** Transpose of a 2-D tensor. */
  get T(): Tensor {
    if (this.ndim !== 2) throw new ShapeError(`T: expects a 2-D tensor, got shape ${fmtShape(this.shape)}`);
    return this.transpose(0, 1);
  }
  /** Reorders dimensions: result.shape[i] = shape[perm[i]]. */
  permute(perm: readonly number[]): Tensor {
    const r = this.ndim;
    if (perm.length !== r) throw new ShapeError(`permute: ${perm.length} dims given for a tensor of rank ${r}`);
    const p = perm.map((d) => normAxis('permute', d, r));
    if (new Set(p).size !== r) throw new ValueError(`permute: [${perm.join(', ')}] is not a permutation of ${r} dims`);
    if (p.every((d, i) => d === i)) return this.reshape(this.shape);
    const shape = p.map((d) => this.shape[d]!);
    const out = alloc(this.size);
    backend().permute(this.data, this.shape, p, out);
    return result('permute', out, shape, [this], (g) => {
      const inv = new Array<number>(r);
      p.forEach((d, i) => { inv[d] = i; });
      const dx = alloc(this.size);
      backend().permute(g, shape, inv, dx);
      accumulate(this, dx, true);
    });
  }

  /** Rows [start, end) along dim 0, sharing storage (zero copy). */
  slice(start: number, end?: number): Tensor {
    if (this.ndim === 0) throw new ShapeError('slice: cannot slice a 0-d tensor');
    const n0 = this.shape[0]!;
    const e = end === undefined ? n0 : end < 0 ? n0 + end : Math.min(end, n0);
    const s = start < 0 ? n0 + start : start;
    if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || s > e) {
      throw new ValueError(`slice: invalid range [${start}, ${end}) for dimension 0 of size ${n0}`);
    }
    const row = this.size / Math.max(n0, 1);
    const data = this.data.subarray(s * row, e * row);
    return result('slice', data, [e - s, ...this.shape.slice(1)], [this], (g) => {
      if (!this.requiresGrad) return;
      ensureGrad(this);
      backend().axpy(g.length, 1, g, this.grad!.data.subarray(s * row, e * row));
    });
  }

  /** Rows picked by index along dim 0 (a copy; gradients scatter-add back). */
  indexSelect(indices: Int32Array | readonly number[]): Tensor {
    if (this.ndim === 0) throw new ShapeError('indexSelect: cannot index a 0-d tensor');
    const n0 = this.shape[0]!;
    const row = n0 === 0 ? 0 : this.size / n0;
    const idx = Int32Array.from(indices);
    for (let i = 0; i < idx.length; i++) {
      if (idx[i]! < 0 || idx[i]! >= n0 || idx[i] !== (indices as ArrayLike<number>)[i]) {
        throw new ValueError(`indexSelect: index ${(indices as ArrayLike<number>)[i]} at position ${i} is out of range [0, ${n0})`);
      }
    }
    const out = new Float32Array(idx.length * row);
    for (let i = 0; i < idx.length; i++) out.set(this.data.subarray(idx[i]! * row, (idx[i]! + 1) * row), i * row);
    return result('indexSelect', out, [idx.length, ...this.shape.slice(1)], [this], (g) => {
      if (!this.requiresGrad) return;
      ensureGrad(this);
      const gd = this.grad!.data;
      for (let i = 0; i < idx.length; i++) {
        backend().axpy(row, 1, g.subarray(i * row, (i + 1) * row), gd.subarray(idx[i]! * row, (idx[i]! + 1) * row));
      }
    });
  }

  // ------------------------------------------------------------------ reductions
  /** Sum over `dim` (all elements when omitted). */
  sum(dim?: number, keepdim = false): Tensor { return reduceOp('sum', this, dim, keepdim); }
  /** Mean over `dim` (all elements when omitted). */
  mean(dim?: number, keepdim = false): Tensor { return reduceOp('mean', this, dim, keepdim); }
  /** Maximum over `dim` (all elements when omitted); the gradient flows to the first maximum. */
  max(dim?: number, keepdim = false): Tensor { return reduceOp('max', this, dim, keepdim); }
  /** Minimum over `dim` (all elements when omitted); the gradient flows to the first minimum. */
  min(dim?: number, keepdim = false): Tensor { return reduceOp('min', this, dim, keepdim); }

  /** Indices of the maxima along `dim` (as float values; not differentiable). */
  argmax(dim?: number, keepdim = false): Tensor {
    const { outer, d, inner, shape } = reduceGeometry('argmax', this, dim, keepdim);
    if (d === 0) throw new ShapeError(`argmax: cannot reduce an empty dimension (shape ${fmtShape(this.shape)})`);
    const vals = new Float32Array(outer * inner);
    const idx = new Int32Array(outer * inner);
    backend().reduce('max', this.data, outer, d, inner, vals, idx);
    return new Tensor(Float32Array.from(idx), shape);
  }

  // ------------------------------------------------------------------ softmax
  softmax(dim = -1): Tensor { return softmaxOp(this, dim, false); }
  logSoftmax(dim = -1): Tensor { return softmaxOp(this, dim, true); }
}

// ==================================================================== graph helpers

/**
 * Makes an op's output and records its backward when gradients are on. `scratch`: buffers that
 * only backwardFn uses (they go back to the buffer pool when backward() frees the graph; with
 * no graph recorded they are simply dropped).
 */
export function result(op: string, data: Float32Array, shape: readonly number[], inputs: readonly Tensor[],
  backwardFn: BackwardFn, scratch?: Array<Float32Array | Int32Array>): Tensor {
  const out = new Tensor(data, shape);
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out._prev = inputs;
    out._backward = backwardFn;
    out._op = op;
    if (scratch) out._scratch = scratch;
  }
  return out;
}

/** A zeroed buffer for a new gradient of t: its spare buffer (see fit()) or a pooled one. */
function newGradBuffer(t: Tensor, zeroed: boolean): Float32Array {
  const spare = t._spareGrad;
  if (spare) {
    t._spareGrad = null;
    if (spare.length === t.size) {
      if (zeroed) spare.fill(0);
      return spare;
    }
  }
  return zeroed ? allocZeroed(t.size) : alloc(t.size);
}

/** Gives `t` a zero gradient if it has none. */
export function ensureGrad(t: Tensor): void {
  if (!t.grad) t.grad = new Tensor(newGradBuffer(t, true), t.shape);
}

/**
 * The gradient buffer of t for a kernel that either overwrites it (the gradient is new: returns
 * beta 0, the buffer's contents are unspecified) or adds to it (returns beta 1).
 */
export function gradForWrite(t: Tensor): { buf: Float32Array; beta: 0 | 1 } {
  if (t.grad) return { buf: t.grad.data, beta: 1 };
  const buf = newGradBuffer(t, false);
  t.grad = new Tensor(buf, t.shape);
  return { buf, beta: 0 };
}

/**
 * grad(t) += g. `owned` says g was freshly allocated by the caller (nothing else references
 * it): it is adopted as the gradient buffer instead of copied, or handed back to the buffer
 * pool once added.
 */
export function accumulate(t: Tensor, g: Float32Array, owned = false): void {
  if (!t.requiresGrad) {
    if (owned) release(g);
    return;
  }
  if (!t.grad) {
    let buf = g;
    if (!owned) {
      buf = alloc(g.length);
      buf.set(g);
    }
    t.grad = new Tensor(buf, t.shape);
  } else {
    backend().axpy(g.length, 1, g, t.grad.data);
    if (owned) release(g);
  }
}

function topoSort(root: Tensor): Tensor[] {
  // Iterative DFS (deep graphs must not overflow the stack).
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: Array<[Tensor, number]> = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    if (i < t._prev.length) {
      top[1] = i + 1;
      const p = t._prev[i]!;
      if (!seen.has(p) && p.requiresGrad) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order;
}

function inferShape(op: string, shape: readonly number[], size: number, from: readonly number[]): number[] {
  const s = [...shape];
  const neg = s.filter((d) => d === -1).length;
  if (neg > 1) throw new ShapeError(`${op}: only one dimension can be -1, got ${fmtShape(s)}`);
  for (const d of s) {
    if (!Number.isInteger(d) || d < -1) throw new ValueError(`${op}: invalid dimension ${d} in ${fmtShape(s)}`);
  }
  if (neg === 1) {
    const known = s.reduce((a, d) => (d === -1 ? a : a * d), 1);
    if (known === 0 || size % known !== 0) {
      throw new ShapeError(`${op}: cannot reshape ${fmtShape(from)} (${size} elements) into ${fmtShape(s)}`);
    }
    s[s.indexOf(-1)] = size / known;
  }
  if (numel(s) !== size) {
    throw new ShapeError(`${op}: cannot reshape ${fmtShape(from)} (${size} elements) into ${fmtShape(s)}`);
  }
  return s;
}

// ==================================================================== op implementations

/** g summed down to `shape` (g itself when the shapes are equal; else a new buffer). */
function sumToShape(g: Float32Array, gShape: readonly number[], shape: readonly number[]): Float32Array {
  if (gShape.length === shape.length && gShape.every((d, i) => d === shape[i])) return g;
  const out = alloc(numel(shape));
  backend().sumTo(g, gShape, out, shape);
  return out;
}

function binaryOp(op: 'add' | 'sub' | 'mul' | 'div', a: Tensor, b: Tensor): Tensor {
  if (!(b instanceof Tensor)) throw new ValueError(`${op}: expected a Tensor or a number, got ${typeof b}`);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = alloc(numel(shape));
  const be = backend();
  be.binary(op, a.data, a.shape, b.data, b.shape, out, shape);
  return result(op, out, shape, [a, b], (g) => {
    const bk = backend();
    const n = g.length;
    if (a.requiresGrad) {
      let ga: Float32Array;
      if (op === 'add' || op === 'sub') ga = g;
      else {
        ga = alloc(n);
        bk.binary(op === 'mul' ? 'mul' : 'div', g, shape, b.data, b.shape, ga, shape);
      }
      const ra = sumToShape(ga, shape, a.shape);
      if (ga !== g && ga !== ra) release(ga);
      accumulate(a, ra, ra !== g);
    }
    if (b.requiresGrad) {
      let gb: Float32Array;
      if (op === 'add') gb = g;
      else if (op === 'sub') {
        gb = alloc(n);
        bk.unary('neg', n, g, gb);
      } else if (op === 'mul') {
        gb = alloc(n);
        bk.binary('mul', g, shape, a.data, a.shape, gb, shape);
      } else {
        // d(a/b)/db = -a/b² = -out/b
        gb = alloc(n);
        bk.binary('mul', g, shape, out, shape, gb, shape);
        bk.binary('div', gb, shape, b.data, b.shape, gb, shape);
        bk.unary('neg', n, gb, gb);
      }
      const rb = sumToShape(gb, shape, b.shape);
      if (gb !== g && gb !== rb) release(gb);
      accumulate(b, rb, rb !== g);
    }
  });
}

function matmul(a: Tensor, b: Tensor): Tensor {
  if (!(b instanceof Tensor)) throw new ValueError('matmul: expected a Tensor');
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`matmul: both operands need at least 1 dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  if (a.ndim === 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.ndim === 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);
  const m = a.shape[a.ndim - 2]!;
  const k = a.shape[a.ndim - 1]!;
  const k2 = b.shape[b.ndim - 2]!;
  const n = b.shape[b.ndim - 1]!;
  if (k !== k2) {
    throw new ShapeError(`matmul: inner dimensions differ: ${fmtShape(a.shape)} · ${fmtShape(b.shape)} (${k} vs ${k2})`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  if (aBatch.length && bBatch.length && (aBatch.length !== bBatch.length || aBatch.some((d, i) => d !== bBatch[i]))) {
    throw new ShapeError(`matmul: batch dimensions differ: ${fmtShape(a.shape)} · ${fmtShape(b.shape)}`);
  }
  const batchShape = aBatch.length ? aBatch : bBatch;
  const batch = numel(batchShape);
  const sA = aBatch.length ? m * k : 0;
  const sB = bBatch.length ? k * n : 0;
  const out = alloc(batch * m * n);
  const be = backend();
  if (batch === 1 || (sA !== 0 && sB === 0)) {
    // A batch against a shared B is one GEMM over the stacked rows.
    be.gemm(false, false, batch * m, n, k, 1, a.data, b.data, 0, out);
  } else {
    be.gemmBatched(batch, false, false, m, n, k, 1, a.data, sA, b.data, sB, 0, out, m * n);
  }
  return result('matmul', out, [...batchShape, m, n], [a, b], (g) => {
    const bk = backend();
    if (a.requiresGrad) {
      // dA = dC · Bᵀ (an empty batch writes nothing: zeros)
      const da = batch === 0 ? allocZeroed(a.size) : alloc(a.size);
      if (sA === 0 && batch > 1) {
        // A shared across the batch: sum over the batch with beta = 1.
        for (let i = 0; i < batch; i++) {
          bk.gemm(false, true, m, k, n, 1, g.subarray(i * m * n, (i + 1) * m * n), b.data.subarray(i * sB, i * sB + k * n), i === 0 ? 0 : 1, da);
        }
      } else if (batch === 1 || sB === 0) {
        bk.gemm(false, true, batch * m, k, n, 1, g, b.data, 0, da);
      } else {
        bk.gemmBatched(batch, false, true, m, k, n, 1, g, m * n, b.data, sB, 0, da, m * k);
      }
      accumulate(a, da, true);
    }
    if (b.requiresGrad) {
      // dB = Aᵀ · dC
      const db = batch === 0 ? allocZeroed(b.size) : alloc(b.size);
      if (sB === 0 && batch > 1) {
        if (sA !== 0) bk.gemm(true, false, k, n, batch * m, 1, a.data, g, 0, db);
        else for (let i = 0; i < batch; i++) bk.gemm(true, false, k, n, m, 1, a.data, g.subarray(i * m * n, (i + 1) * m * n), i === 0 ? 0 : 1, db);
      } else if (batch === 1) {
        bk.gemm(true, false, k, n, m, 1, a.data, g, 0, db);
      } else {
        bk.gemmBatched(batch, true, false, k, n, m, 1, a.data, sA, g, m * n, 0, db, k * n);
      }
      accumulate(b, db, true);
    }
  });
}

function reduceGeometry(op: string, t: Tensor, dim: number | undefined, keepdim: boolean) {
  if (dim === undefined) {
    return { outer: 1, d: t.size, inner: 1, shape: keepdim ? t.shape.map(() => 1) : [] as number[] };
  }
  const axis = normAxis(op, dim, t.ndim);
  const [outer, d, inner] = splitAt(t.shape, axis);
  const shape = keepdim ? t.shape.map((s, i) => (i === axis ? 1 : s)) : t.shape.filter((_, i) => i !== axis);
  return { outer, d, inner, shape };
}

/** Broadcasts g [outer, 1, inner] back over [outer, d, inner] (times `scale`). */
function expandOver(g: Float32Array, outer: number, d: number, inner: number, scale: number): Float32Array {
  const out = new Float32Array(outer * d * inner);
  const zeros = new Float32Array(d);
  backend().binary('add', g, [outer, 1, inner], zeros, [1, d, 1], out, [outer, d, inner]);
  if (scale !== 1) backend().unary('scale', out.length, out, out, scale);
  return out;
}

function reduceOp(op: 'sum' | 'mean' | 'max' | 'min', t: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  const { outer, d, inner, shape } = reduceGeometry(op, t, dim, keepdim);
  if ((op === 'max' || op === 'min') && d === 0) {
    throw new ShapeError(`${op}: cannot reduce an empty dimension (shape ${fmtShape(t.shape)})`);
  }
  const out = new Float32Array(outer * inner);
  const idx = op === 'max' || op === 'min' ? new Int32Array(outer * inner) : undefined;
  backend().reduce(op, t.data, outer, d, inner, out, idx);
  return result(op, out, shape, [t], (g) => {
    if (op === 'sum' || op === 'mean') {
      accumulate(t, expandOver(g, outer, d, inner, op === 'mean' ? 1 / d : 1), true);
      return;
    }
    const dx = new Float32Array(t.size);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        dx[(o * d + idx![o * inner + i]!) * inner + i] = g[o * inner + i]!;
      }
    }
    accumulate(t, dx, true);
  });
}

function softmaxOp(t: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? 'logSoftmax' : 'softmax';
  const axis = normAxis(op, dim, t.ndim);
  const [outer, d, inner] = splitAt(t.shape, axis);
  const out = alloc(t.size);
  backend().softmax(t.data, outer, d, inner, out, log);
  return result(op, out, t.shape, [t], (g) => {
    const dx = alloc(t.size);
    backend().softmaxBackward(out, g, outer, d, inner, dx, log);
    accumulate(t, dx, true);
  });
}

/** Concatenates tensors along `dim` (all other dims must match). */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!tensors.length) throw new ValueError('concat: expects at least one tensor');
  const first = tensors[0]!;
  const axis = normAxis('concat', dim, first.ndim);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== axis && s !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${tensors.map((x) => fmtShape(x.shape)).join(', ')} differ outside dimension ${axis}`);
    }
  }
  const [outer, , inner] = splitAt(first.shape, axis);
  const total = tensors.reduce((a, t) => a + t.shape[axis]!, 0);
  const shape = first.shape.map((s, i) => (i === axis ? total : s));
  const out = new Float32Array(numel(shape));
  const rowOut = total * inner;
  let off = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    const rowIn = t.shape[axis]! * inner;
    offsets.push(off);
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * rowIn, (o + 1) * rowIn), o * rowOut + off);
    off += rowIn;
  }
  return result('concat', out, shape, tensors, (g) => {
    tensors.forEach((t, j) => {
      if (!t.requiresGrad) return;
      const rowIn = t.shape[axis]! * inner;
      const dx = new Float32Array(t.size);
      for (let o = 0; o < outer; o++) dx.set(g.subarray(o * rowOut + offsets[j]!, o * rowOut + offsets[j]! + rowIn), o * rowIn);
      accumulate(t, dx, true);
    });
  });
}

/** Stacks equally shaped tensors along a new dimension `dim`. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (!tensors.length) throw new ValueError('stack: expects at least one tensor');
  return concat(tensors.map((t) => t.unsqueeze(dim)), dim);
}
