/**
 * Server friendliness: fit() trains in the same process as a real node:http server on
 * 127.0.0.1 and a timer. The test keeps requests in flight on 4 connections; the server's handler and the
 * timer must run between every two batches, training and validation batches alike, and a request
 * that aborts training (an AbortSignal) stops it before the next batch, in training or in
 * validation, leaving a usable model that can go on training.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import * as nn from '../../src/nn';
import * as optim from '../../src/optim';
import { noGrad } from '../../src/tensor/autograd';
import { manualSeed } from '../../src/tensor/random';
import { Tensor } from '../../src/tensor/tensor';
import { evaluate, fit, type Batch, type BatchSource } from '../../src/train/fit';
import '../helpers/backends';
import { record } from './report';

function batches(n: number, size: number, features: number): Batch[] {
  let s = 7;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  return Array.from({ length: n }, () => {
    const x = Float32Array.from({ length: size * features }, r);
    return { x: new Tensor(x, [size, features]), y: Int32Array.from({ length: size }, (_, i) => (x[i * features]! > 0 ? 1 : 0)) };
  });
}

function model(): nn.Sequential {
  manualSeed(2);
  return new nn.Sequential(new nn.Linear(256, 512), new nn.ReLU(), new nn.Linear(512, 256), new nn.ReLU(), new nn.Linear(256, 2));
}

/**
 * The test's own client: `conns` keep-alive connections, each sending GET /ping back to back
 * until stopped. It runs on the same event loop as fit(), so a request written in one gap between
 * batches is read by the server in the next: with several connections every gap has one.
 */
function hammer(port: number, conns: number): { stop(): Promise<number> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  let replies = 0, stopping = false;
  const get = () => new Promise<number>((res) => {
    http.get({ host: '127.0.0.1', port, path: '/ping', agent }, (r) => { r.resume(); r.on('end', () => res(r.statusCode ?? 0)); })
      .on('error', () => res(0));
  });
  const loops = Array.from({ length: conns }, async () => {
    while (!stopping) {
      if ((await get()) !== 200) break;
      replies++;
    }
  });
  return { async stop() { stopping = true; await Promise.all(loops); agent.destroy(); return replies; } };
}

