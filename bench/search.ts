/**
 * Search benchmark: which strategy finds the best MNIST configuration in limited time?
 *
 *   node --import tsx bench/search.ts                      10 minutes per strategy (the default)
 *   node --import tsx bench/search.ts --budget 2m          a shorter run
 *   node --import tsx bench/search.ts --budget 2m --strategies tpe,asha --no-write
 *
 * Flags: --budget D (per strategy), --model mlp|cnn (mlp), --max-epochs N (8), --workers N (2:
 * one per core, one BLAS thread each), --subset N, --strategies grid,random,tpe,asha, --seed S
 * (1), --target 0.98, --out FILE (docs/search-benchmark.md), --no-write.
 *
 * Each strategy runs the course's space as a fresh study (SQLite, in a temp dir) with the same
 * study budget: grid (in its fixed order), random, TPE (10 random startup trials), and ASHA
 * (random sampling with the ASHA pruner, η = 3, rungs at 1 and 3 epochs). Reported: trials run,
 * the best validation accuracy, when the study first reported a validation accuracy ≥ the
 * target (study time, from the study's start), and the best configuration.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getBackend } from '../src/backend';
import { parseFlags, UsageError } from '../src/cli/args';
import { parseDuration } from '../src/cli/train';
import { writeFileAtomic } from '../src/nn/serialize';
import { Study, type OptimizeResult } from '../src/search/study';
import type { PrunerSpec } from '../src/search/pruner';
import type { SamplerSpec } from '../src/search/sampler';
import type { TrialRecord } from '../src/search/types';

const COURSE_SPACE = {
  lr: [0.001, 0.01, 0.1],
  batchSize: [32, 64, 128],
  dropout: [0, 0.1, 0.3, 0.5],
  loss: ['mse', 'l1', 'cross-entropy'],
  optimizer: ['sgd', 'adam'],
};

type StrategyName = 'grid' | 'random' | 'tpe' | 'asha';
const STRATEGIES: Record<StrategyName, { label: string; sampler: (seed: number) => SamplerSpec; pruner: PrunerSpec }> = {
  grid: { label: 'grid (fixed order)', sampler: () => ({ type: 'grid' }), pruner: { type: 'none' } },
  random: { label: 'random', sampler: (seed) => ({ type: 'random', seed }), pruner: { type: 'none' } },
  tpe: { label: 'TPE', sampler: (seed) => ({ type: 'tpe', seed, nStartupTrials: 10, nEiCandidates: 24, priorWeight: 1, gammaMax: 25 }), pruner: { type: 'none' } },
  asha: { label: 'random + ASHA', sampler: (seed) => ({ type: 'random', seed }), pruner: { type: 'asha', minResource: 1, reductionFactor: 3, minEarlyStoppingRate: 0, resource: 'epochs' } },
};

interface Row {
  strategy: string;
  trials: number;
  complete: number;
  pruned: number;
  epochs: number;
  best: number;
  /** Study seconds at which the target was first reported, or null. */
  reachedAt: number | null;
  bestParams: Record<string, unknown> | null;
  studySeconds: number;
}

const fmtS = (s: number) => (s >= 60 ? `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s` : `${s.toFixed(0)} s`);

function summarise(label: string, r: OptimizeResult, target: number, t0: number): Row {
  const trials = r.trials;
  let reachedAt: number | null = null;
  for (const t of trials) {
    if (t.startedAt === null) continue;
    for (const v of t.intermediate) {
      if (v.value >= target) {
        // The trial's run time at the report, from when its (last) attempt started.
        const at = (t.startedAt - t0) / 1000 + v.seconds;
        if (reachedAt === null || at < reachedAt) reachedAt = at;
        break;
      }
    }
  }
  const best = r.best;
  return {
    strategy: label,
    trials: trials.length,
    complete: trials.filter((t) => t.state === 'complete').length,
    pruned: trials.filter((t) => t.state === 'pruned').length,
    epochs: trials.reduce((a, t: TrialRecord) => a + t.intermediate.length, 0),
    best: best?.value ?? NaN,
    reachedAt,
    bestParams: best ? best.params : null,
    studySeconds: r.elapsedMs / 1000,
  };
}

