/**
 * NaN and ±Inf in training, found where they arise: the checks fit() runs each step (input
 * batch, gradients, parameters) and, when the loss of a step is not finite, the search for its
 * origin. That search runs only on the failure path, so a normal step pays nothing for it.
 */
import { backend } from '../backend';
import { Sequential } from '../nn/container';
import { Module } from '../nn/module';
import { noGrad } from '../tensor/autograd';
import { LernenError } from '../tensor/errors';
import { Generator, defaultGenerator } from '../tensor/random';
import { Tensor } from '../tensor/tensor';
import type { TrainableModel } from './fit';

/**
 * Where a non-finite value was found: the input batch, a layer's output in the forward pass
 * (`layer`), the loss, a gradient or a parameter (`parameter`, `layer`), e.g. "1.weight",
 * "1: Linear".
 */
export interface DivergenceSite {
  where: 'input' | 'output' | 'loss' | 'gradient' | 'parameter';
  parameter?: string;
  layer?: string;
}

/** Thrown when an input, a layer's output, the loss, a gradient or a parameter becomes NaN or infinite. */
export class DivergenceError extends LernenError {
  constructor(message: string, readonly epoch: number, readonly step: number, readonly lr: number,
    readonly site: DivergenceSite = { where: 'loss' }) {
    super(message);
  }
}

const sumOut = new Float32Array(1);
/** Index of the first NaN/±Inf in `d`, or -1. One vectorised pass; scans only on failure. */
export function firstNonFinite(d: Float32Array): number {
  if (d.length === 0) return -1;
  // The sum is finite iff no element is NaN or ±Inf (barring float overflow of the sum itself,
  // which the scan then resolves).
  backend().reduce('sum', d, 1, d.length, 1, sumOut);
  if (Number.isFinite(sumOut[0]!)) return -1;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return i;
  return -1;
}

/** How a module is named in messages: its dotted path and class, "1: Linear" ("the model: Net" for the root). */
function layerLabel(name: string, m: object): string {
  return `${name === '' ? 'the model' : name}: ${m.constructor.name}`;
}

/** "NaN at sample 5, element 3" for the flat index `i` of a batch tensor. */
function at(t: Tensor, i: number): string {
  const per = t.shape.length > 1 ? t.size / t.shape[0]! : 1;
  return `${t.data[i]} at sample ${Math.floor(i / per)}, element ${i % per}`;
}

/** [parameter name, layer description ("1: Linear"), tensor] for every parameter. */
export function parameterSites(model: TrainableModel): Array<[string, string | undefined, Tensor]> {
  const named = model.namedParameters ? model.namedParameters() : model.parameters().map((p, i) => [`parameter ${i}`, p] as [string, Tensor]);
  const mods = (model as { namedModules?(): Array<[string, object]> }).namedModules?.() ?? [];
  const layer = new Map(mods.map(([n, m]) => [n, layerLabel(n, m)]));
  return named.map(([name, p]) => [name, layer.get(name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : ''), p]);
}

export function checkTensors(sites: Array<[string, string | undefined, Tensor]>, what: 'gradient' | 'parameter', epoch: number, step: number, lr: number): void {
  for (const [name, layer, p] of sites) {
    const d = what === 'gradient' ? p.grad?.data : p.data;
    if (!d) continue;
    const i = firstNonFinite(d);
    if (i < 0) continue;
    const where = `${name}${layer ? ` (layer ${layer})` : ''}`;
    const msg = what === 'gradient'
      ? `the gradient of ${where} is ${d[i]} at index ${i} (lr ${lr}); lower the learning rate or clip gradients`
      : `the optimizer step made ${where} ${d[i]} at index ${i} (lr ${lr}); lower the learning rate`;
    throw new DivergenceError(`training diverged at epoch ${epoch}, step ${step}: ${msg}`, epoch, step, lr,
      { where: what, parameter: name, ...(layer ? { layer } : {}) });
  }
}

export function checkInput(x: Tensor, epoch: number, step: number, lr: number): void {
  const i = firstNonFinite(x.data);
  if (i < 0) return;
  throw new DivergenceError(`training stopped at epoch ${epoch}, step ${step}: the input batch holds ${at(x, i)} (lr ${lr}); the data is corrupt, not the model`,
    epoch, step, lr, { where: 'input' });
}

/** The first module whose output was not finite although its tensor inputs were. */
interface LayerFault { layer: string; output: Tensor; index: number }

const FOUND = Symbol('found');

