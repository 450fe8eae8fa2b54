// The entry for Node: Node's fetch cannot read file: URLs, so the module is read from disk and
// instantiated at import. `await init()` is still accepted (and does nothing) so that code
// shared with the browser runs unchanged.
import { readFileSync } from 'node:fs';
import { initSync } from './loader.js';

export { createAuthFetch, initSync, parseChallenges } from './loader.js';

initSync(readFileSync(new URL('./reauth_bg.wasm', import.meta.url)));

/** The module is ready at import in Node; this resolves at once. */
export default function init(_input) {
  return Promise.resolve();
}
