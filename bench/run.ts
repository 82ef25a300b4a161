/**
 * `npm run bench`: the same as `lernen bench` (src/cli/bench.ts), run from the TypeScript source.
 *
 *   npm run bench                                   everything; rewrites docs/benchmarks.md and README
 *   npm run bench -- --workloads w1 --backends native2,torch --reps 3 --batches 100
 *   npm run bench -- --full                         whole epochs instead of extrapolated ones
 */
import { main } from '../src/cli/index';

main(['bench', ...process.argv.slice(2)]).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`lernen bench: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
