/** A strict flag parser: unknown flags, missing values and bad numbers are errors. */
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
