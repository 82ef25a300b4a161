/**
 * Samplers propose the parameters of a new trial from the space and the trials so far.
 *
 * - `grid`: every combination, in a fixed order (first parameter slowest), each once; a study
 *   resumes at the first grid point no trial has taken.
 * - `random`: independent draws; trial n's parameters depend only on (seed, n), so a seeded
 *   study is reproducible whichever worker claims which trial.
 * - `tpe`: the Tree-structured Parzen Estimator (Bergstra et al. 2011), as Optuna's default
 *   `TPESampler` (independent per parameter): after `nStartupTrials` random trials, the
 *   finished trials are split into the best γ(n) = min(⌈0.1·n⌉, 25) ("below") and the rest
 *   ("above"); each parameter gets a Parzen estimator l(x) from the below group and g(x) from the
 *   above group (a truncated-Gaussian mixture with a prior component for numbers, smoothed counts
 *   for categoricals), `nEiCandidates` candidates are drawn from l and the one with the largest
 *   l(x)/g(x) is taken.
 */
import { SearchError } from './errors';
import { Rng, hashString } from './rng';
import { Space, type NumericDistribution, type ParamValue, type Params } from './space';
import type { Direction, TrialRecord } from './types';

export interface SampleContext {
  space: Space;
  /** The number the new trial gets. */
  number: number;
  /** Every trial of the study so far. */
  trials: readonly TrialRecord[];
  direction: Direction;
  /**
   * Proposals already rejected for this trial (e.g. because the remaining budget cannot cover
   * them); the sampler must propose something else or return null.
   */
  rejected: readonly Params[];
}

export interface Sampler {
  readonly kind: SamplerSpec['type'];
  /** Parameters for the new trial, or null when the sampler has nothing left (grid exhausted). */
  sample(ctx: SampleContext): (Params & Record<string, ParamValue>) | null;
  /** Checks that the sampler can work on `space` (the grid sampler needs finite values). */
  check(space: Space): void;
  /** A JSON description, stored with the study so that workers elsewhere use the same sampler. */
  toJSON(): SamplerSpec;
}

export type SamplerSpec =
  | { type: 'grid' }
  | { type: 'random'; seed: number | null }
  | { type: 'tpe'; seed: number | null; nStartupTrials: number; nEiCandidates: number; priorWeight: number; gammaMax: number };

/** A parameter drawn uniformly from its distribution with `rng`. */
export function drawUniform(space: Space, name: string, rng: Rng): ParamValue {
  const d = space.get(name);
  switch (d.kind) {
    case 'grid':
    case 'choice': {
      const vals = Space.storedValues(d);
      return vals[rng.int(vals.length)]!;
    }
    case 'uniform': return rng.uniform(d.low, d.high);
    case 'logUniform': return Math.exp(rng.uniform(Math.log(d.low), Math.log(d.high)));
    case 'intUniform': return d.low + rng.int(d.high - d.low + 1);
    default: throw new SearchError(`sampler: unknown distribution for '${name}'`);
  }
}

function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

function checkSeed(where: string, seed: number | null | undefined): number | null {
  if (seed === undefined || seed === null) return null;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new SearchError(`${where}: seed must be a non-negative integer, got ${seed}`);
  return seed;
}

// ---------------------------------------------------------------------------------- grid

export class GridSampler implements Sampler {
  readonly kind = 'grid' as const;

  check(space: Space): void {
    for (const n of space.names) {
      if (!space.gridValues(n)) {
        const d = space.get(n);
        throw new SearchError(`grid sampler: parameter '${n}' is ${d.kind}(${'low' in d ? `${d.low}, ${d.high}` : ''}); the grid sampler needs grid or choice values (or an intUniform with at most 10000 integers)`);
      }
    }
  }

  sample(ctx: SampleContext): Params | null {
    const size = ctx.space.gridSize()!;
    const taken = new Set<number>();
    for (const t of ctx.trials) {
      const gi = t.systemAttrs.gridIndex;
      taken.add(typeof gi === 'number' ? gi : ctx.space.gridIndex(t.params));
    }
    for (const r of ctx.rejected) taken.add(ctx.space.gridIndex(r));
    for (let i = 0; i < size; i++) if (!taken.has(i)) return ctx.space.gridPoint(i);
    return null;
  }

