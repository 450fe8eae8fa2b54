// Loads the wasm core (it imports nothing) and moves strings through its one buffer.
//
// The core's functions take and return numbers (src/wasm/mod.rs). A string goes in as UTF-8
// written into the buffer the core lends (`buf`), and comes back the same way: the function
// returns its length in bytes (-1 for none).

/** The instance's exports, once loaded. */
export let ex;
let loading;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The JS view of the buffer, and how many bytes of it the core promised. */
let view;
let room = 0;

/** Instantiates the module from its bytes or a compiled module (or `{ module }`), at once. */
export function initSync(module) {
  if (ex === undefined) {
    if (module != null && module.module !== undefined) module = module.module;
    const compiled = module instanceof WebAssembly.Module ? module : new WebAssembly.Module(module);
    ex = new WebAssembly.Instance(compiled, {}).exports;
  }
  return ex;
}

/** Loads the module from `input` (a URL, a Request, a Response, bytes or a compiled module;
 * by default the .wasm beside this file). Every call after the first returns the same load. */
export function init(input) {
  if (ex !== undefined) return Promise.resolve(ex);
  loading ??= load(input).catch((e) => {
    loading = undefined;
    throw e;
  });
  return loading;
}

async function load(input) {
  let source = await (input ?? new URL('reauth.wasm', import.meta.url));
  if (typeof source === 'string' || source instanceof URL
    || source instanceof Request) {
    source = await fetch(source);
  }
  let instance;
  if (source instanceof Response) {
    if (!source.ok) throw new Error(`reauth: could not load its .wasm (HTTP ${source.status} from ${source.url})`);
    // Streaming compilation needs the right MIME type; some static servers send another.
    instance = WebAssembly.instantiateStreaming && source.headers.get('content-type') === 'application/wasm'
      ? (await WebAssembly.instantiateStreaming(source, {})).instance
      : (await WebAssembly.instantiate(await source.arrayBuffer(), {})).instance;
  } else {
    instance = await WebAssembly.instantiate(source, {});
    if (instance.instance) instance = instance.instance; // bytes give { module, instance }
  }
  ex ??= instance.exports;
  return ex;
}

/** The buffer, with at least `bytes` bytes of room. */
function area(bytes) {
  if (bytes > room) {
    room = Math.max(bytes, room * 2, 2048);
    ex.buf(room);
    view = undefined;
  }
  // A view dies when the memory grows (its byteLength becomes 0) or the buffer moves.
  if (view === undefined || view.byteLength === 0) view = new Uint8Array(ex.memory.buffer, ex.buf(0), room);
  return view;
}

/** Writes `s` as UTF-8 into the buffer at byte `at`; returns its length in bytes. */
export function put(s, at = 0) {
  const v = area(at + s.length * 3);
  // ASCII (URLs, tokens) by hand: a call into TextEncoder costs more than this loop.
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) return i + encoder.encodeInto(s.slice(i), v.subarray(at + i)).written;
    v[at + i] = c;
  }
  return n;
}

/** The string of `len` bytes the core just wrote into the buffer (undefined for -1). */
export function take(len) {
  if (len < 0) return undefined;
  view = undefined; // it may have moved to make room
  return decoder.decode(area(len).subarray(0, len));
}
