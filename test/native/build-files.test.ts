import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../..');

/** binding.gyp is a Python literal; ours is JSON apart from `#` comments. */
function gypSources(): string[] {
  const text = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')
    .split('\n').filter((line) => !line.trim().startsWith('#')).join('\n');
  const gyp = JSON.parse(text) as { targets: { target_name: string; sources: string[] }[] };
  const target = gyp.targets.find((t) => t.target_name === 'lernen');
  if (!target) throw new Error('binding.gyp has no target "lernen"');
  return target.sources;
}

function cmakeText(): string {
  return fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8').replace(/#.*$/gm, '');
}

function cmakeSources(): string[] {
  const m = /set\(\s*LERNEN_SOURCES\s+([^)]*)\)/.exec(cmakeText());
  if (!m) throw new Error('CMakeLists.txt has no set(LERNEN_SOURCES ...)');
  return m[1]!.split(/\s+/).filter((s) => s.length > 0);
}

function nativeSources(): string[] {
  const out: string[] = [];
  for (const dir of ['native/kernels', 'native/binding']) {
    for (const f of fs.readdirSync(path.join(root, dir))) {
      if (f.endsWith('.cc')) out.push(`${dir}/${f}`);
    }
  }
  return out.sort();
}

describe('build files', () => {
  it('binding.gyp and CMakeLists.txt list the same sources', () => {
    expect([...cmakeSources()].sort()).toEqual([...gypSources()].sort());
  });

  it('every .cc under native/ is listed (and nothing else)', () => {
    expect([...gypSources()].sort()).toEqual(nativeSources());
  });

  it('lists each source once', () => {
    for (const list of [gypSources(), cmakeSources()]) expect(new Set(list).size).toBe(list.length);
  });

  it('both builds make target "lernen" with NAPI_VERSION=8 and C++ exceptions', () => {
    const gyp = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8');
    expect(gyp).toContain('"NAPI_VERSION=8"');
    expect(gyp).toContain('"NAPI_CPP_EXCEPTIONS"');
    expect(gyp).toContain('pkg-config --libs openblas');
    expect(gyp).not.toContain('march=native');
    const cmake = cmakeText();
    expect(cmake).toMatch(/project\(\s*lernen\b/);
    expect(cmake).toMatch(/NAPI_VERSION=8/);
    expect(cmake).toMatch(/NAPI_CPP_EXCEPTIONS/);
    expect(cmake).toMatch(/pkg_check_modules\(\s*OPENBLAS\s+REQUIRED\s+openblas\s*\)/);
    expect(cmake).not.toContain('march=native');
  });

  it('package.json declares Node-API 8 for cmake-js, matching both builds', () => {
    const pj = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      binary?: { napi_versions?: number[] };
    };
    expect(pj.binary?.napi_versions).toEqual([8]);
  });

  it('kernels stay free of N-API (pure C++ over raw buffers)', () => {
    for (const f of fs.readdirSync(path.join(root, 'native/kernels'))) {
      const text = fs.readFileSync(path.join(root, 'native/kernels', f), 'utf8');
      expect(text, f).not.toMatch(/#include\s*[<"]napi\.h[>"]|node_api\.h/);
    }
  });
});
