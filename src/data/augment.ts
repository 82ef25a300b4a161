import { ValueError } from '../tensor/errors';
import type { Generator } from '../tensor/random';
import type { BatchShape, BatchTransform } from './loader';

/*
 * Augmentation runs on the fly, per batch, on float images [B, C, H, W] with values in [0, 1],
 * i.e. after the byte → float conversion and before normalisation. So the zero fill of the warp
 * and of erasing is black background (as in MNIST), and noise std, brightness and contrast are in
 * [0, 1] pixel units whatever normalisation the loader applies afterwards.
 *
 * Coordinates are pixel centres: x = column, y = row (pointing down), centre of the image at
 * ((W−1)/2, (H−1)/2).
 */

/**
 * An inverse affine map [a, b, c, d, e, f]: output pixel (x, y) samples the source at
 * (a·x + b·y + c, d·x + e·y + f).
 */
export type AffineMatrix = readonly number[] | Float64Array;

/**
 * Warps one H×W image plane: dst[y, x] = bilinear sample of src at m·(x, y, 1), with zeros outside
 * the source. `src` and `dst` must not overlap. No allocation: a tight loop over Float32Array.
 */
export function warpAffine(src: Float32Array, dst: Float32Array, h: number, w: number, m: AffineMatrix,
  srcOffset = 0, dstOffset = 0): void {
  const a = m[0]!, b = m[1]!, c = m[2]!, d = m[3]!, e = m[4]!, f = m[5]!;
  const wm1 = w - 1, hm1 = h - 1;
  let o = dstOffset;
  for (let y = 0; y < h; y++) {
    const rx = b * y + c;
    const ry = e * y + f;
    for (let x = 0; x < w; x++, o++) {
      const px = a * x + rx;
      const py = d * x + ry;
      const fx0 = Math.floor(px);
      const fy0 = Math.floor(py);
      // Also false for NaN, so a degenerate matrix yields zeros rather than garbage.
      if (!(fx0 >= -1 && fx0 < w && fy0 >= -1 && fy0 < h)) { dst[o] = 0; continue; }
      const x0 = fx0 | 0, y0 = fy0 | 0;
      const fx = px - fx0, fy = py - fy0;
      const i = srcOffset + y0 * w + x0;
      let v00: number, v01: number, v10: number, v11: number;
      if (x0 >= 0 && x0 < wm1 && y0 >= 0 && y0 < hm1) {
        v00 = src[i]!; v01 = src[i + 1]!; v10 = src[i + w]!; v11 = src[i + w + 1]!;
      } else {
        const inX0 = x0 >= 0, inX1 = x0 < wm1, inY0 = y0 >= 0, inY1 = y0 < hm1;
        v00 = inY0 && inX0 ? src[i]! : 0;
        v01 = inY0 && inX1 ? src[i + 1]! : 0;
        v10 = inY1 && inX0 ? src[i + w]! : 0;
        v11 = inY1 && inX1 ? src[i + w + 1]! : 0;
      }
      // Lerp form: exact (v00) when fx = fy = 0, so integer shifts and the identity copy exactly.
      const top = v00 + fx * (v01 - v00);
      const bot = v10 + fx * (v11 - v10);
      dst[o] = top + fy * (bot - top);
    }
  }
}

/**
 * Like warpAffine, plus a per-pixel displacement field (dx, dy, H×W each, in pixels) added to
 * the source coordinates: an elastic deformation folded into the same single warp.
 */
export function warpAffineField(src: Float32Array, dst: Float32Array, h: number, w: number, m: AffineMatrix,
  dx: Float32Array, dy: Float32Array, srcOffset = 0, dstOffset = 0): void {
  const a = m[0]!, b = m[1]!, c = m[2]!, d = m[3]!, e = m[4]!, f = m[5]!;
  const wm1 = w - 1, hm1 = h - 1;
  let o = dstOffset;
  let p = 0;
  for (let y = 0; y < h; y++) {
    const rx = b * y + c;
    const ry = e * y + f;
    for (let x = 0; x < w; x++, o++, p++) {
      const px = a * x + rx + dx[p]!;
      const py = d * x + ry + dy[p]!;
      const fx0 = Math.floor(px);
      const fy0 = Math.floor(py);
      if (!(fx0 >= -1 && fx0 < w && fy0 >= -1 && fy0 < h)) { dst[o] = 0; continue; }
      const x0 = fx0 | 0, y0 = fy0 | 0;
      const fx = px - fx0, fy = py - fy0;
      const i = srcOffset + y0 * w + x0;
      const inX0 = x0 >= 0, inX1 = x0 < wm1, inY0 = y0 >= 0, inY1 = y0 < hm1;
      const v00 = inY0 && inX0 ? src[i]! : 0;
      const v01 = inY0 && inX1 ? src[i + 1]! : 0;
      const v10 = inY1 && inX0 ? src[i + w]! : 0;
      const v11 = inY1 && inX1 ? src[i + w + 1]! : 0;
      const top = v00 + fx * (v01 - v00);
      const bot = v10 + fx * (v11 - v10);
      dst[o] = top + fy * (bot - top);
    }
  }
}

