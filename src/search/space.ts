/**
 * Search spaces: named parameters, each with a distribution.
 *
 * In code:
 * ```ts
 * const space = { lr: logUniform(1e-4, 1e-1), batchSize: [32, 64, 128], optimizer: choice(['sgd', 'adam']) };
 * ```
 * As JSON, a plain array is a grid of values, a scalar is a fixed value, and an object names its
 * distribution: `{"grid": [..]}`, `{"choice": [..]}`, `{"uniform": [a, b]}`,
 * `{"logUniform": [a, b]}`, `{"intUniform": [a, b]}`.
 *
 * Stored parameter values are JSON: numbers, strings, booleans, null; a function in a `choice`
 * is stored by its name (so functions in one choice need distinct names) and resolved back to
 * the function for the objective.
 */
import { SearchError } from './errors';

export type Categorical = number | string | boolean | null | ((...args: never[]) => unknown);
/** A parameter value as stored and as seen by samplers (functions replaced by their names). */
export type ParamValue = number | string | boolean | null;
export type Params = Record<string, ParamValue>;

export type Distribution =
  | { readonly kind: 'grid'; readonly values: readonly Categorical[] }
  | { readonly kind: 'choice'; readonly values: readonly Categorical[] }
  | { readonly kind: 'uniform'; readonly low: number; readonly high: number }
  | { readonly kind: 'logUniform'; readonly low: number; readonly high: number }
  | { readonly kind: 'intUniform'; readonly low: number; readonly high: number };

export type CategoricalDistribution = Extract<Distribution, { kind: 'grid' | 'choice' }>;
export type NumericDistribution = Exclude<Distribution, CategoricalDistribution>;

const MARK = Symbol.for('lernen.search.distribution');
type Marked = Distribution & { readonly [MARK]: true };

function mark<D extends Distribution>(d: D): D {
  return Object.freeze(Object.assign(d, { [MARK]: true as const }));
}

/** Values tried in order by the grid sampler (a categorical for random and TPE). */
export function grid<T extends Categorical>(values: readonly T[]): Distribution {
  return mark({ kind: 'grid', values: Array.isArray(values) ? [...values] : (values as never) });
}
/** A categorical choice: names of optimizers or losses, functions, any JSON scalars. */
export function choice<T extends Categorical>(values: readonly T[]): Distribution {
  return mark({ kind: 'choice', values: Array.isArray(values) ? [...values] : (values as never) });
}
/** Uniform on [low, high). */
export function uniform(low: number, high: number): Distribution {
  return mark({ kind: 'uniform', low, high });
}
/** Log-uniform on [low, high), 0 < low < high. */
export function logUniform(low: number, high: number): Distribution {
  return mark({ kind: 'logUniform', low, high });
}
/** Uniform on the integers low..high (both included). */
export function intUniform(low: number, high: number): Distribution {
  return mark({ kind: 'intUniform', low, high });
}

/** What `Space.from` accepts: distributions, plain arrays (grids), scalars (fixed values) or JSON forms. */
export type SpaceInput = Record<string, Distribution | readonly Categorical[] | Categorical | Record<string, unknown>>;

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const JSON_FORMS = ['grid', 'choice', 'uniform', 'logUniform', 'intUniform'] as const;
/** The grid sampler enumerates an intUniform with at most this many values. */
export const MAX_ENUMERATED_INT = 10_000;

function describe(v: unknown): string {
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  if (typeof v === 'object' && v !== null) { try { return JSON.stringify(v); } catch { return String(v); } }
  return String(v);
}

