/**
 * Optimizer base, structured as torch/optim/optimizer.py: `paramGroups` (each a list of
 * parameters plus its own hyperparameters, missing ones filled from `defaults`) and `state`
 * (per-parameter buffers such as momentum, keyed by the parameter tensor). Subclasses
 * implement `step()` as one kernel call per parameter.
 */
import { enableGrad } from '../tensor/autograd';
import { LernenError, ValueError, fmtShape, quote, quoteList } from '../tensor/errors';
import { Tensor } from '../tensor/tensor';

/** A hyperparameter value (JSON-serialisable). */
export type HyperValue = number | boolean | string | null | readonly number[];

/** A parameter group: its parameters and hyperparameters (lr and the optimizer's own). */
export type ParamGroup<H> = H & { params: Tensor[]; [key: string]: unknown };

/** A group as passed in: any hyperparameter left out comes from the optimizer's defaults. */
export type ParamGroupInput<H> = Partial<H> & { params: Iterable<Tensor> };

/** What an optimizer accepts: a list of tensors (one group) or a list of groups. */
export type Params<H> = Iterable<Tensor> | Iterable<ParamGroupInput<H>>;

/** A closure that re-evaluates the model and returns the loss (tensor or number). */
export type Closure = () => Tensor | number;

/** Per-parameter optimizer state: buffers (tensors of the parameter's shape) and counters. */
export type ParamState = Record<string, Tensor | number>;

/**
 * An optimizer's state as plain data (PyTorch's layout, camelCase): `state` keyed by the
 * parameter's index across all groups, `paramGroups` with the hyperparameters and the
 * indices of their parameters. lernen adds `type`, the optimizer that wrote it (checked on
 * load when present, so SGD state is not taken for Adam's), and `extra`, optimizer-wide state
 * beyond the per-parameter records (OnePlusOneES's counters).
 */
export interface OptimizerStateDict {
  type?: string;
  state: Record<string, ParamState>;
  paramGroups: Array<Record<string, unknown> & { params: number[] }>;
  extra?: Record<string, HyperValue>;
}

/**
 * The per-parameter state entries an optimizer keeps: a `buffer` (a tensor of the
 * parameter's shape) or a `counter` (an integer ≥ 0, such as Adam's step); `required` entries
 * are in every parameter's record once it has one.
 */
export type StateSpec = Readonly<Record<string, { kind: 'buffer' | 'counter'; required?: boolean }>>;

/**
 * Group keys that learning-rate schedulers add (LRScheduler's initialLr; OneCycleLR's maxLr,
 * minLr, maxMomentum, baseMomentum): a loaded group may carry them or not.
 */
export const SCHEDULER_KEYS: ReadonlySet<string> = new Set(['initialLr', 'maxLr', 'minLr', 'maxMomentum', 'baseMomentum']);

/** Loading an optimizer state failed validation (the optimizer was left unchanged). */
export class OptimizerStateError extends LernenError {}

export function invalid(what: string, v: unknown): never {
  throw new ValueError(`Invalid ${what}: ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`);
}

