// The entry for Node (the OAuth build): Node's fetch cannot read file: URLs, so the module is
// read from disk and instantiated at import; init() resolves at once.
import { readFileSync } from 'node:fs';
import * as glue from './reauth_oauth.js';
import { loader } from './loader.js';

const api = loader(glue, undefined, true);
api.initSync(readFileSync(new URL('./reauth_oauth_bg.wasm', import.meta.url)));
/** The module is ready at import in Node; this resolves at once. */
export default function init(_input) { return Promise.resolve(); }
export const { createAuthFetch, initSync, parseChallenges } = api;
