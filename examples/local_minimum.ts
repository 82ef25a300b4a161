/**
 * The local-minimum trap, and a gradient-free optimizer next to SGD.
 *
 *   npx tsx examples/local_minimum.ts [--quick] [--out DIR]     (plots in runs/examples/local_minimum/)
 *
 * Part 1. f(x) = 0.02·x² − 2·exp(−(x − 6)² / (2·0.25²)): a broad, shallow well at 0 (f = 0)
 * and, far away, a deep but narrow well at x ≈ 6 (f ≈ −1.28). From x = −4 the gradient only
 * ever sees the broad well: SGD, SGD with momentum, Adam and RMSprop all settle at x ≈ 0,
 * the local minimum. OnePlusOneES, a (1+1) evolution strategy, does not use the gradient: it
 * tries random jumps of size σ and keeps those that lower f; with a large initial σ (5) some
 * jumps land in the narrow well before σ shrinks. That is luck by design, so the example also
 * counts how many of 20 seeds find it (13 of 20 here).
 *
 * Part 2. The same two kinds of optimizer train a small network (2-8-2 MLP, tanh) on a toy
 * 2-D data set (two interleaved half-moons): SGD uses the gradient of the cross-entropy,
 * OnePlusOneES only loss values. Both start from the same weights and take the same number of
 * steps (one forward pass each; SGD also one backward pass). On 42 parameters the ES keeps up;
 * its random search scales badly with the number of parameters, the gradient does not.
 */
import { Generator, Tensor, manualSeed, nn, noGrad, optim, tensor, train } from '../src';
import { fmt, linspace, parseExampleArgs, writePlot, writeSummary } from './_shared';

const args = parseExampleArgs('local_minimum', 'The local-minimum trap for SGD, momentum, Adam, RMSprop and the gradient-free OnePlusOneES; then ES vs SGD on a 2-8-2 network.');

// ---------------------------------------------------------------- part 1: a 1-D landscape
const START = -4;
const WELL = { at: 6, width: 0.25, depth: 2 };
const STEPS_1D = args.quick ? 150 : 300;
/** The ES's initial step size: large, so that early jumps can reach the far well. */
const ES_SIGMA = 5;
const ES_SEED = 1;

/** f(x) as a differentiable tensor expression (x: a 1-element tensor). */
function f(x: Tensor): Tensor {
  const broad = x.square().mul(0.02);
  const narrow = x.sub(WELL.at).square().mul(-1 / (2 * WELL.width ** 2)).exp().mul(WELL.depth);
  return broad.sub(narrow).sum();
}
const fNum = (x: number) => noGrad(() => f(tensor([x])).item());

interface Run1D { name: string; x: number[]; f: number[] }

function runGradient(name: string, make: (p: Tensor[]) => optim.Optimizer<{ lr: number }>): Run1D {
  const x = tensor([START], [1], { requiresGrad: true });
  const opt = make([x]);
  const run: Run1D = { name, x: [START], f: [fNum(START)] };
  for (let s = 0; s < STEPS_1D; s++) {
    opt.zeroGrad();
    f(x).backward();
    opt.step();
    run.x.push(x.data[0]!);
    run.f.push(fNum(x.data[0]!));
  }
  return run;
}

function runES(seed: number, steps = STEPS_1D): Run1D {
  const x = tensor([START], [1], { requiresGrad: true });
  const es = new optim.OnePlusOneES([x], { lr: ES_SIGMA, successFactor: 1.2, generator: new Generator(seed), reevaluate: false });
  const run: Run1D = { name: `OnePlusOneES (σ₀ = ${ES_SIGMA}, seed ${seed})`, x: [START], f: [fNum(START)] };
  for (let s = 0; s < steps; s++) {
    run.f.push(es.step(() => f(x)));
    run.x.push(x.data[0]!);
  }
  return run;
}

const inDeepWell = (x: number) => Math.abs(x - WELL.at) < 0.5;
const runs: Run1D[] = [
  runGradient('SGD (lr 1)', (p) => new optim.SGD(p, { lr: 1 })),
  runGradient('SGD + momentum 0.9 (lr 1)', (p) => new optim.SGD(p, { lr: 1, momentum: 0.9 })),
  runGradient('Adam (lr 0.1)', (p) => new optim.Adam(p, { lr: 0.1 })),
  runGradient('RMSprop (lr 0.05)', (p) => new optim.RMSprop(p, { lr: 0.05 })),
  runES(ES_SEED),
];
console.log(`f(x) = 0.02·x² − ${WELL.depth}·exp(−(x − ${WELL.at})²/(2·${WELL.width}²)): local minimum f(0) = 0, global minimum f(${fmt(6, 2)}) ≈ ${fmt(fNum(5.994), 3)}`);
console.log(`all start at x = ${START}; ${STEPS_1D} steps each\n`);
console.log(`  ${'optimizer'.padEnd(34)} ${'final x'.padStart(8)}   ${'final f'.padStart(9)}     minimum found`);
for (const r of runs) {
  const x = r.x[r.x.length - 1]!;
  console.log(`  ${r.name.padEnd(34)} ${fmt(x, 3).padStart(8)}   ${fmt(fNum(x), 4).padStart(9)}     ${inDeepWell(x) ? 'deep well (global)' : Math.abs(x) < 0.5 ? 'broad well (local)' : 'neither'}`);
}
const SEEDS = 20;
let found = 0;
for (let seed = 1; seed <= SEEDS; seed++) if (inDeepWell(runES(seed).x.at(-1)!)) found++;
console.log(`\nOnePlusOneES found the deep well with ${found} of ${SEEDS} seeds (σ₀ = ${ES_SIGMA}, success factor 1.2, ${STEPS_1D} steps): random jumps can cross the barrier the gradient cannot see past,`);
console.log('but only if σ is large enough while it still explores; the 1/5th rule then shrinks σ to settle.\n');

