import type { Diagnosis } from './diagnose';
import type { History } from './history';

export interface Series {
  name: string;
  points: Array<[number, number]>;
  color: string;
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Format for y tick labels. */
  yFormat?: (v: number) => string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) { hi = lo + 1; }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

/**
 * A line chart as a standalone <g>-free SVG element string (no scripts, no external resources).
 * Each series becomes one <path class="series" data-name="..."> inside the plot area.
 */
export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 520;
  const H = o.height ?? 320;
  const m = { l: 62, r: 16, t: 34, b: 46 };
  const pw = W - m.l - m.r;
  // The legend goes in rows between the title and the plot area, never over the curves:
  // entries left to right, wrapping when the next one would pass the plot's right edge
  // (text width estimated generously at 6.5 px per character of 11 px sans-serif).
  const legend: Array<{ s: Series; x: number; y: number }> = [];
  let lx = m.l;
  let rows = 0;
  for (const s of series) {
    if (!s.points.some(([x, y]) => Number.isFinite(x) && Number.isFinite(y))) continue;
    const w = 25 + 6.5 * s.name.length;
    if (rows === 0 || (lx > m.l && lx + w > m.l + pw)) { rows++; lx = m.l; }
    legend.push({ s, x: lx, y: 34 + 15 * (rows - 1) });
    lx += w + 14;
  }
  if (rows) m.t = 44 + 15 * (rows - 1);
  const ph = H - m.t - m.b;
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  let [x0, x1] = pts.length ? [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))] : [0, 1];
  let [y0, y1] = pts.length ? [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))] : [0, 1];
  if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 + 0.05; y1 += Math.abs(y1) * 0.1 + 0.05; }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad; y1 += pad;
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.t + ph - ((y - y0) / (y1 - y0)) * ph;
  const fy = o.yFormat ?? ((v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : +v.toPrecision(3) + ''));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${esc(o.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(o.title)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    if (t < y0 || t > y1) continue;
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.l - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${esc(fy(t))}</text>`);
  }
  const xt = niceTicks(x0, x1, Math.min(8, Math.max(1, Math.round(x1 - x0))));
  for (const t of xt) {
    if (t < x0 || t > x1) continue;
    out.push(`<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="#333"/>`);
    out.push(`<text x="${sx(t).toFixed(1)}" y="${m.t + ph + 16}" text-anchor="middle">${esc(String(t))}</text>`);
  }
  out.push(`<rect class="plot-area" x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  for (const s of series) {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (!p.length) continue;
    const d = p.map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(2)},${sy(y).toFixed(2)}`).join(' ');
    out.push(`<path class="series" data-name="${esc(s.name)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const [x, y] of p.length <= 60 ? p : []) out.push(`<circle cx="${sx(x).toFixed(2)}" cy="${sy(y).toFixed(2)}" r="2.5" fill="${s.color}"/>`);
  }
  if (legend.length) {
    out.push('<g class="legend">');
    for (const { s, x, y } of legend) {
      out.push(`<line x1="${x}" x2="${x + 20}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      out.push(`<text x="${x + 25}" y="${y}">${esc(s.name)}</text>`);
    }
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n');
}

const TRAIN = '#1f77b4';
const VAL = '#d62728';

/** Loss and accuracy curves (train vs validation per epoch) side by side in one SVG document. */
export function learningCurvesSvg(history: History, title = 'Learning curves'): string {
  const E = history.epochs;
  const loss = lineChart([
    { name: 'train loss', color: TRAIN, points: E.map((e) => [e.epoch, e.trainLoss]) },
    { name: 'validation loss', color: VAL, dashed: true, points: E.map((e) => [e.epoch, e.valLoss]) },
  ], { title: `${title}: loss`, xLabel: 'epoch', yLabel: 'loss' });
  const acc = lineChart([
    { name: 'train accuracy', color: TRAIN, points: E.map((e) => [e.epoch, 100 * e.trainAccuracy]) },
    { name: 'validation accuracy', color: VAL, dashed: true, points: E.map((e) => [e.epoch, 100 * e.valAccuracy]) },
  ], { title: `${title}: accuracy`, xLabel: 'epoch', yLabel: 'accuracy (%)' });
  const inner = (svg: string, dx: number) => svg.replace('<svg ', `<svg x="${dx}" y="0" `);
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" width="1040" height="320" viewBox="0 0 1040 320">',
    inner(loss, 0),
    inner(acc, 520),
    '</svg>',
    '',
  ].join('\n');
}

/** A self-contained HTML page: the curves, the diagnosis, the config and the per-epoch table. */
export function htmlReport(opts: {
  title: string;
  history: History;
  config?: Record<string, unknown>;
  diagnosis?: Diagnosis;
  test?: { loss: number; accuracy: number } | null;
}): string {
  const { history: h } = opts;
  const fmt = (v: number, d = 4) => (Number.isFinite(v) ? v.toFixed(d) : '–');
  const rows = h.epochs.map((e) => `<tr><td>${e.epoch}</td><td>${fmt(e.trainLoss)}</td><td>${fmt(100 * e.trainAccuracy, 2)}</td><td>${fmt(e.valLoss)}</td><td>${fmt(100 * e.valAccuracy, 2)}</td><td>${e.lr.toPrecision(3)}</td><td>${fmt(e.seconds, 2)}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(opts.title)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}pre{background:#f6f6f6;padding:1em}</style>
</head><body>
<h1>${esc(opts.title)}</h1>
${opts.diagnosis ? `<p id="diagnosis"><b>Diagnosis: ${esc(opts.diagnosis.verdict)}</b> — ${esc(opts.diagnosis.message)}</p>` : ''}
${opts.test ? `<p id="test">Test accuracy <b>${fmt(100 * opts.test.accuracy, 2)}%</b>, test loss ${fmt(opts.test.loss)}</p>` : ''}
<div id="curves">
${learningCurvesSvg(h)}
</div>
<h2>Epochs</h2>
<table><thead><tr><th>epoch</th><th>train loss</th><th>train acc %</th><th>val loss</th><th>val acc %</th><th>lr</th><th>seconds</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p>Stopped: ${esc(h.stopReason)}; ${fmt(h.seconds, 1)} s in all.</p>
${opts.config ? `<h2>Configuration</h2><pre>${esc(JSON.stringify(opts.config, null, 2))}</pre>` : ''}
</body></html>
`;
}
