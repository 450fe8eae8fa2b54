// The entry for browsers, workers and bundlers: the module is fetched from the .wasm beside
// this file (Vite and webpack emit it as an asset). The API is loader.js's.
import { init as load, setSource } from './loader.js';

export { createAuthFetch, initSync, parseChallenges } from './loader.js';

setSource(() => new URL('reauth_bg.wasm', import.meta.url));

/**
 * Loads the module from `input` (a URL, a Request, a Response, bytes or a compiled module; by
 * default the .wasm beside this file). Every call returns the same load; a failed one can be
 * retried. Optional: `authFetch` waits for the load itself.
 */
export default function init(input) {
  return load(input);
}