const xs = linspace(-6, 9, 301);
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#d62728'];
const files = [
  writePlot(args, 'landscape.svg', train.lineChart([
    { name: 'f(x)', color: '#333333', points: xs.map((x) => [x, fNum(x)]) },
  ], { title: 'A broad shallow well and a deep narrow one', xLabel: 'x', yLabel: 'f(x)' })),
  writePlot(args, 'positions.svg', train.lineChart(runs.map((r, i) => ({
    name: r.name, color: COLORS[i]!, dashed: i === 4, points: r.x.map((x, s) => [s, x] as [number, number]),
  })), { title: `Position x per step, from x = ${START}`, xLabel: 'step', yLabel: 'x' })),
];

// ---------------------------------------------------------------- part 2: a 2-8-2 network
/** Two interleaved half-moons with Gaussian noise, n points per class (seeded). */
function moons(n: number, seed: number): { x: Tensor; y: Int32Array } {
  const g = new Generator(seed);
  const noise = g.normal(new Float32Array(4 * n), 0, 0.15);
  const u = g.uniform(new Float32Array(2 * n), 0, Math.PI);
  const d = new Float32Array(4 * n);
  const y = new Int32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) {
    const c = i % 2;
    const t = u[i]!;
    d[2 * i] = (c ? 1 - Math.cos(t) : Math.cos(t)) + noise[2 * i]!;
    d[2 * i + 1] = (c ? 0.5 - Math.sin(t) : Math.sin(t)) + noise[2 * i + 1]!;
    y[i] = c;
  }
  return { x: new Tensor(d, [2 * n, 2]), y };
}

const STEPS_NET = args.quick ? 150 : 1000;
const data = moons(100, 3);
manualSeed(11);
const makeNet = () => new nn.Sequential(new nn.Linear(2, 8), new nn.Tanh(), new nn.Linear(8, 2));
const sgdNet = makeNet();
const esNet = makeNet();
esNet.loadStateDict(sgdNet.stateDict({ copy: true }));
const lossOf = (net: nn.Module) => nn.functional.crossEntropy(net.call(data.x), data.y);
const accuracy = (net: nn.Module) => noGrad(() => {
  const out = net.call(data.x);
  let right = 0;
  for (let i = 0; i < data.y.length; i++) right += (out.data[2 * i + 1]! > out.data[2 * i]! ? 1 : 0) === data.y[i] ? 1 : 0;
  return right / data.y.length;
});

const initialLoss = noGrad(() => lossOf(sgdNet).item());
const sgd = new optim.SGD(sgdNet.parameters(), { lr: 0.5 });
const es = new optim.OnePlusOneES(esNet.parameters(), { lr: 0.1, generator: new Generator(5), reevaluate: false });
const sgdLoss: number[] = [initialLoss];
const esLoss: number[] = [initialLoss];
for (let s = 0; s < STEPS_NET; s++) {
  sgd.zeroGrad();
  const l = lossOf(sgdNet);
  l.backward();
  sgd.step();
  sgdLoss.push(noGrad(() => lossOf(sgdNet).item()));
  esLoss.push(es.step(() => lossOf(esNet)));
}
const net = {
  initialLoss,
  sgd: { loss: sgdLoss.at(-1)!, accuracy: accuracy(sgdNet) },
  es: { loss: esLoss.at(-1)!, accuracy: accuracy(esNet), successRate: es.successRate, finalSigma: es.paramGroups[0]!.lr },
};
console.log(`2-8-2 MLP (tanh, ${sgdNet.numParameters()} parameters) on ${data.y.length} two-moons points, full batch, ${STEPS_NET} steps from the same weights (initial loss ${fmt(initialLoss)}):`);
console.log(`  SGD (lr 0.5)               final loss ${fmt(net.sgd.loss)}, accuracy ${(100 * net.sgd.accuracy).toFixed(1)}%`);
console.log(`  OnePlusOneES (σ₀ = 0.1)    final loss ${fmt(net.es.loss)}, accuracy ${(100 * net.es.accuracy).toFixed(1)}% (${(100 * es.successRate).toFixed(0)}% of its steps accepted, final σ ${fmt(net.es.finalSigma)})`);
console.log(`  ES needs no gradient, only loss values, and it does fine on ${sgdNet.numParameters()} parameters; but each step tries one random`);
console.log('  direction in parameter space, so the steps it needs grow with the number of parameters, while one gradient');
console.log('  gives every parameter its direction at once: that is why networks are trained with gradients.\n');

files.push(writePlot(args, 'network_loss.svg', train.lineChart([
  { name: 'SGD', color: '#1f77b4', points: sgdLoss.map((v, s) => [s, v] as [number, number]) },
  { name: 'OnePlusOneES', color: '#d62728', dashed: true, points: esLoss.map((v, s) => [s, v] as [number, number]) },
], { title: '2-8-2 MLP on two moons: training loss', xLabel: 'step', yLabel: 'cross-entropy' })));
console.log(`plots: ${files.join(', ')}`);

writeSummary(args, {
  example: 'local_minimum',
  start: START,
  steps: STEPS_1D,
  optimizers: runs.map((r) => {
    const x = r.x.at(-1)!;
    return { name: r.name, x, f: fNum(x), deepWell: inDeepWell(x), localWell: Math.abs(x) < 0.5 };
  }),
  esSeeds: { seeds: SEEDS, foundDeepWell: found },
  network: { steps: STEPS_NET, ...net },
});
