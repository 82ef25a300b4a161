import type { Backend } from './backend';

/**
 * A backend whose every kernel throws the stored load failure. Used when LERNEN_BACKEND=native
 * is forced but the addon cannot load, so the failure surfaces at the first computation with the
 * full reason instead of a silent fallback.
 */
export function createUnavailableBackend(reasons: readonly string[]): Backend {
  const fail = (): never => {
    throw new Error(`lernen: the native backend is required (LERNEN_BACKEND=native) but the addon did not load:\n  ${reasons.join('\n  ')}`);
  };
  return new Proxy({ name: 'native' } as Backend, {
    get(target, prop) {
      if (prop === 'name') return 'native';
      if (prop === 'then') return undefined;
      if (typeof prop === 'symbol') return Reflect.get(target, prop);
      return fail;
    },
  });
}
