// The public types of the package (wasm-bindgen puts this into the generated .d.ts). Lines
// between `//#if oauth` and `//#else` (or `//#end`) are the OAuth build's (`reauth/oauth`),
// between `//#if bff` and its `//#else` or `//#end` the cookie-session build's (`reauth/bff`),
// the `//#else` parts the other builds': build.rs picks them per build.

/** One challenge of a `WWW-Authenticate` header. */
export interface Challenge {
  /** The auth-scheme as sent. */
  scheme: string;
  /** The token68 form (`Negotiate abcdef`), or null when the challenge has parameters. */
  token68: string | null;
  /** The auth-params in header order: names lower-cased, values unescaped. */
  params: [string, string][];
}

/** Tokens, from a login or from `refresh`. */
export interface TokenSet {
  accessToken: string;
  /** A rotated refresh token replaces the current one; omitted, the current one is kept. */
  refreshToken?: string;
  /** Lifetime of the access token in seconds. */
  expiresIn?: number;
}

/** What `refresh` is called with. */
export interface RefreshContext {
  /** The current refresh token, or null (the hook may use a cookie instead). */
  refreshToken: string | null;
  /** The challenges of the 401 that started the refresh. */
  challenges: Challenge[];
  /** The raw fetch, never intercepted: use it for the token request. */
  fetch: typeof fetch;
  /** Aborts when the refresh outlives `refreshTimeoutMs` or the tokens are set or cleared.
   * Where refresh tokens rotate, do not abort the token request itself with it: a request the
   * server has already answered would lose the rotated token. Resolve with the tokens even
   * after it aborted: a late answer is installed unless newer tokens arrived meanwhile. */
  signal: AbortSignal;
}

//#if oauth
/** Why re-authentication failed, for the redirect hook. `dpop_key_lost`: with DPoP, the key
 * the tokens are bound to is gone from this browser (evicted storage, a private mode). */
export type AuthFailureReason = 'refresh_failed' | 'refresh_timeout' | 'retry_unauthorized' | 'dpop_key_lost';
//#else
/** Why re-authentication failed, for the redirect hook. */
export type AuthFailureReason = 'refresh_failed' | 'refresh_timeout' | 'retry_unauthorized';
//#end

/** What `onAuthFailure` is called with: once per failed refresh, not once per request; and, when
 * tabs share tokens (`crossTab`), in every tab when one of them logs out. */
export type AuthFailure =
  | {
      reason: 'refresh_failed' | 'refresh_timeout' | 'retry_unauthorized';
//#if bff
      /** What `refresh` threw or rejected with, or the timeout error. With `bff`, an `Error`
       * with `code: 'session_expired'` when the BFF refused the refresh or has none. */
//#else
      /** What `refresh` threw or rejected with, or the timeout error. */
//#end
      error?: unknown;
      /** The URL of the request whose 401 started the refresh (or whose retry was refused). */
      url: string;
      /** Where to come back to after a login: the page's URL (none in a worker or Node). */
      returnTo?: string;
      /** A copy of that 401 response (the caller still gets the original, body unread). None
       * when no 401 had joined the refresh: a proactive refresh that found the grant gone
       * (`invalid_grant`). */
      response?: Response;
    }
//#if oauth
  | {
      /** With DPoP: the key the tokens are bound to is gone from this browser; they are
       * forgotten in this tab (a new login binds new ones to a new key). */
      reason: 'dpop_key_lost';
      /** An `OAuthError` with `code: 'dpop_key_lost'`. */
      error: OAuthError;
      /** The URL of the request that found out. */
      url: string;
      returnTo?: string;
      response?: Response;
    }
//#end
  | {
//#if bff
      /** `clearTokens()` (or, with `bff`, `logout()` or a session found over) ran in this tab
       * or another one sharing the tokens. */
//#else
      /** `clearTokens()` ran in this tab or another one sharing the tokens. */
//#end
      reason: 'logout';
      /** The page's URL. */
      url: string;
      returnTo?: string;
      error?: undefined;
      response?: undefined;
    };

/** Events for logging and demos. */
export type AuthEvent =
  | { type: 'refresh-start'; url: string; /** Started before any 401: the token was about to expire. */ proactive: boolean }
  | { type: 'refresh-success'; url: string; /** The answer of a refresh that had timed out. */ reason?: 'late' }
//#if oauth
  | { type: 'refresh-failure'; url: string; reason: 'refresh_failed' | 'refresh_timeout' | 'dpop_key_lost'; error: unknown; proactive: boolean }
  | { type: 'retry'; url: string; /** A DPoP nonce retry (no refresh). */ reason?: 'use_dpop_nonce' }
