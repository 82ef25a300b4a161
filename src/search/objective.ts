import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SearchError } from './errors';
import type { Space } from './space';
import type { Trial } from './trial';

/**
 * An objective: runs one trial and returns its value (or nothing, to use the best value it
 * reported). Usually calls fit() with a callback that reports each epoch.
 */
export type ObjectiveFn = (trial: Trial) => number | void | Promise<number | void>;

/** An objective with what the search needs to know about it. */
export interface ObjectiveDef {
  run: ObjectiveFn;
  /** Throws a SearchError when the space names parameters or values the objective cannot use. */
  checkSpace?(space: Space): void;
  /**
   * Parameters that determine a trial's seconds per epoch (e.g. batchSize); trials with equal
   * values are taken to cost the same. Default: every parameter.
   */
  costParams?: readonly string[];
  /** Epochs a trial with these parameters plans to run, for budget checks. */
  plannedEpochs?(params: Readonly<Record<string, unknown>>, maxEpochs: number | null): number | null;
}

export type Objective = ObjectiveFn | ObjectiveDef;

/**
 * An objective that worker processes can re-create: a built-in one by name (`'mnist'`) or an
 * export of a module (`{ module: '/abs/path.js', export: 'objective' }`; with `options`, the
 * export is a factory called with them).
 */
export type ObjectiveSpec =
  | { name: 'mnist'; options?: Record<string, unknown> }
  | { module: string; export?: string; options?: Record<string, unknown> };

export function toDef(o: Objective): ObjectiveDef {
  if (typeof o === 'function') return { run: o };
  if (typeof o === 'object' && o !== null && typeof o.run === 'function') return o;
  throw new SearchError('objective must be a function of the trial or an object with a run(trial) method');
}

export function isSpec(o: unknown): o is ObjectiveSpec {
  return typeof o === 'string' || (typeof o === 'object' && o !== null && ('name' in o || 'module' in o) && !('run' in o));
}

/** Normalises 'mnist' / { name } / { module } and checks its shape. */
export function normaliseSpec(o: string | ObjectiveSpec): ObjectiveSpec {
  const s = (typeof o === 'string' ? { name: o } : o) as ObjectiveSpec;
  if ('module' in s) {
    if (typeof s.module !== 'string' || !s.module) throw new SearchError('objective: module must be a path');
    return { module: path.resolve(s.module), ...(s.export ? { export: s.export } : {}), ...(s.options ? { options: s.options } : {}) };
  }
  if ((s.name as string) !== 'mnist') throw new SearchError(`unknown built-in objective ${JSON.stringify(s.name)} (expected 'mnist', or { module, export })`);
  return { name: 'mnist', ...(s.options ? { options: s.options } : {}) };
}

// Keeps a real dynamic import() in the CommonJS build (tsc would turn import() into require()).
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const dynamicImport = new Function('s', 'return import(s)') as (s: string) => Promise<Record<string, unknown>>;

/** Loads the objective a spec names (in this process). */
export async function loadObjective(spec: ObjectiveSpec): Promise<ObjectiveDef> {
  if ('name' in spec) {
    const { mnistObjective } = await import('./mnist');
    return mnistObjective(spec.options ?? {});
  }
  let mod: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(spec.module) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw new SearchError(`objective module ${spec.module}: ${(e as Error).message}`);
    mod = await dynamicImport(pathToFileURL(spec.module).href);
  }
  const name = spec.export ?? 'objective';
  let exp = mod[name] ?? (name === 'objective' ? mod.default : undefined);
  if (exp === undefined) throw new SearchError(`objective module ${spec.module} has no export '${name}'`);
  if (spec.options) {
    if (typeof exp !== 'function') throw new SearchError(`objective module ${spec.module}: export '${name}' must be a factory (options were given)`);
    exp = (exp as (o: unknown) => unknown)(spec.options);
  }
  return toDef(exp as Objective);
}
