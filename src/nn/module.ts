/**
 * Module: the base of every layer. A module owns parameters (tensors the optimizer updates),
 * buffers (state such as BatchNorm's running statistics: saved, but not trained) and child
 * modules, in registration order, as PyTorch's `nn.Module` does.
 *
 * Registration is explicit (`registerParameter`, `registerBuffer`, `registerModule`) or, for
 * user subclasses, by assignment: an own property (not starting with `_`) that holds a Module
 * is a child, and one that holds a Tensor with `requiresGrad` is a parameter. Buffers must be
 * registered explicitly.
 *
 * ```ts
 * class Net extends nn.Module {
 *   fc1 = new nn.Linear(784, 128);
 *   fc2 = new nn.Linear(128, 10);
 *   forward(x: Tensor) { return this.fc2.call(this.fc1.call(x).relu()); }
 * }
 * ```
 */
import { LernenError, ValueError, fmtShape, quote, quoteList } from '../tensor/errors';
import { Tensor } from '../tensor/tensor';

/** Named tensors: a model's parameters and buffers, keyed like PyTorch (`"0.weight"`). */
export type StateDict = Record<string, Tensor>;

/** What `nn.load` returns; `loadStateDict` accepts it directly. */
export interface LoadedState {
  stateDict: StateDict;
  meta: Record<string, unknown>;
  /** The file it was read from (nn.load sets it): loadStateDict's errors name it. */
  file?: string;
}

/** loadStateDict found missing/unexpected keys or wrong shapes (nothing was changed). */
export class StateDictError extends LernenError {}

