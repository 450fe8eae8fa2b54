// The entry for browsers, workers and bundlers (the OAuth build: the 401 engine with OAuth 2.0
// and DPoP): the module is fetched from the .wasm beside this file (Vite and webpack emit it).
import * as glue from './reauth_oauth.js';
import { loader, oauthMethods } from './loader.js';

const api = loader(glue, () => new URL('reauth_oauth_bg.wasm', import.meta.url), oauthMethods);
/** Loads the module (optional: authFetch waits for the load itself); see the .d.ts. */
export default api.init;
export const { createAuthFetch, initSync, parseChallenges } = api;
