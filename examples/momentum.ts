/**
 * SGD with and without momentum in a narrow valley.
 *
 *   npx tsx examples/momentum.ts [--quick] [--out DIR]     (plots in runs/examples/momentum/)
 *
 * f(x, y) = ½·(x² + 50·y²): 50 times steeper across the valley (y) than along it (x). The
 * learning rate must stay below 2/50 or the steep direction blows up, and at such a rate
 * plain gradient descent crawls along the flat x direction (each step removes only lr·x).
 * Momentum (μ = 0.8, same learning rate) accumulates the small, consistent x gradients into
 * speed while the alternating y gradients cancel: it reaches f < 1e-3 in fewer steps, with
 * the typical overshoot-and-spiral trajectory. The optimizer is lernen's `optim.SGD`
 * (PyTorch's update rule), the gradient comes from autograd.
 */
import { Tensor, optim, tensor, train } from '../src';
import { fmt, parseExampleArgs, writePlot, writeSummary } from './_shared';

const args = parseExampleArgs('momentum', 'SGD with and without momentum on the narrow valley f(x, y) = ½(x² + 50y²).');
const START: [number, number] = [-10, 1];
const LR = 0.035; // below the stability limit 2/50 = 0.04 of the steep direction
const THRESHOLD = 1e-3;
const MAX_STEPS = args.quick ? 400 : 1000;
const CURVATURE = tensor([1, 50]);

const f = (p: Tensor) => p.square().mul(CURVATURE).sum().mul(0.5);

interface Run { name: string; momentum: number; path: Array<[number, number]>; losses: number[]; stepsToThreshold: number | null }

function run(name: string, momentum: number): Run {
  const p = tensor(START, [2], { requiresGrad: true });
  const opt = new optim.SGD([p], { lr: LR, momentum });
  const path: Array<[number, number]> = [[START[0], START[1]]];
  const losses: number[] = [];
  let stepsToThreshold: number | null = null;
  for (let step = 0; step <= MAX_STEPS; step++) {
    opt.zeroGrad();
    const loss = f(p);
    const v = loss.item();
    losses.push(v);
    if (v < THRESHOLD && stepsToThreshold === null) stepsToThreshold = step;
    if (step === MAX_STEPS || (stepsToThreshold !== null && step >= stepsToThreshold + 20)) break;
    loss.backward();
    opt.step();
    path.push([p.data[0]!, p.data[1]!]);
  }
  return { name, momentum, path, losses, stepsToThreshold };
}

const runs = [run('SGD', 0), run('SGD + momentum 0.8', 0.8)];
const [plain, heavy] = runs as [Run, Run];
console.log(`f(x, y) = ½(x² + 50y²) from (${START.join(', ')}), lr ${LR} for both (stable below 2/50 = 0.04)\n`);
for (const r of runs) {
  const n = r.stepsToThreshold;
  console.log(`${r.name.padEnd(20)} ${n === null ? `did not reach f < ${THRESHOLD} in ${MAX_STEPS} steps` : `reaches f < ${THRESHOLD} after ${n} steps`}` +
    ` (f after 50 steps: ${fmt(r.losses[Math.min(50, r.losses.length - 1)]!)})`);
}
const faster = heavy.stepsToThreshold !== null && (plain.stepsToThreshold === null || heavy.stepsToThreshold < plain.stepsToThreshold);
console.log(`\nmomentum ${faster ? 'gets there in fewer steps' : 'is NOT faster here'}: the x gradient keeps its sign, so momentum builds speed along the valley;`);
console.log('the y gradient flips sign every step, so its contributions cancel instead of piling up.\n');

const COLORS = ['#1f77b4', '#d62728'];
const files = [
  writePlot(args, 'trajectories.svg', train.lineChart(runs.map((r, i) => ({
    name: r.name, color: COLORS[i]!, dashed: i > 0, points: r.path.slice(0, 120),
  })), { title: 'Trajectories in the valley ½(x² + 50y²) (first 120 steps)', xLabel: 'x', yLabel: 'y' })),
  writePlot(args, 'loss.svg', train.lineChart(runs.map((r, i) => ({
    name: r.name, color: COLORS[i]!, dashed: i > 0,
    points: r.losses.map((v, s) => [s, Math.log10(Math.max(v, 1e-12))] as [number, number]),
  })), { title: 'Loss per step', xLabel: 'step', yLabel: 'log10 f(x, y)', yFormat: (v) => v.toFixed(0) })),
];
console.log(`plots: ${files.join(', ')}`);

writeSummary(args, {
  example: 'momentum',
  function: '0.5*(x^2 + 50*y^2)',
  start: START,
  lr: LR,
  threshold: THRESHOLD,
  runs: runs.map((r) => ({ name: r.name, momentum: r.momentum, stepsToThreshold: r.stepsToThreshold, finalLoss: r.losses[r.losses.length - 1] })),
  momentumFaster: faster,
});
