import { describe, expect, it } from 'vitest';
import { BACKENDS, JS, NATIVE } from '../helpers/backends';
import { expectClose, guardedF32, inputF32 } from '../helpers/close';
import { randomF32, refAdam, refRmsprop, refSgd } from '../helpers/reference';

const EACH = BACKENDS.map((b) => [b.name, b] as const);
const f32 = (...v: number[]) => new Float32Array(v);
const close = (got: ArrayLike<number>, want: number[], label: string) =>
  expectClose(got, want, { rtol: 1e-6, atol: 1e-7, label });

describe.each(EACH)('sgdStep on %s', (_name, be) => {
  it('hand-computed steps: plain, weight decay, momentum (first step takes g, no dampening), nesterov', () => {
    let p = f32(1);
    be.sgdStep(1, p, f32(0.5), null, 0.1, 0, 0, false, 0, false);
    close(p, [0.95], 'plain');
    p = f32(2);
    be.sgdStep(1, p, f32(0.5), null, 0.1, 0, 0, false, 0.1, false);
    close(p, [2 - 0.1 * 0.7], 'weight decay');
    p = f32(1);
    const buf = f32(123);
    be.sgdStep(1, p, f32(0.5), buf, 0.1, 0.9, 0.5, false, 0, true);
    close(buf, [0.5], 'first buf = g');
    close(p, [0.95], 'first step');
    be.sgdStep(1, p, f32(0.2), buf, 0.1, 0.9, 0.5, false, 0, false);
    close(buf, [0.9 * 0.5 + 0.5 * 0.2], 'buf = μ·buf + (1−τ)·g');
    close(p, [0.95 - 0.1 * 0.55], 'second step');
    p = f32(1);
    const nb = f32(0);
    be.sgdStep(1, p, f32(0.5), nb, 0.1, 0.9, 0, true, 0, true);
    close(p, [1 - 0.1 * (0.5 + 0.9 * 0.5)], 'nesterov');
    be.sgdStep(1, p, f32(0.5), nb, 0.1, 0.9, 0, true, 0.01, false);
    const g = 0.5 + 0.01 * (1 - 0.095), b2 = 0.9 * 0.5 + g;
    close(nb, [b2], 'nesterov buf with decay');
    close(p, [1 - 0.095 - 0.1 * (g + 0.9 * b2)], 'nesterov second step with decay');
  });

  it('random vectors over several steps match the formulas', () => {
    for (const [momentum, dampening, nesterov, wd] of [[0, 0, false, 0], [0, 0, false, 1e-2], [0.9, 0, false, 0],
      [0.9, 0.1, false, 1e-3], [0.8, 0, true, 1e-2]] as const) {
      const n = 37;
      const param = guardedF32(n, randomF32(n, 1));
      const buf = guardedF32(n);
      let ref: ReturnType<typeof refSgd> = { param: Float64Array.from(param.data), buf: new Float64Array(n) };
      for (let t = 0; t < 4; t++) {
        const grad = randomF32(n, 10 + t);
        be.sgdStep(n, param.buf, inputF32(grad), momentum ? buf.buf : null, 0.05, momentum, dampening, nesterov, wd, t === 0);
        ref = refSgd(Float32Array.from(ref.param), grad, Float32Array.from(ref.buf), 0.05, momentum, dampening, nesterov, wd, t === 0);
      }
      param.check('param');
      buf.check('buf');
      expectClose(param.data, ref.param, { rtol: 1e-6, atol: 1e-6, label: `${be.name} sgd μ=${momentum} τ=${dampening} nesterov=${nesterov} wd=${wd}` });
    }
  });
});