  toJSON(): SamplerSpec { return { type: 'grid' }; }
}

// ---------------------------------------------------------------------------------- random

export class RandomSampler implements Sampler {
  readonly kind = 'random' as const;
  readonly seed: number;
  private readonly seeded: boolean;

  constructor(opts: { seed?: number | null } = {}) {
    const s = checkSeed('random sampler', opts.seed);
    this.seeded = s !== null;
    this.seed = s ?? freshSeed();
  }

  check(): void {}

  sample(ctx: SampleContext): Params {
    const attempt = ctx.rejected.length;
    const out: Params = {};
    for (const n of ctx.space.names) out[n] = drawUniform(ctx.space, n, new Rng(this.seed, ctx.number, attempt, hashString(n)));
    return out;
  }

  toJSON(): SamplerSpec { return { type: 'random', seed: this.seeded ? this.seed : null }; }
}

// ---------------------------------------------------------------------------------- TPE

export interface TpeOptions {
  seed?: number | null;
  /** Random trials before the model is used (default 10, as Optuna). */
  nStartupTrials?: number;
  /** Candidates drawn from l(x) per parameter (default 24). */
  nEiCandidates?: number;
  /** Weight of the prior component (default 1). */
  priorWeight?: number;
  /** γ(n) = min(⌈0.1·n⌉, gammaMax) trials form the "below" group (default 25). */
  gammaMax?: number;
}

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** erf with |error| < 1.2e-7 (Numerical Recipes erfc). */
function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}
const Phi = (x: number) => 0.5 * (1 + erf(x / SQRT2));

