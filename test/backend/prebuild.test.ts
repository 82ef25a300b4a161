import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADDON, PREBUILD_DIR, PREBUILD_NAME, PRODUCT, cleanEnv, packageCopy, place, probe, removeTemp } from '../helpers/package-copy';

// An installed package that ships a prebuild (what `npm run prebuilds` makes) and has no build/:
// the install step must not compile, and the package must load the prebuild.
afterAll(removeTemp);

describe('installing from a prebuild', () => {
  it('the install script (node-gyp-build) finds the prebuild and does not compile; the package then loads it', () => {
    const dir = packageCopy('lernen-prebuild-');
    const pre = place(path.join(dir, PREBUILD_DIR, PREBUILD_NAME), ADDON);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.install).toBe('node-gyp-build');
    // npm runs the install script as it would after unpacking the package (node_modules/.bin on
    // PATH). The copy has no binding.gyp, so a compile could not even start: it would fail.
    const inst = spawnSync('npm', ['run-script', 'install'], { cwd: dir, env: cleanEnv(), encoding: 'utf8', timeout: 120_000 });
    expect(inst.status, `${inst.stdout}\n${inst.stderr}`).toBe(0);
    expect(`${inst.stdout}${inst.stderr}`).not.toMatch(/gyp info|node-gyp rebuild/);
    expect(fs.existsSync(path.join(dir, 'build'))).toBe(false);

    const r = probe(dir);
    expect(r).toMatchObject({ backend: 'native', napi: 8, y: PRODUCT, addon: { loaded: true, from: 'prebuild', file: pre, reasons: [] } });
    const cli = spawnSync(process.execPath, [path.join(dir, 'bin/lernen.js'), 'doctor', '--json'], { env: cleanEnv(), encoding: 'utf8' });
    expect(JSON.parse(cli.stdout).addon).toMatchObject({ loaded: true, from: 'prebuild', file: pre });
  });
});
