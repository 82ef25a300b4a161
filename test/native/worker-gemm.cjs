// Worker for worker.test.ts: loads the addon straight from the package root with
// node-gyp-build (no TypeScript), runs a GEMM and a few kernels, posts the results back.
const { parentPort, workerData } = require('node:worker_threads');
const addon = require('node-gyp-build')(workerData.root);

const { m, n, k, seed } = workerData;
let s = seed >>> 0;
const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
const a = Float32Array.from({ length: m * k }, rand);
const b = Float32Array.from({ length: k * n }, rand);
const c = new Float32Array(m * n);
let maxErr = 0;
for (let rep = 0; rep < 20; rep++) {
  addon.gemm(false, true, m, n, k, 1, a, b, 0, c); // C = A·Bᵀ with B stored [n, k]
}
for (let i = 0; i < m; i++) {
  for (let j = 0; j < n; j++) {
    let ref = 0;
    for (let p = 0; p < k; p++) ref += a[i * k + p] * b[j * k + p];
    maxErr = Math.max(maxErr, Math.abs(ref - c[i * n + j]));
  }
}
const state = Uint32Array.from([1, 2, 3, 4]);
const u = new Float32Array(8);
addon.randUniform(state, u, 8, 0, 1);
let threw = '';
try {
  addon.gemm(false, false, m, n, k, 1, a, new Float32Array(1), 0, c);
} catch (e) {
  threw = e instanceof Error ? e.message : String(e);
}
parentPort.postMessage({ maxErr, uniforms: Array.from(u), threw, info: addon.info() });