describe.each(EACH)('adamStep on %s', (_name, be) => {
  it('first step: bias correction makes the update lr·g/(|g| + eps)', () => {
    const p = f32(1, -2), m = f32(0, 0), v = f32(0, 0);
    be.adamStep(2, p, f32(0.5, -0.25), m, v, 1e-3, 0.9, 0.999, 1e-8, 0, 1, false);
    close(m, [0.05, -0.025], 'm');
    close(v, [0.001 * 0.25, 0.001 * 0.0625], 'v');
    close(p, [1 - 1e-3 * 0.5 / (0.5 + 1e-8), -2 + 1e-3 * 0.25 / (0.25 + 1e-8)], 'param');
  });

  it('second step by hand', () => {
    // t = 2 from m = 0.05, v = 0.00025, g = 0.1.
    const p = f32(1), m = f32(0.05), v = f32(0.00025);
    be.adamStep(1, p, f32(0.1), m, v, 0.01, 0.9, 0.999, 1e-8, 0, 2, false);
    const m2 = 0.9 * 0.05 + 0.1 * 0.1, v2 = 0.999 * 0.00025 + 0.001 * 0.01;
    close(m, [m2], 'm');
    close(v, [v2], 'v');
    close(p, [1 - (0.01 / (1 - 0.81)) * m2 / (Math.sqrt(v2) / Math.sqrt(1 - 0.998001) + 1e-8)], 'param');
  });

  it('Adam weight decay is L2 (added to g); AdamW decays the parameter directly', () => {
    const pa = f32(2), ma = f32(0), va = f32(0);
    be.adamStep(1, pa, f32(0.5), ma, va, 0.1, 0.9, 0.999, 1e-8, 0.1, 1, false);
    const g = 0.5 + 0.1 * 2;
    close(ma, [0.1 * g], 'Adam m sees g + wd·p');
    close(pa, [2 - 0.1 * g / (g + 1e-8)], 'Adam param');
    const pw = f32(2), mw = f32(0), vw = f32(0);
    be.adamStep(1, pw, f32(0.5), mw, vw, 0.1, 0.9, 0.999, 1e-8, 0.1, 1, true);
    close(mw, [0.05], 'AdamW m sees the raw gradient');
    close(pw, [2 * (1 - 0.1 * 0.1) - 0.1 * 0.5 / (0.5 + 1e-8)], 'AdamW param');
  });

  it('random vectors over several steps match the formulas', () => {
    for (const decoupled of [false, true]) {
      for (const wd of [0, 0.01]) {
        const n = 41;
        const param = guardedF32(n, randomF32(n, 2)), m = guardedF32(n, new Float32Array(n)), v = guardedF32(n, new Float32Array(n));
        let ref: ReturnType<typeof refAdam> = { param: Float64Array.from(param.data), m: new Float64Array(n), v: new Float64Array(n) };
        for (let t = 1; t <= 5; t++) {
          const grad = randomF32(n, 20 + t);
          be.adamStep(n, param.buf, inputF32(grad), m.buf, v.buf, 1e-2, 0.9, 0.99, 1e-8, wd, t, decoupled);
          ref = refAdam(Float32Array.from(ref.param), grad, Float32Array.from(ref.m), Float32Array.from(ref.v), 1e-2, 0.9, 0.99, 1e-8, wd, t, decoupled);
        }
        for (const [g, l] of [[param, 'param'], [m, 'm'], [v, 'v']] as const) g.check(l);
        expectClose(param.data, ref.param, { rtol: 1e-6, atol: 1e-6, label: `${be.name} adam decoupled=${decoupled} wd=${wd}` });
        expectClose(m.data, ref.m, { rtol: 1e-6, atol: 1e-7 });
        expectClose(v.data, ref.v, { rtol: 1e-6, atol: 1e-9 });
      }
    }
  });
});

