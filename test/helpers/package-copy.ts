import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'vitest';

/** The repository root (the package under test). */
export const ROOT = path.resolve(__dirname, '../..');

/** Where node-gyp-build looks for this machine's prebuilds: prebuilds/<platform>-<arch>. */
export const PREBUILD_DIR = `prebuilds/${os.platform()}-${os.arch()}`;
/**
 * The name prebuildify 6 gives an N-API prebuild (--napi): the package's name, no ABI tag.
 * node-gyp-build accepts an untagged file for any runtime and ABI (its parseTags/matchTags).
 */
export const PREBUILD_NAME = 'lernen.node';

/** The addon the tests copy around: the repository's own local build. */
export const ADDON = path.join(ROOT, 'build/Release/lernen.node');

const made: string[] = [];

/** Removes the folders packageCopy and elfWithMissingLib made in this process. */
export function removeTemp(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/**
 * A temporary copy of the package as an install of it holds it: package.json, dist/ and bin/, with
 * node_modules linked to the repository's (its dependencies), and no build/ folder. dist/ must be
 * built (npm test builds it first).
 */
export function packageCopy(prefix: string): string {
  if (!fs.existsSync(path.join(ROOT, 'dist/cjs/index.js'))) {
    throw new Error('dist/ is missing: run npm run build:ts (npm test does)');
  }
  if (!fs.existsSync(ADDON)) throw new Error(`${ADDON} is missing: build the addon (npx node-gyp rebuild)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  for (const sub of ['dist', 'bin']) fs.cpSync(path.join(ROOT, sub), path.join(dir, sub), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** Writes `file` (creating its folder) as a copy of `from`, or with `text` when `from` is null. */
export function place(file: string, from: string | null, text = ''): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (from) fs.copyFileSync(from, file);
  else fs.writeFileSync(file, text);
  return file;
}

/**
 * A real ELF shared object at `file` that cannot load because a library it links against is gone:
 * it is built against a throwaway lib<name>.so (with an rpath to it), which is then deleted.
 * Returns the library's file name, which the dynamic loader's message names.
 */
export function elfWithMissingLib(file: string): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-elf-'));
  made.push(work);
  const name = `lernengone${process.pid}${Math.random().toString(36).slice(2, 8)}`;
  const lib = path.join(work, `lib${name}.so`);
  fs.writeFileSync(path.join(work, 'lib.c'), 'int lernen_gone(void) { return 42; }\n');
  fs.writeFileSync(path.join(work, 'addon.c'), 'int lernen_gone(void);\nint lernen_probe(void) { return lernen_gone(); }\n');
  execFileSync('gcc', ['-shared', '-fPIC', '-o', lib, path.join(work, 'lib.c')], { stdio: 'pipe' });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('gcc', ['-shared', '-fPIC', '-o', file, path.join(work, 'addon.c'),
    `-L${work}`, '-Wl,--no-as-needed', `-l${name}`, `-Wl,-rpath,${work}`], { stdio: 'pipe' });
  fs.rmSync(lib);
  return path.basename(lib);
}

/** The environment without lernen's and node-gyp-build's selection variables. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['LERNEN_BACKEND', 'LERNEN_ADDON', 'LERNEN_PREBUILD', 'PREBUILDS_ONLY', 'npm_config_build_from_source']) delete env[k];
  return { ...env, ...extra };
}

/** Runs a CommonJS snippet with node in `cwd` (no tsx: it exercises the built package). */
export function runNode(code: string, cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['-e', code], { cwd, env: cleanEnv(env), encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** [[1,2,3],[4,5,6]]·[[1,0],[2,1],[0,3]], row-major: what probe() computes. */
export const PRODUCT = [5, 11, 14, 23];

export interface Probe {
  backend: string;
  addon: { loaded: boolean; file: string | null; from: string | null; reasons: string[] };
  napi: number;
  /** The product, or 'ERR <message>'. */
  y: number[] | string;
  /** The process's stderr (warnings). */
  err: string;
}

/** doctor() and a small product, computed by the package installed at `dir`, in a fresh process. */
export function probe(dir: string, env: Record<string, string> = {}): Probe {
  const r = runNode(`
    const l = require(${JSON.stringify(dir)});
    const d = l.doctor();
    let y;
    try { y = Array.from(l.tensor([1, 2, 3, 4, 5, 6], [2, 3]).matmul(l.tensor([1, 0, 2, 1, 0, 3], [3, 2])).toArray()); }
    catch (e) { y = 'ERR ' + e.message; }
    console.log(JSON.stringify({ backend: d.backend, addon: d.addon, napi: d.napiVersion, y }));`, path.dirname(dir), env);
  expect(r.code, r.err).toBe(0);
  return { ...(JSON.parse(r.out) as Omit<Probe, 'err'>), err: r.err };
}
