import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the package root is: the nearest folder above this file with lernen's package.json. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'lernen') return dir;
      } catch { /* keep walking */ }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`lernen: cannot find the package root above ${__dirname}`);
    dir = up;
  }
}

export interface AddonLoad {
  ok: boolean;
  /** The loaded addon's exports (ok only). */
  addon?: unknown;
  /** Absolute path of the .node file that was loaded (ok only). */
  file?: string;
  /** 'prebuild' (prebuilds/), 'local build' (build/Release or build/Debug), or 'override'. */
  from?: 'prebuild' | 'local build' | 'override';
  /** Every reason the load failed, one line each, with the fix to try. */
  reasons: string[];
}

function fixFor(message: string): string {
  if (/libopenblas/i.test(message)) {
    return 'install OpenBLAS: apt-get install -y libopenblas0 (libopenblas-dev to build)';
  }
  if (/No native build was found/i.test(message)) {
    return 'build the addon: apt-get install -y libopenblas-dev pkg-config g++ && npm rebuild lernen';
  }
  if (/NODE_MODULE_VERSION|was compiled against a different Node\.js version/i.test(message)) {
    return 'rebuild for this Node.js: npm rebuild lernen';
  }
  if (/--no-addons|Cannot load native addon because loading addons is disabled/i.test(message)) {
    return 'native addons are disabled (--no-addons); the JS backend will be used';
  }
  if (/invalid ELF header|wrong ELF class/i.test(message)) {
    return 'the binary is for another platform: npm rebuild lernen';
  }
  return 'rebuild the addon: npm rebuild lernen (needs libopenblas-dev, pkg-config and g++)';
}

/**
 * Loads the addon once per call: LERNEN_ADDON (a path to a .node file) overrides, else
 * node-gyp-build(root) picks prebuilds/<platform>-<arch>/ first and build/Release otherwise.
 * Never throws: failures are returned as reasons.
 */
export function loadAddon(): AddonLoad {
  const reasons: string[] = [];
  const override = process.env.LERNEN_ADDON;
  if (override) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(path.resolve(override));
      return { ok: true, addon, file: path.resolve(override), from: 'override', reasons };
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0] ?? String(e);
      reasons.push(`LERNEN_ADDON=${override}: ${msg} (fix: ${fixFor(msg)})`);
      return { ok: false, reasons };
    }
  }
  let root: string;
  try {
    root = packageRoot();
  } catch (e) {
    reasons.push((e as Error).message);
    return { ok: false, reasons };
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ngb = require('node-gyp-build') as { (dir: string): unknown; resolve(dir: string): string };
    const file = ngb.resolve(root);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const addon = require(file);
    const from = file.includes(`${path.sep}prebuilds${path.sep}`) ? 'prebuild' : 'local build';
    return { ok: true, addon, file, from, reasons };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0] ?? String(e);
    reasons.push(`${msg} (fix: ${fixFor(msg)})`);
    return { ok: false, reasons };
  }
}