//#else
  | { type: 'refresh-failure'; url: string; reason: 'refresh_failed' | 'refresh_timeout'; error: unknown; proactive: boolean }
  | { type: 'retry'; url: string }
//#end
  | { type: 'step-up'; url: string }
  | { type: 'auth-failure'; url: string; reason: AuthFailureReason | 'logout' };

//#if oauth
/** OAuth 2.0 settings (a public client: no secret). */
export interface OAuthOptions {
  /** The authorization server; its endpoints are read from its metadata (`issuer +
   * '/.well-known/openid-configuration'`, else RFC 8414's
   * `/.well-known/oauth-authorization-server` + the issuer's path). */
  issuer?: string;
  /** The token endpoint, when not from the metadata (then `issuer` may be left out). */
  tokenEndpoint?: string;
  /** The authorization endpoint, when not from the metadata. */
  authorizationEndpoint?: string;
  /** The revocation endpoint (RFC 7009), when not from the metadata. */
  revocationEndpoint?: string;
  /** The end-session endpoint (OpenID Connect RP-Initiated Logout), when not from the
   * metadata: where `logout({ endSession: true })` sends the browser. */
  endSessionEndpoint?: string;
  /** Where the provider sends the browser after its end-session (registered with it); a
   * `logout({ returnTo })` takes precedence. */
  postLogoutRedirectUri?: string;
  /** The client's id. */
  clientId: string;
  /** Where the authorization server sends the browser back; default: the page's URL. */
  redirectUri?: string;
  /** The scope to ask for, e.g. 'openid offline_access'. */
  scope?: string;
  /** The resource the tokens are for (RFC 8707). */
  resource?: string;
}

/** What `authorizationUrl` and `login` take. */
export interface LoginOptions {
  /** Given back by `completeLogin`, e.g. the page to show after the login. */
  returnTo?: string;
  /** `acr_values` (e.g. for a step-up). */
  acrValues?: string;
  /** `max_age` in seconds. */
  maxAge?: number;
  /** `prompt` ('login', 'consent', …). */
  prompt?: string;
  /** `login_hint`. */
  loginHint?: string;
}

/** An OAuth error: `code` is the error code (`access_denied`, `invalid_grant`, `state_mismatch`,
 * `issuer_mismatch`, `issuer_missing`, `dpop_key_lost`, …). */
export interface OAuthError extends Error {
  code: string;
}

//#end
/** What `onStepUp` is called with (RFC 9470): the resource asks for a stronger or more recent
 * authentication. */
export interface StepUpInfo {
  /** `acr_values` from the challenge, or null. */
  acrValues: string | null;
  /** `max_age` (seconds) from the challenge, or null. */
  maxAge: number | null;
  /** The URL of the refused request. */
  url: string;
  /** A copy of the 401 (the caller still gets the original, body unread). */
  response: Response;
}

//#if bff
/** A cookie session behind a backend-for-frontend (BFF): the tokens stay on the server, the
 * page holds its HttpOnly cookie. Each request to `origins` (and to the BFF's own endpoints'
 * origins) carries `credentials: 'include'`, `redirect: 'manual'` (unless the call sets them)
 * and `headers`; a 401, or a redirect to the BFF's login page, refreshes the session once for
 * every call and tab. */
export interface BffOptions {
  /** The endpoints, bodies and headers of Duende BFF ('duende': `X-CSRF: 1`, `/bff/user`,
   * `/bff/login`, the `bff:logout_url` claim, no refresh endpoint), of the Curity Identity
   * Server's Token Handler ('curity': `token-handler-version: 1` on every request, form bodies,
   * `POST refresh`, `GET session`, `POST login/start` and `login/end`, `POST logout`) or of
   * Curity's open-source OAuth Agent ('oauth-agent': JSON bodies, `POST refresh`, `GET claims`,
   * `POST login/start` and `login/end`, `POST logout`, and the CSRF value `login/end` answers
   * sent as `csrfHeader` on refresh, logout and every call that is not a GET); the fields
   * below override them. */
  preset?: 'duende' | 'curity' | 'oauth-agent';
  /** Where the preset's endpoints are: Duende's default is the page's origin; Curity's
   * (required) is the token handler application's URL, e.g.
   * 'https://api.example.com/oauthagent/example'; the OAuth Agent's (required) its URL, e.g.
   * 'https://api.example.com/oauth-agent'. */
  url?: string;
  /** With 'oauth-agent': the CSRF header, `x-<cookie prefix>-csrf`; default 'x-example-csrf'
   * (the agent's example deployment). */
  csrfHeader?: string;
  /** The anti-CSRF headers every request to the BFF carries, e.g. `{ 'X-CSRF': '1' }`. */
  headers?: Record<string, string>;
  /** A session refresh: a `POST` here (401 or 403: the session is over). null, or not given
   * without a preset that has one: the BFF refreshes on its own side, so a 401 goes straight
   * to `onAuthFailure` (once per burst). */
  refreshUrl?: string | null;
  /** Where `session()` reads the user's claims (401: no session). */
  userUrl?: string;
  /** Where `logout()` sends the page. */
  logoutUrl?: string;
  /** The login endpoint's query parameter for the return address; default 'returnUrl' for
   * Duende, 'returnTo' otherwise. */
  returnParam?: string;
}

