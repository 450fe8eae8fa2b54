import type { InitInput } from './reauth_wasm.js';

export * from './reauth_wasm.js';

/**
 * Loads the WebAssembly module; call it once before anything else (later calls return the same
 * load). In Node the module is loaded at import and this resolves at once.
 *
 * @param input Where to load the module from, when not from the `.wasm` file beside the package
 *   entry: its bytes, a compiled `WebAssembly.Module`, a URL or a `Response`.
 */
export default function init(input?: InitInput | Promise<InitInput>): Promise<void>;
