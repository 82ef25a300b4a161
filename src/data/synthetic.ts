import { ValueError } from '../tensor/errors';
import { affineMatrix, warpAffineField } from './augment';
import { ImageDataset, concatDatasets } from './dataset';
import { STREAM, checkSeed, streamGenerator } from './seed';

export interface SynthesizeOptions {
  /** At most ratio × dataset.length synthetic samples (default 0.5). */
  ratio?: number;
  /** Exact number of synthetic samples (default: floor(ratio × length)); must respect the cap. */
  count?: number;
  /** Scales every perturbation (default 1: ±20°, ±15 % zoom, ±2 px shift, ±1.5 px elastic). */
  strength?: number;
  /** Default 0. */
  seed?: number;
  /**
   * Warn (process warning, code LERNEN_SYNTHETIC_RATIO) when the synthetic samples exceed this
   * share of the original training set, i.e. count > warnAbove × length. Default 0.5.
   */
  warnAbove?: number;
}

/** Coarse grid of the elastic displacement field (control points per side). */
const GRID = 4;
/** Uniforms drawn per sample: angle, zoom, tx, ty + dx, dy per control point. */
const DRAWS = 4 + 2 * GRID * GRID;
const CHUNK = 1024;

/**
 * Bilinear upsampling of a GRID×GRID field of control values (uniforms in [0, 1), mapped to
 * [−amp, amp]) to H×W, so the displacement is smooth (an "elastic" deformation).
 */
function upsampleField(u: Float32Array, off: number, amp: number, h: number, w: number, out: Float32Array): void {
  const g1 = GRID - 1;
  for (let y = 0; y < h; y++) {
    const gy = h > 1 ? (y * g1) / (h - 1) : 0;
    const y0 = Math.min(g1 - 1, Math.floor(gy));
    const fy = gy - y0;
    for (let x = 0; x < w; x++) {
      const gx = w > 1 ? (x * g1) / (w - 1) : 0;
      const x0 = Math.min(g1 - 1, Math.floor(gx));
      const fx = gx - x0;
      const i00 = off + y0 * GRID + x0;
      const c00 = 2 * u[i00]! - 1, c01 = 2 * u[i00 + 1]! - 1;
      const c10 = 2 * u[i00 + GRID]! - 1, c11 = 2 * u[i00 + GRID + 1]! - 1;
      const top = c00 + fx * (c01 - c00);
      const bot = c10 + fx * (c11 - c10);
      out[y * w + x] = amp * (top + fy * (bot - top));
    }
  }
}

/**
 * Extra training samples made by stronger perturbation of existing ones: per sample one warp
 * combining a rotation of ±20°, a zoom of ±15 %, a shift of ±2 px and a smooth random
 * displacement field of ±1.5 px (all × strength), rounded back to bytes. Sources are taken in
 * seeded random order, each used once before any is reused. Labels are kept.
 *
 * Returns one dataset: the originals first ([0, n)), then the synthetic samples. Use it on the
 * training split only. More synthetic than `warnAbove` × n samples triggers a process warning
 * (code LERNEN_SYNTHETIC_RATIO): too many drown the originals and undo the regularising effect.
 */
export function synthesize(dataset: ImageDataset, opts: SynthesizeOptions = {}): ImageDataset {
  const n = dataset.length;
  const ratio = opts.ratio ?? 0.5;
  if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio < 0) {
    throw new ValueError(`synthesize: ratio must be a finite number >= 0, got ${String(ratio)}`);
  }
  const cap = Math.floor(ratio * n);
  const count = opts.count ?? cap;
  if (!Number.isInteger(count) || count < 0) throw new ValueError(`synthesize: count must be a non-negative integer, got ${count}`);
  if (count > cap) throw new ValueError(`synthesize: count ${count} exceeds the cap ratio × n = ${ratio} × ${n} = ${cap}`);
  const strength = opts.strength ?? 1;
  if (typeof strength !== 'number' || !Number.isFinite(strength) || strength < 0) {
    throw new ValueError(`synthesize: strength must be a finite number >= 0, got ${String(strength)}`);
  }
  const warnAbove = opts.warnAbove ?? 0.5;
  if (typeof warnAbove !== 'number' || Number.isNaN(warnAbove) || warnAbove < 0) {
    throw new ValueError(`synthesize: warnAbove must be a number >= 0, got ${String(warnAbove)}`);
  }
  const seed = checkSeed('synthesize', opts.seed ?? 0);
  if (count > 0 && n === 0) throw new ValueError('synthesize: the dataset is empty');

  if (count > warnAbove * n) {
    process.emitWarning(
      `synthesize: ${count} synthetic samples are ${((100 * count) / n).toFixed(1)}% of the ${n} original training samples, ` +
        `above warnAbove = ${(100 * warnAbove).toFixed(1)}%; too many synthetic samples drown the originals and undo the regularising effect`,
      { code: 'LERNEN_SYNTHETIC_RATIO', type: 'LernenWarning' },
    );
  }

  const { channels: c, height: h, width: w } = dataset;
  const hw = h * w;
  const per = c * hw;
  const images = new Uint8Array(count * per);
  const labels = new Int32Array(count);
  const params = streamGenerator(seed, STREAM.synthetic, 0);
  const src = new Float32Array(hw);
  const dst = new Float32Array(hw);
  const dx = new Float32Array(hw);
  const dy = new Float32Array(hw);
  const mat = new Float64Array(6);
  const u = new Float32Array(CHUNK * DRAWS);
  let perm: Int32Array = new Int32Array(0);
  for (let j = 0; j < count; j++) {
    if (j % n === 0) perm = streamGenerator(seed, STREAM.synthetic, 1 + j / n).permutation(n);
    if (j % CHUNK === 0) params.uniform(u);
    const q = (j % CHUNK) * DRAWS;
    const i = perm[j % n]!;
    labels[j] = dataset.labels[i]!;
    affineMatrix(h, w, {
      angle: 20 * strength * (2 * u[q]! - 1),
      scale: 1 + 0.15 * strength * (2 * u[q + 1]! - 1),
      tx: 2 * strength * (2 * u[q + 2]! - 1),
      ty: 2 * strength * (2 * u[q + 3]! - 1),
    }, mat);
    upsampleField(u, q + 4, 1.5 * strength, h, w, dx);
    upsampleField(u, q + 4 + GRID * GRID, 1.5 * strength, h, w, dy);
    for (let ch = 0; ch < c; ch++) {
      const off = i * per + ch * hw;
      for (let p = 0; p < hw; p++) src[p] = dataset.images[off + p]!;
      warpAffineField(src, dst, h, w, mat, dx, dy);
      const o = j * per + ch * hw;
      for (let p = 0; p < hw; p++) {
        const v = Math.round(dst[p]!);
        images[o + p] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  const synthetic = new ImageDataset(images, labels, { ...dataset.shape, numClasses: dataset.numClasses });
  return concatDatasets([dataset, synthetic]);
}
