/// <reference lib="dom" />
/**
 * The HTML training report in a real browser: Debian's headless chromium (installed by
 * `scripts/setup-debian.sh --test`, which `.ci/run` calls), driven by playwright-core (which
 * downloads no browser). After layout, the four learning curves must be drawn inside their
 * plot areas, the train and validation lines must differ, the legends and labels must not be
 * clipped nor cover the plot, and a screenshot must show the lines' colours where the paths run.
 *
 * A missing browser is a failure, not a skip: set LERNEN_TEST_NO_BROWSER=1 to opt out
 * explicitly. LERNEN_CHROMIUM overrides the browser path (default /usr/bin/chromium).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../src/train/diagnose';
import { History } from '../../src/train/history';
import { htmlReport } from '../../src/train/plot';

const CHROMIUM = process.env.LERNEN_CHROMIUM || '/usr/bin/chromium';
const OPT_OUT = process.env.LERNEN_TEST_NO_BROWSER === '1';
/** Flags for a closed network: no GPU, no QUIC, no background fetches, no profile sync. */
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

interface Box { left: number; top: number; right: number; bottom: number; width: number; height: number }
interface SeriesInfo {
  name: string;
  d: string;
  stroke: string;
  dashed: boolean;
  box: Box;
  plot: Box;
  chart: number;
  /** Points along the path after layout, in page pixels. */
  samples: Array<[number, number]>;
}
interface Layout {
  series: SeriesInfo[];
  plots: Box[];
  charts: Box[];
  /** Every <text> of every chart: its box, its chart and whether it is a legend label (a series name). */
  texts: Array<{ text: string; box: Box; chart: number; legend: boolean }>;
}

/** A run that overfits: training loss keeps falling, validation loss turns up after epoch 4. */
function overfittingHistory(): History {
  const h = new History();
  for (let e = 1; e <= 8; e++) {
    h.epochs.push({
      epoch: e,
      trainLoss: 1.2 * Math.exp(-0.5 * e),
      trainAccuracy: 1 - 0.3 * Math.exp(-0.6 * e),
      valLoss: 0.5 + 0.03 * (e - 4) ** 2,
      valAccuracy: 0.9 - 0.004 * (e - 4) ** 2,
      lr: 0.1,
      seconds: 1.5,
    });
  }
  h.seconds = 12;
  return h;
}

const inside = (inner: Box, outer: Box, tol = 1) =>
  inner.left >= outer.left - tol && inner.right <= outer.right + tol && inner.top >= outer.top - tol && inner.bottom <= outer.bottom + tol;
const intersects = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

