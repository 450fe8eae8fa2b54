// The entry for browsers, workers and bundlers. reauth is a Rust module: reauth.js and
// reauth_bg.wasm are wasm-bindgen's output. This file loads the module and re-exports it.
import load, { initSync as loadSync, createAuthFetch as create, parseChallenges as parse } from './reauth.js';

let ready = false;
let loading;

function loaded(what) {
  if (!ready) throw new Error(`reauth: await init() (or call initSync) before ${what}`);
}

/** Creates an `authFetch` (see the README and index.d.ts). */
export function createAuthFetch(options) {
  loaded('createAuthFetch');
  return create(options);
}

/** Parses a `WWW-Authenticate` header value into its challenges. */
export function parseChallenges(header) {
  loaded('parseChallenges');
  return parse(header);
}

/** Instantiates the module from its bytes or a compiled module (or `{ module }`), at once. */
export function initSync(module) {
  if (!ready) {
    loadSync({ module: module != null && module.module !== undefined ? module.module : module });
    ready = true;
  }
}

/**
 * Loads the module from `input` (a URL, a Request, a Response, bytes or a compiled module; by
 * default the .wasm beside this file). Every call returns the same load; a failed one can be
 * retried.
 */
export default function init(input) {
  if (ready) return Promise.resolve();
  loading ??= fetchModule(input)
    .then((module_or_path) => load({ module_or_path }))
    .then(() => { ready = true; }, (e) => { loading = undefined; throw e; });
  return loading;
}

async function fetchModule(input) {
  let source = await (input ?? new URL('reauth_bg.wasm', import.meta.url));
  if (typeof source === 'string' || source instanceof URL || source instanceof Request) source = await fetch(source);
  if (source instanceof Response) {
    if (!source.ok) throw new Error(`reauth: could not load its .wasm (HTTP ${source.status} from ${source.url})`);
    // Streaming compilation needs the right MIME type; some static servers send another.
    if (source.headers.get('content-type') !== 'application/wasm') source = await source.arrayBuffer();
  }
  return source;
}
