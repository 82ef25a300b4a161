/**
 * `npm run bench:accuracy`: issue #4's accuracy targets, with the default recipes of
 * src/train/presets.ts and seed 1, each as a `lernen train` child process:
 *
 *   mlp       lernen train --model mlp                      test ≥ 98.0 %
 *   cnn       lernen train --model cnn                      test ≥ 99.0 %
 *   cnn-aug   lernen train --model cnn --epochs 15 --augment rotate=10,scale=0.1,translate=0.1
 *                                                           test ≥ 99.4 %
 *   resnet    lernen train --model resnet                   test ≥ 99.0 % (not an issue target:
 *                                                           the fastest preset to 99 %)
 *
 *   npm run bench:accuracy                       all four (cnn-aug alone takes 15+ minutes)
 *   npm run bench:accuracy -- --runs mlp,cnn     some of them
 *   npm run bench:accuracy -- --runs cnn --cnn-args='--lr 0.002'   a recipe variant (recorded as such;
 *                                                  the '=' keeps the value from reading as a flag)
 *   npm run bench:accuracy -- --no-write         print only
 *
 * Records test accuracy, wall time (spawn to exit) and the per-epoch validation accuracy in the
 * "Accuracy" section of docs/benchmarks.md. The section keeps its rows in a JSON comment, so a
 * run of some targets replaces their rows and leaves the others (with their own dates) in place.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError, parseFlags } from '../src/cli/args';
import {
  Status, describeMachine, fmtDuration, fmtS, loadSampler, machineLine, repoRoot, runLernenTrain, sourceRevision, writeSection,
  type TrainRun,
} from '../src/cli/bench';

interface Target {
  id: 'mlp' | 'cnn' | 'cnn-aug' | 'resnet';
  args: string[];
  /** Test accuracy to reach (fraction). */
  target: number;
  what: string;
}

const TARGETS: Target[] = [
  { id: 'mlp', args: ['train', '--model', 'mlp', '--seed', '1'], target: 0.98, what: 'mlp, default recipe (4 epochs)' },
  { id: 'cnn', args: ['train', '--model', 'cnn', '--seed', '1'], target: 0.99, what: 'cnn, default recipe (3 epochs)' },
  {
    id: 'cnn-aug', args: ['train', '--model', 'cnn', '--seed', '1', '--epochs', '15', '--augment', 'rotate=10,scale=0.1,translate=0.1'],
    target: 0.994, what: 'cnn with augmentation, ≤ 15 epochs',
  },
  { id: 'resnet', args: ['train', '--model', 'resnet', '--seed', '1'], target: 0.99, what: 'resnet, default recipe (2 epochs)' },
];

/** One recorded run (kept in the section's JSON comment). */
interface Row {
  id: string;
  command: string;
  target: number;
  what: string;
  testAccuracy: number | null;
  wallSeconds: number;
  fitSeconds: number | null;
  epochs: number | null;
  valAccuracy: number[];
  /** The recipe as history.json records it. */
  recipe: string | null;
  peakRssMB: number | null;
  error: string | null;
  date: string;
  load: string;
  machine: string;
}

const SECTION = 'Accuracy';
const DATA_TAG = 'accuracy-runs';

