// The entry for browsers, workers and bundlers (the core: the 401 engine): the module is
// fetched from the .wasm beside this file (Vite and webpack emit it as an asset).
import * as glue from './reauth.js';
import { loader } from './loader.js';

const api = loader(glue, () => new URL('reauth_bg.wasm', import.meta.url));
/** Loads the module (optional: authFetch waits for the load itself); see the .d.ts. */
export default api.init;
export const { createAuthFetch, initSync, parseChallenges } = api;