//#end
interface BaseOptions {
  /** The redirect hook: called once per failed refresh (or refused retry). */
  onAuthFailure?(info: AuthFailure): void;
//#if bff
  /** Without onAuthFailure: `location.assign(loginUrl + '?return_to=' + location.href)`. With
   * `bff`: the BFF's login endpoint (the preset's by default), where `login()` goes and, without
   * onAuthFailure, a failed re-authentication too (`?returnUrl=` the page's path for Duende). */
  loginUrl?: string;
  /** Origins the token may be sent to; default: the page's own origin (required in Node). */
  origins?: string[];
  /** Where tokens persist; default 'memory' ('local' with `bff`, which stores no secret: only
   * which session this is, so that tabs share refreshes and logouts). */
  storage?: 'memory' | 'session' | 'local';
//#else
  /** Without onAuthFailure: `location.assign(loginUrl + '?return_to=' + location.href)`. */
  loginUrl?: string;
  /** Origins the token may be sent to; default: the page's own origin (required in Node). */
  origins?: string[];
  /** Where tokens persist; default 'memory'. */
  storage?: 'memory' | 'session' | 'local';
//#end
  /** The storage key; default 'reauth'. Instances of one page (or worker) with the same storage
   * ('session' or 'local') and key share one session: one token set, one refresh. */
  storageKey?: string;
  /** The fetch to wrap; default: globalThis.fetch, read at call time. */
  fetch?: typeof fetch;
  /** How long a refresh may take before it counts as failed; default 10000 (Infinity: no limit). */
  refreshTimeoutMs?: number;
  /** Overrides the built-in decision for an error response (status 400 and up): true refreshes,
   * false hands the response back, anything else keeps the built-in decision. */
  shouldRefresh?(response: Response, challenges: Challenge[]): boolean | undefined;
  /** Called on each step of re-authentication. */
  onEvent?(event: AuthEvent): void;
  /** Refresh before sending once the access token expires within this many ms (capped at half
   * its lifetime); the expiry comes from `expiresIn` or a JWT's `exp`. Default 30000. */
  refreshSkewMs?: number;
  /** Coordinate with other tabs: one refresh at a time across tabs, tokens and logout shared.
   * Default: on with `storage: 'local'` (which it needs), off otherwise. */
  crossTab?: boolean;
  /** How long a tab holding the cross-tab refresh lock may go without a heartbeat before
   * another tab takes the lock over (a frozen or hung tab). A holder whose refresh is within its
   * own `refreshTimeoutMs`, or whose token request is still out, is never taken from.
   * Default 5000. */
  lockTimeoutMs?: number;
}

/** Gets new tokens; called once for any number of concurrent 401s. Resolve with `null` when
 * the session is over (the token endpoint said `invalid_grant`): the tokens are cleared before
 * `onAuthFailure` runs. Throw or reject for a failure that may pass (network, 5xx): the tokens
 * are kept for the next try. */
export type RefreshHook = (ctx: RefreshContext) => Promise<TokenSet | string | null> | TokenSet | string | null;

//#if bff
/** With `bff`, the app's own session refresh (instead of `bff.refreshUrl`): resolve with
 * anything but `null` when the session was refreshed, `null` when it is over; throw or reject
 * for a failure that may pass. */
export type SessionRefreshHook = (ctx: RefreshContext) => unknown;

/** A cookie session (`bff`): no tokens in the page. */
type BffSession = { bff: 'duende' | 'curity' | 'oauth-agent' | BffOptions; refresh?: SessionRefreshHook };
//#end

//#if oauth
/** `createAuthFetch`'s options: a `refresh` hook, or `oauth` for the built-in refresh grant
 * (or both: then the hook refreshes). */
