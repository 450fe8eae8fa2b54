// The entry for servers (the cookie-session build): Node, SSR, prerendering, edge runtimes.
// Importing it does nothing. At first use the module is read from the .wasm beside this file
// where it can be at once (Node, unbundled), else loaded from the inline build's bytes, a chunk
// imported only then (a server bundle, an edge runtime, no file system).
import * as glue from './reauth_bff.js';
import { loader, bffMethods, readBeside, unpack } from './loader.js';

const api = loader(glue, () => import('./reauth_bff_wasm.js').then((m) => unpack(m.default)), bffMethods,
  () => readBeside('reauth_bff_bg.wasm', import.meta.url));
/** Loads the module; optional (authFetch waits for the load itself); in Node it is instant. */
export default api.init;
export const { createAuthFetch, initSync, parseChallenges } = api;
