/**
 * Overfitting with two points, and what an L2 penalty does to the coefficients.
 *
 *   npx tsx examples/overfitting.ts [--quick] [--out DIR]     (plots in runs/examples/overfitting/)
 *
 * Two measurements, (4, 17) and (9, 74). A line (2 coefficients) goes exactly through both.
 * A degree-5 polynomial (6 coefficients) is underdetermined: infinitely many fit both points,
 * and gradient descent from a seeded random start ends at one of them with wild coefficients
 * (it only corrects the start within the 2-D span of the data, the rest of the random start
 * stays). It fits the data perfectly and says nothing sensible anywhere else on [0, 12].
 * Adding λ·‖w‖² to the loss picks the small-coefficient solution: the norm shrinks as λ grows,
 * and with too large a λ the curve no longer reaches the points (underfitting).
 *
 * Everything runs on lernen tensors with autograd and the SGD optimizer. Features are scaled
 * (x/10 and y/100) so that the powers x⁰…x⁵ stay of similar size and plain SGD converges.
 */
import { Generator, Tensor, noGrad, optim, randn, tensor, train } from '../src';
import { fmt, linspace, parseExampleArgs, writePlot, writeSummary } from './_shared';

const args = parseExampleArgs('overfitting', 'Overfitting with two points: a line vs a degree-5 polynomial, and L2 on the coefficients.');
const POINTS: Array<[number, number]> = [[4, 17], [9, 74]];
const SX = 10; // x is fed as x/10
const SY = 100; // y is fitted as y/100
const STEPS = args.quick ? 1500 : 4000;
const LR = 0.2;
const LAMBDAS = [0, 0.01, 0.1, 1];

/** Rows [1, x, x², …, x^degree] of the scaled inputs. */
function features(xs: readonly number[], degree: number): Tensor {
  const d: number[] = [];
  for (const x of xs) for (let k = 0; k <= degree; k++) d.push((x / SX) ** k);
  return tensor(d, [xs.length, degree + 1]);
}

/**
 * Minimises mean((Xw − y)²) + λ·‖w‖² over w (all coefficients) with plain SGD, full batch,
 * starting from `init`. Returns the coefficients (scaled units) and the final loss.
 */
function fitPolynomial(degree: number, lambda: number, init: Float32Array): { w: Float32Array; loss: number } {
  const X = features(POINTS.map((p) => p[0]), degree);
  const y = tensor(POINTS.map((p) => p[1] / SY), [POINTS.length, 1]);
  const w = new Tensor(init.slice(), [degree + 1, 1], true);
  const opt = new optim.SGD([w], { lr: LR });
  let loss = NaN;
  for (let step = 0; step < STEPS; step++) {
    opt.zeroGrad();
    let l = X.matmul(w).sub(y).square().mean();
    if (lambda > 0) l = l.add(w.square().sum().mul(lambda));
    l.backward();
    opt.step();
    loss = l.item();
  }
  return { w: w.toArray(), loss };
}

/** The fitted curve in original units: y(x) = SY · Σ w_k (x/SX)^k. */
function curve(w: Float32Array, xs: readonly number[]): number[] {
  return noGrad(() => {
    const out = features(xs, w.length - 1).matmul(new Tensor(w, [w.length, 1]));
    return Array.from(out.data, (v) => v * SY);
  });
}

const norm = (w: Float32Array) => Math.hypot(...w);
const maxResidual = (w: Float32Array) => Math.max(...POINTS.map(([x, y]) => Math.abs(curve(w, [x])[0]! - y)));
/** Coefficients of x^k in original units (y = Σ c_k x^k). */
const original = (w: Float32Array) => Array.from(w, (v, k) => (v * SY) / SX ** k);

// 1. A line: exactly determined by the two points.
const line = fitPolynomial(1, 0, new Float32Array(2));
const [b0, b1] = original(line.w) as [number, number];
console.log(`data: ${POINTS.map(([x, y]) => `(${x}, ${y})`).join(' and ')}; ${STEPS} SGD steps (lr ${LR}) per fit on x/${SX}, y/${SY}\n`);
console.log(`line:     y = ${fmt(b0, 3)} + ${fmt(b1, 3)}·x   (exact: −28.6 + 11.4·x), largest residual ${fmt(maxResidual(line.w))}`);

