/**
 * Regenerates docs/robustness.md from a run of the robustness suite.
 *
 *   node --import tsx scripts/robustness-report.ts [--asan] [--seed N] [--out FILE]
 *
 * Runs `vitest run test/robustness` with the JSON reporter and LERNEN_ROBUSTNESS_REPORT set (each
 * suite then writes what it attacked, how many cases ran and what happened), and with --asan
 * also builds the ASan/UBSan addon (scripts/build-asan.sh) and runs the kernel, native and fuzz
 * tests against it. Findings (FINDINGS) are listed as open (counted by a suite, with this run's
 * hits) or as fixed and enforced (with the tests that fail if they come back). The document
 * (docs/robustness.md, or --out FILE) is written atomically (temp file + rename). Exits non-zero,
 * without touching it, when a suite fails, when a fixed finding's enforcing test did not run and
 * pass, or when a suite hit a fixed or undescribed finding.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const outArg = args.indexOf('--out') >= 0 ? args[args.indexOf('--out') + 1] : undefined;
/** Where the document goes: docs/robustness.md, or --out FILE (e.g. to look at a run without committing it). */
const out = outArg ? path.resolve(outArg) : path.join(ROOT, 'docs', 'robustness.md');
const withAsan = args.includes('--asan');
const seedArg = args.indexOf('--seed') >= 0 ? args[args.indexOf('--seed') + 1] : undefined;

interface AttackRecord { attack: string; cases: number; outcome: string; known?: Record<string, number> }
interface VitestJson {
  numTotalTests: number; numPassedTests: number; numFailedTests: number; numPendingTests: number;
  startTime: number; success: boolean;
  testResults: Array<{ name: string; status: string; startTime: number; endTime: number;
    assertionResults: Array<{ title: string; status: string; duration?: number; failureMessages: string[] }> }>;
}

/** The suites in the order of the document, with a title and what they prove. */
const SUITES: Array<{ file: string; record: string; title: string }> = [
  { file: 'native-fuzz.test.ts', record: 'native-fuzz', title: 'Native boundary under attack' },
  { file: 'untrusted-files.test.ts', record: 'untrusted-files', title: 'Untrusted files' },
  { file: 'crash-safety.test.ts', record: 'crash-safety', title: 'Crash safety' },
  { file: 'numerics.test.ts', record: 'numerics', title: 'Divergence and numerical faults' },
  { file: 'soak.test.ts', record: 'soak', title: 'Long runs' },
  { file: 'server.test.ts', record: 'server', title: 'Server friendliness' },
  { file: 'worker-threads.test.ts', record: 'worker-threads', title: 'Concurrency (worker_threads)' },
  { file: 'cli.test.ts', record: 'cli', title: 'CLI' },
];

/** A test of this run that enforces a fix: its file under test/robustness and a part of its title. */
interface Enforcer { file: string; title: string }

/**
 * What the suites found. An open finding is counted by a suite instead of failing it (its hits
 * are reported), so CI stays green while any new kind of failure still fails it. A fixed one is a
 * failure now: the tests in `enforcedBy` fail if it comes back, and the report refuses to be
 * written unless each of them ran and passed (and nothing hit a fixed finding).
 */
type Finding = { id: string; where: string; what: string; fix: string }
  & ({ status: 'open' } | { status: 'fixed'; enforcedBy: Enforcer[] });

const NATIVE_FUZZ: Enforcer = { file: 'native-fuzz.test.ts', title: 'every call returns correctly or throws an Error naming its kernel' };
const FILE_FUZZ: Enforcer = { file: 'untrusted-files.test.ts', title: 'each load succeeds consistently or fails with a LernenError naming the file' };