function toDistribution(name: string, raw: unknown): Distribution {
  const fail = (msg: string): never => { throw new SearchError(`space: parameter '${name}': ${msg}`); };
  if (typeof raw === 'object' && raw !== null && (raw as Marked)[MARK]) return raw as Distribution;
  if (Array.isArray(raw)) return { kind: 'grid', values: [...raw] as Categorical[] };
  if (raw === null || ['number', 'string', 'boolean', 'function'].includes(typeof raw)) {
    return { kind: 'grid', values: [raw as Categorical] };
  }
  if (typeof raw !== 'object') return fail(`expected an array of values, a fixed value or a distribution, got ${describe(raw)}`);
  const keys = Object.keys(raw as object);
  if (keys.length !== 1 || !JSON_FORMS.includes(keys[0] as never)) {
    return fail(`expected one of {"grid": [...]}, {"choice": [...]}, {"uniform": [a, b]}, {"logUniform": [a, b]}, {"intUniform": [a, b]}, got ${describe(raw)}`);
  }
  const kind = keys[0] as (typeof JSON_FORMS)[number];
  const arg = (raw as Record<string, unknown>)[kind];
  if (kind === 'grid' || kind === 'choice') {
    if (!Array.isArray(arg)) return fail(`${kind} expects an array of values, got ${describe(arg)}`);
    return { kind, values: [...arg] as Categorical[] };
  }
  if (!Array.isArray(arg) || arg.length !== 2) return fail(`${kind} expects [low, high], got ${describe(arg)}`);
  return { kind, low: arg[0] as number, high: arg[1] as number };
}

function check(name: string, d: Distribution): Distribution {
  const fail = (msg: string): never => { throw new SearchError(`space: parameter '${name}': ${msg}`); };
  switch (d.kind) {
    case 'grid':
    case 'choice': {
      if (!Array.isArray(d.values)) return fail(`${d.kind} expects an array of values, got ${describe(d.values)}`);
      if (d.values.length === 0) return fail(`${d.kind} has no values (an empty ${d.kind} leaves nothing to try)`);
      const seen = new Set<string>();
      for (const v of d.values) {
        const t = typeof v;
        if (t === 'number' && !Number.isFinite(v)) fail(`${d.kind} value ${describe(v)} is not a finite number`);
        if (t === 'function' && !(v as () => unknown).name) fail(`${d.kind} holds an anonymous function; give each function a name (it is stored by name)`);
        if (!(v === null || t === 'number' || t === 'string' || t === 'boolean' || t === 'function')) {
          fail(`${d.kind} values must be numbers, strings, booleans, null or named functions, got ${describe(v)}`);
        }
        const key = `${t}:${t === 'function' ? (v as () => unknown).name : String(v)}`;
        if (seen.has(key)) fail(`${d.kind} lists ${describe(v)} twice`);
        seen.add(key);
      }
      const stored = d.values.map((v) => (typeof v === 'function' ? v.name : v));
      if (new Set(stored.map((v) => JSON.stringify(v))).size !== stored.length) {
        fail(`${d.kind} has a function whose name equals another value (${describe(stored)}); values are stored by name`);
      }
      return d;
    }
    case 'uniform':
    case 'logUniform':
    case 'intUniform': {
      const { low, high } = d;
      if (typeof low !== 'number' || typeof high !== 'number' || !Number.isFinite(low) || !Number.isFinite(high)) {
        return fail(`${d.kind}(a, b) needs finite numbers, got (${describe(low)}, ${describe(high)})`);
      }
      if (!(low < high)) return fail(`${d.kind}(a, b) needs a < b, got (${low}, ${high})`);
      if (d.kind === 'logUniform' && !(low > 0)) return fail(`logUniform(a, b) needs 0 < a, got a = ${low}`);
      if (d.kind === 'intUniform' && (!Number.isSafeInteger(low) || !Number.isSafeInteger(high))) {
        return fail(`intUniform(a, b) needs integers, got (${low}, ${high})`);
      }
      return d;
    }
    default:
      return fail(`unknown distribution ${describe(d)}`);
  }
}

/** A validated, ordered search space. */
export class Space {
  readonly names: readonly string[];
  readonly dists: Readonly<Record<string, Distribution>>;

  private constructor(entries: Array<[string, Distribution]>) {
    this.names = entries.map(([n]) => n);
    this.dists = Object.freeze(Object.fromEntries(entries));
  }

  /** Validates a space given in code or parsed from JSON; throws a SearchError naming the parameter. */
  static from(input: SpaceInput | Space | string): Space {
    if (input instanceof Space) return input;
    let obj: unknown = input;
    if (typeof input === 'string') {
      try { obj = JSON.parse(input); } catch (e) { throw new SearchError(`space: not valid JSON: ${(e as Error).message}`); }
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new SearchError(`space: expected an object of parameters, got ${describe(obj)}`);
    }
    const entries = Object.entries(obj as Record<string, unknown>);
    if (entries.length === 0) throw new SearchError('space: no parameters (an empty space has nothing to search)');
    return new Space(entries.map(([name, raw]) => {
      if (!PARAM_NAME.test(name)) throw new SearchError(`space: parameter name ${JSON.stringify(name)} must match ${PARAM_NAME}`);
      return [name, check(name, toDistribution(name, raw))];
    }));
  }

