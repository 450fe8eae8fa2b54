// The entry for browsers, workers and bundlers (the core: the 401 engine): the module is
// fetched from the .wasm beside this file (Vite and webpack emit it as an asset); where it is
// not there (a bundler that emits no .wasm: Angular's, esbuild, Rollup), from the inline build's
// bytes, a chunk of their own imported only then.
import * as glue from './reauth.js';
import { loader, unpack } from './loader.js';

const api = loader(glue, () => new URL('reauth_bg.wasm', import.meta.url), false,
  () => import('./reauth_wasm.js').then((m) => unpack(m.default)));
/** Loads the module (optional: authFetch waits for the load itself); see the .d.ts. */
export default api.init;
export const { createAuthFetch, initSync, parseChallenges } = api;
