/**
 * The study report (`lernen study report`): a self-contained HTML page with SVG charts (no
 * scripts, no external resources): the optimisation history (each trial's value and the best so
 * far), each parameter against the objective, and the learning curves of the best trials.
 */
import { lineChart, type Series } from '../train/plot';
import type { StudySummary } from './study';

type T = StudySummary['trials'][number];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const STATE_COLORS: Record<string, string> = { complete: '#1f77b4', pruned: '#aaaaaa', failed: '#d62728', running: '#2ca02c', waiting: '#ff7f0e' };

interface Point { x: number; y: number; color: string; label: string }

/** Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 5, integer = false): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((k) => k * mag).find((v) => v >= raw) ?? raw;
  if (integer) step = Math.max(1, Math.round(step));
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

/**
 * A scatter plot (SVG string). `xTicks` labels categorical x positions; `line` adds a step line
 * (the best so far).
 */
export function scatterChart(points: readonly Point[], o: { title: string; xLabel: string; yLabel: string; xTicks?: string[]; logX?: boolean; integerX?: boolean; line?: Array<[number, number]> }): string {
  const W = 520;
  const H = 320;
  const m = { l: 62, r: 16, t: 34, b: 46 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const fx = (x: number) => (o.logX ? Math.log10(x) : x);
  const pts = points.filter((p) => Number.isFinite(p.y) && Number.isFinite(fx(p.x)));
  const xs = pts.map((p) => fx(p.x));
  const ys = [...pts.map((p) => p.y), ...(o.line ?? []).map(([, y]) => y).filter(Number.isFinite)];
  let [x0, x1] = o.xTicks ? [-0.5, o.xTicks.length - 0.5] : xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 + 0.05; y1 += Math.abs(y1) * 0.1 + 0.05; }
  const px = (x1 - x0) * (o.xTicks ? 0 : 0.04);
  const py = (y1 - y0) * 0.06;
  x0 -= px; x1 += px; y0 -= py; y1 += py;
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.t + ph - ((y - y0) / (y1 - y0)) * ph;
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : String(+v.toPrecision(3)));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${esc(o.title)}</title>`, `<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(o.title)}</text>`);
  for (const v of niceTicks(y0, y1)) {
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.l - 6}" y="${(sy(v) + 4).toFixed(1)}" text-anchor="end">${esc(fmt(v))}</text>`);
  }
  const xt: Array<[number, string]> = o.xTicks
    ? o.xTicks.map((t, i) => [i, t])
    : o.logX
      ? niceTicks(x0, x1, 4, true).map((v) => [v, String(+(10 ** v).toPrecision(2))])
      : niceTicks(x0, x1, 5, o.integerX ?? false).map((v) => [v, fmt(v)]);
  for (const [v, label] of xt) {
    out.push(`<line x1="${sx(v).toFixed(1)}" x2="${sx(v).toFixed(1)}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="#333"/>`);
    out.push(`<text x="${sx(v).toFixed(1)}" y="${m.t + ph + 16}" text-anchor="middle">${esc(label)}</text>`);
  }
  out.push(`<rect class="plot-area" x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  if (o.line && o.line.length) {
    const d = o.line.filter(([, y]) => Number.isFinite(y)).map(([x, y], j) => `${j ? 'L' : 'M'}${sx(fx(x)).toFixed(2)},${sy(y).toFixed(2)}`).join(' ');
    out.push(`<path class="best" d="${d}" fill="none" stroke="#d62728" stroke-width="2"/>`);
  }
  for (const p of pts) {
    out.push(`<circle class="point" cx="${sx(fx(p.x)).toFixed(2)}" cy="${sy(p.y).toFixed(2)}" r="3.5" fill="${p.color}" fill-opacity="0.8"><title>${esc(p.label)}</title></circle>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

function label(t: T): string {
  return `trial ${t.number} (${t.state}): ${t.value ?? '–'} ${JSON.stringify(t.params)}`;
}

/** The report's charts (SVG strings by file name) and the HTML page embedding them. */
export function studyReport(s: StudySummary, o: { topCurves?: number } = {}): { html: string; svgs: Record<string, string> } {
  const dir = s.study.direction;
  const withValue = s.trials.filter((t) => t.value !== null && (t.state === 'complete' || t.state === 'pruned'));
  const svgs: Record<string, string> = {};
  let bestSoFar = NaN;
  const line: Array<[number, number]> = [];
  for (const t of s.trials) {
    if (t.state === 'complete' && t.value !== null && (!Number.isFinite(bestSoFar) || (dir === 'maximize' ? t.value > bestSoFar : t.value < bestSoFar))) bestSoFar = t.value;
    if (Number.isFinite(bestSoFar)) line.push([t.number, bestSoFar]);
  }
  svgs['history.svg'] = scatterChart(withValue.map((t) => ({ x: t.number, y: t.value!, color: STATE_COLORS[t.state] ?? '#333', label: label(t) })), {
    title: 'Optimisation history', xLabel: 'trial', yLabel: `objective (${dir})`, line, integerX: true,
  });
  for (const [name, dist] of Object.entries(s.study.space)) {
    const categorical = Array.isArray(dist) || (typeof dist === 'object' && dist !== null && 'choice' in dist);
    const logX = typeof dist === 'object' && dist !== null && 'logUniform' in dist;
    const cats = categorical ? (Array.isArray(dist) ? dist : (dist as { choice: unknown[] }).choice).map((v) => String(v)) : undefined;
    const pts = withValue.filter((t) => name in t.params).map((t) => {
      const v = t.params[name];
      const x = cats ? cats.indexOf(String(v)) : Number(v);
      return { x, y: t.value!, color: STATE_COLORS[t.state] ?? '#333', label: label(t) };
    });
    svgs[`param-${name}.svg`] = scatterChart(pts, { title: name, xLabel: name, yLabel: 'objective', ...(cats ? { xTicks: cats } : {}), logX });
  }
  const top = [...withValue].filter((t) => t.intermediate.length)
    .sort((a, b) => (dir === 'maximize' ? b.value! - a.value! : a.value! - b.value!))
    .slice(0, o.topCurves ?? 5);
  const series: Series[] = top.map((t, i) => ({
    name: `trial ${t.number}`, color: COLORS[i % COLORS.length]!,
    points: t.intermediate.filter((v) => v.value !== null).map((v) => [v.step, v.value!] as [number, number]),
  }));
  svgs['curves.svg'] = lineChart(series, { title: `Learning curves of the best ${top.length} trial(s)`, xLabel: 'epoch (step)', yLabel: 'intermediate value' });

  const fmtV = (v: number | null) => (v === null ? '–' : String(+v.toPrecision(6)));
  const names = Object.keys(s.study.space);
  const rows = s.trials.map((t) => `<tr class="${t.state}"><td>${t.number}</td><td>${t.state}</td>${names.map((n) => `<td>${esc(String(t.params[n] ?? ''))}</td>`).join('')}<td>${t.intermediate.length}</td><td>${fmtV(t.value)}</td><td>${t.seconds.toFixed(1)}</td></tr>`).join('\n');
  const best = s.best ? `<p>Best: trial ${s.best.number}, value <b>${fmtV(s.best.value)}</b>, ${esc(JSON.stringify(s.best.params))}</p>` : '<p>No complete trial yet.</p>';
  const counts = Object.entries(s.study.counts).map(([k, v]) => `${v} ${k}`).join(', ');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lernen study ${esc(s.study.name)}</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
tr.pruned{color:#888}tr.failed{color:#b00}.charts svg{margin:6px;border:1px solid #eee}</style></head>
<body>
<h1>Study ${esc(s.study.name)}</h1>
<p>${s.trials.length} trial(s): ${esc(counts || 'none')}. Direction: ${dir}. Sampler: ${esc(s.study.sampler.type)}; pruner: ${esc(s.study.pruner.type)}. Study time: ${(s.study.elapsedMs / 1000).toFixed(1)} s.</p>
${best}
<div class="charts">
${Object.values(svgs).join('\n')}
</div>
<h2>Trials</h2>
<table><tr><th>#</th><th>state</th>${names.map((n) => `<th>${esc(n)}</th>`).join('')}<th>steps</th><th>value</th><th>seconds</th></tr>
${rows}
</table>
</body></html>
`;
  return { html, svgs };
}
