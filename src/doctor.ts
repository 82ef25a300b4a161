import { backendStatus, getBackend, setBackend, allBackends } from './backend';
import type { BackendName } from './backend/backend';
import { nativeInfo } from './backend/native';
import { randn } from './tensor/create';
import * as F from './tensor/functional';
import { Generator } from './tensor/random';
import type { Tensor } from './tensor/tensor';

export interface ParityRow {
  op: string;
  /** Largest |native − js| over the op's outputs and input gradients. */
  maxAbsDiff: number;
  /** maxAbsDiff divided by the largest |js| value of the op (a scale-free difference). */
  relDiff: number;
}

export interface DoctorReport {
  backend: BackendName;
  why: string;
  addon: {
    loaded: boolean;
    file: string | null;
    from: string | null;
    /** Every candidate that failed, each with the fix to try (when loaded: those tried first). */
    reasons: string[];
  };
  node: string;
  napiVersion: number | null;
  /**
   * OpenBLAS's build (config, coreType; parallel: its threading build, 0 sequential, 1 pthreads,
   * 2 OpenMP) and numThreads: the native backend's thread count (setNumThreads), which is lernen's
   * kernel team: OpenBLAS itself always runs one-threaded.
   */
  openblas: { config: string; coreType: string; numThreads: number; parallel: number } | null;
  parity?: ParityRow[];
}

type Case = { op: string; run: (g: Generator) => Tensor[] };

const CASES: Case[] = [
  { op: 'matmul', run: (g) => { const a = randn([7, 33], { generator: g, requiresGrad: true }); const b = randn([33, 5], { generator: g, requiresGrad: true }); const y = a.matmul(b); y.square().sum().backward(); return [y, a.grad!, b.grad!]; } },
  { op: 'linear+relu', run: (g) => { const x = randn([9, 20], { generator: g, requiresGrad: true }); const w = randn([12, 20], { generator: g, requiresGrad: true }); const b = randn([12], { generator: g, requiresGrad: true }); const y = F.linear(x, w, b, 'relu'); y.sum().backward(); return [y, x.grad!, w.grad!, b.grad!]; } },
  { op: 'conv2d', run: (g) => { const x = randn([2, 3, 9, 8], { generator: g, requiresGrad: true }); const w = randn([4, 3, 3, 3], { generator: g, requiresGrad: true }); const b = randn([4], { generator: g, requiresGrad: true }); const y = F.conv2d(x, w, b, { padding: 1, stride: 2 }); y.square().sum().backward(); return [y, x.grad!, w.grad!, b.grad!]; } },
  { op: 'maxPool2d', run: (g) => { const x = randn([2, 3, 8, 8], { generator: g, requiresGrad: true }); const y = F.maxPool2d(x, 2); y.sum().backward(); return [y, x.grad!]; } },
  { op: 'softmax', run: (g) => { const x = randn([6, 10], { generator: g, requiresGrad: true }); const y = x.softmax(1); y.square().sum().backward(); return [y, x.grad!]; } },
  { op: 'crossEntropy', run: (g) => { const x = randn([8, 10], { generator: g, requiresGrad: true }); const y = F.softmaxCrossEntropy(x, [1, 2, 3, 4, 5, 6, 7, 8], { labelSmoothing: 0.1 }); y.backward(); return [y, x.grad!]; } },
  { op: 'batchNorm', run: (g) => { const x = randn([5, 4, 3, 3], { generator: g, requiresGrad: true }); const w = randn([4], { generator: g, requiresGrad: true }); const b = randn([4], { generator: g, requiresGrad: true }); const rm = randn([4], { generator: g }); const rv = randn([4], { generator: g }).abs(); const y = F.batchNorm(x, { runningMean: rm, runningVar: rv, weight: w, bias: b, training: true }); y.square().sum().backward(); return [y, x.grad!, w.grad!, b.grad!, rm, rv]; } },
  { op: 'gelu/tanh/sigmoid', run: (g) => { const x = randn([50], { generator: g, requiresGrad: true }); const y = x.gelu().add(x.tanh()).add(x.sigmoid()); y.sum().backward(); return [y, x.grad!]; } },
  { op: 'dropout', run: (g) => { const x = randn([64], { generator: g, requiresGrad: true }); const y = F.dropout(x, 0.3, true, g); y.sum().backward(); return [y, x.grad!]; } },
];

