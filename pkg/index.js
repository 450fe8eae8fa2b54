// The entry for browsers, workers and bundlers: `await init()` fetches the .wasm next to this
// file (bundlers such as Vite rewrite that URL to the emitted asset).
import { init as load } from './wasm.js';

export { initSync } from './wasm.js';
export { parseChallenges } from './challenges.js';
export { createAuthFetch } from './auth-fetch.js';

/**
 * Loads the WebAssembly module. Safe to call any number of times: every call returns the
 * same load. Pass the module's bytes, a `WebAssembly.Module`, a URL or a Response to load it
 * from somewhere else.
 */
export default function init(input) {
  return load(input).then(() => {});
}
