'use strict';
// TensorFlow.js worker for `lernen bench` (src/cli/bench.ts): trains W1 (the MLP) on MNIST with
// tfjs ops (no tf.layers) and a momentum optimizer on the 'cpu' (pure JS) or 'wasm' (SIMD) backend.
//
// Started as `node tfjs_worker.cjs '<json config>'`. Protocol, one JSON object per line: the
// harness writes {"cmd":"rep","batches":N} or {"cmd":"exit"} on stdin; the worker answers on
// stdout with {"type":"ready"}, {"type":"progress"}, {"type":"rep","seconds":s} and {"type":"done"}.
// W2 (the CNN) is not offered: the wasm backend has no Conv2DBackpropFilter kernel and the cpu
// backend needs about 86 s per batch (shared/anchors/README.md).
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);

function peakRssMB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : null;
}

function idx(dir, name, header) {
  const b = fs.readFileSync(path.join(dir, name));
  return new Uint8Array(b.buffer, b.byteOffset + header, b.length - header);
}

async function main() {
  const cfg = JSON.parse(process.argv[2]);
  if (cfg.workload !== 'w1') throw new Error(`tfjs: only workload w1 is supported, not ${cfg.workload}`);
  // The union package: its Node bundle registers the gradients (tfjs-core's CommonJS build alone
  // registers none, and its ES build does not load in Node).
  const tf = require('@tensorflow/tfjs');
  if (cfg.backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(cfg.backend)) || tf.getBackend() !== cfg.backend) {
    throw new Error(`tfjs backend '${cfg.backend}' did not initialise`);
  }
  await tf.ready();
  const simd = cfg.backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : null;
  const bytes = idx(cfg.mnistDir, 'train-images-idx3-ubyte', 16);
  const px = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) px[i] = bytes[i] / 255;
  const x = tf.tensor2d(px, [60000, 784]);
  const y = tf.tensor1d(Int32Array.from(idx(cfg.mnistDir, 'train-labels-idx1-ubyte', 8)), 'int32');
  const bs = 128;

  // 784-512-512-10, ReLU, dropout 0.2; weights [in, out], PyTorch's default init ranges.
  const layer = (i, o, s) => {
    const bound = 1 / Math.sqrt(i);
    return [tf.variable(tf.randomUniform([i, o], -bound, bound, 'float32', s)), tf.variable(tf.randomUniform([o], -bound, bound, 'float32', s + 1))];
  };
  const [w1, b1] = layer(784, 512, cfg.seed * 10 + 1);
  const [w2, b2] = layer(512, 512, cfg.seed * 10 + 3);
  const [w3, b3] = layer(512, 10, cfg.seed * 10 + 5);
  const opt = tf.train.momentum(0.05, 0.9);
  const forward = (xb) => {
    const h1 = tf.dropout(tf.relu(tf.add(tf.matMul(xb, w1), b1)), 0.2);
    const h2 = tf.dropout(tf.relu(tf.add(tf.matMul(h1, w2), b2)), 0.2);
    return tf.add(tf.matMul(h2, w3), b3);
  };

  let epochPerm = null;
  let cursor = 0;
  const nextIndices = () => {
    if (!epochPerm || cursor >= 60000) {
      epochPerm = new Int32Array(60000);
      for (let i = 0; i < 60000; i++) epochPerm[i] = i;
      tf.util.shuffle(epochPerm);
      cursor = 0;
    }
    const ix = epochPerm.subarray(cursor, Math.min(60000, cursor + bs));
    cursor += bs;
    return ix;
  };

  const run = async (batches, report) => {
    const t0 = performance.now();
    let last = t0;
    let loss = NaN;
    cursor = 60000; // each rep starts a freshly shuffled epoch
    for (let b = 0; b < batches; b++) {
      const ix = tf.tensor1d(nextIndices(), 'int32');
      const cost = opt.minimize(() => {
        const xb = tf.gather(x, ix);
        const yb = tf.oneHot(tf.gather(y, ix), 10);
        return tf.losses.softmaxCrossEntropy(yb, forward(xb));
      }, true);
      ix.dispose();
      if (b === batches - 1) loss = (await cost.data())[0];
      cost.dispose();
      const now = performance.now();
      if (report && now - last >= 1000) {
        last = now;
        send({ type: 'progress', batch: b + 1, of: batches, elapsed: (now - t0) / 1000 });
      }
    }
    return { seconds: (performance.now() - t0) / 1000, loss };
  };

  await run(cfg.warmup, false);
  send({ type: 'ready', peakRssMB: peakRssMB(), info: `tfjs ${tf.version.tfjs} on ${tf.getBackend()}${simd === null ? '' : simd ? ' (SIMD, 1 thread)' : ' (no SIMD, 1 thread)'}` });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const msg = JSON.parse(line);
    if (msg.cmd === 'rep') {
      const r = await run(msg.batches, true);
      send({ type: 'rep', seconds: r.seconds, batches: msg.batches, loss: r.loss, tensors: tf.memory().numTensors });
    } else if (msg.cmd === 'exit') break;
  }
  rl.close();
  send({ type: 'done', peakRssMB: peakRssMB() });
}

main().catch((e) => {
  send({ type: 'error', message: e && e.message ? e.message : String(e) });
  process.exit(1);
});