function logSumExp(xs: number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** Optuna's default_weights: 1 for the 25 newest observations, a ramp from 1/n up for older ones. */
function observationWeights(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const ramp = Array.from({ length: n - 25 }, (_, i) => (n - 25 === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (n - 26)));
  return [...ramp, ...new Array<number>(25).fill(1)];
}

/** A 1-D truncated-Gaussian mixture on [low, high] (in the transformed space). */
interface Parzen {
  mus: number[];
  sigmas: number[];
  weights: number[];
  low: number;
  high: number;
}

/**
 * Optuna's univariate Parzen estimator (`consider_magic_clip`, no `consider_endpoints`): one
 * component per observation, with σ the larger distance to its neighbours in sorted order (the
 * bounds act as neighbours of the outermost ones, except that those use their inner neighbour
 * only), then the prior N((low+high)/2, high−low); every σ is clipped to
 * [(high−low)/min(100, n+2), high−low].
 */
function parzen(obs: readonly number[], obsWeights: readonly number[], low: number, high: number, priorWeight: number): Parzen {
  const range = high - low;
  const order = obs.map((_, i) => i).sort((a, b) => obs[a]! - obs[b]!);
  const mus = order.map((i) => obs[i]!);
  const weights = order.map((i) => obsWeights[i]!);
  const n = mus.length;
  const sigmas = mus.map((mu, i) => Math.max(mu - (i > 0 ? mus[i - 1]! : low), (i < n - 1 ? mus[i + 1]! : high) - mu));
  if (n >= 2) {
    sigmas[0] = mus[1]! - mus[0]!;
    sigmas[n - 1] = mus[n - 1]! - mus[n - 2]!;
  }
  mus.push(0.5 * (low + high));
  sigmas.push(range);
  weights.push(priorWeight);
  const minSigma = range / Math.min(100, 1 + mus.length);
  const total = weights.reduce((a, w) => a + w, 0);
  return { mus, sigmas: sigmas.map((s) => Math.min(Math.max(s, minSigma), range)), weights: weights.map((w) => w / total), low, high };
}

function parzenSample(p: Parzen, rng: Rng): number {
  const k = rng.choice(p.weights);
  const mu = p.mus[k]!;
  const s = p.sigmas[k]!;
  for (let tries = 0; tries < 100; tries++) {
    const x = mu + s * rng.normal();
    if (x >= p.low && x <= p.high) return x;
  }
  return Math.min(Math.max(mu, p.low), p.high);
}

function parzenLogPdf(p: Parzen, x: number): number {
  const terms = p.mus.map((mu, k) => {
    const s = p.sigmas[k]!;
    const z = (x - mu) / s;
    const mass = Math.max(Phi((p.high - mu) / s) - Phi((p.low - mu) / s), 1e-12);
    return Math.log(p.weights[k]!) - 0.5 * z * z - LOG_SQRT_2PI - Math.log(s) - Math.log(mass);
  });
  return logSumExp(terms);
}

function toInternal(d: NumericDistribution, v: number): number {
  return d.kind === 'logUniform' ? Math.log(v) : v;
}

function internalBounds(d: NumericDistribution): [number, number] {
  if (d.kind === 'logUniform') return [Math.log(d.low), Math.log(d.high)];
  if (d.kind === 'intUniform') return [d.low - 0.5, d.high + 0.5];
  return [d.low, d.high];
}

function fromInternal(d: NumericDistribution, x: number): number {
  if (d.kind === 'logUniform') return Math.min(Math.max(Math.exp(x), d.low), d.high);
  if (d.kind === 'intUniform') return Math.min(Math.max(Math.round(x), d.low), d.high);
  return Math.min(Math.max(x, d.low), d.high);
}

export class TpeSampler implements Sampler {
  readonly kind = 'tpe' as const;
  readonly seed: number;
  readonly nStartupTrials: number;
  readonly nEiCandidates: number;
  readonly priorWeight: number;
  readonly gammaMax: number;
  private readonly seeded: boolean;
  private readonly random: RandomSampler;

  constructor(o: TpeOptions = {}) {
    const s = checkSeed('tpe sampler', o.seed);
    this.seeded = s !== null;
    this.seed = s ?? freshSeed();
    this.nStartupTrials = o.nStartupTrials ?? 10;
    this.nEiCandidates = o.nEiCandidates ?? 24;
    this.priorWeight = o.priorWeight ?? 1;
    this.gammaMax = o.gammaMax ?? 25;
    for (const [k, v, min] of [['nStartupTrials', this.nStartupTrials, 0], ['nEiCandidates', this.nEiCandidates, 1], ['gammaMax', this.gammaMax, 1]] as const) {
      if (!Number.isInteger(v) || v < min) throw new SearchError(`tpe sampler: ${k} must be an integer ≥ ${min}, got ${v}`);
    }
    if (!(this.priorWeight > 0)) throw new SearchError(`tpe sampler: priorWeight must be positive, got ${this.priorWeight}`);
    this.random = new RandomSampler({ seed: this.seed });
  }

  check(): void {}

  toJSON(): SamplerSpec {
    return { type: 'tpe', seed: this.seeded ? this.seed : null, nStartupTrials: this.nStartupTrials, nEiCandidates: this.nEiCandidates, priorWeight: this.priorWeight, gammaMax: this.gammaMax };
  }

  /**
   * Orders the finished trials best first: complete trials by value, then pruned trials (further
   * steps first, then better last intermediate value), then failed trials (treated as worst).
   */
  private rank(trials: readonly TrialRecord[], direction: Direction): TrialRecord[] {
    const sign = direction === 'maximize' ? -1 : 1;
    const done = trials.filter((t) => t.state === 'complete' && t.value !== null && Number.isFinite(t.value))
      .sort((a, b) => sign * (a.value! - b.value!) || a.number - b.number);
    const lastOf = (t: TrialRecord) => t.intermediate[t.intermediate.length - 1];
    const pruned = trials.filter((t) => t.state === 'pruned' || (t.state === 'complete' && !done.includes(t)))
      .sort((a, b) => {
        const la = lastOf(a);
        const lb = lastOf(b);
        const sa = la?.step ?? -1;
        const sb = lb?.step ?? -1;
        if (sa !== sb) return sb - sa;
        // A missing or NaN value ranks last: -∞ when maximizing, +∞ when minimizing.
        const va = la && Number.isFinite(la.value) ? la.value : sign * Infinity;
        const vb = lb && Number.isFinite(lb.value) ? lb.value : sign * Infinity;
        return (sign * (va - vb) || 0) || a.number - b.number;
      });
    const failed = trials.filter((t) => t.state === 'failed').sort((a, b) => a.number - b.number);
    return [...done, ...pruned, ...failed];
  }

  sample(ctx: SampleContext): Params {
    const finished = ctx.trials.filter((t) => t.state === 'complete' || t.state === 'pruned');
    if (finished.length < this.nStartupTrials) return this.random.sample(ctx);
    const ranked = this.rank(ctx.trials, ctx.direction);
    const nBelow = Math.min(Math.ceil(0.1 * finished.length), this.gammaMax);
    const below = ranked.slice(0, nBelow).sort((a, b) => a.number - b.number);
    const above = ranked.slice(nBelow).sort((a, b) => a.number - b.number);
    const out: Params = {};
    for (const name of ctx.space.names) {
      const rng = new Rng(this.seed, ctx.number, ctx.rejected.length, hashString(name), 1);
      out[name] = this.sampleParam(ctx.space, name, below, above, rng);
    }
    return out;
  }

  private sampleParam(space: Space, name: string, below: TrialRecord[], above: TrialRecord[], rng: Rng): ParamValue {
    const d = space.get(name);
    const values = (group: TrialRecord[]) => group.map((t) => t.params[name]).filter((v) => v !== undefined && space.contains(name, v)) as ParamValue[];
    const vb = values(below);
    const va = values(above);
    if (d.kind === 'grid' || d.kind === 'choice') {
      const cats = Space.storedValues(d);
      const probs = (obs: ParamValue[]) => {
        const w = observationWeights(obs.length);
        const c = cats.map(() => this.priorWeight / cats.length);
        obs.forEach((v, i) => { c[cats.indexOf(v)]! += w[i]!; });
        const tot = c.reduce((a, b) => a + b, 0);
        return c.map((x) => x / tot);
      };
      const l = probs(vb);
      const g = probs(va);
      let best = -1;
      let bestScore = -Infinity;
      for (let i = 0; i < this.nEiCandidates; i++) {
        const k = rng.choice(l);
        const score = Math.log(l[k]!) - Math.log(g[k]!);
        if (score > bestScore) { bestScore = score; best = k; }
      }
      return cats[best]!;
    }
    const [low, high] = internalBounds(d);
    const xb = (vb as number[]).map((v) => toInternal(d, v));
    const xa = (va as number[]).map((v) => toInternal(d, v));
    const l = parzen(xb, observationWeights(xb.length), low, high, this.priorWeight);
    const g = parzen(xa, observationWeights(xa.length), low, high, this.priorWeight);
    let bestX = NaN;
    let bestScore = -Infinity;
    for (let i = 0; i < this.nEiCandidates; i++) {
      let x = parzenSample(l, rng);
      if (d.kind === 'intUniform') x = Math.round(x);
      const score = parzenLogPdf(l, x) - parzenLogPdf(g, x);
      if (score > bestScore || Number.isNaN(bestX)) { bestScore = score; bestX = x; }
    }
    return fromInternal(d, bestX);
  }
}

/** A sampler from its name or JSON description. */
export function makeSampler(spec: Sampler | SamplerSpec | SamplerSpec['type'] | undefined, seed?: number | null): Sampler {
  if (spec === undefined) spec = 'tpe';
  if (typeof spec === 'object' && spec !== null && 'sample' in spec && typeof spec.sample === 'function') return spec;
  const s = (typeof spec === 'string' ? { type: spec } : spec) as Partial<SamplerSpec> & { type?: unknown };
  const o = s as Record<string, unknown>;
  switch (s.type) {
    case 'grid': return new GridSampler();
    case 'random': return new RandomSampler({ seed: (o.seed as number | null | undefined) ?? seed ?? null });
    case 'tpe': return new TpeSampler({ ...(o as TpeOptions), seed: (o.seed as number | null | undefined) ?? seed ?? null });
    default: throw new SearchError(`unknown sampler ${JSON.stringify(s.type ?? spec)} (expected 'grid', 'random' or 'tpe')`);
  }
}