describe.each(EACH)('rmspropStep on %s', (_name, be) => {
  it('hand-computed: plain, and centered with momentum', () => {
    const p = f32(1), sq = f32(0);
    be.rmspropStep(1, p, f32(0.5), sq, null, null, 0.01, 0.99, 1e-8, 0, 0, false);
    close(sq, [0.01 * 0.25], 'sq');
    close(p, [1 - 0.01 * 0.5 / (Math.sqrt(0.0025) + 1e-8)], 'plain');
    // α = 0.9, g = 0.5: sq = 0.025, gAvg = 0.05, avg = √(0.025 − 0.0025) + eps = 0.15 + eps.
    const pc = f32(1), sqc = f32(0), ga = f32(0), buf = f32(0);
    be.rmspropStep(1, pc, f32(0.5), sqc, ga, buf, 0.01, 0.9, 1e-8, 0, 0.9, true);
    close(sqc, [0.025], 'sq');
    close(ga, [0.05], 'gAvg');
    close(buf, [0.5 / (0.15 + 1e-8)], 'buf');
    close(pc, [1 - 0.01 * 0.5 / (0.15 + 1e-8)], 'centered + momentum');
    be.rmspropStep(1, pc, f32(0.5), sqc, ga, buf, 0.01, 0.9, 1e-8, 0, 0.9, true);
    const sq2 = 0.9 * 0.025 + 0.1 * 0.25, ga2 = 0.9 * 0.05 + 0.1 * 0.5;
    const b2 = 0.9 * (0.5 / 0.15) + 0.5 / (Math.sqrt(sq2 - ga2 * ga2) + 1e-8);
    close(buf, [b2], 'buf step 2');
    close(pc, [1 - 0.01 * (0.5 / 0.15) - 0.01 * b2], 'step 2');
  });

  it('random vectors over several steps match the formulas', () => {
    for (const [centered, momentum, wd] of [[false, 0, 0], [false, 0.9, 0.01], [true, 0, 0], [true, 0.5, 0.01]] as const) {
      const n = 29;
      const z = () => guardedF32(n, new Float32Array(n));
      const param = guardedF32(n, randomF32(n, 3)), sq = z(), ga = z(), buf = z();
      let ref: ReturnType<typeof refRmsprop> = { param: Float64Array.from(param.data), sq: new Float64Array(n), gAvg: new Float64Array(n), buf: new Float64Array(n) };
      for (let t = 0; t < 4; t++) {
        const grad = randomF32(n, 30 + t);
        be.rmspropStep(n, param.buf, inputF32(grad), sq.buf, centered ? ga.buf : null, momentum ? buf.buf : null,
          1e-2, 0.9, 1e-8, wd, momentum, centered);
        ref = refRmsprop(Float32Array.from(ref.param), grad, Float32Array.from(ref.sq), Float32Array.from(ref.gAvg),
          Float32Array.from(ref.buf), 1e-2, 0.9, 1e-8, wd, momentum, centered);
      }
      for (const [g, l] of [[param, 'param'], [sq, 'sq'], [ga, 'gAvg'], [buf, 'buf']] as const) g.check(l);
      expectClose(param.data, ref.param, { rtol: 1e-5, atol: 1e-6, label: `${be.name} rmsprop centered=${centered} μ=${momentum}` });
    }
  });

  it('n = 0 touches nothing', () => {
    const p = guardedF32(0);
    be.rmspropStep(0, p.buf, new Float32Array(0), new Float32Array(0), null, null, 1, 0.9, 1e-8, 0, 0, false);
    be.adamStep(0, p.buf, new Float32Array(0), new Float32Array(0), new Float32Array(0), 1, 0.9, 0.9, 1e-8, 0, 1, true);
    be.sgdStep(0, p.buf, new Float32Array(0), null, 1, 0, 0, false, 0, true);
    p.check();
    expect(p.buf.length).toBeGreaterThan(0);
  });
});

describe.runIf(NATIVE)('optimizer steps: native vs js directly', () => {
  it('sgd, adam, adamw and rmsprop agree over several steps', () => {
    const n = 100;
    const mk = () => ({ p: randomF32(n, 1), a: new Float32Array(n), b: new Float32Array(n), c: new Float32Array(n) });
    const N = mk(), J = mk();
    for (let t = 1; t <= 5; t++) {
      const g = randomF32(n, 100 + t);
      NATIVE!.sgdStep(n, N.p, g, N.a, 0.05, 0.9, 0.1, false, 1e-3, t === 1);
      JS.sgdStep(n, J.p, g, J.a, 0.05, 0.9, 0.1, false, 1e-3, t === 1);
      NATIVE!.adamStep(n, N.p, g, N.b, N.c, 1e-2, 0.9, 0.999, 1e-8, 1e-2, t, t % 2 === 0);
      JS.adamStep(n, J.p, g, J.b, J.c, 1e-2, 0.9, 0.999, 1e-8, 1e-2, t, t % 2 === 0);
      expectClose(N.p, J.p, { rtol: 1e-5, atol: 1e-6, label: `step ${t}` });
    }
    const sqN = new Float32Array(n), sqJ = new Float32Array(n), gaN = new Float32Array(n), gaJ = new Float32Array(n);
    const bN = new Float32Array(n), bJ = new Float32Array(n);
    for (let t = 1; t <= 3; t++) {
      const g = randomF32(n, 200 + t);
      NATIVE!.rmspropStep(n, N.p, g, sqN, gaN, bN, 1e-2, 0.99, 1e-8, 1e-2, 0.9, true);
      JS.rmspropStep(n, J.p, g, sqJ, gaJ, bJ, 1e-2, 0.99, 1e-8, 1e-2, 0.9, true);
    }
    expectClose(N.p, J.p, { rtol: 1e-5, atol: 1e-5, label: 'rmsprop' });
  });
});