function q(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function previousRows(file: string): Row[] {
  if (!fs.existsSync(file)) return [];
  const m = new RegExp(`<!-- ${DATA_TAG}: (.*?) -->`, 's').exec(fs.readFileSync(file, 'utf8'));
  if (!m) return [];
  try { return JSON.parse(m[1]!) as Row[]; } catch { return []; }
}

function pct(x: number | null): string {
  return x === null || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(2)}%`;
}

function section(rows: Row[], machine: string): string {
  const order = (r: Row) => { const i = TARGETS.findIndex((t) => t.id === r.id); return i < 0 ? TARGETS.length : i; };
  rows.sort((a, b) => order(a) - order(b) || a.command.localeCompare(b.command));
  const lines = [
    'Command: `npm run bench:accuracy` (bench/accuracy.ts), issue #4\'s targets with the default recipes of src/train/presets.ts ' +
      '(`RECIPES`) and seed 1. Each run is `lernen train` in a child process (55,000 training images, 5,000 for validation, ' +
      'the 10,000 test images for the test accuracy), timed from spawn to exit; `npm run bench:accuracy -- --runs ID` reruns one ' +
      'target and keeps the other rows. The last run\'s machine:',
    '',
    machine,
    '',
    '| target | command | recipe | test accuracy | verdict | epochs | wall s (spawn → exit) | training s | validation accuracy per epoch | peak RSS | when (load average) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const verdict = r.error && r.testAccuracy === null ? `failed: ${r.error.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|')}`
      : r.testAccuracy !== null && r.testAccuracy >= r.target ? 'reached' : '**missed**';
    lines.push(`| ${r.what}: ≥ ${(100 * r.target).toFixed(1)}% | \`${r.command}\` | ${r.recipe ?? '—'} | ${pct(r.testAccuracy)} | ${verdict} | ${r.epochs ?? '—'} | ` +
      `${fmtS(r.wallSeconds)} | ${r.fitSeconds === null ? '—' : fmtS(r.fitSeconds)} | ${r.valAccuracy.map((v) => (100 * v).toFixed(2)).join(', ') || '—'} | ` +
      `${r.peakRssMB === null ? '—' : `${r.peakRssMB.toFixed(0)} MB`} | ${r.date} (${r.load}) |`);
  }
  lines.push('', `<!-- ${DATA_TAG}: ${JSON.stringify(rows)} -->`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const { flags: f, positional } = parseFlags('bench:accuracy', argv, {
    runs: 'string', 'mlp-args': 'string', 'cnn-args': 'string', 'cnn-aug-args': 'string', 'resnet-args': 'string', out: 'string', 'no-write': 'boolean', quiet: 'boolean',
  });
  if (positional.length) throw new UsageError(`bench:accuracy: unexpected argument '${positional[0]}'`);
  const ids = f.runs === undefined ? TARGETS.map((t) => t.id) : String(f.runs).split(',').map((s) => s.trim());
  for (const id of ids) if (!TARGETS.some((t) => t.id === id)) throw new UsageError(`bench:accuracy: --runs: unknown '${id}' (expected ${TARGETS.map((t) => t.id).join(', ')})`);
  const root = repoRoot();
  const out = f['no-write'] ? null : f.out !== undefined ? path.resolve(String(f.out)) : root ? path.join(root, 'docs/benchmarks.md') : null;
  const status = new Status(f.quiet === true);
  const load = loadSampler();
  const sourceStart = sourceRevision();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-accuracy-'));
  const rows: Row[] = [];
  try {
    for (const t of TARGETS.filter((x) => ids.includes(x.id))) {
      const extra = String(f[`${t.id}-args`] ?? '').split(/\s+/).filter(Boolean);
      const args = [...t.args, ...extra];
      const command = `npx lernen ${args.map(q).join(' ')}`;
      status.log(`[${t.id}] ${command} (target ${(100 * t.target).toFixed(1)}%)`);
      const before = os.loadavg()[0]!;
      const run: TrainRun = await runLernenTrain(args, path.join(tmp, t.id), status, `[${t.id}]`);
      const after = os.loadavg()[0]!;
      rows.push({
        id: t.id, command, target: t.target, what: extra.length ? `${t.what}, recipe changed` : t.what,
        testAccuracy: run.testAccuracy, wallSeconds: run.wallSeconds, fitSeconds: run.fitSeconds, epochs: run.epochs,
        valAccuracy: run.valAccuracy, recipe: run.recipe, peakRssMB: run.peakRssMB, error: run.error,
        date: new Date().toISOString().slice(0, 16).replace('T', ' '), load: `${before.toFixed(1)} → ${after.toFixed(1)}`,
        machine: `${os.cpus()[0]?.model?.trim()}, ${os.cpus().length} cores`,
      });
      status.log(`[${t.id}] test accuracy ${pct(run.testAccuracy)} in ${fmtDuration(run.wallSeconds)} (${run.testAccuracy !== null && run.testAccuracy >= t.target ? 'reached' : 'MISSED'})${run.error ? `; ${run.error}` : ''}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const machine = machineLine(describeMachine(load.stop(), { start: sourceStart, end: sourceRevision() }));
  // A rerun of the same command replaces its row; other rows (other targets, recipe variants) stay.
  const kept = out ? previousRows(out).filter((p) => !rows.some((r) => r.id === p.id && r.command === p.command)) : [];
  const body = section([...kept, ...rows], machine);
  process.stdout.write(`\n${body}\n`);
  if (out) {
    writeSection(out, SECTION, body, ['GEMM']);
    process.stderr.write(`wrote the "${SECTION}" section of ${path.relative(process.cwd(), out) || out}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    // Usage errors already name the command.
    process.stderr.write(`${e instanceof UsageError ? '' : 'bench:accuracy: '}${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  },
);