export interface AffineParams {
  /** Rotation in degrees, counter-clockwise as displayed (y pointing down). */
  angle?: number;
  /** Zoom factor (> 1 enlarges the content). */
  scale?: number;
  /** Shift of the content in pixels (right, down). */
  tx?: number;
  ty?: number;
}

/**
 * The inverse matrix (for warpAffine) of the forward map p' = C + t + s·R(angle)·(p − C) about the
 * image centre C: rotate and scale about the centre, then translate.
 */
export function affineMatrix(h: number, w: number, p: AffineParams, out: Float64Array = new Float64Array(6), off = 0): Float64Array {
  const th = ((p.angle ?? 0) * Math.PI) / 180;
  const s = p.scale ?? 1;
  const cx = (w - 1) / 2, cy = (h - 1) / 2;
  const cos = Math.cos(th) / s, sin = Math.sin(th) / s;
  const ox = cx + (p.tx ?? 0), oy = cy + (p.ty ?? 0);
  // Inverse: p = C + R(−angle)/s · (p' − C − t); R(angle) = [[cos, sin], [−sin, cos]] in y-down coordinates.
  out[off] = cos; out[off + 1] = -sin; out[off + 2] = cx - cos * ox + sin * oy;
  out[off + 3] = sin; out[off + 4] = cos; out[off + 5] = cy - sin * ox - cos * oy;
  return out;
}

// ------------------------------------------------------------------ options

export interface EraseOptions {
  /** Probability of erasing a given image (default 0.5). */
  p?: number;
  /** Range of the erased area as a fraction of the image (default [0.02, 0.33]). */
  scale?: readonly [number, number];
  /** Range of the erased rectangle's aspect ratio h/w (default [0.3, 3.3]). */
  ratio?: readonly [number, number];
  /** Fill value in [0, 1] pixel units (default 0), or 'random' for standard-normal noise. */
  value?: number | 'random';
}

export interface AugmentOptions {
  /** Random rotation in [−rotate, rotate] degrees. */
  rotate?: number;
  /** Random zoom factor in [1 − scale, 1 + scale]. */
  scale?: number;
  /** Random shift in [−translate, translate] × width (x) and × height (y), in sub-pixel steps. */
  translate?: number;
  /** Multiply by a factor in [max(0, 1 − b), 1 + b], clipped to [0, 1] (torchvision ColorJitter). */
  brightness?: number;
  /** Blend with the image mean by a factor in [max(0, 1 − c), 1 + c], clipped to [0, 1]. */
  contrast?: number;
  /** Add Gaussian noise of this std, clipped to [0, 1]. */
  noise?: number;
  /** Random erasing (PyTorch RandomErasing): a probability, or full options. */
  erase?: number | EraseOptions;
}

const KEYS = ['rotate', 'scale', 'translate', 'brightness', 'contrast', 'noise', 'erase'] as const;

function num(name: string, v: unknown, lo: number, hi: number, hiOpen = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || (hiOpen ? v >= hi : v > hi)) {
    throw new ValueError(`augment: ${name} must be a number in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${String(v)}`);
  }
  return v;
}

function range(name: string, v: unknown, lo: number, hi: number): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) throw new ValueError(`augment: ${name} must be a pair [lo, hi], got ${String(v)}`);
  const a = num(`${name}[0]`, v[0], lo, hi), b = num(`${name}[1]`, v[1], lo, hi);
  if (a > b) throw new ValueError(`augment: ${name} must satisfy lo <= hi, got [${a}, ${b}]`);
  return [a, b];
}

interface Resolved {
  rotate: number; scale: number; translate: number; brightness: number; contrast: number; noise: number;
  erase: { p: number; scale: [number, number]; logRatio: [number, number]; value: number | 'random' } | null;
}

