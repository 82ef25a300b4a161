import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The nearest folder above this file whose package.json is lernen's, or null (a copy of the
 * sources outside any package).
 */
export function findPackageRoot(): string | null {
  let dir = __dirname;
  for (;;) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'lernen') return dir;
    } catch { /* no package.json here, or not readable: keep walking */ }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Where the package root is: the nearest folder above this file with lernen's package.json. */
export function packageRoot(): string {
  const root = findPackageRoot();
  if (root === null) throw new Error(`lernen: cannot find the package root above ${__dirname}`);
  return root;
}

export interface AddonLoad {
  ok: boolean;
  /** The loaded addon's exports (ok only). */
  addon?: unknown;
  /** Absolute path of the .node file that was loaded (ok only). */
  file?: string;
  /** 'prebuild' (prebuilds/), 'local build' (build/Release or build/Debug), or 'override'. */
  from?: AddonSource;
  /**
   * Every candidate that failed, in the order tried, one line each with the fix to try:
   * `<source> <file>: <reason> (fix: …)`, or `<source>: <why there is none> (fix: …)` for a kind
   * of build that is absent. When ok: the files that failed before the one that loaded.
   */
  reasons: string[];
}

export type AddonSource = 'prebuild' | 'local build' | 'override';

const BUILD_FIX = 'build the addon: apt-get install -y libopenblas-dev pkg-config g++ && npm rebuild lernen';

/** The fix to try for one load failure, from the loader's error message. */
export function fixFor(message: string): string {
  if (/libopenblas/i.test(message)) {
    return 'install OpenBLAS: apt-get install -y libopenblas0 (libopenblas-dev to build)';
  }
  const lib = /([^\s:/]+\.so(?:\.[\w.]+)?): cannot open shared object file/.exec(message)?.[1];
  if (lib) {
    return `install the package that provides ${lib} (ldd on the .node file lists every library it cannot find), or npm rebuild lernen`;
  }
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version/i.test(message)) {
    return 'rebuild for this Node.js: npm rebuild lernen';
  }
  if (/--no-addons|Cannot load native addon because loading addons is disabled/i.test(message)) {
    return 'native addons are disabled (--no-addons); the JS backend will be used';
  }
  if (/^Cannot find module/.test(message)) {
    return 'there is no such file: check the path (LERNEN_ADDON names a .node file), or unset it';
  }
  if (/invalid ELF header|wrong ELF class|file too short/i.test(message)) {
    return 'the binary is for another platform or damaged: npm rebuild lernen';
  }
  return 'rebuild the addon: npm rebuild lernen (needs libopenblas-dev, pkg-config and g++)';
}

type Tuple = { name: string };
type Tags = { file: string };
/** node-gyp-build's prebuild-matching helpers (exported by it, and what its own resolve uses). */
interface NodeGypBuild {
  parseTuple(name: string): Tuple | undefined;
  matchTuple(platform: string, arch: string): (tuple: Tuple | undefined) => tuple is Tuple;
  compareTuples(a: Tuple, b: Tuple): number;
  parseTags(file: string): Tags | undefined;
  matchTags(runtime: string, abi: string): (tags: Tags | undefined) => tags is Tags;
  compareTags(runtime: string): (a: Tags, b: Tags) => number;
}

function readdir(dir: string): string[] {
  try { return fs.readdirSync(dir); } catch { return []; }
}

/** A file to try, or (file null) a kind of build that is absent, with the reason. */
type Candidate = { from: AddonSource; file: string } | { from: AddonSource; file: null; absent: string };

/**
 * The files node-gyp-build chooses from, in its order: the local build (the first .node file in
 * build/Release, then build/Debug; none with PREBUILDS_ONLY set), then the most specific matching
 * prebuild in prebuilds/<platform>-<arch>/ (node-gyp-build's own tag rules, so the choice is the
 * one it makes; the first candidate is the file `node-gyp-build` would load).
 */
function candidates(root: string): Candidate[] {
  const out: Candidate[] = [];
  if (!process.env.PREBUILDS_ONLY) {
    for (const sub of ['build/Release', 'build/Debug']) {
      const f = readdir(path.join(root, sub)).find((n) => n.endsWith('.node'));
      if (f) out.push({ from: 'local build', file: path.join(root, sub, f) });
    }
    if (!out.length) out.push({ from: 'local build', file: null, absent: `no .node file in ${path.join(root, 'build/Release')} or build/Debug` });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ngb = require('node-gyp-build') as NodeGypBuild;
  const platform = process.env.npm_config_platform || os.platform();
  const arch = process.env.npm_config_arch || os.arch();
  const runtime = process.versions.electron ? 'electron' : 'node';
  const dir = path.join(root, 'prebuilds');
  const tuple = readdir(dir).map(ngb.parseTuple).filter(ngb.matchTuple(platform, arch)).sort(ngb.compareTuples)[0];
  const winner = tuple && readdir(path.join(dir, tuple.name)).map(ngb.parseTags)
    .filter(ngb.matchTags(runtime, process.versions.modules)).sort(ngb.compareTags(runtime))[0];
  if (tuple && winner) out.push({ from: 'prebuild', file: path.join(dir, tuple.name, winner.file) });
  else out.push({ from: 'prebuild', file: null, absent: `none for ${platform}-${arch} in ${dir}` });
  return out;
}

function tryLoad(from: AddonSource, file: string): { addon: unknown } | { reason: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { addon: require(file) };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0] ?? String(e);
    const label = from === 'override' ? `LERNEN_ADDON=${process.env.LERNEN_ADDON}` : `${from} ${file}`;
    return { reason: `${label}: ${msg} (fix: ${fixFor(msg)})` };
  }
}

/**
 * Loads the addon once per call. LERNEN_ADDON (a path to a .node file) is the only candidate when
 * set (so a chosen build, e.g. CI's sanitizer build, is never silently replaced). Otherwise the
 * candidates of node-gyp-build are tried in its order (local build, then prebuild) until one
 * loads; each failure is recorded with its fix. Never throws: failures are returned as reasons.
 */
export function loadAddon(): AddonLoad {
  const override = process.env.LERNEN_ADDON;
  let list: Candidate[];
  if (override) {
    list = [{ from: 'override', file: path.resolve(override) }];
  } else {
    try {
      list = candidates(packageRoot());
    } catch (e) {
      return { ok: false, reasons: [(e as Error).message] };
    }
  }
  const failed: string[] = [];
  const all: string[] = []; // failures and absent kinds, in candidate order
  for (const c of list) {
    if (c.file === null) {
      all.push(`${c.from}: ${c.absent} (fix: ${BUILD_FIX})`);
      continue;
    }
    const r = tryLoad(c.from, c.file);
    if ('addon' in r) return { ok: true, addon: r.addon, file: c.file, from: c.from, reasons: failed };
    failed.push(r.reason);
    all.push(r.reason);
  }
  return { ok: false, reasons: all };
}