function hexToRgb(c: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c.trim());
  if (!m) throw new Error(`expected a #rrggbb stroke colour, got '${c}'`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

describe.skipIf(OPT_OUT)('HTML report in a real browser (headless chromium)', () => {
  let tmp = '';
  let context: BrowserContext | null = null;
  let page: Page;
  let layout: Layout;
  let png: Buffer;

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `chromium not found at ${CHROMIUM}: the report's browser test needs Debian's chromium. ` +
        'Install it with `apt-get install chromium` (or `bash scripts/setup-debian.sh --test`), ' +
        'or set LERNEN_TEST_NO_BROWSER=1 to skip this test explicitly.',
      );
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-report-'));
    const h = overfittingHistory();
    const file = path.join(tmp, 'report.html');
    fs.writeFileSync(file, htmlReport({ title: 'lernen: browser test', history: h, diagnosis: diagnose(h), config: { model: 'mlp' } }));
    const userDataDir = path.join(tmp, 'profile');
    fs.mkdirSync(userDataDir);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1200, height: 900 },
      deviceScaleFactor: 1,
      timeout: 45_000,
    });
    page = await context.newPage();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    // Layout done: two animation frames after load.
    await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
    layout = await page.evaluate((): Layout => {
      const box = (r: DOMRect) => ({ left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height });
      const charts = Array.from(document.querySelectorAll<SVGSVGElement>('#curves svg svg'));
      const series = Array.from(document.querySelectorAll('path.series')).map((el) => {
        const p = el as SVGPathElement;
        const svg = p.closest('svg')!;
        const plot = svg.querySelector('rect.plot-area')!;
        const m = p.getScreenCTM()!;
        const len = p.getTotalLength();
        const samples: Array<[number, number]> = [];
        for (let i = 0; i <= 40; i++) {
          const q = p.getPointAtLength((len * i) / 40);
          samples.push([m.a * q.x + m.c * q.y + m.e, m.b * q.x + m.d * q.y + m.f]);
        }
        return {
          name: p.dataset.name ?? '', d: p.getAttribute('d') ?? '', stroke: p.getAttribute('stroke') ?? '',
          dashed: p.hasAttribute('stroke-dasharray'), box: box(p.getBoundingClientRect()),
          plot: box(plot.getBoundingClientRect()), chart: charts.indexOf(svg), samples,
        };
      });
      const texts = charts.flatMap((svg, chart) => {
        const names = new Set(Array.from(svg.querySelectorAll('path.series')).map((p) => (p as SVGPathElement).dataset.name));
        return Array.from(svg.querySelectorAll('text')).map((t) => ({
          text: t.textContent ?? '', box: box(t.getBoundingClientRect()), chart, legend: names.has(t.textContent ?? ''),
        }));
      });
      return {
        series,
        plots: charts.map((s) => box(s.querySelector('rect.plot-area')!.getBoundingClientRect())),
        charts: charts.map((s) => box(s.getBoundingClientRect())),
        texts,
      };
    });
    png = await page.screenshot({ fullPage: true, type: 'png' });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('lays out 4 series paths, each with a non-empty box inside its own plot area', () => {
    expect(layout.charts).toHaveLength(2);
    expect(layout.series.map((s) => s.name)).toEqual(['train loss', 'validation loss', 'train accuracy', 'validation accuracy']);
    expect(layout.series.map((s) => s.chart)).toEqual([0, 0, 1, 1]);
    for (const s of layout.series) {
      expect(s.box.width, s.name).toBeGreaterThan(100);
      expect(s.box.height, s.name).toBeGreaterThan(10);
      expect(s.plot.width).toBeGreaterThan(200);
      expect(inside(s.box, s.plot), `${s.name}: ${JSON.stringify(s.box)} not inside plot area ${JSON.stringify(s.plot)}`).toBe(true);
      for (const [x, y] of s.samples) expect(inside({ left: x, right: x, top: y, bottom: y, width: 0, height: 0 }, s.plot)).toBe(true);
    }
    // The two charts sit side by side without overlapping.
    expect(intersects(layout.plots[0]!, layout.plots[1]!)).toBe(false);
    expect(intersects(layout.charts[0]!, layout.charts[1]!)).toBe(false);
  });

  it('draws the train and validation lines differently (shape, colour, dash)', () => {
    for (const chart of [0, 1]) {
      const [train, val] = layout.series.filter((s) => s.chart === chart) as [SeriesInfo, SeriesInfo];
      expect(train.d).not.toBe(val.d);
      expect(train.stroke.toLowerCase()).not.toBe(val.stroke.toLowerCase());
      expect([train.dashed, val.dashed]).toEqual([false, true]);
      const meanDist = train.samples.reduce((a, [x, y], i) => a + Math.hypot(x - val.samples[i]![0], y - val.samples[i]![1]), 0) / train.samples.length;
      expect(meanDist, `chart ${chart}: train and validation lines nearly coincide`).toBeGreaterThan(10);
    }
  });

  it('keeps every label and legend entry inside its chart, legends off the plot area and apart', () => {
    expect(layout.texts.filter((t) => t.legend).map((t) => t.text)).toEqual(['train loss', 'validation loss', 'train accuracy', 'validation accuracy']);
    for (const t of layout.texts) {
      expect(t.box.width, `'${t.text}' has no size`).toBeGreaterThan(0);
      expect(inside(t.box, layout.charts[t.chart]!), `'${t.text}' ${JSON.stringify(t.box)} is clipped by its chart ${JSON.stringify(layout.charts[t.chart])}`).toBe(true);
      if (t.legend) expect(intersects(t.box, layout.plots[t.chart]!), `legend '${t.text}' covers the plot area`).toBe(false);
    }
    for (const chart of [0, 1]) {
      const legend = layout.texts.filter((t) => t.legend && t.chart === chart);
      expect(intersects(legend[0]!.box, legend[1]!.box), `legend entries overlap in chart ${chart}`).toBe(false);
    }
  });

  it('renders the lines: the screenshot has the series colours in the plot areas, along the paths', async () => {
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const probes = layout.series.map((s) => ({ rgb: hexToRgb(s.stroke), plot: s.plot, samples: s.samples }));
    // Decode the screenshot on a canvas in a blank page (no file access needed).
    const blank = await context!.newPage();
    const result = await blank.evaluate(async ({ b64, probes }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext('2d', { willReadFrequently: true })!;
      g.drawImage(img, 0, 0);
      const { data, width, height } = g.getImageData(0, 0, c.width, c.height);
      const near = (x: number, y: number, rgb: number[]) => {
        if (x < 0 || y < 0 || x >= width || y >= height) return false;
        const i = 4 * (y * width + x);
        return Math.abs(data[i]! - rgb[0]!) + Math.abs(data[i + 1]! - rgb[1]!) + Math.abs(data[i + 2]! - rgb[2]!) < 60;
      };
      return probes.map(({ rgb, plot, samples }) => {
        let colour = 0;
        let nonWhite = 0;
        for (let y = Math.ceil(plot.top) + 2; y < Math.floor(plot.bottom) - 2; y++) {
          for (let x = Math.ceil(plot.left) + 2; x < Math.floor(plot.right) - 2; x++) {
            const i = 4 * (y * width + x);
            if (data[i]! < 250 || data[i + 1]! < 250 || data[i + 2]! < 250) nonWhite++;
            if (near(x, y, rgb)) colour++;
          }
        }
        let hits = 0;
        for (const [sx, sy] of samples) {
          let hit = false;
          for (let dy = -2; dy <= 2 && !hit; dy++) for (let dx = -2; dx <= 2 && !hit; dx++) hit = near(Math.round(sx) + dx, Math.round(sy) + dy, rgb);
          if (hit) hits++;
        }
        return { size: [width, height], colour, nonWhite, hitRate: hits / samples.length };
      });
    }, { b64: png.toString('base64'), probes });
    await blank.close();
    layout.series.forEach((s, i) => {
      const r = result[i]!;
      expect(r.size[0]).toBeGreaterThanOrEqual(1040);
      expect(r.nonWhite, `${s.name}: plot area is blank`).toBeGreaterThan(500);
      // A 2 px line across ~440 px is ~900 pixels solid, ~540 dashed; allow for crossings.
      expect(r.colour, `${s.name}: few pixels of ${s.stroke} in the plot area`).toBeGreaterThan(s.dashed ? 250 : 400);
      expect(r.hitRate, `${s.name}: the screenshot lacks ${s.stroke} along the path`).toBeGreaterThanOrEqual(0.8);
    });
  });
});