export type AuthFetchOptions = BaseOptions & (
  | { refresh: RefreshHook; oauth?: OAuthOptions; dpop?: false }
  | { refresh?: undefined; oauth: OAuthOptions;
      /** DPoP (RFC 9449): tokens bound to a WebCrypto key of this app (private key
       * non-extractable; kept in IndexedDB with `storage: 'session'` or `'local'`), a fresh
       * proof on every token request and every request to `origins`. Needs the built-in
       * refresh grant (no `refresh` hook). */
      dpop?: boolean }
  | { refresh?: RefreshHook; oauth: OAuthOptions; dpop?: false }
) & {
//#end
//#if !oauth
//#if bff
/** `createAuthFetch`'s options: a `refresh` hook for tokens, or `bff` for a cookie session
 * (`reauth/oauth` takes `oauth` and `dpop`). */
export type AuthFetchOptions = BaseOptions & ({ refresh: RefreshHook; bff?: undefined } | BffSession) & {
//#else
/** `createAuthFetch`'s options (`reauth/oauth` also takes `oauth` and `dpop`; `reauth/bff`,
 * `bff`). */
export type AuthFetchOptions = BaseOptions & { refresh: RefreshHook } & {
//#end
//#end
  /** RFC 9470 step-up: a 401 `insufficient_user_authentication` calls this once per burst
   * (its return value is not used; a rejection is reported). Without it and with `oauth` (the
   * OAuth build), the page goes to `login({ acrValues, maxAge, returnTo: location.href })`. The
   * caller gets the 401 either way. */
  onStepUp?(info: StepUpInfo): unknown;
};

/** `fetch` with re-authentication. */
export interface AuthFetch {
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Installs tokens (after a login). */
  setTokens(tokens: TokenSet): void;
  /** Forgets both tokens, here and in storage (logout). */
  clearTokens(): void;
  /** The current access token (null until `ready` resolves, for one made before the module
   * loaded). */
  readonly accessToken: string | null;
  /** Resolves once the module is loaded and this authFetch made (at once for one made after
   * `init()`); rejects with the load's error, or the TypeError of a bad option. Before it
   * resolves, calls wait for it and `setTokens`/`clearTokens` are applied, in order, when it
   * does. */
  readonly ready: Promise<void>;
//#if oauth
  /** With `oauth`: the authorization URL for a login (code flow, PKCE S256, `state`); the
   * verifier and state are kept in the configured storage (sessionStorage with `'memory'`:
   * the callback is a new page; in memory where there is no Web Storage, as in Node). */
  authorizationUrl(options?: LoginOptions): Promise<string>;
  /** With `oauth`, in a window: sends the page to the authorization URL. */
  login(options?: LoginOptions): Promise<void>;
  /** With `oauth`: completes a login from the callback URL (default: the page's), checks its
   * `state`, exchanges the code and installs the tokens. Rejects with an `OAuthError`. */
  completeLogin(url?: string): Promise<{ returnTo: string | null }>;
  /** With `oauth`: `clearTokens()` at once, then revokes the refresh token where the server
   * can; with `endSession: true`, then ends the provider's session too (RP-Initiated Logout:
   * `client_id`, `id_token_hint` with the last ID token, `post_logout_redirect_uri` from
   * `returnTo` or `oauth.postLogoutRedirectUri`): a window goes there, and the promise resolves
   * with that URL (rejects with `end_session_unsupported` where the provider has none). */
  logout(options?: { returnTo?: string; endSession?: boolean }): Promise<string | void>;
//#else
//#if bff
  /** With `bff`: sends the page to the BFF's login (the token handler's: the authorization URL
   * its `login/start` answers), to come back to `returnTo` (default: the page's URL). */
  login(options?: { returnTo?: string }): Promise<void>;
  /** With `bff` 'curity' or 'oauth-agent', on each page load: on the page a login comes back
   * to, hands the authorization response to `login/end`, which sets the session cookies; the
   * session starts in every tab and the code leaves the address bar (the OAuth Agent's answer on
   * any page also brings the CSRF value its refresh, logout and API writes need). `returnTo:
   * null` where there was no login to complete (any other page, or a BFF that completes logins
   * itself). */
  completeLogin(): Promise<{ returnTo: string | null }>;
  /** With `bff`: ends the session here and in every tab (their `onAuthFailure` hears
   * `'logout'`), then sends the page to the BFF's logout (Duende's `bff:logout_url` claim, a
   * token handler's end-session URL). */
  logout(options?: { returnTo?: string }): Promise<void>;
  /** With `bff`: the user's claims from the BFF (Duende's `[{ type, value }]` as an object; the
   * token handler's ID token claims), `null` when there is no session. Fetched once per
   * session: calls share one request until the session changes (a refresh, a login, a logout,
   * in any tab). */
  session(): Promise<Record<string, unknown> | null>;
//#end
//#end
}