function runOn(name: BackendName, c: Case): Float32Array[] {
  setBackend(name);
  return c.run(new Generator(1234)).map((t) => t.data.slice());
}

/** Runs a small forward/backward pass on both backends and reports the largest differences. */
export function parityReport(): ParityRow[] {
  const prev = getBackend();
  const rows: ParityRow[] = [];
  try {
    for (const c of CASES) {
      const a = runOn('native', c);
      const b = runOn('js', c);
      let maxAbs = 0;
      let scale = 0;
      a.forEach((buf, i) => {
        const ref = b[i]!;
        for (let j = 0; j < buf.length; j++) {
          maxAbs = Math.max(maxAbs, Math.abs(buf[j]! - ref[j]!));
          scale = Math.max(scale, Math.abs(ref[j]!));
        }
      });
      rows.push({ op: c.op, maxAbsDiff: maxAbs, relDiff: maxAbs / Math.max(scale, 1e-12) });
    }
  } finally {
    try { setBackend(prev); } catch { /* leave as is */ }
  }
  return rows;
}

/**
 * What lernen runs on and why: the active backend, where the addon came from (or every reason
 * it failed, with the fix), Node-API and OpenBLAS details. `parity: true` compares both backends.
 */
export function doctor(opts: { parity?: boolean } = {}): DoctorReport {
  const st = backendStatus();
  const load = st.load;
  let info: ReturnType<typeof nativeInfo> | null = null;
  if (load?.ok) {
    try { info = nativeInfo(load.addon); } catch { info = null; }
  }
  const report: DoctorReport = {
    backend: st.active,
    why: st.why,
    addon: {
      loaded: !!load?.ok,
      file: load?.file ?? null,
      from: load?.from ?? null,
      reasons: load?.reasons ?? [],
    },
    node: process.version,
    napiVersion: info?.napiVersion ?? (Number(process.versions.napi) || null),
    openblas: info ? { config: info.openblasConfig, coreType: info.coreType, numThreads: info.numThreads, parallel: info.parallel } : null,
  };
  if (opts.parity) {
    if (!allBackends().native) throw new Error('doctor --parity: the native addon did not load, nothing to compare');
    report.parity = parityReport();
  }
  return report;
}

/** The report as text, for the CLI. */
export function formatDoctor(r: DoctorReport): string {
  const lines = [
    `backend:      ${r.backend} (${r.why})`,
    `node:         ${r.node}, Node-API ${r.napiVersion ?? '?'}`,
  ];
  if (r.addon.loaded) {
    lines.push(`addon:        loaded from ${r.addon.from}: ${r.addon.file}`);
    for (const reason of r.addon.reasons) lines.push(`  - tried first, failed: ${reason}`);
  } else {
    lines.push('addon:        NOT loaded');
    for (const reason of r.addon.reasons) lines.push(`  - ${reason}`);
  }
  if (r.openblas) {
    lines.push(`openblas:     ${r.openblas.config}`);
    lines.push(`core type:    ${r.openblas.coreType}`);
    const build = ['sequential', 'pthreads', 'OpenMP'][r.openblas.parallel] ?? `parallel mode ${r.openblas.parallel}`;
    lines.push(`threads:      ${r.openblas.numThreads} (lernen's kernel team, setNumThreads; OpenBLAS runs one-threaded, ${build} build)`);
  }
  if (r.parity) {
    lines.push('parity (native vs js, forward + backward):');
    for (const p of r.parity) {
      lines.push(`  ${p.op.padEnd(20)} max |Δ| ${p.maxAbsDiff.toExponential(2)}   relative ${p.relDiff.toExponential(2)}`);
    }
  }
  return lines.join('\n');
}