const FINDINGS: Finding[] = [
  {
    id: 'orphaned-tmp-files', status: 'open',
    where: 'src/nn/serialize.ts (writeFileAtomic)',
    what: 'A writer killed between creating and renaming its temporary file leaves `.<name>.<pid>.<random>.tmp` behind (as large as the state). Never read, so nothing is corrupted. The next save of the same file removes those whose process is gone once they are 10 minutes old (a writer on another machine sharing the directory is never that slow), so a crash-looping trainer no longer accumulates them; the suite\'s kills are seconds apart, so their temp files are still young and counted here.',
    fix: 'done for files older than 10 minutes (src/nn/serialize.ts sweepStaleTemps); nothing left to do unless younger leftovers matter',
  },
  {
    id: 'shape-getter-stale-pointer', status: 'fixed',
    where: 'native/binding/elementwise.cc (binary, sumTo, permute)',
    what: 'A buffer argument was read before a later shape argument; an index getter on that shape array ran JS in the middle of the checks and could detach the buffer, and the kernel then read or wrote through the stale pointer (a use-after-free once the memory was collected: `node --expose-gc` segfaulted).',
    fix: 'every shape (the only arguments that can run JS) is read before any typed array',
    enforcedBy: [NATIVE_FUZZ],
  },
  {
    id: 'adapter-op-description', status: 'fixed',
    where: 'src/backend/native.ts (checkOp)',
    what: 'A wrong `op` argument was described with `String(op)`, which itself threw a TypeError that did not name the kernel for a detached typed array or a null-prototype object.',
    fix: 'the description is guarded (a value that cannot be printed reads "(unprintable)"), so the error names the kernel',
    enforcedBy: [NATIVE_FUZZ],
  },
  {
    id: 'idx-directory', status: 'fixed',
    where: 'src/data/idx.ts (readIdx)',
    what: 'A directory passed as an IDX file failed with a bare "EISDIR: illegal operation on a directory, read" that did not name the file.',
    fix: 'readIdx stats the path first and refuses anything but a regular file with a DataError naming it',
    enforcedBy: [{ file: 'untrusted-files.test.ts', title: 'a directory or a device given as an IDX or state file fails with an error naming it' }],
  },
  {
    id: 'fifo-blocks', status: 'fixed',
    where: 'src/data/idx.ts (readIdx), src/nn/serialize.ts (load), src/optim/serialize.ts (load)',
    what: 'A FIFO passed as an IDX or state file blocked forever in open(2), and nn.load("/dev/zero") read until memory ran out.',
    fix: 'readIdx, nn.load and optim.load stat the path first and refuse anything but a regular file (a FIFO, a device, a directory) with an error naming it',
    enforcedBy: [{ file: 'untrusted-files.test.ts', title: 'a FIFO given as a state or IDX file fails fast instead of blocking forever' },
      { file: 'untrusted-files.test.ts', title: 'a directory or a device given as an IDX or state file fails with an error naming it' }],
  },
  {
    id: 'long-error-message', status: 'fixed',
    where: 'src/nn/serialize.ts, src/optim/serialize.ts, src/nn/module.ts (names from state files in messages)',
    what: 'Names and key lists from a state file were quoted in full: a 100,000-character tensor name made an error message of over 100,000 characters.',
    fix: 'names are quoted in at most ~100 characters and key lists in at most 10 keys (quote, quoteList); the file fuzz fails on a message over 2,000 characters',
    enforcedBy: [FILE_FUZZ],
  },
  {
    id: 'optimizer-proto-key', status: 'fixed',
    where: 'src/optim/serialize.ts (decodeOptimizerState), src/optim/optimizer.ts (stateDict, loadStateDict)',
    what: 'A tensor named `state.0.__proto__` in an optimizer state file set the prototype of a state record instead of being a key: in the decoded state, and (until the records there were null-prototype too) in the optimizer\'s own record after loadStateDict.',
    fix: 'state records are null-prototype objects wherever they are built from keys; the file fuzz checks the decoded and the loaded records',
    enforcedBy: [FILE_FUZZ],
  },
  {
    id: 'load-error-unnamed-file', status: 'fixed',
    where: 'src/nn/module.ts, src/optim/optimizer.ts (loadStateDict)',
    what: 'A state file that parsed but did not fit the model or optimizer failed with a StateDictError / OptimizerStateError that did not name the file (the file fuzz checked only the parsers\' own errors for the file name).',
    fix: 'nn.load and optim.load return the file they read, and loadStateDict puts it in front of its errors; the file fuzz requires every refusal to be a LernenError naming the file',
    enforcedBy: [FILE_FUZZ, { file: 'untrusted-files.test.ts', title: 'a state file that parses but does not fit' }],
  },
  {
    id: 'validation-holds-event-loop', status: 'fixed',
    where: 'src/train/fit.ts',
    what: 'fit() validated with the synchronous evaluate(): a server\'s handlers and timers did not run, and an AbortSignal was not looked at, until every validation batch was done.',
    fix: 'fit() validates with evaluateAsync, which yields between batches and checks the signal before each (an epoch cut short records NaN val scores)',
    enforcedBy: [{ file: 'server.test.ts', title: 'validation yields too' }],
  },
  {
    id: 'nan-origin-unnamed', status: 'fixed',
    where: 'src/train/fit.ts',
    what: 'A NaN or Inf produced inside a layer\'s forward pass was reported only as "the loss is NaN", with the step and the learning rate.',
    fix: 'on a non-finite loss, fit() re-runs that batch\'s forward pass layer by layer (on the failure path only) and names the first layer whose output went non-finite from a finite input, or the input batch, the loss function or a penalty (src/train/numerics.ts)',
    enforcedBy: [{ file: 'numerics.test.ts', title: 'in a layer\'s output mid-network' }, { file: 'numerics.test.ts', title: 'in a nested layer\'s output' }],
  },
];