async function main(): Promise<void> {
  const { flags: f } = parseFlags('bench/search', process.argv.slice(2), {
    budget: 'string', model: 'string', 'max-epochs': 'int', workers: 'int', subset: 'int', strategies: 'string', seed: 'int', target: 'number', out: 'string', 'no-write': 'boolean',
  });
  const budgetMs = parseDuration('bench/search', 'budget', String(f.budget ?? '10m'));
  const model = (f.model as string | undefined) ?? 'mlp';
  if (model !== 'mlp' && model !== 'cnn') throw new UsageError(`--model must be mlp or cnn, got ${model}`);
  const maxEpochs = (f['max-epochs'] as number | undefined) ?? 8;
  const workers = (f.workers as number | undefined) ?? 2;
  const seed = (f.seed as number | undefined) ?? 1;
  const target = (f.target as number | undefined) ?? 0.98;
  const names = String(f.strategies ?? 'grid,random,tpe,asha').split(',').map((s) => s.trim()) as StrategyName[];
  for (const n of names) if (!STRATEGIES[n]) throw new UsageError(`unknown strategy '${n}' (expected grid, random, tpe, asha)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-bench-search-'));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const objective = { model, seed, ...(f.subset ? { subset: f.subset as number } : {}) };
  const loadStart = os.loadavg()[0]!;
  console.log(`search benchmark: ${names.join(', ')}; ${fmtS(budgetMs / 1000)} each; ${model}, up to ${maxEpochs} epochs per trial, ${workers} worker(s); ${cpu}, ${os.cpus().length} cores`);
  const rows: Row[] = [];
  try {
    for (const name of names) {
      const s = STRATEGIES[name];
      const study = new Study({ name: `bench-${name}`, storage: `sqlite:${path.join(dir, `${name}.db`)}`, space: COURSE_SPACE, sampler: s.sampler(seed), pruner: s.pruner, direction: 'maximize' });
      const t0 = Date.now();
      console.log(`\n== ${s.label}`);
      const r = await study.optimize({ name: 'mnist', options: objective }, {
        budgetMs, maxEpochs, workers,
        log: (m) => { if (/complete|pruned|failed|killed|error/.test(m)) console.log(`  ${m}`); },
      });
      await study.close();
      const row = summarise(s.label, r, target, t0);
      rows.push(row);
      console.log(`  ${row.trials} trials (${row.complete} complete, ${row.pruned} pruned), best ${(100 * row.best).toFixed(2)}%, ${target * 100}% ${row.reachedAt === null ? 'not reached' : `at ${fmtS(row.reachedAt)}`}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const loadEnd = os.loadavg()[0]!;
  const cmd = `node --import tsx bench/search.ts ${process.argv.slice(2).join(' ')}`.trim();
  const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(2)}%` : '–');
  const table = [
    `| strategy | trials (complete / pruned) | epochs trained | best validation accuracy | first ≥ ${(100 * target).toFixed(0)}% (study time) | best configuration |`,
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.strategy} | ${r.trials} (${r.complete} / ${r.pruned}) | ${r.epochs} | ${pct(r.best)} | ${r.reachedAt === null ? 'not reached' : fmtS(r.reachedAt)} | ${r.bestParams ? `\`${JSON.stringify(r.bestParams)}\`` : '–'} |`),
  ].join('\n');
  const md = `# Search benchmark

Which search strategy finds the best MNIST configuration in limited time? Each strategy searched
the course's space as a fresh study with the same wall-clock budget.

Command: \`${cmd}\`

Machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; node ${process.version}; backend ${getBackend()}; load average ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end; ${new Date().toISOString().slice(0, 10)}.

Setup: ${model} on MNIST (${f.subset ? `the first ${String(f.subset)} training images` : '55,000 training images'}, 5,000 held-out validation images, seed ${seed}), constant learning rate, up to ${maxEpochs} epochs per trial; budget ${fmtS(budgetMs / 1000)} per strategy; ${workers} worker process(es) with one BLAS thread each, sharing a SQLite study. Value: the best validation accuracy of a trial over its epochs.

Space (the course's example, as JSON): \`${JSON.stringify(COURSE_SPACE)}\` (216 grid points).

Strategies: grid in its fixed order (first parameter slowest); random (seed ${seed}); TPE (10 random startup trials, then Parzen estimators); random sampling with the ASHA pruner (η = 3, rungs at epochs 1 and 3). Every study skips trials the remaining budget cannot cover at the measured seconds per epoch.

${table}

"First ≥ ${(100 * target).toFixed(0)}%" is the study time at which any trial first reported a validation accuracy of at least ${(100 * target).toFixed(0)}%.
`;
  console.log(`\n${table}`);
  if (!f['no-write']) {
    const out = path.resolve(String(f.out ?? 'docs/search-benchmark.md'));
    writeFileAtomic(out, new TextEncoder().encode(md));
    console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench/search: ${e.message}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
