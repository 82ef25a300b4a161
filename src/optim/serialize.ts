/**
 * Optimizer state files, in the same binary format as `nn.save` (see src/nn/serialize.ts):
 * each state buffer is a tensor named "state.<param index>.<key>" (e.g. "state.0.expAvg");
 * the optimizer type, the hyperparameters (paramGroups), the per-parameter counters (e.g.
 * Adam's step, as `scalars`) and the optimizer-wide state (`extra`) go into the JSON header
 * under meta.optimizer, user metadata under meta.user.
 */
import fs from 'node:fs';
import { StateFileError, checkRegularFile, decodeState, encodeState, writeFileAtomic, type EncodeOptions } from '../nn/serialize';
import type { StateDict } from '../nn/module';
import { quote } from '../tensor/errors';
import { Tensor } from '../tensor/tensor';
import { Optimizer, type OptimizerStateDict, type ParamState } from './optimizer';

const NAME = /^state\.(0|[1-9]\d*)\.([A-Za-z_$][\w$]*)$/;

function toRecord(what: Optimizer<{ lr: number }> | OptimizerStateDict): OptimizerStateDict {
  return what instanceof Optimizer ? what.stateDict() : what;
}

/** Encodes an optimizer (or its stateDict) and user metadata as state-file bytes. */
export function encodeOptimizerState(what: Optimizer<{ lr: number }> | OptimizerStateDict,
  meta: Record<string, unknown> = {}, opts: EncodeOptions = {}): Buffer {
  const sd = toRecord(what);
  const tensors: StateDict = {};
  const scalars: Record<string, Record<string, number>> = {};
  for (const [idx, rec] of Object.entries(sd.state)) {
    for (const [k, v] of Object.entries(rec)) {
      if (v instanceof Tensor) tensors[`state.${idx}.${k}`] = v;
      else if (typeof v === 'number' && Number.isFinite(v)) (scalars[idx] ??= {})[k] = v;
      else throw new StateFileError(`optimizer state ${JSON.stringify(k)} of parameter ${idx} is neither a tensor nor a finite number`);
    }
  }
  const optimizer = {
    format: 'lernen.optimizer', ...(sd.type !== undefined ? { type: sd.type } : {}), paramGroups: sd.paramGroups, scalars,
    ...(sd.extra !== undefined ? { extra: sd.extra } : {}),
  };
  return encodeState(tensors, { optimizer, user: meta }, opts);
}

/** Decodes optimizer state-file bytes into { stateDict, meta }, validating the structure. */
export function decodeOptimizerState(bytes: Uint8Array, source = '<buffer>'): { stateDict: OptimizerStateDict; meta: Record<string, unknown> } {
  const fail = (msg: string): never => { throw new StateFileError(`${source}: ${msg}`); };
  const { stateDict: tensors, meta } = decodeState(bytes, source);
  const o = meta.optimizer as Record<string, unknown> | undefined;
  if (!o || typeof o !== 'object' || o.format !== 'lernen.optimizer') fail('not an optimizer state file (no optimizer section in the header)');
  const groups = o!.paramGroups;
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'object' || g === null || !Array.isArray(g.params)
    || g.params.some((i: unknown) => !Number.isSafeInteger(i) || (i as number) < 0))) {
    fail('optimizer paramGroups are malformed');
  }
  const state: Record<string, ParamState> = Object.create(null) as Record<string, ParamState>;
  for (const [name, t] of Object.entries(tensors)) {
    const m = NAME.exec(name);
    if (!m) fail(`unexpected tensor ${quote(name)} in an optimizer state file`);
    // Null-prototype records: a tensor named state.0.__proto__ is then an ordinary key.
    (state[m![1]!] ??= Object.create(null) as ParamState)[m![2]!] = t;
  }
  const scalars = o!.scalars ?? {};
  if (typeof scalars !== 'object' || scalars === null) fail('optimizer scalars are malformed');
  for (const [idx, rec] of Object.entries(scalars as Record<string, unknown>)) {
    if (!/^(0|[1-9]\d*)$/.test(idx) || typeof rec !== 'object' || rec === null) fail(`optimizer scalars for ${quote(idx)} are malformed`);
    for (const [k, v] of Object.entries(rec as Record<string, unknown>)) {
      if (typeof v !== 'number' || !NAME.test(`state.0.${k}`)) fail(`optimizer scalar ${quote(k)} of parameter ${idx} is malformed`);
      (state[idx] ??= Object.create(null) as ParamState)[k] = v as number;
    }
  }
  const type = o!.type;
  if (type !== undefined && typeof type !== 'string') fail(`optimizer type ${quote(type)} is not a string`);
  const extra = o!.extra;
  if (extra !== undefined && (typeof extra !== 'object' || extra === null || Array.isArray(extra))) fail('optimizer extra state is malformed');
  const user = meta.user;
  return {
    stateDict: {
      ...(type !== undefined ? { type: type as string } : {}),
      state,
      paramGroups: groups as OptimizerStateDict['paramGroups'],
      ...(extra !== undefined ? { extra: extra as OptimizerStateDict['extra'] } : {}),
    },
    meta: typeof user === 'object' && user !== null && !Array.isArray(user) ? (user as Record<string, unknown>) : {},
  };
}

/** Saves an optimizer's state atomically (same file format as nn.save). */
export function save(what: Optimizer<{ lr: number }> | OptimizerStateDict, file: string,
  meta: Record<string, unknown> = {}, opts: EncodeOptions = {}): void {
  let bytes: Buffer;
  try {
    bytes = encodeOptimizerState(what, meta, opts);
  } catch (e) {
    if (e instanceof StateFileError) throw new StateFileError(`${file}: ${e.message}`);
    throw e;
  }
  writeFileAtomic(file, bytes);
}

/**
 * Reads an optimizer state file: { stateDict, meta, file } for `optimizer.loadStateDict`, whose
 * errors then name the file.
 */
export function load(file: string): { stateDict: OptimizerStateDict; meta: Record<string, unknown>; file: string } {
  checkRegularFile(file, (msg) => { throw new StateFileError(`${file}: ${msg}`); });
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new StateFileError(`${file}: cannot read the state file: ${(e as Error).message}`);
  }
  return { ...decodeOptimizerState(bytes, file), file };
}
