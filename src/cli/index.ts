import { doctor, formatDoctor } from '../doctor';
import { UsageError, parseFlags, type FlagSpec } from './args';
import { BENCH_FLAGS, benchCommand } from './bench';
import { SEARCH_FLAGS, STUDY_FLAGS, WORKER_FLAGS, searchCommand, studyCommand, workerCommand } from './search';
import { EVAL_FLAGS, TRAIN_FLAGS, evalCommand, trainCommand } from './train';

const DOCTOR_FLAGS: FlagSpec = { parity: 'boolean', json: 'boolean' };

/** The usage text: every flag of every command (test/robustness/cli.test.ts checks it against COMMAND_FLAGS). */
export const USAGE = `usage: lernen <command> [flags]

commands:
  train [flags]                train a preset network on MNIST (or --data DIR) and write
                               history.json, history.csv, curves.svg, report.html, model.lernen:
        --model mlp|cnn|resnet --epochs N --batch-size B --optimizer sgd|adam|adamw|rmsprop
        --lr X --momentum M --weight-decay W --l1 L --l2 L --dropout P --schedule none|cosine|onecycle|step
        --augment rotate=10,scale=0.1,translate=0.1,noise=0.1 --loss cross-entropy|mse|l1
        --label-smoothing E --seed S --data DIR --backend native|js --threads T --out DIR
        --val-size N --time-budget 90s --quiet
  eval --model FILE [--data DIR --backend native|js --threads T --json]
                               test accuracy and confusion matrix of a saved model
  doctor [--parity] [--json]   which backend runs and why; --parity compares native and JS
  bench [flags]                epoch time vs TF.js and PyTorch, memory, time to accuracy -> docs/benchmarks.md:
        --workloads w1,cnn --backends native1,native2,js,tfjs-cpu,tfjs-wasm,torch
        --measure speed,rss,alloc,tta --reps N --batches N --full --seed S --python EXE
        --mlp-args='TRAIN FLAGS' --cnn-args='TRAIN FLAGS' --out FILE --readme FILE --json FILE
        --write --no-write --quiet
  search --space FILE|JSON --study NAME [flags]
                               hyperparameter search under a wall-clock budget:
        --budget 10m --trial-budget 60s --trials N --sampler grid|random|tpe --seed S
        --pruner none|median|asha|hyperband --rungs epochs|seconds --min-rung R
        --workers N --storage sqlite:F|postgres://... --model mlp|cnn --max-epochs N --subset N
        --val-size N --backend native|js --threads T --heartbeat 2s --stale 30s --retries N
        --checkpoint-dir DIR --quiet
  worker --storage URL --study NAME [--threads T --quiet]   join a study from another machine
  study show --storage URL --study NAME [--json]            a study's trials and best
  study report --storage URL --study NAME [--out DIR --top N]   an HTML/SVG report of a study
  help                         this text`;

/** Every command's flags as its parser takes them (a bad value of each is tested). */
export const COMMAND_FLAGS: Readonly<Record<string, FlagSpec>> = {
  train: TRAIN_FLAGS, eval: EVAL_FLAGS, doctor: DOCTOR_FLAGS, bench: BENCH_FLAGS, search: SEARCH_FLAGS,
  worker: WORKER_FLAGS, 'study show': STUDY_FLAGS.show, 'study report': STUDY_FLAGS.report,
};

/** Runs the CLI; resolves to the exit code. Usage errors print one line and return 2. */
export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'doctor': {
        const { flags, positional } = parseFlags('doctor', rest, DOCTOR_FLAGS);
        if (positional.length) throw new UsageError(`doctor: unexpected argument '${positional[0]}'`);
        const report = doctor({ parity: flags.parity === true });
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
        return 0;
      }
      case 'train':
        return await trainCommand(rest);
      case 'eval':
        return await evalCommand(rest);
      case 'bench': return await benchCommand(rest);
      case 'search': return await searchCommand(rest);
      case 'worker': return await workerCommand(rest);
      case 'study': return await studyCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}' (try: lernen help)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lernen: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
