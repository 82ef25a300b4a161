import type { Backend } from '../../src/backend/backend';
import { createJsBackend } from '../../src/backend/js';
import { createNativeBackend } from '../../src/backend/native';
import { loadAddon } from '../../src/backend/loader';

/**
 * The backends every kernel test runs on. The native addon is REQUIRED: if it did not load,
 * this module throws and every suite that imports it fails (no silent JS-only pass).
 * Set LERNEN_TEST_BACKENDS=js to run the suite deliberately on the JS backend alone.
 */
function build(): Backend[] {
  const js = createJsBackend();
  if (process.env.LERNEN_TEST_BACKENDS === 'js') return [js];
  const load = loadAddon();
  if (!load.ok) {
    throw new Error(`native addon expected but did not load:\n  ${load.reasons.join('\n  ')}`);
  }
  const native = createNativeBackend(load.addon);
  if (native.name !== 'native') throw new Error('native backend reports the wrong name');
  return [native, js];
}

export const BACKENDS: Backend[] = build();
export const JS: Backend = BACKENDS.find((b) => b.name === 'js')!;
export const NATIVE: Backend | undefined = BACKENDS.find((b) => b.name === 'native');