/**
 * Why the report cannot be written as it stands, or []: a fixed finding whose enforcing test did
 * not run or did not pass, a hit on a fixed finding, or a hit on a finding FINDINGS does not list.
 */
function findingProblems(vj: VitestJson, hits: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const f of FINDINGS) {
    if (f.status !== 'fixed') continue;
    if (hits[f.id]) problems.push(`fixed finding ${f.id} was hit ${hits[f.id]} times`);
    for (const e of f.enforcedBy) {
      const tests = vj.testResults.filter((t) => path.basename(t.name) === e.file)
        .flatMap((t) => t.assertionResults).filter((a) => a.title.includes(e.title));
      if (!tests.length) problems.push(`${f.id}: no test in ${e.file} has "${e.title}" in its title`);
      else if (tests.some((a) => a.status !== 'passed')) problems.push(`${f.id}: "${e.title}" in ${e.file} did not pass`);
    }
  }
  for (const id of Object.keys(hits)) if (!FINDINGS.some((f) => f.id === id)) problems.push(`finding ${id} (${hits[id]} hits) is not described in FINDINGS`);
  return problems;
}

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv): number {
  const r = spawnSync(cmd, argv, { cwd: ROOT, env, stdio: 'inherit' });
  return r.status ?? 1;
}

function readJson<T>(file: string): T | null {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')) as T; } catch { return null; }
}

