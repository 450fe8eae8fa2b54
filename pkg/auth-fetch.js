// createAuthFetch: a function with fetch's signature around the wasm AuthFetchCore.
import { AuthFetchCore } from './reauth_wasm.js';

// The same symbol the wasm layer checks, so that an authFetch installed as globalThis.fetch
// does not send its own requests back into itself.
const MARK = Symbol.for('reauth.authFetch');

/**
 * Creates `authFetch`: `fetch` with the access token attached to allowed origins, one shared
 * refresh for any number of 401s, and one retry per request. See the README for the options.
 */
export function createAuthFetch(options) {
  const core = new AuthFetchCore(options);
  const authFetch = (input, init) => core.fetch(input, init);
  Object.defineProperties(authFetch, {
    setTokens: { value: (tokens) => core.setTokens(tokens) },
    clearTokens: { value: () => core.clearTokens() },
    accessToken: { get: () => core.accessToken, enumerable: true },
    [MARK]: { value: true },
  });
  return authFetch;
}
