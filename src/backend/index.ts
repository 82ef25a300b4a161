import type { Backend, BackendName } from './backend';
import { createJsBackend } from './js';
import { loadAddon, type AddonLoad } from './loader';
import { createNativeBackend } from './native';

export type { Backend, BackendName } from './backend';

interface State {
  /** The active backend; null while LERNEN_BACKEND=native is set and the addon did not load. */
  current: Backend | null;
  /** Why `current` was chosen, in words. */
  why: string;
  load: AddonLoad | null;
  native: Backend | null;
  js: Backend | null;
}

let state: State | null = null;

function jsBackend(s: Pick<State, 'js'>): Backend {
  return (s.js ??= createJsBackend());
}

function tryNative(s: State): Backend | null {
  if (s.native) return s.native;
  s.load ??= loadAddon();
  if (!s.load.ok) return null;
  try {
    s.native = createNativeBackend(s.load.addon);
  } catch (e) {
    s.load = { ok: false, reasons: [`the addon loaded but is unusable: ${(e as Error).message}`] };
    return null;
  }
  return s.native;
}

/**
 * The error for a native backend that is required (by `cause`) but did not load: every candidate
 * the loader tried, with its reason and the fix to try.
 */
function nativeRequired(cause: string, load: AddonLoad): Error {
  return new Error(`lernen: the native backend is required (${cause}) but the addon did not load:\n  ${load.reasons.join('\n  ')}`);
}

function init(): State {
  if (state) return state;
  const s: State = { current: null, why: '', load: null, native: null, js: null };
  const env = process.env.LERNEN_BACKEND?.trim().toLowerCase();
  if (env && env !== 'native' && env !== 'js') {
    throw new Error(`LERNEN_BACKEND must be 'native' or 'js', got '${process.env.LERNEN_BACKEND}'`);
  }
  if (env === 'js') {
    s.current = jsBackend(s);
    s.why = 'LERNEN_BACKEND=js';
  } else {
    const native = tryNative(s);
    if (native) {
      s.current = native;
      s.why = env === 'native' ? 'LERNEN_BACKEND=native' : 'default (native addon loaded)';
    } else if (env === 'native') {
      // Forced native: no backend, so the first tensor operation throws the load failure (and
      // doctor() still reports it).
      s.why = 'LERNEN_BACKEND=native, but the addon did not load';
    } else {
      s.current = jsBackend(s);
      s.why = `fallback: the native addon did not load (${s.load!.reasons.join('; ')})`;
      process.emitWarning(
        `lernen: using the pure-JS backend because the native addon did not load: ${s.load!.reasons.join('; ')}`,
        { code: 'LERNEN_NO_NATIVE' },
      );
    }
  }
  state = s;
  return s;
}

/**
 * The active backend's kernels. With LERNEN_BACKEND=native and an addon that did not load, this
 * throws the load failure; the Tensor constructor calls it, so every tensor operation (creation
 * included) does.
 */
export function backend(): Backend {
  const s = state ?? init();
  if (!s.current) throw nativeRequired('LERNEN_BACKEND=native', s.load!);
  return s.current;
}

/** Name of the active backend (the required one, 'native', even while it failed to load). */
export function getBackend(): BackendName {
  return (state ?? init()).current?.name ?? 'native';
}

/**
 * Switch the active backend. `setBackend('native')` throws (with the reasons) if the addon
 * cannot load; tensors made on one backend work on the other (both use Float32Array storage).
 */
export function setBackend(name: BackendName): void {
  const s = init();
  if (name === 'js') {
    s.current = jsBackend(s);
    s.why = "setBackend('js')";
    return;
  }
  if (name !== 'native') {
    throw new Error(`setBackend: expected 'native' or 'js', got ${JSON.stringify(name)}`);
  }
  const native = tryNative(s);
  if (!native) throw nativeRequired("setBackend('native')", s.load!);
  s.current = native;
  s.why = "setBackend('native')";
}

/** Both backends where available (for parity checks); native is null if it did not load. */
export function allBackends(): { native: Backend | null; js: Backend } {
  const s = init();
  return { native: tryNative(s), js: jsBackend(s) };
}

/** What doctor() reports about backend selection. */
export function backendStatus(): { active: BackendName; why: string; load: AddonLoad | null } {
  const s = init();
  tryNative(s);
  return { active: s.current?.name ?? 'native', why: s.why, load: s.load };
}

/**
 * Number of threads for the heavy kernels. On the native backend this is lernen's own kernel
 * team (GEMMs cut into blocks, convolutions, large elementwise loops); OpenBLAS itself always
 * runs one-threaded (native/kernels/gemm.cc). Process-wide.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new Error(`setNumThreads: expected an integer in [1, 1024], got ${n}`);
  }
  const s = init();
  tryNative(s)?.setNumThreads(n);
  jsBackend(s).setNumThreads(n);
}

export function getNumThreads(): number {
  return backend().getNumThreads();
}
