// The entry for bundlers that emit no .wasm but split chunks (Angular's, picked by its `es2015`
// export condition; the cookie-session build): the module comes from the inline build's bytes,
// a chunk of its own that loads at first use, never in the app's initial chunk.
import * as glue from './reauth_bff.js';
import { loader, bffMethods, unpack } from './loader.js';

const api = loader(glue, () => import('./reauth_bff_wasm.js').then((m) => unpack(m.default)), bffMethods);
/** Loads the module (optional: authFetch waits for the load itself); see the .d.ts. */
export default api.init;
export const { createAuthFetch, initSync, parseChallenges } = api;