function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new ValueError(`${kind} name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
  }
}

function addIndent(s: string, n: number): string {
  const lines = s.split('\n');
  return [lines[0], ...lines.slice(1).map((l) => ' '.repeat(n) + l)].join('\n');
}

/** True for the `{ stateDict, meta }` object that `nn.load` returns. */
export function isLoadedState(x: unknown): x is LoadedState {
  return typeof x === 'object' && x !== null && 'stateDict' in x && 'meta' in x
    && !((x as Record<string, unknown>).stateDict instanceof Tensor);
}

export abstract class Module {
  /** Training mode (dropout active, batch statistics); set with train()/eval(). */
  training = true;
  /** @internal */
  _parameters = new Map<string, Tensor | null>();
  /** @internal */
  _buffers = new Map<string, Tensor>();
  /** @internal */
  _modules = new Map<string, Module | null>();

  /** The computation. Call modules with `call(x)` (it runs forward). */
  abstract forward(x: Tensor, ...rest: any[]): Tensor;

  /** Runs forward (the PyTorch `module(x)`). */
  call(x: Tensor, ...rest: any[]): Tensor {
    return this.forward(x, ...rest);
  }

  // ---------------------------------------------------------------- registration
  /** Adds a parameter (null registers an absent one, e.g. a disabled bias). Returns it. */
  registerParameter<T extends Tensor | null>(name: string, t: T): T {
    checkName('parameter', name);
    if (t !== null && !(t instanceof Tensor)) throw new ValueError(`registerParameter: '${name}' must be a Tensor or null`);
    if (this._buffers.has(name) || this._modules.has(name)) throw new ValueError(`registerParameter: '${name}' is already a buffer or module`);
    if (t && !t.isLeaf) throw new ValueError(`registerParameter: '${name}' must be a leaf tensor (create it, do not compute it)`);
    if (t) t.requiresGrad = true;
    this._parameters.set(name, t);
    return t;
  }

  /** Adds a buffer: state saved in stateDict() but not returned by parameters(). Returns it. */
  registerBuffer(name: string, t: Tensor): Tensor {
    checkName('buffer', name);
    if (!(t instanceof Tensor)) throw new ValueError(`registerBuffer: '${name}' must be a Tensor`);
    if (this._parameters.has(name) || this._modules.has(name)) throw new ValueError(`registerBuffer: '${name}' is already a parameter or module`);
    this._buffers.set(name, t);
    return t;
  }

  /** Adds a child module. Returns it. */
  registerModule<M extends Module | null>(name: string, m: M): M {
    checkName('module', name);
    if (m !== null && !(m instanceof Module)) throw new ValueError(`registerModule: '${name}' must be a Module or null`);
    if (this._parameters.has(name) || this._buffers.has(name)) throw new ValueError(`registerModule: '${name}' is already a parameter or buffer`);
    this._modules.set(name, m);
    return m;
  }

  /** Picks up children and parameters assigned as own properties (see the class doc). */
  private _sync(): void {
    for (const key of Object.keys(this)) {
      if (key.startsWith('_') || key === 'training') continue;
      const v = (this as Record<string, unknown>)[key];
      if (v instanceof Module) {
        if (!this._parameters.has(key) && !this._buffers.has(key) && this._modules.get(key) !== v) this._modules.set(key, v);
      } else if (v instanceof Tensor) {
        if (this._buffers.has(key)) this._buffers.set(key, v);
        else if (!this._modules.has(key) && (this._parameters.has(key) || v.requiresGrad)) this._parameters.set(key, v);
      } else if (v === null) {
        if (this._parameters.has(key)) this._parameters.set(key, null);
        if (this._modules.has(key)) this._modules.set(key, null);
      }
    }
  }

  // ---------------------------------------------------------------- traversal
  /** Direct children as [name, module]. */
  namedChildren(): Array<[string, Module]> {
    this._sync();
    const out: Array<[string, Module]> = [];
    for (const [k, m] of this._modules) if (m) out.push([k, m]);
    return out;
  }

  children(): Module[] { return this.namedChildren().map(([, m]) => m); }

  /** This module and all below it (each once), as [dotted name, module]; this one is named ''. */
  namedModules(prefix = '', memo = new Set<Module>()): Array<[string, Module]> {
    if (memo.has(this)) return [];
    memo.add(this);
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [k, m] of this.namedChildren()) out.push(...m.namedModules(prefix ? `${prefix}.${k}` : k, memo));
    return out;
  }

  modules(): Module[] { return this.namedModules().map(([, m]) => m); }

  /** Trainable tensors as [dotted name, tensor], each tensor once (shared weights appear once). */
  namedParameters(prefix = ''): Array<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const out: Array<[string, Tensor]> = [];
    for (const [mp, m] of this.namedModules(prefix)) {
      m._sync();
      for (const [k, t] of m._parameters) {
        if (!t || seen.has(t)) continue;
        seen.add(t);
        out.push([mp ? `${mp}.${k}` : k, t]);
      }
    }
    return out;
  }

  parameters(): Tensor[] { return this.namedParameters().map(([, t]) => t); }

  /** Buffers (running statistics, counters) as [dotted name, tensor]. */
  namedBuffers(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [mp, m] of this.namedModules(prefix)) {
      m._sync();
      for (const [k, t] of m._buffers) out.push([mp ? `${mp}.${k}` : k, t]);
    }
    return out;
  }

  buffers(): Tensor[] { return this.namedBuffers().map(([, t]) => t); }

  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((a, t) => a + t.size, 0);
  }

  // ---------------------------------------------------------------- modes and helpers
  /** Sets training mode on this module and every descendant. Returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: dropout off, BatchNorm uses running statistics. Returns this. */
  eval(): this { return this.train(false); }

  /** Clears every parameter's gradient: null (PyTorch's set_to_none default) or zero-filled. */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (setToNone) p.grad = null;
      else if (p.grad) p.grad.data.fill(0);
    }
  }

  /** Calls fn on every child (recursively, children first) and then on this. Returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Penalty this module recorded in its last forward (see ActivityRegularization); null when
   * it adds nothing. Override in layers that regularise their activations.
   */
  penalty(): Tensor | null { return null; }

  /**
   * Sum of the penalties recorded in the last forward by this module and all below it, to add
   * to the training loss. A zero scalar when there are none (e.g. in eval mode).
   */
  regularizationLoss(): Tensor {
    let total: Tensor | null = null;
    for (const m of this.modules()) {
      const p = m.penalty();
      if (p) total = total ? total.add(p) : p;
    }
    return total ?? new Tensor(new Float32Array(1), []);
  }

  // ---------------------------------------------------------------- state
  /**
   * Parameters and buffers by dotted name (PyTorch's keys in camelCase: `weight`, `bias`,
   * `runningMean`, `runningVar`, `numBatchesTracked`; children of Sequential `"0.weight"`).
   * Order: a module's parameters, then its buffers, then its children's entries. The tensors
   * share storage with the model (as PyTorch's state_dict); pass `{ copy: true }` for a
   * snapshot that later training does not change.
   */
  stateDict(opts: { copy?: boolean } = {}): StateDict {
    const out: StateDict = {};
    const visit = (m: Module, prefix: string): void => {
      m._sync();
      for (const [k, t] of m._parameters) if (t) out[prefix + k] = snapshot(t, opts.copy);
      for (const [k, t] of m._buffers) out[prefix + k] = snapshot(t, opts.copy);
      for (const [k, c] of m._modules) if (c) visit(c, `${prefix}${k}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * Copies values from `state` into this model's parameters and buffers (in place: tensors
   * held elsewhere, e.g. by an optimizer, see the new values). Validates everything first and
   * throws a StateDictError listing every missing key, unexpected key and shape mismatch, so
   * the model is left unchanged on error. `strict: false` ignores missing and unexpected keys
   * (shapes are still checked).
   */
  loadStateDict(state: StateDict | LoadedState, opts: { strict?: boolean } = {}): { missingKeys: string[]; unexpectedKeys: string[] } {
    const strict = opts.strict ?? true;
    const sd: StateDict = isLoadedState(state) ? state.stateDict : state;
    const from = isLoadedState(state) && typeof state.file === 'string' ? `${state.file}: ` : '';
    if (typeof sd !== 'object' || sd === null) throw new ValueError(`${from}loadStateDict: expected a record of tensors, got ${String(sd)}`);
    const own = this.stateDict();
    const ownKeys = Object.keys(own);
    const given = Object.keys(sd);
    const missingKeys = ownKeys.filter((k) => !Object.prototype.hasOwnProperty.call(sd, k));
    const unexpectedKeys = given.filter((k) => !Object.prototype.hasOwnProperty.call(own, k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys: ${quoteList(missingKeys)}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${quoteList(unexpectedKeys)}`);
    const copies: Array<[Tensor, Tensor]> = [];
    for (const k of ownKeys) {
      if (!Object.prototype.hasOwnProperty.call(sd, k)) continue;
      const src = sd[k];
      const dst = own[k]!;
      if (!(src instanceof Tensor)) {
        problems.push(`value for ${quote(k)} is not a Tensor`);
      } else if (src.shape.length !== dst.shape.length || src.shape.some((d, i) => d !== dst.shape[i])) {
        problems.push(`size mismatch for ${quote(k)}: the state has shape ${fmtShape(src.shape)}, the model has ${fmtShape(dst.shape)}`);
      } else {
        copies.push([dst, src]);
      }
    }
    if (problems.length) {
      throw new StateDictError(`${from}loadStateDict: error(s) in loading the state dict for ${this.constructor.name} (model unchanged):\n  ${problems.join('\n  ')}`);
    }
    for (const [dst, src] of copies) if (dst.data !== src.data) dst.data.set(src.data);
    return { missingKeys, unexpectedKeys };
  }

  // ---------------------------------------------------------------- printing
  /** The configuration shown inside the parentheses of toString(), as PyTorch's extra_repr. */
  extraRepr(): string { return ''; }

  /** A multi-line description like PyTorch's repr. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines = this.namedChildren().map(([k, m]) => `(${k}): ${addIndent(m.toString(), 2)}`);
    const lines = [...extraLines, ...childLines];
    let s = `${this.constructor.name}(`;
    if (lines.length) {
      s += extraLines.length === 1 && !childLines.length ? extraLines[0] : `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }
}

function snapshot(t: Tensor, copy?: boolean): Tensor {
  return new Tensor(copy ? t.data.slice() : t.data, t.shape);
}