/** A node:http server on 127.0.0.1 whose handler calls `onRequest` (which returns a label to record). */
async function server(onRequest: () => number | string): Promise<{ port: number; handledAt: Array<number | string>; close(): void }> {
  const handledAt: Array<number | string> = [];
  const srv = http.createServer((req, res) => {
    const at = onRequest();
    handledAt.push(at);
    res.end(JSON.stringify({ at }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as AddressInfo).port, handledAt, close: () => srv.close() };
}

const busy = (ms: number) => { const t = performance.now(); while (performance.now() - t < ms); };

const ABORT_AT = 150;

describe('fit() inside a server process', () => {
  it('an HTTP handler and a timer run between every two batches; an abort request stops training before the next batch', async () => {
    const m = model();
    const data = batches(120, 64, 256);
    let batch = 0;
    let abortedAtBatch = -1;
    const ac = new AbortController();
    const srv = await server(() => {
      // The handler that serves the first request after batch ABORT_AT aborts training.
      if (batch >= ABORT_AT && !ac.signal.aborted) { abortedAtBatch = batch; ac.abort(); }
      return batch;
    });
    const handledAt = srv.handledAt as number[];
    const timerAt: number[] = [];
    const timer = setInterval(() => timerAt.push(batch), 0);
    const client = hammer(srv.port, 4);
    // Wait until the client is connected and served.
    while (handledAt.length < 20) await new Promise((r) => setTimeout(r, 5));
    const startedAt = handledAt.length;
    const opt = new optim.SGD(m.parameters(), { lr: 0.01, momentum: 0.9 });
    const h = await fit(m, { train: data, optimizer: opt, epochs: 3, signal: ac.signal,
      callbacks: [{ onBatchEnd: () => { batch++; busy(2); } }] });
    clearInterval(timer);
    const duringTraining = handledAt.slice(startedAt).filter((b) => b > 0 && b < batch);
    // Every gap between batch b and b+1 (b = 1 .. last) saw the timer and at least one request.
    const gaps = Array.from({ length: batch - 1 }, (_, i) => i + 1);
    // fit() yields with setImmediate: the poll phase (I/O) comes before every next batch, the timers
    // phase too except in the first gap when fit() itself was started from a timer callback (as
    // here: the wait above is a setTimeout loop), since that iteration's timers phase is over.
    const noTimer = gaps.filter((b) => b > 1 && !timerAt.includes(b));
    const noRequest = gaps.filter((b) => !handledAt.includes(b) && b < abortedAtBatch);
    expect(noTimer, `gaps without the timer: ${noTimer.join(', ')}`).toEqual([]);
    expect(noRequest, `gaps without a request: ${noRequest.join(', ')} of ${gaps.length}`).toEqual([]);
    // Aborted by the handler, and not one more batch after it.
    expect(h.stopReason).toBe('aborted');
    expect(abortedAtBatch).toBe(ABORT_AT);
    expect(batch).toBe(abortedAtBatch);
    // The model is usable: finite predictions, evaluation, and it trains on.
    noGrad(() => { expect(m.call(data[0]!.x).data.every(Number.isFinite)).toBe(true); });
    expect(evaluate(m, data.slice(0, 4)).accuracy).toBeGreaterThan(0.5);
    const h2 = await fit(m, { train: data.slice(0, 10), optimizer: opt, epochs: 1 });
    expect(h2.stopReason).toBe('completed');
    const replies = await client.stop();
    srv.close();
    record('server', {
      attack: `fit() (MLP 256-512-256-2, batches of 64) in the same process as a node:http server on 127.0.0.1 hammered by the test on 4 keep-alive connections, plus a setInterval(0) timer; the handler serving the first request after batch ${ABORT_AT} aborts the AbortSignal`,
      cases: batch,
      outcome: `${duringTraining.length} requests served during ${batch} batches; at least one request ran in every gap between two batches and the timer in every gap but the first (fit() started inside a timer callback, and yields with setImmediate); training stopped with 0 batches after the abort (stopReason 'aborted'); the model then evaluated and trained on`,
    });
    expect(replies).toBeGreaterThan(2 * ABORT_AT);
  }, 60_000);
  it('validation yields too: the handler and the timer run between every two validation batches; an abort during validation stops it before the next one', async () => {
    const m = model();
    const train = batches(6, 64, 256);
    // 40 validation batches, each labelled as it is handed out; 2 ms of work each so that
    // every gap is a real one for the timer.
    let valBatch = 0, valPulled = 0, phase = 'train';
    const valData = batches(40, 64, 256);
    const val: BatchSource = {
      length: valData.length,
      *[Symbol.iterator]() {
        for (const b of valData) { valBatch++; valPulled++; phase = `val ${valBatch}`; busy(2); yield b; }
        phase = 'train';
      },
    };
    const VAL_ABORT_AT = 25; // in the second epoch's validation
    const ac = new AbortController();
    let epoch = 1, abortedAt = '';
    const srv = await server(() => {
      if (epoch === 2 && valBatch >= VAL_ABORT_AT && !ac.signal.aborted) { abortedAt = phase; ac.abort(); }
      return phase;
    });
    const timerAt: string[] = [];
    const timer = setInterval(() => timerAt.push(phase), 0);
    const client = hammer(srv.port, 4);
    while (srv.handledAt.length < 20) await new Promise((r) => setTimeout(r, 5));
    const opt = new optim.SGD(m.parameters(), { lr: 0.01, momentum: 0.9 });
    const h = await fit(m, { train, val, optimizer: opt, epochs: 3, signal: ac.signal,
      callbacks: [{ onEpochBegin: (e) => { epoch = e; valBatch = 0; } }] });
    clearInterval(timer);
    // Gaps between validation batch b and b+1 of each epoch, ended by the abort in epoch 2.
    const gaps = [...Array.from({ length: valData.length - 1 }, (_, i) => `val ${i + 1}`),
      ...Array.from({ length: VAL_ABORT_AT - 1 }, (_, i) => `val ${i + 1}`)];
    const noTimer = [...new Set(gaps.filter((g) => !timerAt.includes(g)))];
    const noRequest = [...new Set(gaps.filter((g) => !srv.handledAt.includes(g)))];
    expect(noTimer, `validation gaps without the timer: ${noTimer.join(', ')}`).toEqual([]);
    expect(noRequest, `validation gaps without a request: ${noRequest.join(', ')}`).toEqual([]);
    // Each epoch-1 gap was seen at least once per epoch it occurred in: count requests per label.
    const perGap = (g: string) => srv.handledAt.filter((x) => x === g).length;
    expect(gaps.slice(0, VAL_ABORT_AT - 1).filter((g) => perGap(g) < 2), 'gaps seen in both epochs').toEqual([]);
    // Aborted in epoch 2's validation, with no validation batch pulled after it.
    expect(h.stopReason).toBe('aborted');
    expect(abortedAt).toBe(`val ${VAL_ABORT_AT}`);
    expect(valPulled).toBe(valData.length + VAL_ABORT_AT);
    expect(h.epochs).toHaveLength(2);
    expect(Number.isFinite(h.epochs[0]!.valLoss)).toBe(true);
    expect(h.epochs[1]!.valLoss).toBeNaN(); // cut short: no partial score
    // The model is usable: back in training mode, finite predictions, evaluation, and it trains on.
    expect(m.training).toBe(true);
    noGrad(() => { expect(m.call(valData[0]!.x).data.every(Number.isFinite)).toBe(true); });
    expect(evaluate(m, valData.slice(0, 4)).samples).toBe(256);
    const h2 = await fit(m, { train: train.slice(0, 3), val: valData.slice(0, 3), optimizer: opt, epochs: 1 });
    expect(h2.stopReason).toBe('completed');
    expect(Number.isFinite(h2.epochs[0]!.valLoss)).toBe(true);
    await client.stop();
    srv.close();
    record('server', {
      attack: `fit() with a validation set of ${valData.length} batches (2 ms each) next to the same server and timer; the handler serving the first request after validation batch ${VAL_ABORT_AT} of epoch 2 aborts the AbortSignal`,
      cases: valPulled,
      outcome: `the timer and at least one request ran in every gap between two validation batches; training stopped with 0 validation batches after the abort (stopReason 'aborted', that epoch's val loss NaN); the model, back in training mode, then evaluated and trained on`,
    });
  }, 60_000);
});
