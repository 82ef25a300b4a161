/**
 * 2-D max and average pooling over [n, c, h, w] and their backwards.
 *
 * Max: padding counts as −∞, so only input elements compete; ties keep the first element in
 * window order (row-major over the window), and a NaN wins over everything (the first NaN, as
 * PyTorch propagates NaN). idx is the flat index h_in·w + w_in within the channel plane.
 * Max pooling checks pads ≤ kernel/2 (PyTorch's rule), so every window holds an input element.
 * Average: count_include_pad = true, so every window divides by kh·kw; a window lying wholly in
 * the padding (possible only with pads > kernel/2, which average pooling allows) averages to 0.
 */
import {
  checkF32, checkI32, checkNoAlias, checkSize, checkWindow, fail,
} from '../validate';

export function maxPool2d(x: Float32Array, n: number, c: number, h: number, w: number,
  kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
  out: Float32Array, idx: Int32Array): void {
  const K = 'maxPool2d';
  const [oh, ow] = checkWindow(K, n, c, h, w, kh, kw, strideH, strideW, padH, padW, true);
  const nx = n * c * h * w;
  const no = n * c * oh * ow;
  checkF32(K, 'x', x, nx, 'n·c·h·w');
  checkF32(K, 'out', out, no, 'n·c·oh·ow');
  checkI32(K, 'idx', idx, no, 'n·c·oh·ow');
  checkNoAlias(K, 'out', out, no, 'x', x, nx);
  checkNoAlias(K, 'idx', idx, no, 'x', x, nx);
  checkNoAlias(K, 'idx', idx, no, 'out', out, no);
  const plane = h * w;
  const planes = n * c;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xp = p * plane;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * strideH - padH;
      const ya = Math.max(y0, 0), yb = Math.min(y0 + kh, h);
      for (let ox = 0; ox < ow; ox++, o++) {
        const x0 = ox * strideW - padW;
        const xa = Math.max(x0, 0), xb = Math.min(x0 + kw, w);
        let at = ya * w + xa;
        let best = x[xp + at]!;
        if (best === best) {
          scan: for (let iy = ya; iy < yb; iy++) {
            for (let ix = xa; ix < xb; ix++) {
              const v = x[xp + iy * w + ix]!;
              if (v > best || v !== v) {
                best = v;
                at = iy * w + ix;
                if (v !== v) break scan;
              }
            }
          }
        }
        out[o] = best;
        idx[o] = at;
      }
    }
  }
}

export function maxPool2dBackward(dy: Float32Array, idx: Int32Array, n: number, c: number,
  h: number, w: number, oh: number, ow: number, dx: Float32Array): void {
  const K = 'maxPool2dBackward';
  checkSize(K, 'n', n);
  checkSize(K, 'c', c);
  checkSize(K, 'h', h);
  checkSize(K, 'w', w);
  checkSize(K, 'oh', oh);
  checkSize(K, 'ow', ow);
  const nx = n * c * h * w;
  const no = n * c * oh * ow;
  const plane = h * w;
  const ohw = oh * ow;
  checkF32(K, 'dy', dy, no, 'n·c·oh·ow');
  checkI32(K, 'idx', idx, no, 'n·c·oh·ow');
  checkF32(K, 'dx', dx, nx, 'n·c·h·w');
  checkNoAlias(K, 'dx', dx, nx, 'dy', dy, no);
  checkNoAlias(K, 'dx', dx, nx, 'idx', idx, no);
  for (let i = 0; i < no; i++) {
    const v = idx[i]!;
    if (v < 0 || v >= plane) fail(K, `idx[${i}] = ${v} is out of range [0, h·w = ${plane})`);
  }
  dx.fill(0, 0, nx);
  const planes = n * c;
  for (let p = 0, o = 0; p < planes; p++) {
    const xp = p * plane;
    for (let j = 0; j < ohw; j++, o++) {
      const at = xp + idx[o]!;
      dx[at] = dx[at]! + dy[o]!;
    }
  }
}

export function avgPool2d(x: Float32Array, n: number, c: number, h: number, w: number,
  kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
  out: Float32Array): void {
  const K = 'avgPool2d';
  const [oh, ow] = checkWindow(K, n, c, h, w, kh, kw, strideH, strideW, padH, padW, false);
  const nx = n * c * h * w;
  const no = n * c * oh * ow;
  checkF32(K, 'x', x, nx, 'n·c·h·w');
  checkF32(K, 'out', out, no, 'n·c·oh·ow');
  checkNoAlias(K, 'out', out, no, 'x', x, nx);
  const plane = h * w;
  const planes = n * c;
  const inv = 1 / (kh * kw);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xp = p * plane;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * strideH - padH;
      const ya = Math.max(y0, 0), yb = Math.min(y0 + kh, h);
      for (let ox = 0; ox < ow; ox++, o++) {
        const x0 = ox * strideW - padW;
        const xa = Math.max(x0, 0), xb = Math.min(x0 + kw, w);
        let s = 0;
        for (let iy = ya; iy < yb; iy++) {
          const r = xp + iy * w;
          for (let ix = xa; ix < xb; ix++) s += x[r + ix]!;
        }
        out[o] = s * inv;
      }
    }
  }
}

export function avgPool2dBackward(dy: Float32Array, n: number, c: number, h: number, w: number,
  kh: number, kw: number, strideH: number, strideW: number, padH: number, padW: number,
  dx: Float32Array): void {
  const K = 'avgPool2dBackward';
  const [oh, ow] = checkWindow(K, n, c, h, w, kh, kw, strideH, strideW, padH, padW, false);
  const nx = n * c * h * w;
  const no = n * c * oh * ow;
  checkF32(K, 'dy', dy, no, 'n·c·oh·ow');
  checkF32(K, 'dx', dx, nx, 'n·c·h·w');
  checkNoAlias(K, 'dx', dx, nx, 'dy', dy, no);
  dx.fill(0, 0, nx);
  const plane = h * w;
  const planes = n * c;
  const inv = 1 / (kh * kw);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const xp = p * plane;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * strideH - padH;
      const ya = Math.max(y0, 0), yb = Math.min(y0 + kh, h);
      for (let ox = 0; ox < ow; ox++, o++) {
        const x0 = ox * strideW - padW;
        const xa = Math.max(x0, 0), xb = Math.min(x0 + kw, w);
        const g = dy[o]! * inv;
        for (let iy = ya; iy < yb; iy++) {
          const r = xp + iy * w;
          for (let ix = xa; ix < xb; ix++) dx[r + ix] = dx[r + ix]! + g;
        }
      }
    }
  }
}