function resolve(o: AugmentOptions): Resolved {
  if (typeof o !== 'object' || o === null) throw new ValueError('augment: options must be an object');
  for (const k of Object.keys(o)) {
    if (!(KEYS as readonly string[]).includes(k)) throw new ValueError(`augment: unknown option '${k}' (expected one of ${KEYS.join(', ')})`);
  }
  let erase: Resolved['erase'] = null;
  if (o.erase !== undefined) {
    const e: EraseOptions = typeof o.erase === 'number' ? { p: o.erase } : o.erase;
    const p = num('erase.p', e.p ?? 0.5, 0, 1);
    const scale = range('erase.scale', e.scale ?? [0.02, 0.33], 0, 1);
    const ratio = range('erase.ratio', e.ratio ?? [0.3, 3.3], Number.MIN_VALUE, Infinity);
    const value = e.value ?? 0;
    if (value !== 'random' && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new ValueError(`augment: erase.value must be a finite number or 'random', got ${String(value)}`);
    }
    if (p > 0) erase = { p, scale, logRatio: [Math.log(ratio[0]), Math.log(ratio[1])], value };
  }
  return {
    rotate: num('rotate', o.rotate ?? 0, 0, 180),
    scale: num('scale', o.scale ?? 0, 0, 1, true),
    translate: num('translate', o.translate ?? 0, 0, 1),
    brightness: num('brightness', o.brightness ?? 0, 0, Infinity),
    contrast: num('contrast', o.contrast ?? 0, 0, Infinity),
    noise: num('noise', o.noise ?? 0, 0, Infinity),
    erase,
  };
}

function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/**
 * A seeded batch transform (see BatchTransform) doing, per image and in this order:
 * 1. rotation, zoom and translation as ONE affine warp (bilinear, inverse mapping, zero fill),
 *    skipped when all three are 0, so the identity returns the input exactly;
 * 2. brightness, then contrast (torchvision ColorJitter factors);
 * 3. Gaussian noise, clipped to [0, 1];
 * 4. random erasing with PyTorch RandomErasing semantics (up to 10 tries of a random area in
 *    `scale` and aspect ratio in `ratio`, log-uniform; no erase if none fits).
 * The amount of randomness drawn depends only on the options and the batch shape (except with
 * erase.value 'random', which draws noise only for the erased pixels).
 */
export function augment(opts: AugmentOptions = {}): BatchTransform & { options: AugmentOptions } {
  const r = resolve(opts);
  const doAffine = r.rotate > 0 || r.scale > 0 || r.translate > 0;
  const fn = (x: Float32Array, shape: BatchShape, gen: Generator): void => {
    const { n, c, h, w } = shape;
    const hw = h * w;
    const per = c * hw;
    if (x.length !== n * per) throw new ValueError(`augment: batch holds ${x.length} values, expected ${n}×${c}×${h}×${w}`);
    if (n === 0) return;
    if (doAffine) {
      const u = gen.uniform(new Float32Array(4 * n));
      const mats = new Float64Array(6);
      const tmp = new Float32Array(hw);
      for (let k = 0; k < n; k++) {
        affineMatrix(h, w, {
          angle: r.rotate * (2 * u[4 * k]! - 1),
          scale: 1 + r.scale * (2 * u[4 * k + 1]! - 1),
          tx: r.translate * w * (2 * u[4 * k + 2]! - 1),
          ty: r.translate * h * (2 * u[4 * k + 3]! - 1),
        }, mats);
        for (let ch = 0; ch < c; ch++) {
          const off = k * per + ch * hw;
          warpAffine(x, tmp, h, w, mats, off, 0);
          x.set(tmp, off);
        }
      }
    }
    if (r.brightness > 0 || r.contrast > 0) {
      const u = gen.uniform(new Float32Array(2 * n));
      for (let k = 0; k < n; k++) {
        const base = k * per;
        if (r.brightness > 0) {
          const lo = Math.max(0, 1 - r.brightness);
          const f = lo + (1 + r.brightness - lo) * u[2 * k]!;
          for (let j = 0; j < per; j++) x[base + j] = clip01(x[base + j]! * f);
        }
        if (r.contrast > 0) {
          const lo = Math.max(0, 1 - r.contrast);
          const f = lo + (1 + r.contrast - lo) * u[2 * k + 1]!;
          let mean = 0;
          for (let j = 0; j < per; j++) mean += x[base + j]!;
          mean /= per;
          for (let j = 0; j < per; j++) x[base + j] = clip01(mean + f * (x[base + j]! - mean));
        }
      }
    }
    if (r.noise > 0) {
      const z = gen.normal(new Float32Array(x.length), 0, r.noise);
      for (let j = 0; j < x.length; j++) x[j] = clip01(x[j]! + z[j]!);
    }
    if (r.erase) eraseBatch(x, shape, gen, r.erase);
  };
  return Object.assign(fn, { options: { ...opts } });
}