// 2. Degree 5 from a seeded random start, no penalty: fits both points, wild elsewhere.
const init = randn([6], { generator: new Generator(7) }).mul(3).data; // N(0, 3²) per coefficient
const results = LAMBDAS.map((lambda) => ({ lambda, ...fitPolynomial(5, lambda, init) }));
const poly = results[0]!;
const xs = linspace(0, 12, 121);
const polyCurve = curve(poly.w, xs);
const lineCurve = curve(line.w, xs);
console.log(`degree 5: coefficients (on x/10, y/100) [${Array.from(poly.w, (v) => fmt(v, 3)).join(', ')}], ‖w‖ = ${fmt(norm(poly.w))}`);
console.log(`          largest residual at the data ${fmt(maxResidual(poly.w))}, yet on [0, 12] it ranges over [${fmt(Math.min(...polyCurve), 1)}, ${fmt(Math.max(...polyCurve), 1)}]`);
console.log(`          (the line: [${fmt(Math.min(...lineCurve), 1)}, ${fmt(Math.max(...lineCurve), 1)}]); at x = 12: polynomial ${fmt(polyCurve[120]!, 1)}, line ${fmt(lineCurve[120]!, 1)}\n`);

// 3. L2: the same start, loss + λ‖w‖².
console.log('L2 penalty λ·‖w‖² (same random start):');
console.log('  λ        ‖w‖        largest residual at the data');
for (const r of results) console.log(`  ${String(r.lambda).padEnd(8)} ${fmt(norm(r.w)).padEnd(10)} ${fmt(maxResidual(r.w), 2)}`);
const norms = results.map((r) => norm(r.w));
const decreasing = norms.every((n, i) => i === 0 || n < norms[i - 1]!);
console.log(`the coefficient norm ${decreasing ? 'shrinks monotonically' : 'does NOT shrink monotonically'} as λ grows; a large λ trades the fit at the data for small coefficients\n`);

const COLORS = ['#d62728', '#ff7f0e', '#2ca02c', '#9467bd'];
const files = [
  writePlot(args, 'fits.svg', train.lineChart([
    { name: 'line (2 coefficients)', color: '#1f77b4', points: xs.map((x, i) => [x, lineCurve[i]!]) },
    { name: 'degree 5 (6 coefficients)', color: '#d62728', points: xs.map((x, i) => [x, polyCurve[i]!]) },
  ], { title: 'Both curves pass through (4, 17) and (9, 74)', xLabel: 'x', yLabel: 'y' })),
  writePlot(args, 'l2_curves.svg', train.lineChart(results.map((r, j) => {
    const c = curve(r.w, xs);
    return { name: `degree 5, λ = ${r.lambda}`, color: COLORS[j]!, dashed: j > 0, points: xs.map((x, i) => [x, c[i]!] as [number, number]) };
  }), { title: 'Degree 5 with an L2 penalty', xLabel: 'x', yLabel: 'y' })),
  writePlot(args, 'l2_norms.svg', train.lineChart([
    { name: '‖w‖ (coefficients on x/10, y/100)', color: '#1f77b4', points: results.map((r, i) => [i, norm(r.w)]) },
  ], { title: 'Coefficient norm vs λ', xLabel: 'λ = 0, 0.01, 0.1, 1 (at 0, 1, 2, 3)', yLabel: '‖w‖' })),
];
console.log(`plots: ${files.join(', ')}`);

writeSummary(args, {
  example: 'overfitting',
  points: POINTS,
  steps: STEPS,
  line: { intercept: b0, slope: b1, maxResidual: maxResidual(line.w) },
  polynomial: {
    coefficientsScaled: Array.from(poly.w),
    coefficients: original(poly.w),
    norm: norm(poly.w),
    maxResidual: maxResidual(poly.w),
    range: [Math.min(...polyCurve), Math.max(...polyCurve)],
    at12: polyCurve[120],
  },
  lineRange: [Math.min(...lineCurve), Math.max(...lineCurve)],
  l2: results.map((r) => ({ lambda: r.lambda, norm: norm(r.w), maxResidual: maxResidual(r.w), loss: r.loss })),
  normDecreasing: decreasing,
});
