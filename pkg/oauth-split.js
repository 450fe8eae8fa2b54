// The entry for bundlers that emit no .wasm but split chunks (Angular's, picked by its `es2015`
// export condition; the OAuth build): the module comes from the inline build's bytes, a chunk
// of its own that loads at first use, never in the app's initial chunk.
import * as glue from './reauth_oauth.js';
import { loader, oauthMethods, unpack } from './loader.js';

const api = loader(glue, () => import('./reauth_oauth_wasm.js').then((m) => unpack(m.default)), oauthMethods);
/** Loads the module (optional: authFetch waits for the load itself); see the .d.ts. */
export default api.init;
export const { createAuthFetch, initSync, parseChallenges } = api;