describe.runIf(NATIVE)('optimizer steps on several threads (native)', () => {
  it('sgd, adam and rmsprop on 300K elements: identical on 1 and 2 threads', () => {
    const n = 300_001;
    const grad = randomF32(n, 41);
    const prev = NATIVE!.getNumThreads();
    const run = (t: number) => {
      NATIVE!.setNumThreads(t);
      try {
        const p = randomF32(n, 42), b = randomF32(n, 43), m = randomF32(n, 44), v = randomF32(n, 45, 0, 1);
        const sq = randomF32(n, 46, 0, 1), ga = randomF32(n, 47, -0.1, 0.1), rb = randomF32(n, 48);
        const p2 = p.slice(), p3 = p.slice();
        NATIVE!.sgdStep(n, p, grad, b, 0.1, 0.9, 0.1, false, 1e-4, false);
        NATIVE!.adamStep(n, p2, grad, m, v, 1e-3, 0.9, 0.999, 1e-8, 1e-2, 3, true);
        NATIVE!.rmspropStep(n, p3, grad, sq, ga, rb, 1e-2, 0.99, 1e-8, 0, 0.9, true);
        return [p, b, p2, m, v, p3, sq, ga, rb];
      } finally {
        NATIVE!.setNumThreads(prev);
      }
    };
    const one = run(1), two = run(2);
    one.forEach((a, i) => expect(Array.from(two[i]!)).toEqual(Array.from(a)));
  });
});

describe.each(EACH)('optimizer steps count the non-finite values they write, on %s', (_name, be) => {
  it('0 after a finite step; the overflowed, NaN and infinite values otherwise', () => {
    const n = 70_000; // above the native threading grain: the count is summed over threads
    const grad = new Float32Array(n).fill(0.5);
    const p = new Float32Array(n).fill(1);
    expect(be.sgdStep(n, p, grad, null, 0.1, 0, 0, false, 0, false)).toBe(0);
    // Five elements go bad: two overflow (huge gradient × lr), one NaN gradient, one infinite
    // parameter, one NaN parameter.
    grad[3] = 3e38; grad[n - 1] = -3e38; grad[100] = NaN;
    p[200] = Infinity; p[40_000] = NaN;
    expect(be.sgdStep(n, p, grad, null, 10, 0, 0, false, 0, false)).toBe(5);
    expect(be.sgdStep(n, p, grad, new Float32Array(n), 10, 0.9, 0, true, 0.01, true)).toBe(5);
    const q = new Float32Array(n).fill(1), m = new Float32Array(n), v = new Float32Array(n);
    expect(be.adamStep(n, q, new Float32Array(n).fill(0.5), m, v, 1e-3, 0.9, 0.999, 1e-8, 0, 1, false)).toBe(0);
    q[7] = NaN;
    expect(be.adamStep(n, q, new Float32Array(n).fill(0.5), m, v, 1e-3, 0.9, 0.999, 1e-8, 0, 2, true)).toBe(1);
    const r = new Float32Array(n).fill(1), sq = new Float32Array(n);
    expect(be.rmspropStep(n, r, new Float32Array(n).fill(0.5), sq, null, null, 0.01, 0.99, 1e-8, 0, 0, false)).toBe(0);
    const g2 = new Float32Array(n).fill(0.5);
    g2[9] = Infinity;
    expect(be.rmspropStep(n, r, g2, sq, null, null, 0.01, 0.99, 1e-8, 0, 0, false)).toBe(1);
    expect(be.sgdStep(0, p, grad, null, 0.1, 0, 0, false, 0, false)).toBe(0);
  });
});
