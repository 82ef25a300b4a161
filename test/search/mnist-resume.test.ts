/**
 * The MNIST objective resumes a re-run trial from the checkpoint its earlier attempt left, and
 * starts over cleanly when that checkpoint is damaged: with the initial weights, not with weights
 * that loaded before the optimizer file was refused.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mnistObjective } from '../../src/search/mnist';
import type { Trial } from '../../src/search/trial';

/** The part of a Trial the objective uses; `interruptAfter`: interrupted once that epoch is reported. */
function attempt(dir: string, interruptAfter?: number): Trial {
  const ac = new AbortController();
  let reason: string | null = null;
  let last = 0;
  return {
    number: 0, params: { lr: 0.05, batchSize: 64, epochs: 2 }, maxEpochs: null, checkpointDir: dir,
    signal: ac.signal, timeLeftMs: () => 600_000, get lastStep() { return last; }, get abortReason() { return reason; },
    report: async (step: number) => {
      last = step;
      if (step === interruptAfter) { reason = 'interrupted'; ac.abort(); }
    },
    shouldPrune: () => false, prune: () => { throw new Error('not pruned here'); }, setAttr: async () => {},
  } as unknown as Trial;
}

describe('mnist objective checkpoints', () => {
  it('a re-run after a damaged checkpoint starts over from the initial weights', async () => {
    const objective = mnistObjective({ subset: 1200, valSize: 300, seed: 3 });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-resume-'));
    try {
      const fresh = await objective.run(attempt(path.join(tmp, 'fresh')));
      for (const torn of ['optimizer.lernen', 'model.lernen']) {
        const dir = path.join(tmp, torn);
        // The first attempt is interrupted after epoch 1 and leaves its checkpoint.
        await objective.run(attempt(dir, 1));
        const file = path.join(dir, torn);
        expect(fs.existsSync(path.join(dir, 'model.lernen')) && fs.existsSync(path.join(dir, 'optimizer.lernen'))).toBe(true);
        fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
        // The re-run cannot resume: it trains both epochs from scratch, exactly as a first run.
        expect(await objective.run(attempt(dir))).toBe(fresh);
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
