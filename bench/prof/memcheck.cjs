// Counts fresh allocations of the tensor path (memoryStats()) over NB training steps after a
// warm-up: W=mlp|cnn, B=native|js. node bench/prof/memcheck.cjs
const path = require('path');
const L = require(process.env.LERNEN_DIST ?? path.join(__dirname, '../../dist/cjs/index.js'));
const { setBackend, manualSeed, nn, optim, data, fit, train, memoryStats, resetMemoryStats } = L;
const W = process.env.W ?? 'mlp';
setBackend(process.env.B ?? 'native'); manualSeed(1);
const mn = data.loadMnist();
const model = W === 'cnn' ? train.buildPreset('cnn') : train.buildPreset('mlp');
const bs = W === 'cnn' ? 64 : 128;
const loader = new data.DataLoader(mn.train, { batchSize: bs, shuffle: true, seed: 1 });
const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const NB = Number(process.env.NB ?? 20);
const take = (n) => ({ length: n, *[Symbol.iterator]() { let i = 0; for (const b of loader) { if (i++ >= n) return; yield b; } } });
(async () => {
  await fit(model, { train: take(3), optimizer: opt });
  resetMemoryStats();
  await fit(model, { train: take(NB), optimizer: opt });
  const s = memoryStats();
  console.log(`${W}: ${NB} steps after warm-up:`, JSON.stringify(s), `rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
})();
