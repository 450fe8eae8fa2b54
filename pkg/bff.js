// The entry for browsers, workers and bundlers (the cookie-session build: the 401 engine with
// cookie sessions behind a backend-for-frontend): the module is fetched from the .wasm beside
// this file (Vite and webpack emit it).
import * as glue from './reauth_bff.js';
import { loader, bffMethods } from './loader.js';

const api = loader(glue, () => new URL('reauth_bff_bg.wasm', import.meta.url), bffMethods);
/** Loads the module (optional: authFetch waits for the load itself); see the .d.ts. */
export default api.init;
export const { createAuthFetch, initSync, parseChallenges } = api;
