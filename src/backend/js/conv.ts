/**
 * im2col / col2im for a whole batch (convolution = im2col + one GEMM; its input gradient is
 * GEMM + col2im). col is [n, c·kh·kw, oh·ow]; row (ci·kh + ki)·kw + kj of sample s holds
 * x[s, ci, oy·strideH − padH + ki, ox·strideW − padW + kj], zero where that is padding.
 */
import { checkF32, checkNoAlias, checkWindow } from '../validate';

/** The first ox whose ix = ox·stride − pad + kj is ≥ 0. */
function spanLo(stride: number, pad: number, kj: number): number {
  const first = pad - kj;
  return first > 0 ? Math.ceil(first / stride) : 0;
}

/** One past the last ox whose ix < w (clipped to ow). */
function spanHi(w: number, ow: number, stride: number, pad: number, kj: number): number {
  const last = w - 1 + pad - kj;
  return last < 0 ? 0 : Math.min(ow, Math.floor(last / stride) + 1);
}

export function im2col(x: Float32Array, n: number, c: number, h: number, w: number, kh: number,
  kw: number, strideH: number, strideW: number, padH: number, padW: number,
  col: Float32Array): void {
  const K = 'im2col';
  const [oh, ow] = checkWindow(K, n, c, h, w, kh, kw, strideH, strideW, padH, padW, false);
  const nx = n * c * h * w;
  const ncol = n * c * kh * kw * oh * ow;
  checkF32(K, 'x', x, nx, 'n·c·h·w');
  checkF32(K, 'col', col, ncol, 'n·c·kh·kw·oh·ow');
  checkNoAlias(K, 'col', col, ncol, 'x', x, nx);
  const plane = h * w;
  const ohw = oh * ow;
  let r = 0; // running row offset into col
  for (let s = 0; s < n; s++) {
    for (let ci = 0; ci < c; ci++) {
      const xp = (s * c + ci) * plane;
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++, r += ohw) {
          let lo = spanLo(strideW, padW, kj);
          const hi = spanHi(w, ow, strideW, padW, kj);
          if (lo > hi) lo = hi;
          for (let oy = 0; oy < oh; oy++) {
            const row = r + oy * ow;
            const iy = oy * strideH - padH + ki;
            if (iy < 0 || iy >= h) {
              col.fill(0, row, row + ow);
              continue;
            }
            for (let ox = 0; ox < lo; ox++) col[row + ox] = 0;
            const base = xp + iy * w - padW + kj;
            if (strideW === 1) {
              for (let ox = lo; ox < hi; ox++) col[row + ox] = x[base + ox]!;
            } else {
              for (let ox = lo; ox < hi; ox++) col[row + ox] = x[base + ox * strideW]!;
            }
            for (let ox = hi; ox < ow; ox++) col[row + ox] = 0;
          }
        }
      }
    }
  }
}

export function col2im(col: Float32Array, n: number, c: number, h: number, w: number,
  kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
  dx: Float32Array): void {
  const K = 'col2im';
  const [oh, ow] = checkWindow(K, n, c, h, w, kh, kw, strideH, strideW, padH, padW, false);
  const nx = n * c * h * w;
  const ncol = n * c * kh * kw * oh * ow;
  checkF32(K, 'col', col, ncol, 'n·c·kh·kw·oh·ow');
  checkF32(K, 'dx', dx, nx, 'n·c·h·w');
  checkNoAlias(K, 'dx', dx, nx, 'col', col, ncol);
  dx.fill(0, 0, nx);
  const plane = h * w;
  const ohw = oh * ow;
  let r = 0;
  for (let s = 0; s < n; s++) {
    for (let ci = 0; ci < c; ci++) {
      const xp = (s * c + ci) * plane;
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++, r += ohw) {
          const lo = spanLo(strideW, padW, kj);
          const hi = spanHi(w, ow, strideW, padW, kj);
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * strideH - padH + ki;
            if (iy < 0 || iy >= h) continue;
            const row = r + oy * ow;
            const base = xp + iy * w - padW + kj;
            for (let ox = lo; ox < hi; ox++) {
              const at = base + ox * strideW;
              dx[at] = dx[at]! + col[row + ox]!;
            }
          }
        }
      }
    }
  }
}