/** Throws "Invalid learning rate: -1" etc. unless v is a finite number ≥ 0. */
export function checkNonNegative(what: string, v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) invalid(what, v);
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly defaults: Partial<H>;
  paramGroups: Array<ParamGroup<H>> = [];
  state = new Map<Tensor, ParamState>();
  /**
   * How many parameter values the last step() wrote that are NaN or ±Infinity, when the step
   * counted them (SGD, Adam, AdamW, RMSprop: their kernels count in the update pass); null when
   * unknown. fit() trusts it (and skips scanning the parameters after a clean step) only while
   * `step` is the built-in method itself (`countsNonFinite`): a subclass or wrapper that
   * overrides step() may change parameters after the count.
   */
  lastStepNonFinite: number | null = null;

  constructor(params: Params<H>, defaults: Partial<H>) {
    this.defaults = defaults;
    if (params instanceof Tensor) {
      throw new ValueError('params argument given to the optimizer should be an iterable of Tensors or of param groups, but got a Tensor');
    }
    if (params === null || params === undefined || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new ValueError(`params argument given to the optimizer should be an iterable of Tensors or of param groups, but got ${String(params)}`);
    }
    const list = [...(params as Iterable<Tensor | ParamGroupInput<H>>)];
    if (list.length === 0) throw new ValueError('optimizer got an empty parameter list');
    const groups = list[0] instanceof Tensor ? [{ params: list as Tensor[] } as unknown as ParamGroupInput<H>] : (list as ParamGroupInput<H>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Checks one group's hyperparameters; throws a ValueError naming the bad value. */
  protected abstract validateGroup(group: ParamGroup<H>): void;

  /**
   * The optimizer named in its state dicts: the class name, unless a built-in optimizer's
   * subclass inherits the built-in's name (its state has the same layout).
   */
  protected get stateType(): string { return this.constructor.name; }

  /** The per-parameter state this optimizer keeps; null: any buffers and finite numbers. */
  protected stateSpec(): StateSpec | null { return null; }

  /** Optimizer-wide state saved as the state dict's `extra` (none by default). */
  protected extraState(): Record<string, HyperValue> | undefined { return undefined; }

  /**
   * Checks a state dict's `extra` (undefined when it has none) and returns the function that
   * applies it, run only after everything else validated; throws a message otherwise.
   */
  protected restoreExtraState(extra: Record<string, unknown> | undefined): () => void {
    if (extra !== undefined) throw new ValueError(`unexpected optimizer-wide state ${quoteList(Object.keys(extra))}`);
    return () => {};
  }

  /** Adds a group (e.g. layers unfrozen later); missing hyperparameters come from defaults. */
  addParamGroup(input: ParamGroupInput<H>): void {
    if (typeof input !== 'object' || input === null) throw new ValueError(`param group must be an object, got ${String(input)}`);
    const src = input.params as unknown;
    if (src instanceof Tensor) throw new ValueError('param group "params" must be an iterable of Tensors, not a single Tensor');
    if (!src || typeof (src as Iterable<unknown>)[Symbol.iterator] !== 'function') throw new ValueError('param group must have an iterable "params"');
    const params = [...(src as Iterable<unknown>)];
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new ValueError(`optimizer can only optimize Tensors, but item ${i} of params is ${typeof p}`);
      if (!p.isLeaf) throw new ValueError("can't optimize a non-leaf Tensor");
    });
    if (new Set(params).size !== params.length) throw new ValueError('optimizer parameter group contains the same parameter more than once');
    const group: Record<string, unknown> = { ...input, params };
    for (const [k, v] of Object.entries(this.defaults)) {
      if (group[k] === undefined) group[k] = Array.isArray(v) ? [...v] : v;
    }
    if (group.lr === undefined) {
      throw new ValueError("parameter group didn't specify a value of required optimization parameter lr");
    }
    for (const other of this.paramGroups) {
      if (other.params.some((p) => params.includes(p as Tensor))) {
        throw new ValueError('some parameters appear in more than one parameter group');
      }
    }
    this.validateGroup(group as ParamGroup<H>);
    this.paramGroups.push(group as ParamGroup<H>);
  }

  /** Clears gradients: null (default, PyTorch's set_to_none) or filled with zeros. */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (setToNone) p.grad = null;
        else if (p.grad) p.grad.data.fill(0);
      }
    }
  }

  /**
   * One update of every parameter that has a gradient (parameters with grad null are
   * skipped). With a closure, it is called first (gradients enabled) and its loss returned.
   */
  abstract step(closure?: Closure): number | undefined;

  /** Runs a closure with gradients enabled and returns its loss as a number. */
  protected evalClosure(closure: Closure): number {
    const l = enableGrad(closure);
    return typeof l === 'number' ? l : l.item();
  }

  /** The parameter's state record (created empty on first use). */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = {}));
    return s;
  }

  /** A zero buffer of p's shape stored as state[key] (created on first use). */
  protected buffer(p: Tensor, key: string): { t: Tensor; fresh: boolean } {
    const s = this.stateOf(p);
    const cur = s[key];
    if (cur instanceof Tensor) return { t: cur, fresh: false };
    const t = new Tensor(new Float32Array(p.size), p.shape);
    s[key] = t;
    return { t, fresh: true };
  }

  /** The gradient's values, checked against the parameter's size. */
  protected gradOf(p: Tensor): Float32Array | null {
    if (!p.grad) return null;
    if (p.grad.size !== p.size) {
      throw new ValueError(`${this.constructor.name}.step: gradient shape ${fmtShape(p.grad.shape)} does not match parameter shape ${fmtShape(p.shape)}`);
    }
    return p.grad.data;
  }

  /**
   * The optimizer's state (buffers share storage with the optimizer, as PyTorch; pass
   * `{ copy: true }` for a snapshot) and hyperparameters. Save it with `optim.save`.
   */
  stateDict(opts: { copy?: boolean } = {}): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      const ids = params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return { ...JSON.parse(JSON.stringify(hyper)), params: ids } as Record<string, unknown> & { params: number[] };
    });
    const state: Record<string, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      // Null-prototype records, as optim.load makes them: a key named __proto__ stays a key.
      const rec: ParamState = Object.create(null) as ParamState;
      for (const [k, v] of Object.entries(s)) rec[k] = v instanceof Tensor ? new Tensor(opts.copy ? v.data.slice() : v.data, v.shape) : v;
      state[String(i)] = rec;
    }
    const extra = this.extraState();
    return { type: this.stateType, state, paramGroups, ...(extra ? { extra } : {}) };
  }

  /**
   * Restores state and hyperparameters (lr etc. come from the saved groups, as PyTorch).
   * Validates first, and on any error throws an OptimizerStateError and changes nothing: the
   * optimizer type (when recorded), the group count and sizes, each group's hyperparameter
   * names (none missing, none unknown; scheduler keys may come or go) and values, each
   * per-parameter entry (known names, buffers of the parameter's shape, counters integers
   * ≥ 0) and the optimizer-wide state. Accepts what `optim.load` returns.
   */
  loadStateDict(sd: OptimizerStateDict | { stateDict: OptimizerStateDict; meta: Record<string, unknown>; file?: string }): void {
    const loaded = sd && typeof sd === 'object' && 'stateDict' in sd && !('paramGroups' in sd) ? sd : null;
    const d: OptimizerStateDict = loaded ? loaded.stateDict : (sd as OptimizerStateDict);
    // What optim.load returns names its file: errors then say which file does not fit.
    const from = typeof loaded?.file === 'string' ? `${loaded.file}: ` : '';
    // Typed explicitly, so that a call narrows like a throw.
    const fail: (msg: string) => never = (msg) => { throw new OptimizerStateError(`${from}${this.constructor.name}.loadStateDict: ${msg} (optimizer unchanged)`); };
    if (!d || typeof d !== 'object' || !Array.isArray(d.paramGroups) || typeof d.state !== 'object' || d.state === null) {
      fail('expected { state, paramGroups }');
    }
    if (d.type !== undefined && d.type !== this.stateType) {
      fail(`the state was saved by ${quote(d.type)}, this optimizer is ${this.stateType}`);
    }
    if (d.paramGroups.length !== this.paramGroups.length) fail('loaded state dict has a different number of parameter groups');
    const byIndex: Tensor[] = [];
    d.paramGroups.forEach((g, gi) => {
      const own = this.paramGroups[gi]!;
      if (!g || !Array.isArray(g.params) || g.params.length !== own.params.length) {
        fail(`loaded state dict contains a parameter group that doesn't match the size of optimizer's group ${gi}`);
      }
      const known = Object.keys(own).filter((k) => k !== 'params' && own[k] !== undefined);
      const missing = known.filter((k) => !SCHEDULER_KEYS.has(k) && !Object.prototype.hasOwnProperty.call(g, k));
      const unknown = Object.keys(g).filter((k) => k !== 'params' && !SCHEDULER_KEYS.has(k) && !known.includes(k));
      if (missing.length || unknown.length) {
        fail(`group ${gi} does not have this optimizer's hyperparameters (${[
          ...(unknown.length ? [`unknown: ${quoteList(unknown)}`] : []), ...(missing.length ? [`missing: ${quoteList(missing)}`] : []),
        ].join('; ')}); was it saved by another optimizer?`);
      }
      for (const k of SCHEDULER_KEYS) {
        const v = (g as Record<string, unknown>)[k];
        if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) fail(`group ${gi} has an invalid ${k} ${quote(v)}`);
      }
      g.params.forEach((id, j) => {
        if (!Number.isInteger(id) || id < 0) fail(`group ${gi} has an invalid parameter index ${quote(id)}`);
        byIndex[id] = own.params[j]!;
      });
    });
    const spec = this.stateSpec();
    const newState = new Map<Tensor, ParamState>();
    for (const [key, rec] of Object.entries(d.state)) {
      const p = byIndex[Number(key)];
      if (!p || String(Number(key)) !== key) fail(`state refers to parameter ${quote(key)}, which no group contains`);
      if (typeof rec !== 'object' || rec === null) fail(`state of parameter ${key} is not an object`);
      // Null-prototype: an entry named __proto__ stays an ordinary key.
      const copy: ParamState = Object.create(null) as ParamState;
      for (const [k, v] of Object.entries(rec)) {
        const kind = spec ? (Object.prototype.hasOwnProperty.call(spec, k) ? spec[k]!.kind : undefined) : v instanceof Tensor ? 'buffer' : 'number';
        if (kind === undefined) fail(`state of parameter ${key} has an unknown entry ${quote(k)} (${this.stateType} keeps ${quoteList(Object.keys(spec!))})`);
        if (kind === 'buffer') {
          if (!(v instanceof Tensor)) fail(`state ${quote(k)} of parameter ${key} is not a Tensor`);
          if (v.size !== p.size || v.ndim !== p.ndim || v.shape.some((s, i) => s !== p.shape[i])) {
            fail(`state ${quote(k)} of parameter ${key} has shape ${fmtShape(v.shape)}, the parameter has ${fmtShape(p.shape)}`);
          }
          copy[k] = new Tensor(v.data.slice(), p.shape);
        } else if (kind === 'counter') {
          if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`state ${quote(k)} of parameter ${key} must be an integer ≥ 0, got ${quote(v)}`);
          copy[k] = v as number;
        } else {
          if (typeof v !== 'number' || !Number.isFinite(v)) fail(`state ${quote(k)} of parameter ${key} is neither a Tensor nor a finite number`);
          copy[k] = v as number;
        }
      }
      if (spec) {
        const absent = Object.keys(spec).filter((k) => spec[k]!.required && !Object.prototype.hasOwnProperty.call(copy, k));
        if (absent.length) fail(`state of parameter ${key} lacks ${quoteList(absent)}`);
      }
      newState.set(p, copy);
    }
    const hypers = d.paramGroups.map((g) => {
      const { params: _ignored, ...h } = g;
      return JSON.parse(JSON.stringify(h)) as Record<string, unknown>;
    });
    const candidates = this.paramGroups.map((own, gi) => ({ ...own, ...hypers[gi], params: own.params }) as ParamGroup<H>);
    for (const c of candidates) {
      try {
        this.validateGroup(c);
      } catch (e) {
        fail(`a loaded parameter group is invalid: ${(e as Error).message}`);
      }
    }
    const extra = d.extra;
    if (extra !== undefined && (typeof extra !== 'object' || extra === null || Array.isArray(extra))) fail('"extra" is not an object');
    let applyExtra: () => void = () => {};
    try {
      applyExtra = this.restoreExtraState(extra);
    } catch (e) {
      fail((e as Error).message);
    }
    this.paramGroups = candidates;
    this.state = newState;
    applyExtra();
  }
}

/**
 * Adds a kernel's count of non-finite values to a running total; a backend that returns no
 * count (an older or custom one) makes the total unknown (null).
 */
export function addCount(total: number | null, n: unknown): number | null {
  return total !== null && typeof n === 'number' ? total + n : null;
}

/** The built-in step() methods that set lastStepNonFinite from their kernels' counts. */
export const COUNTING_STEPS = new WeakSet<object>();

/**
 * Whether `opt.lastStepNonFinite` can be trusted after `opt.step()`: its step is one of the
 * built-in counting methods, neither overridden by a subclass nor replaced on the instance.
 */
export function countsNonFinite(opt: { step?: unknown }): boolean {
  const step = opt.step;
  return typeof step === 'function' && COUNTING_STEPS.has(step);
}
