/** A strict flag parser (unknown flags, missing values and bad numbers are errors) and checks of flag values. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoOf, fileKind, makeDirs } from '../files';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagSpec = Record<string, 'string' | 'number' | 'int' | 'boolean'>;
export type Flags = Record<string, string | number | boolean | undefined>;

export function parseFlags(command: string, argv: readonly string[], spec: FlagSpec): { flags: Flags; positional: string[] } {
  const flags: Flags = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const kind = spec[name];
    if (!kind) throw new UsageError(`${command}: unknown flag --${name}`);
    if (kind === 'boolean') {
      if (value !== undefined && value !== 'true' && value !== 'false') {
        throw new UsageError(`${command}: --${name} takes no value (or true/false), got '${value}'`);
      }
      flags[name] = value !== 'false';
      continue;
    }
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${command}: --${name} needs a value`);
      i++;
    }
    if (kind === 'string') flags[name] = value;
    else {
      const num = Number(value);
      if (value.trim() === '' || !Number.isFinite(num)) throw new UsageError(`${command}: --${name} expects a number, got '${value}'`);
      if (kind === 'int' && !Number.isInteger(num)) throw new UsageError(`${command}: --${name} expects an integer, got '${value}'`);
      flags[name] = num;
    }
  }
  return { flags, positional };
}

/** One of `allowed`, else a usage error that lists them. */
export function oneOf<T extends string>(cmd: string, flag: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !allowed.includes(v as T)) {
    throw new UsageError(`${cmd}: --${flag} must be one of ${allowed.join(', ')}, got '${String(v)}'`);
  }
  return v as T;
}

/** A path flag's value, resolved; an empty one is an error (it would resolve to the working directory). */
export function pathFlag(cmd: string, flag: string, v: unknown): string {
  const s = String(v);
  if (s.trim() === '') throw new UsageError(`${cmd}: --${flag} needs a path, got '${s}'`);
  return path.resolve(s);
}

/** Creates `dir` (one level at a time: see makeDirs) and writes a probe file in it; the errno code on failure. */
function makeWritableDir(dir: string): string | null {
  try {
    makeDirs(dir);
    const probe = path.join(dir, `.lernen-write-test-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.unlinkSync(probe);
    return null;
  } catch (e) {
    return errnoOf(e);
  }
}

/** Creates an output folder and checks that a file can be written in it, so that a bad folder fails before anything runs. */
export function ensureOutDir(cmd: string, flag: string, dir: string): void {
  const err = makeWritableDir(dir);
  if (err) throw new UsageError(`${cmd}: --${flag} ${dir}: not writable (${err})`);
}

/**
 * Checks an output file before anything runs: an existing one must be a regular file (a FIFO
 * or a device would block or never end when read back), and its folder must be writable
 * (created if need be). `shown` is how the message names it (default: the file).
 */
export function checkOutFile(cmd: string, flag: string, file: string, shown = file): void {
  let st: fs.Stats | null = null;
  try { st = fs.statSync(file); } catch { /* a new file */ }
  if (st && !st.isFile()) throw new UsageError(`${cmd}: --${flag} ${shown}: not a regular file (${fileKind(st)})`);
  const err = makeWritableDir(path.dirname(file));
  if (err) throw new UsageError(`${cmd}: --${flag} ${shown}: cannot write in its folder ${path.dirname(file)} (${err})`);
}
