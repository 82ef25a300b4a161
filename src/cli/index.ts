import { doctor, formatDoctor } from '../doctor';
import { UsageError, parseFlags } from './args';
import { benchCommand } from './bench';
import { searchCommand, studyCommand, workerCommand } from './search';
import { evalCommand, trainCommand } from './train';

const USAGE = `usage: lernen <command> [flags]

commands:
  train [flags]                train a preset network on MNIST (or --data DIR) and write
                               history.json, history.csv, curves.svg, report.html, model.lernen:
        --model mlp|cnn|resnet --epochs N --batch-size B --optimizer sgd|adam|adamw|rmsprop
        --lr X --momentum M --weight-decay W --l1 L --l2 L --dropout P --schedule none|cosine|onecycle|step
        --augment rotate=10,scale=0.1,translate=0.1,noise=0.1 --loss cross-entropy|mse|l1
        --label-smoothing E --seed S --data DIR --backend native|js --threads T --out DIR
        --val-size N --time-budget 90s
  eval --model FILE [--data DIR] [--json]   test accuracy and confusion matrix of a saved model
  doctor [--parity] [--json]   which backend runs and why; --parity compares native and JS
  bench [--workloads w1,cnn --backends native1,native2,js,tfjs-cpu,tfjs-wasm,torch --reps N --batches N --full --measure speed,rss,alloc,tta]   epoch time vs TF.js and PyTorch, memory, time to accuracy -> docs/benchmarks.md
  search --space FILE|JSON --study NAME [--budget 10m --trial-budget 60s --trials N
        --sampler grid|random|tpe --pruner none|median|asha|hyperband --rungs epochs|seconds
        --workers N --storage sqlite:F|postgres://... --model mlp|cnn --max-epochs N --subset N]
                               hyperparameter search under a wall-clock budget
  worker --storage URL --study NAME   join a study from another machine
  study show|report --storage URL --study NAME [--json] [--out DIR]   a study's trials, best, report
  help                         this text`;

/** Runs the CLI; resolves to the exit code. Usage errors print one line and return 2. */
export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'doctor': {
        const { flags, positional } = parseFlags('doctor', rest, { parity: 'boolean', json: 'boolean' });
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
