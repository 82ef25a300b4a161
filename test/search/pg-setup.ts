/**
 * A private PostgreSQL server for the search tests.
 *
 * As a vitest globalSetup file (`globalSetup: ['test/search/pg-setup.ts']`) it starts one cluster
 * for the whole run and provides its URL as `inject('lernenPgUrl')`. Without it, `usePostgres()`
 * (test/search/pg.ts) starts a cluster per test file. Either way: initdb into a temporary
 * directory (as the `postgres` user when running as root: initdb refuses root), trust
 * authentication, a free localhost port and a socket in that directory, fsync off; stopped and
 * deleted afterwards.
 *
 * No PostgreSQL binaries → an error that says what to install (the tests fail, they are not
 * skipped), unless LERNEN_TEST_NO_POSTGRES=1.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

declare module 'vitest' {
  export interface ProvidedContext {
    lernenPgUrl: string;
  }
}

export const NO_POSTGRES = process.env.LERNEN_TEST_NO_POSTGRES === '1';

const INSTALL_HINT = 'install the PostgreSQL server (Debian/Ubuntu: scripts/setup-debian.sh --test, or apt-get install postgresql), '
  + 'set LERNEN_PG_BIN to the directory holding initdb and pg_ctl, or set LERNEN_TEST_NO_POSTGRES=1 to skip the PostgreSQL tests';

/** The directory holding initdb and pg_ctl, or null. */
export function findPgBin(): string | null {
  const candidates: string[] = [];
  if (process.env.LERNEN_PG_BIN) candidates.push(process.env.LERNEN_PG_BIN);
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs.readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  candidates.push(...(process.env.PATH ?? '').split(path.delimiter));
  for (const dir of candidates) {
    if (dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface PgServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts a private cluster; throws with an install hint when the binaries are missing. */
export async function startPostgres(): Promise<PgServer> {
  const bin = findPgBin();
  if (!bin) throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found: ${INSTALL_HINT}`);
  const isRoot = process.getuid?.() === 0;
  let asUser: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-pg-'));
  if (isRoot) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0) throw new Error(`running as root, initdb needs an unprivileged user, but there is no 'postgres' user: ${INSTALL_HINT}`);
    const uid = Number(id.stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    fs.chownSync(dir, uid, gid);
    asUser = ['runuser', '-u', 'postgres', '--'];
  }
  const run = (cmd: string, args: string[]) => {
    const full = [...asUser, path.join(bin, cmd), ...args];
    try {
      return execFileSync(full[0]!, full.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string; message: string };
      throw new Error(`${cmd} failed: ${err.stderr || err.stdout || err.message}`);
    }
  };
  const data = path.join(dir, 'data');
  let port: number;
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'lernen', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    port = await freePort();
    run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '30', '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`, 'start']);
  } catch (e) {
    const log = path.join(dir, 'server.log');
    const tail = fs.existsSync(log) ? `\n${fs.readFileSync(log, 'utf8').split('\n').slice(-10).join('\n')}` : '';
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}${tail}`);
  }
  let stopped = false;
  return {
    url: `postgres://lernen@127.0.0.1:${port}/postgres`,
    async stop() {
      if (stopped) return;
      stopped = true;
      try { run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']); } catch { /* already gone */ }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** vitest globalSetup: one server for the whole run. */
export default async function setup(project: { provide: (key: 'lernenPgUrl', value: string) => void }): Promise<(() => Promise<void>) | undefined> {
  if (NO_POSTGRES) return undefined;
  const server = await startPostgres();
  project.provide('lernenPgUrl', server.url);
  return () => server.stop();
}
