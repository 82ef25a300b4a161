import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cleanEnv } from '../helpers/package-copy';

// Another project that depends on lernen (node_modules/lernen linked to this repository, with its
// built dist/): CommonJS require, ESM import, and strict type-checking with the repo's tsc.
// lernen's declarations use Node's types (Buffer, AbortSignal, NodeJS.WritableStream): the
// project has no @types/node of its own and no `types` entry, so the check also proves that
// lernen brings them (a dependency, loaded by the reference directive in its index.d.ts).
let project = '';
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

function node(file: string) {
  const r = spawnSync(process.execPath, [file], { cwd: project, env: cleanEnv(), encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr };
}

function tsc(config: string) {
  const r = spawnSync(process.execPath, [TSC, '-p', config], { cwd: project, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

// Uses the public surface with real types: the @ts-expect-error lines fail the check if 'lernen'
// resolved to no types (any) or to the wrong ones.
const typed = (how: string) => `${how}
const t: Tensor = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
const shape: readonly number[] = t.shape;
const loss = t.matmul(ones([2, 2])).relu().sum();
loss.backward();
const g: Tensor | null = t.grad;
const v: number = loss.item();
const name: 'native' | 'js' = getBackend();
const values: Float32Array = t.softmax(1).toArray();
// @ts-expect-error a shape is numbers, not strings
tensor([1, 2], ['2']);
// @ts-expect-error item() is a number
const s: string = loss.item();
// @ts-expect-error there is no such backend
setBackend('gpu');
export { shape, g, v, name, values, s };
`;

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist/esm/index.mjs'))) throw new Error('dist/ is missing: run npm run build:ts (npm test does)');
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'lernen-consumer-'));
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(project, 'node_modules/lernen'));
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const run = "const y = tensor([1, 2, 3, 4], [2, 2]).matmul(tensor([1, 1, 0, 1], [2, 2]));\nconsole.log(JSON.stringify({ y: Array.from(y.toArray()), backend: getBackend(), isTensor: y instanceof Tensor }));\n";
  fs.writeFileSync(path.join(project, 'use.cjs'), `'use strict';\nconst { tensor, getBackend, Tensor } = require('lernen');\n${run}`);
  fs.writeFileSync(path.join(project, 'use.mjs'), `import { tensor, getBackend, Tensor } from 'lernen';\n${run}`);
  fs.writeFileSync(path.join(project, 'esm.mts'), typed("import { tensor, ones, getBackend, setBackend, Tensor } from 'lernen';"));
  fs.writeFileSync(path.join(project, 'plain.ts'), typed("import { tensor, ones, getBackend, setBackend, Tensor } from 'lernen';"));
  fs.writeFileSync(path.join(project, 'cjs.cts'), typed("import lernen = require('lernen');\nconst { tensor, ones, getBackend, setBackend } = lernen;\ntype Tensor = lernen.Tensor;"));
  const base = { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022'], types: [] };
  fs.writeFileSync(path.join(project, 'tsconfig.node16.json'), JSON.stringify({
    compilerOptions: { ...base, module: 'node16', moduleResolution: 'node16' }, files: ['plain.ts', 'esm.mts', 'cjs.cts'],
  }));
  fs.writeFileSync(path.join(project, 'tsconfig.bundler.json'), JSON.stringify({
    // lernen's own declarations were checked whole above; here only resolution and use (faster).
    compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true }, files: ['plain.ts', 'esm.mts'],
  }));
});
afterAll(() => { if (project) fs.rmSync(project, { recursive: true, force: true }); });

describe('a project that depends on lernen', () => {
  const expected = { y: [1, 3, 3, 7], backend: 'native', isTensor: true };

  it("runs a CommonJS script with require('lernen')", () => {
    const r = node('use.cjs');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual(expected);
  });

  it("runs an ES module with import { tensor } from 'lernen'", () => {
    const r = node('use.mjs');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual(expected);
  });

  it("type-checks .ts, .mts and .cts under --strict with module node16 (lernen's declarations included)", () => {
    const r = tsc('tsconfig.node16.json');
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });

  it('type-checks .ts and .mts under --strict with moduleResolution bundler', () => {
    const r = tsc('tsconfig.bundler.json');
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  });
});
