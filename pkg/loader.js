// What the entries share: loading a build of the module (reauth.js, reauth_bff.js and
// reauth_oauth.js are wasm-bindgen's glue for the core, the cookie-session build and the OAuth
// build) and createAuthFetch, which works before the load ends: its calls wait for it.
const mark = Symbol.for('reauth.authFetch');
const report = (e) => (globalThis.reportError ?? console.error)(e);
// What an authFetch wraps (itself when it is none): the module is never fetched through an
// authFetch, which would wait for the very load it is making (`globalThis.fetch = authFetch`).
const plain = (f) => { for (let i = 0; i < 9 && typeof f?.[mark] === 'function'; i++) f = f[mark]; return f; };
const fetchAtImport = plain(globalThis.fetch);
// A page or a worker loads the module as soon as an instance is made; a server (SSR, Node, an
// edge runtime) on the first call.
const page = typeof document === 'object' || typeof WorkerGlobalScope === 'function';

/** The API of an entry over `glue` (a build's glue module; `methods`: the asynchronous
 * methods that build puts on an authFetch). `source()` gives the module where `init()` is
 * called without input; `sync()`, the bytes at once where they can be read so (Node), or
 * nothing. */
export function loader(glue, source, methods = [], sync) {
  let ready = false;
  let loading;

  /** Loads the module from `input`, by default from the entry's source. Every call returns the
   * same load; a failed one can be retried. */
  function init(input) {
    if (ready || (input === undefined && loadSync())) return Promise.resolve();
    loading ??= Promise.resolve(input ?? source()).then(fetched)
      .then((module_or_path) => glue.default({ module_or_path }))
      .then(() => { ready = true; }, (e) => { loading = undefined; throw explained(e); });
    return loading;
  }

  /** Instantiates the module at once when `sync` can read it; whether it is ready. */
  function loadSync() {
    if (!ready && sync && !loading) {
      try { const bytes = sync(); if (bytes) api.initSync(bytes); } catch { /* loaded the other way */ }
      sync = undefined;
    }
    return ready;
  }

  /** Creates an `authFetch` (see the README): at once once the module is loaded; before that,
   * one whose calls (and `ready`) wait for the load, which starts now. */
  function createAuthFetch(options) {
    if (loadSync()) return glue.createAuthFetch(options);
    let real;
    const queue = [];
    const made = () => (real ? Promise.resolve(real) : init().then(() => {
      real ??= glue.createAuthFetch(options);
      for (const [k, a] of queue.splice(0)) try { real[k](...a); } catch (e) { report(e); }
      return real;
    }));
    const f = (input, given) => made().then((af) => af(input, given));
    for (const k of methods) {
      f[k] = (...a) => made().then((af) => af[k](...a));
    }
    for (const k of ['setTokens', 'clearTokens']) {
      f[k] = (...a) => { if (real) return real[k](...a); queue.push([k, a]); };
    }
    Object.defineProperties(f, {
      accessToken: { get: () => (real ? real.accessToken : null) },
      ready: { get: () => made().then(() => {}) },
    });
    // What it wraps, as createAuthFetch's own functions say: an instance made while this one is
    // the global fetch wraps the same.
    const g = globalThis.fetch;
    f[mark] = options?.fetch ?? (typeof g?.[mark] === 'function' ? g[mark] : g);
    if (page) made().catch(() => {}); // starts the load; its error reaches the calls and `ready`
    return f;
  }

  const api = {
    init,
    createAuthFetch,
    /** Parses a `WWW-Authenticate` header value into its challenges. */
    parseChallenges(header) {
      if (!loadSync()) throw new Error('reauth: await init() (or authFetch.ready) before parseChallenges');
      return glue.parseChallenges(header);
    },
    /** Instantiates the module from its bytes or a compiled module (or `{ module }`), at once. */
    initSync(module) {
      if (ready) return;
      glue.initSync({ module: module != null && module.module !== undefined ? module.module : module });
      ready = true;
    },
  };
  return api;
}

/** The module inside an inline entry (`gzipped`: gzip, base64), unpacked as it compiles (so
 * asynchronously: browsers refuse to compile large modules synchronously on the main thread). */
export function unpack(gzipped) {
  let bytes = Uint8Array.fromBase64?.(gzipped);
  if (!bytes) {
    const text = atob(gzipped);
    bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  }
  if (typeof DecompressionStream !== 'function') {
    throw new TypeError('reauth/inline needs DecompressionStream (Chrome 80, Firefox 113, Safari 16.4); '
      + 'in older browsers import "reauth" and serve its .wasm, or pass the module to init()');
  }
  const wasm = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(wasm, { headers: { 'content-type': 'application/wasm' } });
}

/** The file `name` beside the module at `base`, read at once where that can be (a file: URL
 * and Node's `process.getBuiltinModule`); nothing elsewhere. */
export function readBeside(name, base) {
  const url = new URL(name, base);
  const fs = url.protocol === 'file:' ? globalThis.process?.getBuiltinModule?.('node:fs') : undefined;
  return fs?.readFileSync(url);
}

async function fetched(r) {
  if (typeof r === 'string' || r instanceof URL || r instanceof Request) {
    r = await (fetchAtImport ?? plain(globalThis.fetch))(r);
  }
  if (!(r instanceof Response)) return r;
  if (!r.ok) throw new Error(`reauth: could not load its .wasm (HTTP ${r.status} from ${r.url})${unemitted}`);
  const type = r.headers.get('content-type');
  if (type === 'application/wasm') return r; // compiled as it streams in
  const bytes = await r.arrayBuffer(); // (streaming compilation needs that type; some servers send another)
  const head = new Uint8Array(bytes.slice(0, 4));
  if (String(head) === '0,97,115,109') return bytes;
  const html = head[0] === 60 || /html/.test(type) ? ' (an HTML page?)' : '';
  throw new Error(`reauth: ${r.url || 'the .wasm'} answered ${type || 'no content type'}${html}, not the module; `
    + `serve the .wasm as a static file${unemitted}`);
}

// Where a bundler did not emit the .wasm: the entry that needs none.
const unemitted = ' (a bundler that emits no .wasm, such as esbuild or Rollup: import \'reauth/inline\' '
  + 'instead, or \'reauth/bff/inline\', \'reauth/oauth/inline\')';

// A page whose Content-Security-Policy refuses WebAssembly: say which directive to add.
const explained = (e) => (/Content.Security.Policy|CSP|unsafe-eval/i.test(e?.message)
  ? new Error('reauth: the page\'s Content-Security-Policy refuses to compile WebAssembly; add '
    + '\'wasm-unsafe-eval\' to its script-src (nothing else is needed)', { cause: e })
  : e);

/** The asynchronous methods of an authFetch of the cookie-session build and the OAuth build. */
export const bffMethods = ['login', 'completeLogin', 'logout', 'session'];
export const oauthMethods = ['authorizationUrl', 'login', 'completeLogin', 'logout'];
