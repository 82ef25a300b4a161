/**
 * What every course example shares: the command line (`--quick`, `--out DIR`), the output
 * folder (default `runs/examples/<name>/`), writing SVG plots and the `summary.json` that the
 * smoke tests (test/examples) read. Not an example itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ExampleArgs {
  /** Fast smoke mode: fewer steps, epochs and samples. */
  quick: boolean;
  /** Absolute path of the output folder (created). */
  out: string;
}

/** Parses `--quick`, `--out DIR` (or `--out=DIR`) and `--help`; exits with status 2 on a bad argument. */
export function parseExampleArgs(name: string, about: string, argv: readonly string[] = process.argv.slice(2)): ExampleArgs {
  let quick = false;
  let out = path.join('runs', 'examples', name);
  const usage = `usage: npx tsx examples/${name}.ts [--quick] [--out DIR]\n\n${about}\n\n` +
    `  --quick     fast smoke mode (fewer steps, epochs and samples)\n` +
    `  --out DIR   where the SVG plots and summary.json go (default runs/examples/${name}/)\n`;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--out' || a.startsWith('--out=')) {
      const v = a === '--out' ? argv[++i] : a.slice('--out='.length);
      if (!v) fail(`${name}: --out needs a directory`, usage);
      out = v;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(usage);
      process.exit(0);
    } else fail(`${name}: unknown argument '${a}'`, usage);
  }
  out = path.resolve(out);
  fs.mkdirSync(out, { recursive: true });
  return { quick, out };
}

function fail(msg: string, usage: string): never {
  process.stderr.write(`${msg}\n\n${usage}`);
  process.exit(2);
}

/** Writes an SVG (from `lineChart`) into the output folder and returns its path. */
export function writePlot(args: ExampleArgs, file: string, svg: string): string {
  const p = path.join(args.out, file);
  fs.writeFileSync(p, svg.endsWith('\n') ? svg : `${svg}\n`);
  return p;
}

/** Writes `summary.json`: the facts an example demonstrates, as numbers and booleans. */
export function writeSummary(args: ExampleArgs, summary: Record<string, unknown>): void {
  fs.writeFileSync(path.join(args.out, 'summary.json'), `${JSON.stringify({ ...summary, quick: args.quick }, null, 2)}\n`);
}

/** Matches `number.toFixed` but keeps tiny and huge values readable. */
export function fmt(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(2) : v.toFixed(digits);
}

/** Evenly spaced values lo..hi (n of them, both ends included). */
export function linspace(lo: number, hi: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}