  get(name: string): Distribution {
    const d = this.dists[name];
    if (!d) throw new SearchError(`space has no parameter '${name}'`);
    return d;
  }

  /** The JSON form (functions as their names); `Space.from(JSON.stringify(s.toJSON()))` gives the same stored values. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const n of this.names) {
      const d = this.dists[n]!;
      if (d.kind === 'grid' || d.kind === 'choice') {
        const vals = d.values.map((v) => (typeof v === 'function' ? v.name : v));
        out[n] = d.kind === 'grid' ? vals : { choice: vals };
      } else {
        out[n] = { [d.kind]: [d.low, d.high] };
      }
    }
    return out;
  }

  /** Canonical JSON, to compare a space with the one a study was created with. */
  canonical(): string {
    return JSON.stringify(this.toJSON());
  }

  /** The stored values of a categorical parameter (functions replaced by their names). */
  static storedValues(d: CategoricalDistribution): ParamValue[] {
    return d.values.map((v) => (typeof v === 'function' ? v.name : v)) as ParamValue[];
  }

  /** Values the grid sampler enumerates for `name`, or null when the distribution is continuous. */
  gridValues(name: string): ParamValue[] | null {
    const d = this.get(name);
    if (d.kind === 'grid' || d.kind === 'choice') return Space.storedValues(d);
    if (d.kind === 'intUniform' && d.high - d.low + 1 <= MAX_ENUMERATED_INT) {
      return Array.from({ length: d.high - d.low + 1 }, (_, i) => d.low + i);
    }
    return null;
  }

  /**
   * Number of grid points (product over parameters, first parameter slowest), or null when a
   * parameter is continuous.
   */
  gridSize(): number | null {
    let n = 1;
    for (const name of this.names) {
      const v = this.gridValues(name);
      if (!v) return null;
      n *= v.length;
    }
    return n;
  }

  /** The parameters of grid point `index` (row-major: the last parameter varies fastest). */
  gridPoint(index: number): Params {
    const out: Params = {};
    let rest = index;
    for (let i = this.names.length - 1; i >= 0; i--) {
      const name = this.names[i]!;
      const vals = this.gridValues(name)!;
      out[name] = vals[rest % vals.length]!;
      rest = Math.floor(rest / vals.length);
    }
    return Object.fromEntries(this.names.map((n) => [n, out[n]!]));
  }

  /** The grid index of `params`, or -1 when they are not a grid point. */
  gridIndex(params: Params): number {
    let idx = 0;
    for (const name of this.names) {
      const vals = this.gridValues(name);
      if (!vals) return -1;
      const k = vals.findIndex((v) => v === params[name]);
      if (k < 0) return -1;
      idx = idx * vals.length + k;
    }
    return idx;
  }

  /** Whether `value` is a legal stored value of parameter `name`. */
  contains(name: string, value: unknown): boolean {
    const d = this.dists[name];
    if (!d) return false;
    switch (d.kind) {
      case 'grid':
      case 'choice': return Space.storedValues(d).some((v) => v === value);
      case 'uniform': return typeof value === 'number' && value >= d.low && value <= d.high;
      case 'logUniform': return typeof value === 'number' && value >= d.low && value <= d.high;
      case 'intUniform': return Number.isInteger(value) && (value as number) >= d.low && (value as number) <= d.high;
      default: return false;
    }
  }

  /** Stored parameters → the values the objective sees (function names back to functions). */
  resolve(params: Params): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(params)) {
      const d = this.dists[name];
      if (d && (d.kind === 'grid' || d.kind === 'choice')) {
        const hit = d.values.find((c) => (typeof c === 'function' ? c.name === v : c === v));
        out[name] = hit === undefined ? v : hit;
      } else {
        out[name] = v;
      }
    }
    return out;
  }
}

/** Builds and validates a space (alias of `Space.from`). */
export function space(input: SpaceInput | Space | string): Space {
  return Space.from(input);
}