const ERASE_TRIES = 10;

/** Random erasing over a batch; draws 1 + 4·10 uniforms per image (plus normals for 'random'). */
function eraseBatch(x: Float32Array, shape: BatchShape, gen: Generator, e: NonNullable<Resolved['erase']>): void {
  const { n, c, h, w } = shape;
  const hw = h * w;
  const per = c * hw;
  const stride = 1 + 4 * ERASE_TRIES;
  const u = gen.uniform(new Float32Array(stride * n));
  for (let k = 0; k < n; k++) {
    const uk = k * stride;
    if (u[uk]! >= e.p) continue;
    for (let t = 0; t < ERASE_TRIES; t++) {
      const q = uk + 1 + 4 * t;
      const area = hw * (e.scale[0] + (e.scale[1] - e.scale[0]) * u[q]!);
      const aspect = Math.exp(e.logRatio[0] + (e.logRatio[1] - e.logRatio[0]) * u[q + 1]!);
      const eh = Math.round(Math.sqrt(area * aspect));
      const ew = Math.round(Math.sqrt(area / aspect));
      if (!(eh < h && ew < w)) continue;
      const top = Math.min(h - eh, Math.floor(u[q + 2]! * (h - eh + 1)));
      const left = Math.min(w - ew, Math.floor(u[q + 3]! * (w - ew + 1)));
      const noise = e.value === 'random' ? gen.normal(new Float32Array(c * eh * ew)) : null;
      let z = 0;
      for (let ch = 0; ch < c; ch++) {
        for (let yy = top; yy < top + eh; yy++) {
          const row = k * per + ch * hw + yy * w;
          for (let xx = left; xx < left + ew; xx++) x[row + xx] = noise ? noise[z++]! : (e.value as number);
        }
      }
      break;
    }
  }
}

/** Chains transforms left to right (all draw from the same generator, in order). */
export function compose(...transforms: BatchTransform[]): BatchTransform {
  for (const t of transforms) {
    if (typeof t !== 'function') throw new ValueError('compose: every transform must be a function');
  }
  return (x, shape, gen) => {
    for (const t of transforms) t(x, shape, gen);
  };
}

/**
 * Parses a CLI augmentation spec such as `rotate=10,scale=0.1,noise=0.1` into AugmentOptions
 * (keys: rotate, scale, translate, brightness, contrast, noise, erase — erase=p is the erasing
 * probability). An empty string or 'none' means no augmentation. Throws a ValueError naming the
 * bad entry.
 */
export function parseAugmentSpec(spec: string): AugmentOptions {
  if (typeof spec !== 'string') throw new ValueError(`augment spec must be a string, got ${typeof spec}`);
  const s = spec.trim();
  if (s === '' || s === 'none') return {};
  const out: Record<string, number> = {};
  for (const raw of s.split(',')) {
    const entry = raw.trim();
    if (entry === '') throw new ValueError(`augment spec '${spec}': empty entry (stray comma?)`);
    const eq = entry.indexOf('=');
    if (eq < 0) throw new ValueError(`augment spec '${spec}': entry '${entry}' is not key=value`);
    const key = entry.slice(0, eq).trim();
    const val = entry.slice(eq + 1).trim();
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new ValueError(`augment spec '${spec}': unknown key '${key}' (expected one of ${KEYS.join(', ')})`);
    }
    if (key in out) throw new ValueError(`augment spec '${spec}': key '${key}' given twice`);
    const v = val === '' ? NaN : Number(val);
    if (!Number.isFinite(v)) throw new ValueError(`augment spec '${spec}': '${key}' needs a number, got '${val}'`);
    out[key] = v;
  }
  try {
    resolve(out);
  } catch (e) {
    throw new ValueError(`augment spec '${spec}': ${(e as Error).message.replace(/^augment: /, '')}`);
  }
  return out as AugmentOptions;
}
