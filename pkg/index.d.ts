// reauth: the 401 engine (cookie sessions are reauth/bff; OAuth and DPoP, reauth/oauth). The
// types of the Rust exports and their options, hooks and results are generated from the Rust
// sources (src/web/types.d.ts, through build.rs and wasm-bindgen) into reauth.d.ts.

export { createAuthFetch, parseChallenges } from './reauth.js';
export type {
  AuthEvent,
  AuthFailure,
  AuthFailureReason,
  AuthFetch,
  AuthFetchOptions,
  Challenge,
  RefreshContext,
  RefreshHook,
  StepUpInfo,
  TokenSet,
} from './reauth.js';

/** Where `init` can load the WebAssembly module from. */
export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

/** What `initSync` can instantiate. */
export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Loads the WebAssembly module (later calls return the same load; a failed one can be tried
 * again). Optional: `createAuthFetch` starts the load itself and its calls wait for it; call
 * `init(input)` first when the module comes from elsewhere. In Node the module is loaded at
 * import and this resolves at once.
 *
 * @param input Where to load the module from, when not from the `.wasm` file beside the package
 *   entry: its bytes, a compiled `WebAssembly.Module`, a URL, a `Request` or a `Response`.
 */
export default function init(input?: InitInput | Promise<InitInput>): Promise<void>;

/** Loads the module synchronously from its bytes or a compiled module. */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): void;
