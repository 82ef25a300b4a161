// Side-by-side timing of two builds of the addon on the MNIST CNN's convolutions (and pooling):
//   node bench/prof/ab-conv.cjs old.node new.node   (T=threads, REPS=reps)
// Calls alternate A, B, A, B… so both see the same machine load; prints medians and minima.
const path = require('path');
const load = (f) => { const m = { exports: {} }; process.dlopen(m, path.resolve(f)); return m.exports; };
const A = load(process.argv[2]), Bn = load(process.argv[3]);
const T = Number(process.env.T ?? 2), REPS = Number(process.env.REPS ?? 15);
A.setNumThreads(T); Bn.setNumThreads(T);
const rnd = (n, s = 1) => { const a = new Float32Array(n); let x = s * 2654435761 >>> 0; for (let i = 0; i < n; i++) { x = (x * 1664525 + 1013904223) >>> 0; a[i] = x / 2 ** 32 - 0.5; } return a; };
const cases = [];
function conv(name, n, c, h, w, oc, k) {
  const oh = h - k + 1, ow = w - k + 1;
  const x = rnd(n * c * h * w, 1), wt = rnd(oc * c * k * k, 2), b = rnd(oc, 3), dy = rnd(n * oc * oh * ow, 4);
  const mk = () => ({ out: new Float32Array(n * oc * oh * ow), dx: new Float32Array(x.length), dw: new Float32Array(wt.length), db: new Float32Array(oc) });
  const bufs = [mk(), mk()];
  cases.push([`${name} fwd`, (a, i) => a.conv2d(x, n, c, h, w, k, k, 1, 1, 0, 0, wt, oc, b, 'relu', bufs[i].out), (i) => bufs[i].out]);
  cases.push([`${name} bwd`, (a, i) => { bufs[i].dw.fill(0); bufs[i].db.fill(0); a.conv2dBackward(x, n, c, h, w, k, k, 1, 1, 0, 0, wt, oc, bufs[i].out, dy, 'relu', c > 1 ? bufs[i].dx : null, bufs[i].dw, bufs[i].db); }, (i) => bufs[i].dw]);
}
conv('conv1 64x1x28x28->32', 64, 1, 28, 28, 32, 3);
conv('conv2 64x32x26x26->64', 64, 32, 26, 26, 64, 3);
{
  const n = 64, c = 64, h = 24, w = 24, x = rnd(n * c * h * w, 5), out = [new Float32Array(n * c * 144), new Float32Array(n * c * 144)], idx = [new Int32Array(n * c * 144), new Int32Array(n * c * 144)], dx = [new Float32Array(x.length), new Float32Array(x.length)];
  cases.push(['maxPool2d 64x64x24x24', (a, i) => a.maxPool2d(x, n, c, h, w, 2, 2, 2, 2, 0, 0, out[i], idx[i]), (i) => out[i]]);
  cases.push(['maxPool2dBackward', (a, i) => a.maxPool2dBackward(out[i], idx[i], n, c, h, w, 12, 12, dx[i]), (i) => dx[i]]);
}
for (const [name, f, res] of cases) {
  const t = [[], []];
  f(A, 0); f(Bn, 1);
  const r0 = res(0), r1 = res(1); let maxd = 0, maxv = 0;
  for (let i = 0; i < r0.length; i++) { maxd = Math.max(maxd, Math.abs(r0[i] - r1[i])); maxv = Math.max(maxv, Math.abs(r0[i])); }
  const cpu = [[], []];
  for (let r = 0; r < REPS; r++) for (const [k, a] of [[0, A], [1, Bn]]) { const c0 = process.cpuUsage(); const s = performance.now(); f(a, k); t[k].push(performance.now() - s); const c = process.cpuUsage(c0); cpu[k].push((c.user + c.system) / 1000); }
  const med = (v) => v.sort((x, y) => x - y)[v.length >> 1].toFixed(2), min = (v) => Math.min(...v).toFixed(2);
  console.log(`${name.padEnd(28)} A med ${med(t[0])} min ${min(t[0])} cpu ${med(cpu[0])} | B med ${med(t[1])} min ${min(t[1])} cpu ${med(cpu[1])} ms | max|A-B| ${maxd.toExponential(1)} (max|A| ${maxv.toFixed(1)})`);
}
