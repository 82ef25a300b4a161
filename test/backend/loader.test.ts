import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixFor } from '../../src/backend/loader';
import {
  ADDON, PREBUILD_DIR, PREBUILD_NAME, PRODUCT, cleanEnv, elfWithMissingLib, packageCopy, place, probe, removeTemp,
} from '../helpers/package-copy';

afterAll(removeTemp);

describe('fixFor: the fix suggested for a load failure', () => {
  it('names OpenBLAS when libopenblas.so.0 is missing', () => {
    const msg = 'libopenblas.so.0: cannot open shared object file: No such file or directory';
    expect(fixFor(msg)).toBe('install OpenBLAS: apt-get install -y libopenblas0 (libopenblas-dev to build)');
  });

  it('names any other missing shared library', () => {
    expect(fixFor('libgomp.so.1: cannot open shared object file: No such file or directory'))
      .toMatch(/^install the package that provides libgomp\.so\.1 \(ldd /);
  });

  it('tells a wrong platform, a wrong Node.js, disabled addons and a missing file apart', () => {
    expect(fixFor('/x/lernen.node: invalid ELF header')).toMatch(/another platform or damaged: npm rebuild lernen/);
    expect(fixFor("The module '/x/lernen.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 108"))
      .toBe('rebuild for this Node.js: npm rebuild lernen');
    expect(fixFor('Cannot load native addon because loading addons is disabled.')).toMatch(/--no-addons/);
    expect(fixFor("Cannot find module '/nowhere/lernen.node'")).toMatch(/no such file: check the path/);
    expect(fixFor('something else')).toMatch(/^rebuild the addon: npm rebuild lernen/);
  });
});

describe('addon candidates of an installed package (local build, then prebuild)', () => {

  it('lists every candidate that failed, in order, each with its reason and fix', () => {
    const dir = packageCopy('lernen-cand-');
    const lib = elfWithMissingLib(path.join(dir, 'build/Release/lernen.node'));
    place(path.join(dir, PREBUILD_DIR, PREBUILD_NAME), null, 'not an ELF file');
    const r = probe(dir);
    expect(r.backend).toBe('js');
    expect(r.y).toEqual(PRODUCT);
    expect(r.addon.loaded).toBe(false);
    expect(r.addon.reasons).toHaveLength(2);
    const [local, pre] = r.addon.reasons;
    expect(local).toContain(`local build ${path.join(dir, 'build/Release/lernen.node')}: ${lib}: cannot open shared object file`);
    expect(local).toMatch(new RegExp(`\\(fix: install the package that provides ${lib} `));
    expect(pre).toMatch(new RegExp(`^prebuild ${path.join(dir, PREBUILD_DIR, PREBUILD_NAME)}: .*(invalid ELF header|file too short) \\(fix: the binary is for another platform or damaged`));
    // One warning, naming both reasons.
    expect(r.err.match(/\[LERNEN_NO_NATIVE\]/g)).toHaveLength(1);
    expect(r.err).toContain(`${lib}: cannot open shared object file`);
  });

  it('loads the prebuild when the local build fails, and keeps the local build\'s reason', () => {
    const dir = packageCopy('lernen-cand-');
    const lib = elfWithMissingLib(path.join(dir, 'build/Release/lernen.node'));
    const pre = place(path.join(dir, PREBUILD_DIR, PREBUILD_NAME), ADDON);
    const r = probe(dir);
    expect(r).toMatchObject({ backend: 'native', y: PRODUCT, addon: { loaded: true, from: 'prebuild', file: pre } });
    expect(r.addon.reasons).toHaveLength(1);
    expect(r.addon.reasons[0]).toContain(`local build ${path.join(dir, 'build/Release/lernen.node')}: ${lib}: cannot open shared object file`);
    expect(r.err).not.toMatch(/LERNEN_NO_NATIVE/);
    const text = spawnSync(process.execPath, [path.join(dir, 'bin/lernen.js'), 'doctor'], { env: cleanEnv(), encoding: 'utf8' }).stdout;
    expect(text).toContain(`addon:        loaded from prebuild: ${pre}`);
    expect(text).toContain(`  - tried first, failed: local build ${path.join(dir, 'build/Release/lernen.node')}: ${lib}`);
  });

  it('says what is absent when there is neither a local build nor a prebuild', () => {
    const dir = packageCopy('lernen-cand-');
    const r = probe(dir);
    expect(r.backend).toBe('js');
    expect(r.addon.reasons).toEqual([
      `local build: no .node file in ${path.join(dir, 'build/Release')} or build/Debug (fix: build the addon: apt-get install -y libopenblas-dev pkg-config g++ && npm rebuild lernen)`,
      `prebuild: none for ${PREBUILD_DIR.slice('prebuilds/'.length)} in ${path.join(dir, 'prebuilds')} (fix: build the addon: apt-get install -y libopenblas-dev pkg-config g++ && npm rebuild lernen)`,
    ]);
  });

  it('LERNEN_ADDON is the only candidate when set: a broken override is not replaced by the local build', () => {
    const dir = packageCopy('lernen-cand-');
    place(path.join(dir, 'build/Release/lernen.node'), ADDON);
    const bogus = place(path.join(dir, 'other/lernen.node'), null, 'not an ELF file');
    const r = probe(dir, { LERNEN_ADDON: bogus });
    expect(r.backend).toBe('js');
    expect(r.addon.reasons).toHaveLength(1);
    expect(r.addon.reasons[0]).toMatch(new RegExp(`^LERNEN_ADDON=${bogus}: .*(invalid ELF header|file too short)`));
  });
});