const fmt = (n: number) => n.toLocaleString('en-US');
const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function main(): number {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-robustness-report-'));
  const records = path.join(work, 'records');
  const env = { ...process.env, LERNEN_ROBUSTNESS_REPORT: records, NO_COLOR: '1', ...(seedArg ? { LERNEN_FUZZ_SEED: seedArg } : {}) };
  const jsonOut = path.join(work, 'vitest.json');
  const t0 = Date.now();
  const code = run('npx', ['vitest', 'run', 'test/robustness', '--reporter=default', '--reporter=json', `--outputFile=${jsonOut}`], env);
  const seconds = (Date.now() - t0) / 1000;
  const vj = readJson<VitestJson>(jsonOut);
  if (code !== 0 || !vj || !vj.success) {
    process.stderr.write(`robustness-report: the suite failed (exit ${code}); ${out} left as it was\n`);
    return 1;
  }
  // Before the long sanitizer run: every fixed finding's enforcing tests ran and passed.
  const unenforced = findingProblems(vj, {});
  if (unenforced.length) {
    process.stderr.write(`robustness-report: ${unenforced.join('; ')}; ${out} left as it was\n`);
    return 1;
  }
  let asan: { ok: boolean; tests: number; seconds: number; fuzzCases: number } | null = null;
  if (withAsan) {
    if (run('bash', ['scripts/build-asan.sh'], env) !== 0) return 1;
    const lib = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
    const asanJson = path.join(work, 'asan.json');
    const ta = Date.now();
    const c = run('npx', ['vitest', 'run', 'test/kernels', 'test/native', 'test/robustness/native-fuzz.test.ts', '--reporter=json', `--outputFile=${asanJson}`], {
      ...env, LERNEN_ROBUSTNESS_REPORT: path.join(work, 'asan-records'), LERNEN_ADDON: 'build-asan/Release/lernen.node', LERNEN_BACKEND: 'native', LD_PRELOAD: lib,
      ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:allocator_may_return_null=1', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    });
    const aj = readJson<VitestJson>(asanJson);
    const fuzz = readJson<AttackRecord[]>(path.join(work, 'asan-records', 'native-fuzz.json')) ?? [];
    asan = { ok: c === 0 && !!aj?.success, tests: aj?.numTotalTests ?? 0, seconds: (Date.now() - ta) / 1000, fuzzCases: fuzz.reduce((a, r) => a + r.cases, 0) };
    if (!asan.ok) { process.stderr.write('robustness-report: the sanitizer run failed\n'); return 1; }
  }

  const byFile = new Map(vj.testResults.map((t) => [path.basename(t.name), t]));
  const knownTotals: Record<string, number> = {};
  let totalCases = 0;
  const lines: string[] = [];
  lines.push('# Robustness', '');
  lines.push('<!-- Generated by scripts/robustness-report.ts from a run of test/robustness; do not edit by hand. -->', '');
  lines.push('lernen runs inside server processes, so it must never take the process down, never corrupt what it',
    'saved and never trust a file it reads. The suite in `test/robustness/` attacks it on each of those',
    'fronts, inside `npm test` (and under AddressSanitizer + UndefinedBehaviorSanitizer in `.ci/run`).', '');
  lines.push(`Last run: ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores, `
    + `${vj.numPassedTests} tests passed (${vj.numPendingTests} skipped, expected failures counted as passed) in ${seconds.toFixed(0)} s.`
    + (seedArg ? ` Seed ${seedArg}.` : ' Fuzz seeds are random per run; every failure prints its seed and a replay command.'), '');

  const sections: string[] = [];
  for (const s of SUITES) {
    const recs = readJson<AttackRecord[]>(path.join(records, `${s.record}.json`)) ?? [];
    const tr = byFile.get(s.file);
    const secs = tr ? ((tr.endTime - tr.startTime) / 1000).toFixed(1) : '?';
    const status = tr ? (tr.status === 'passed' ? 'passed' : tr.status) : 'not run';
    sections.push(`## ${s.title}`, '', `\`test/robustness/${s.file}\`: ${status} in ${secs} s.`, '');
    sections.push('| Attack | Cases | What the toolkit did |', '|---|---:|---|');
    for (const r of recs) {
      totalCases += r.cases;
      const known = Object.entries(r.known ?? {}).filter(([, n]) => n > 0);
      for (const [id, n] of known) knownTotals[id] = (knownTotals[id] ?? 0) + n;
      const note = known.length ? ` Known: ${known.map(([id, n]) => `\`${id}\` ×${fmt(n)}`).join(', ')}.` : '';
      sections.push(`| ${esc(r.attack)} | ${fmt(r.cases)} | ${esc(r.outcome)}${note} |`);
    }
    if (!recs.length) sections.push('| (no records: the suite did not run in reporting mode) | | |');
    sections.push('');
  }
  lines.push(`${fmt(totalCases)} cases in all.`, '');
  lines.push(...sections);

  lines.push('## Sanitizers', '');
  lines.push('`.ci/run` builds the addon with `-fsanitize=address,undefined -fno-sanitize-recover=undefined` into',
    '`build-asan/` (`scripts/build-asan.sh`, cmake-js) and runs `test/kernels`, `test/native` and the native fuzz',
    'against it with the ASan runtime preloaded into Node (`LD_PRELOAD=$(gcc -print-file-name=libasan.so)`,',
    '`ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1`, `UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1`,',
    'reports also logged to files that must stay empty). Any report fails CI.',
    '`allocator_may_return_null=1` makes an impossible allocation a `std::bad_alloc` (which the addon turns',
    'into "out of memory"), as in the release build, instead of an ASan abort.', '');
  lines.push(asan ? `This run: ${asan.tests} tests (${fmt(asan.fuzzCases)} native fuzz cases among them) clean under ASan + UBSan in ${asan.seconds.toFixed(0)} s.` : 'This run did not include the sanitizer build (pass `--asan`).', '');

  const problems = findingProblems(vj, knownTotals);
  if (problems.length) {
    process.stderr.write(`robustness-report: ${problems.join('; ')}; ${out} left as it was\n`);
    return 1;
  }
  lines.push('## Open findings', '');
  lines.push('Counted by the suites instead of failing them (so CI stays green while any new kind of failure still fails it).',
    'Each lives in a file outside the robustness suite; the fix is a suggestion for its owner, or what is done so far.', '');
  lines.push('| Finding | Where | Hits this run | What happens | Suggested fix |', '|---|---|---:|---|---|');
  for (const f of FINDINGS.filter((x) => x.status === 'open')) {
    lines.push(`| \`${f.id}\` | ${esc(f.where)} | ${fmt(knownTotals[f.id] ?? 0)} | ${esc(f.what)} | ${esc(f.fix)} |`);
  }
  lines.push('');
  lines.push('## Fixed findings, enforced', '');
  lines.push('Found by the suites and fixed. Each is a failure now, not a count: the tests named here fail if it comes back,',
    'and every one of them ran and passed in this run (the report is not written otherwise).', '');
  lines.push('| Finding | Where | What it was | Fix | Enforced by |', '|---|---|---|---|---|');
  for (const f of FINDINGS) {
    if (f.status !== 'fixed') continue;
    const by = f.enforcedBy.map((e) => `\`${e.file}\` › "${e.title}"`).join('; ');
    lines.push(`| \`${f.id}\` | ${esc(f.where)} | ${esc(f.what)} | ${esc(f.fix)} | ${esc(by)} |`);
  }
  lines.push('');
  lines.push('## Fixed while building the suite', '');
  lines.push('- `lernen train --data DIR` with a FIFO among the IDX files, and `lernen eval --model` given a FIFO or',
    '  `/dev/zero`, hung or read without end: both now require regular files (`src/cli/train.ts`).',
    '- `lernen train --out /proc/x` hung forever: Node 20\'s `fs.mkdirSync(dir, { recursive: true })` loops under',
    '  `/proc`; the CLI now creates the folder one level at a time.',
    '- `lernen eval --model` with a state file that does not fit its preset printed a multi-line error; now one line.',
    '- `fit()` checked only the loss and the gradients: it now also checks the input batch before the forward pass',
    '  (so BatchNorm running statistics are never poisoned) and every parameter after the optimizer step, and the',
    '  errors name the parameter, its layer, the index, the step and the learning rate (`DivergenceError.site`).',
    '- `lernen search --space /dev/zero` grew to gigabytes and `--space FIFO` blocked forever: a space file must be a',
    '  regular file of at most 1 MiB, read with that bound (`readRegularFile`, src/files.ts).',
    '- `lernen search --storage sqlite:/proc/x/db` and `lernen study report --out /proc/x` hung (the same `/proc`',
    '  mkdir loop): every folder made from a user\'s path goes through one helper that creates one level at a time',
    '  (`makeDirs`, src/files.ts).',
    '- `lernen search --checkpoint-dir /proc/x` was accepted and trials ran; `lernen bench --python /nonexistent`',
    '  and `--out /proc/x/y.md` were noticed only after minutes of benchmarking: every flag of every command is',
    '  now checked before anything runs (the CLI suite attacks each one).',
    '- `lernen train --quiet` was accepted and ignored; `--val-size` as large as the training set failed with an',
    '  error about `stepsPerEpoch` instead of naming the flag.', '');

  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, `${lines.join('\n')}\n`);
  fs.renameSync(tmp, out);
  fs.rmSync(work, { recursive: true, force: true });
  process.stdout.write(`robustness-report: wrote ${path.relative(ROOT, out)} (${fmt(totalCases)} cases, ${seconds.toFixed(0)} s)\n`);
  return 0;
}

process.exitCode = main();
