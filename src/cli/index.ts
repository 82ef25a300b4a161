import { doctor, formatDoctor } from '../doctor';
import { UsageError, parseFlags } from './args';

const USAGE = `usage: lernen <command> [flags]

commands:
  doctor [--parity] [--json]   which backend runs and why; --parity compares native and JS
  help                         this text`;

/** Runs the CLI; resolves to the exit code. Usage errors print one line and return 2. */
export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'doctor': {
        const { flags, positional } = parseFlags('doctor', rest, { parity: 'boolean', json: 'boolean' });
        if (positional.length) throw new UsageError(`doctor: unexpected argument '${positional[0]}'`);
        const report = doctor({ parity: flags.parity === true });
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}' (try: lernen help)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lernen: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