/**
 * Runs `model.forward(x)` once more, without gradients and in the mode the failing step used,
 * checking every module's output as it returns; stops at the first module whose output holds a
 * NaN/±Inf although its inputs are finite (the innermost, earliest one: a module returns after
 * the modules it calls). Sequential fusion is switched off for the run so each layer is seen on
 * its own (fused and unfused runs give the same values). Buffers (BatchNorm statistics) and the
 * random streams (the default generator, any Generator a module holds) are put back afterwards:
 * the model is left as the failing step left it. Returns null when the re-run finds nothing (a
 * fault that does not reproduce) or fails in another way.
 */
function firstFaultyLayer(model: Module, x: Tensor): LayerFault | null {
  const mods = model.namedModules();
  const undo: Array<() => void> = [];
  for (const [, t] of model.namedBuffers()) { const copy = t.data.slice(); undo.push(() => t.data.set(copy)); }
  const gens = new Set<Generator>([defaultGenerator()]);
  for (const [, m] of mods) for (const v of Object.values(m)) if (v instanceof Generator) gens.add(v);
  for (const g of gens) { const s = g.state.slice(); undo.push(() => g.state.set(s)); }
  let fault: LayerFault | null = null;
  for (const [name, m] of mods) {
    if (m instanceof Sequential && m.fuse) { m.fuse = false; undo.push(() => { m.fuse = true; }); }
    const own = Object.prototype.hasOwnProperty.call(m, 'forward');
    const forward = m.forward;
    m.forward = function probe(this: Module, ...args: unknown[]): Tensor {
      const y = forward.apply(this, args as [Tensor]);
      if (y instanceof Tensor && args.every((a) => !(a instanceof Tensor) || firstNonFinite(a.data) < 0)) {
        const i = firstNonFinite(y.data);
        if (i >= 0) { fault = { layer: layerLabel(name, m), output: y, index: i }; throw FOUND; }
      }
      return y;
    };
    undo.push(() => { if (own) m.forward = forward; else delete (m as { forward?: unknown }).forward; });
  }
  try {
    noGrad(() => model.forward(x));
  } catch (e) {
    if (e !== FOUND) fault = null;
  } finally {
    for (const u of undo.reverse()) u();
  }
  return fault;
}

/** The parts a step's loss was summed from (null: not used). */
export interface LossParts {
  criterion: Tensor;
  penalty: Tensor | null;
  regularization: Tensor | null;
}

/**
 * The DivergenceError for a step whose loss `lv` is not finite, naming where the first
 * non-finite value arose: the input batch, the first layer whose output is not finite although
 * its input is (found by re-running the forward pass layer by layer, see firstFaultyLayer),
 * the model's output (a model that is not a Module, or a fault that did not reproduce), or,
 * with a finite output, the loss function, the weight penalty or the activity regularization.
 */
export function lossDivergence(model: TrainableModel, x: Tensor, out: Tensor, parts: LossParts, lv: number,
  epoch: number, step: number, lr: number): DivergenceError {
  const head = `training diverged at epoch ${epoch}, step ${step}: the loss is ${lv} (lr ${lr})`;
  const fail = (origin: string, site: DivergenceSite, advice = 'lower the learning rate') =>
    new DivergenceError(`${head}; ${origin}; ${advice}`, epoch, step, lr, site);
  const xi = firstNonFinite(x.data);
  if (xi >= 0) return fail(`the input batch holds ${at(x, xi)}`, { where: 'input' }, 'the data is corrupt, not the model');
  const oi = firstNonFinite(out.data);
  if (oi >= 0) {
    const f = model instanceof Module ? firstFaultyLayer(model, x) : null;
    if (f) {
      return fail(`the first non-finite value arose in layer ${f.layer}, whose input was finite: its output holds ${at(f.output, f.index)}`,
        { where: 'output', layer: f.layer });
    }
    return fail(`the model's output holds ${at(out, oi)}`, { where: 'output' });
  }
  const value = (t: Tensor | null) => { const i = t ? firstNonFinite(t.data) : -1; return i >= 0 ? t!.data[i] : undefined; };
  const c = value(parts.criterion), p = value(parts.penalty), r = value(parts.regularization);
  const origin = c !== undefined ? `the model's output is finite; the loss function returned ${c}`
    : p !== undefined ? `the model's output and the loss function are finite; the L1/L2 weight penalty is ${p}`
      : r !== undefined ? `the model's output and the loss function are finite; the activity regularization is ${r}`
        : 'the model\'s output and every part of the loss are finite; their sum overflowed';
  return fail(origin, { where: 'loss' });
}
