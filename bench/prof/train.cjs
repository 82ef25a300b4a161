// Times epochs of the reference workloads on the built package (dist/cjs), for profiling.
//   W=mlp|cnn  B=native|js  T=threads  NB=batches per epoch (default all)  E=epochs
//   CHK=0 disables the per-step NaN check.  node --cpu-prof bench/prof/train.cjs
const path = require('path');
const L = require(process.env.LERNEN_DIST ?? path.join(__dirname, '../../dist/cjs/index.js'));
const { setBackend, setNumThreads, manualSeed, nn, optim, data, fit, train } = L;
const W = process.env.W ?? 'mlp';
setBackend(process.env.B ?? 'native'); setNumThreads(Number(process.env.T ?? 2)); manualSeed(1);
const mn = data.loadMnist();
const model = W === 'cnn' ? train.buildPreset('cnn')
  : new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 512), new nn.ReLU(), new nn.Dropout(0.2),
    new nn.Linear(512, 512), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(512, 10));
const bs = W === 'cnn' ? 64 : 128;
const loader = new data.DataLoader(mn.train, { batchSize: bs, shuffle: true, seed: 1 });
const opt = new optim.SGD(model.parameters(), { lr: W === 'cnn' ? 0.01 : 0.05, momentum: 0.9 });
const maxB = Number(process.env.NB ?? 1e9);
const nb = Math.min(loader.length, maxB);
const limited = { length: nb, *[Symbol.iterator]() { let i = 0; for (const b of loader.transientBatches()) { if (i++ >= maxB) return; yield b; } } };
(async () => {
  for (let e = 0; e < Number(process.env.E ?? 2); e++) {
    const t = performance.now();
    const c0 = process.cpuUsage();
    const h = await fit(model, { train: limited, optimizer: opt, epochs: 1, checkNumerics: process.env.CHK !== '0' });
    const s = (performance.now() - t) / 1000;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1e6;
    console.log(`${W} ${process.env.B ?? 'native'} T=${process.env.T ?? 2} epoch ${e}: ${s.toFixed(2)} s for ${nb} batches = ${(s / nb * loader.length).toFixed(2)} s/epoch (cpu ${(cpu / nb * loader.length).toFixed(2)} s/epoch), loss ${h.epochs[0].trainLoss.toFixed(4)}, rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
  }
})();
