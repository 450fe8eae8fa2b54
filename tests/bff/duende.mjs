// A real backend-for-frontend for the cookie-session tests that behaves as Duende BFF does:
// Express 5 with Auth0's express-openid-connect (eoc: a confidential OIDC client, code flow with
// PKCE, the session in its encrypted `appSession` cookie) in front of the real provider of
// tests/oidc/provider.mjs. The browser only ever holds the cookie. Every other path goes to the
// test's `fallback` (the page and the package files, same-origin with the BFF).
//
// What it follows, point by point (Duende BFF v4, DuendeSoftware/products at 18193b5, bff/src/Bff/;
// v3, DuendeSoftware/BFF at c71e957, bff/src/Duende.Bff/, where v3 differs; the documentation
// at docs.duendesoftware.com/bff/…, DuendeSoftware/docs.duendesoftware.com at 45184bb,
// astro/src/content/docs/bff/fundamentals/…):
// - Anti-forgery: `/bff/user` and `/api/*` are BFF API endpoints (`AsBffApiEndpoint`); without
//   the header `X-CSRF: 1` (exactly that name and value: BffOptions.AntiForgeryHeaderName and
//   …Value) the answer is a bare 401 before anything else runs
//   (Endpoints/Internal/BffAntiForgeryMiddleware.cs, HttpContextExtensions.CheckAntiForgeryHeader;
//   docs: fundamentals/apis/remote.mdx "Anti-forgery header", session/management/user.md
//   "Cross-Site Request Forgery").
// - `GET /bff/user` (Endpoints/Internal/DefaultUserEndpoint.cs; docs session/management/user.md):
//   no session → 401 with no body (AnonymousSessionResponse's default); else 200 with the
//   session's claims as `[{ type, value }]` (here the ID token's claims, `sid` among them, values
//   as strings as ASP.NET's claims are), then the management claims: `bff:logout_url`
//   (LogoutUrlBuilder: `/bff/logout?sid=<sid>`, plain `/bff/logout` without a sid claim),
//   `bff:session_expires_in` (seconds to the cookie's expiry, rounded) and `bff:session_state`
//   only when the provider returned `session_state` (this one does not: no check_session).
//   `?slide=false` answers without renewing the session cookie (the docs' "Cookie Sliding";
//   SessionManagement/Configuration/PostConfigureSlidingExpirationCheck.cs).
// - `/bff/login?returnUrl=&prompt=` (Endpoints/Internal/DefaultLoginEndpoint.cs; docs
//   session/management/login.md, session/oidc-prompts.md): a `prompt` the provider's discovery
//   does not list in `prompt_values_supported` → 400 problem; a returnUrl that is not local
//   (Internal/LocalUrlReturnUrlValidator.cs: "/" or "/x", not "//", "/\", nor control characters)
//   → 400 problem, `{ title, status, errors }` (HttpContextExtensions.ReturnHttpProblem, whose
//   WriteAsJsonAsync makes it `application/json; charset=utf-8`; v3 threw, a 500); none → "/"; then the challenge, carrying the prompt. prompt=none is the silent
//   login: it comes back to `/bff/silent-login-callback` (BffOpenIdConnectEvents.cs) and an error
//   from the provider for a login with a prompt goes back there (or to returnUrl) instead of
//   failing (eoc's `attemptingSilentLogin`).
// - `/bff/silent-login` (deprecated in v4 for `/bff/login?prompt=none`; docs
//   session/management/silent-login.md, DefaultSilentLoginEndpoint.cs) and
//   `/bff/silent-login-callback` (DefaultSilentLoginCallbackEndpoint.cs): the callback is an HTML
//   page whose one script (CSP `script-src 'nonce-…'`, no-store) posts
//   `{source:'bff-silent-login', isLoggedIn}` to the parent at the BFF's origin.
// - `GET /bff/logout?sid=&returnUrl=` (Endpoints/Internal/DefaultLogoutEndpoint.cs; docs
//   session/management/logout.md): with a session whose claims have a sid, a missing or other
//   `sid` → 400 problem "Invalid Session ID" (RequireLogoutSessionId; v3 threw, a 500); a
//   non-local returnUrl → 400 problem; then the session cookie goes, the refresh token is revoked
//   (RevokeRefreshTokenOnLogout, default true) and the browser goes to the provider's
//   end_session_endpoint with the id_token_hint, `post_logout_redirect_uri` = the BFF's
//   `/signout-callback-oidc` and the return address in a protected `state`, as ASP.NET's OIDC
//   handler signs out (SignOutAsync after the cookie's); its `/signout-callback-oidc` sends the
//   browser on to returnUrl ("/" by default). Without a session: no sid check, the same
//   sign-out without an id_token_hint.
// - `/api/*`, a remote API (docs fundamentals/apis/remote.mdx, RequiredTokenType.User;
//   Bff.Yarp/Internal/AccessTokenRequestTransform.cs; Endpoints/Internal/BffAuthenticationService.cs):
//   anti-forgery first; no session → 401 (a challenge on a BFF API endpoint becomes 401 with no
//   Location); the user's access token attached, refreshed on the server before the call when it
//   has expired (Duende.AccessTokenManagement: by its expiry, one refresh per refresh token at a
//   time), the new tokens written into this response's cookie; a refused refresh ends the session
//   (RemoveSessionAfterRefreshTokenExpiration, default true) and answers 401; the resource's own
//   answer, a 401 included, goes back as it is.
//
// Not faithful, and why:
// - The provider is oidc-provider, not IdentityServer. Three of its behaviours are set to
//   IdentityServer's from here (tests/oidc/provider.mjs is left as it is): this client's ID
//   tokens carry the session's `sid` (IdentityServer puts it in every ID token; oidc-provider
//   only for clients with back-channel logout sessions: its Client model's `includeSid()` is
//   widened to this client), and, through its public `use()`, its discovery lists the prompts it supports
//   (`prompt_values_supported`: none, login, consent; IdentityServer publishes it, Duende v4 checks
//   it and refuses every prompt without it), and its end-session page, asked with a valid
//   id_token_hint, signs out at once (IdentityServer shows no logout prompt then; oidc-provider
//   asks "Do you want to sign-out?", which a test's browser would stop at).
// - A token's expiry: `expireAccess()`/`endSession()` make the provider refuse every access token
//   issued so far without moving any clock; the BFF counts a session's access token as expired
//   when its expiry has passed or it was obtained before that mark (standing in for the clock),
//   with no early-refresh window (Duende.AccessTokenManagement refreshes 60 s before expiry by
//   default, which the tests' 20-60 s tokens would make every call).
// - Cookie-held tokens with a stale cookie: a request whose cookie holds a refresh token the BFF
//   already used takes that refresh's new tokens, for a refresh and for an API call alike
//   (Duende keeps them in its server-side session store; with tokens only in the cookie it would
//   present the rotated token again and lose the grant). eoc re-sets the cookie on every
//   response, so a response to a request sent before a refresh ended can put the old tokens
//   back into the browser after the refresh's own response set the new ones. A session ended on the server (logout, a refused refresh) refuses every copy of its
//   cookie, as a server-side session store's deleted entry does.
// - `bff:session_expires_in` is eoc's rolling expiry (SLIDING after the last request, at most
//   ABSOLUTE after login), not ASP.NET's cookie (which renews only past half its lifetime).
// - No back-channel logout (`/bff/backchannel`), diagnostics or multi-frontend support: the
//   provider sends no back-channel logout and the tests need none.
// - Test options that are not Duende: `redirectForFetch` (a misconfigured BFF whose API answers
//   the OIDC challenge itself, a 302 to the provider, as an endpoint with SkipResponseHandling
//   does) and `refreshEndpoint` (a BFF whose API returns the resource's 401 with
//   `WWW-Authenticate: Bearer error="invalid_token"` and lets the page refresh with
//   `POST /bff/refresh`).
import { createServer } from 'node:http';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import express from 'express';
import eoc from 'express-openid-connect';
import { startProvider } from '../oidc/provider.mjs';

// The BFF's cookie session: sliding (each response pushes it out by SLIDING seconds) up to
// ABSOLUTE seconds after login, as eoc's `session.rolling` computes it.
const SLIDING = 3600;
const ABSOLUTE = 8 * 3600;
// The prompts oidc-provider supports (its discovery does not say).
const PROMPTS = ['none', 'login', 'consent'];
// BffOptions' default paths.
const SILENT_CALLBACK = '/bff/silent-login-callback';
const SIGNOUT_CALLBACK = '/signout-callback-oidc';

// CommonJS: `requiresAuth` comes from a spread, which Node's named-export detection misses.
const { auth, requiresAuth } = eoc;

const epoch = () => Math.floor(Date.now() / 1000);

/** Duende's LocalUrlReturnUrlValidator.IsLocalUrl: "/" or "/x", not "//" or "/\", no control
 * characters. */
export function isLocalUrl(url) {
  if (typeof url !== 'string' || !url.length || url[0] !== '/') return false;
  if (url.length === 1) return true;
  if (url[1] === '/' || url[1] === '\\') return false;
  // Char.IsControl: U+0000–U+001F and U+007F–U+009F.
  return !/[\u0000-\u001f\u007f-\u009f]/.test(url.slice(1));
}

/** HttpContextExtensions.ReturnHttpProblem: a 400 validation problem. */
function problem(res, title, key, message) {
  // It sets `application/problem+json`, then WriteAsJsonAsync without a content type sets
  // `application/json; charset=utf-8` (aspnetcore HttpResponseJsonExtensions), as Express's json().
  res.status(400).json({ title, status: 400, errors: { [key]: [message] } });
}

/**
 * Starts the BFF on 127.0.0.1 at a random port, then the provider with a confidential `bff`
 * client whose redirect URI is the BFF's `/bff/callback`. `accessTtl`: the provider's
 * access-token lifetime in seconds; `redirectForFetch`: `/api/*` without a session answers the
 * OIDC challenge itself, a 302 to the provider (a misconfigured BFF) instead of 401;
 * `refreshEndpoint`: the API proxy does not refresh on its own (the resource's 401 goes back as
 * a 401 with `WWW-Authenticate: Bearer error="invalid_token"`) and `POST /bff/refresh` refreshes
 * the session (204; 401 when the refresh token is refused, which ends it); `fallback(req, res)`:
 * answers every path that is not the BFF's (else 404); `port`: the BFF's (default: any free one).
 * Resolves with { origin, provider, metadata, stats, endSession(), expireAccess(), close() }:
 * `provider` is the provider's handle, `metadata` its discovery document; `stats` counts
 * { apiRequests, unauthorized, userRequests, serverRefreshes, refreshFailures, logins, logouts,
 * revocations, signedOut, silentCallbacks } and lists in `csrf` the { method, path, header } of
 * every request to `/bff/user` and `/api/*` (and `/bff/refresh`).
 */
export async function startDuendeBff({ accessTtl = 60, redirectForFetch = false, refreshEndpoint = false, fallback, port = 0 } = {}) {
  const server = createServer();
  await new Promise((ok, fail) => server.once('error', fail).listen(port, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const clientSecret = randomBytes(32).toString('hex');
  const provider = await startProvider({
    // The provider's own public clients are not used here.
    redirectUris: [`${origin}/callback`],
    accessTtl,
    clients: [{
      client_id: 'bff',
      client_secret: clientSecret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [`${origin}/bff/callback`],
      // ASP.NET's OIDC handler: SignedOutCallbackPath.
      post_logout_redirect_uris: [origin + SIGNOUT_CALLBACK],
      // eoc's default for a code-flow client with a secret; PKCE (which the provider requires)
      // eoc adds to every code flow whatever the client authentication.
      token_endpoint_auth_method: 'client_secret_basic',
    }],
  });
  // IdentityServer's behaviours where oidc-provider's differ (see the header): the session's
  // sid in this client's ID tokens (oidc-provider's Client model puts it there only for clients
  // with back-channel logout sessions), the prompts in discovery, no logout prompt.
  const { Client } = provider.provider;
  const includeSid = Client.prototype.includeSid;
  Client.prototype.includeSid = function () {
    return this.clientId === 'bff' || includeSid.call(this);
  };
  provider.provider.use(async (ctx, next) => {
    await next();
    if (ctx.method !== 'GET' || ctx.status !== 200) return;
    if (ctx.oidc?.route === 'discovery' && ctx.body && typeof ctx.body === 'object') {
      ctx.body = { ...ctx.body, prompt_values_supported: ctx.body.prompt_values_supported ?? PROMPTS };
    } else if (ctx.oidc?.route === 'end_session' && ctx.oidc.params?.id_token_hint && typeof ctx.body === 'string') {
      // The id_token_hint was validated before the page was made: confirm at once, for the
      // whole session at the provider.
      const form = /<form id="op\.logoutForm"[^>]*>[\s\S]*?<\/form>/.exec(ctx.body)?.[0];
      if (!form) return;
      const confirmed = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
      ctx.body = `<!DOCTYPE html><html><head><title>Signing out</title></head><body>${confirmed}<script>document.forms[0].submit()</script></body></html>`;
    }
  });
  const metadata = await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json();

  // What the tests look at. `unauthorized`: the 401s the BFF answered (anti-forgery, no
  // session, a refresh that failed, the resource's own 401); `serverRefreshes`: refresh grants
  // the token endpoint gave; `refreshFailures`: those it refused; `logins`: completed callbacks;
  // `logouts`: sessions ended at `/bff/logout`; `revocations`: refresh tokens revoked there;
  // `signedOut`: browsers back from the provider's end-session at `/signout-callback-oidc`;
  // `silentCallbacks`: the isLoggedIn of each silent-login callback page.
  const stats = {
    apiRequests: 0, unauthorized: 0, userRequests: 0, serverRefreshes: 0, refreshFailures: 0,
    logins: 0, logouts: 0, revocations: 0, signedOut: 0, silentCallbacks: [], csrf: [],
  };
  // The refresh token each live session holds (by the session's key), for endSession().
  const held = new Map();
  // Sessions ended on the server (logout, failed refresh): their cookies are refused from then
  // on, even a copy the browser still sends.
  const ended = new Set();
  // Single-flight refresh: by session key, the refresh started for each refresh token of that
  // session (a promise of the new tokens). A request whose cookie holds a refresh token already
  // used (concurrent calls sent with one cookie, or a cookie older than the rotation) takes
  // that refresh's tokens: presenting a rotated refresh token again would make the provider
  // revoke the grant.
  const refreshes = new Map();
  // The same, for the refreshes that ended with tokens: by session key, the new tokens for each
  // refresh token used.
  const refreshed = new Map();
  // The key of ASP.NET's data protection, here for the sign-out `state`.
  const stateKey = randomBytes(32);
  const protect = (value) => {
    const data = Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${data}.${createHmac('sha256', stateKey).update(data).digest('base64url')}`;
  };
  const unprotect = (text) => {
    const [data, mac] = String(text ?? '').split('.');
    if (!data || !mac) return undefined;
    const want = createHmac('sha256', stateKey).update(data).digest();
    const got = Buffer.from(mac, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    return JSON.parse(Buffer.from(data, 'base64url').toString());
  };

  const app = express();
  app.disable('x-powered-by');

  // `/bff/user?slide=false`: the session cookie eoc renews on every response is not renewed
  // (ShouldRenew = false). eoc sets it as the headers go out; this runs after (it wraps
  // writeHead first, so eoc's wrapper calls it).
  app.use((req, res, next) => {
    if (req.path === '/bff/user' && req.query.slide === 'false') {
      req.noSlide = true;
      const writeHead = res.writeHead;
      res.writeHead = function (...args) {
        if (req.oidc?.isAuthenticated()) {
          const kept = [res.getHeader('set-cookie') ?? []].flat().filter((c) => !/^appSession(\.\d+)?=/.test(c));
          if (kept.length) res.setHeader('set-cookie', kept);
          else res.removeHeader('set-cookie');
        }
        return writeHead.apply(this, args);
      };
    }
    // The callback's start: the tokens it gets are no older (for expireAccess()'s mark).
    if (req.path === '/bff/callback') req.tokensAsked = epoch();
    next();
  });

  app.use(auth({
    issuerBaseURL: provider.issuer,
    baseURL: origin,
    clientID: 'bff',
    clientSecret,
    clientAuthMethod: 'client_secret_basic',
    secret: randomBytes(32).toString('hex'),
    authRequired: false,
    errorOnRequiredAuth: true,
    // Logout goes to the provider's end_session_endpoint (ASP.NET's OIDC SignOutAsync).
    idpLogout: true,
    enableTelemetry: false,
    authorizationParams: { response_type: 'code', scope: 'openid offline_access api' },
    // Login and logout are Duende's endpoints (below); eoc handles the callback.
    routes: { login: false, logout: false, callback: '/bff/callback', postLogoutRedirect: SIGNOUT_CALLBACK },
    session: { rolling: true, rollingDuration: SLIDING, absoluteDuration: ABSOLUTE },
    // The session's key (server-side bookkeeping, never shown), its start and last use, when
    // its tokens were asked for, and the provider's session_state if it sent one.
    afterCallback: (req, res, session) => {
      const key = randomBytes(16).toString('hex');
      stats.logins += 1;
      held.set(key, session.refresh_token);
      const now = epoch();
      return {
        ...session,
        key,
        created_at: now,
        updated_at: now,
        tokens_at: req.tokensAsked ?? now,
        ...(typeof req.query.session_state === 'string' ? { session_state: req.query.session_state } : {}),
      };
    },
  }));

  // A session the server ended is no session: eoc clears its cookie in this response. A live
  // one slides (eoc renews the cookie) unless `slide=false`.
  app.use((req, res, next) => {
    const session = req.appSession;
    if (session?.key && ended.has(session.key)) req.appSession = undefined;
    else if (session?.key && !req.noSlide) session.updated_at = epoch();
    next();
  });

  // Duende's anti-forgery check on the BFF API endpoints: the header `X-CSRF: 1`, which a
  // cross-site form or image cannot send (and a cross-site fetch only after a preflight). A
  // bare 401.
  const csrf = (req, res, next) => {
    const header = req.get('x-csrf') ?? null;
    stats.csrf.push({ method: req.method, path: req.path, header });
    if (header !== '1') return unauthorized(res);
    next();
  };
  const unauthorized = (res) => {
    stats.unauthorized += 1;
    res.status(401).end();
  };

  /** eoc's challenge, with Duende's prompt handling: a login with a prompt does not fail on the
   * provider's error but comes back to where it was going; prompt=none is the silent login. */
  const challenge = (res, returnTo, prompt) => res.oidc.login(prompt
    ? { returnTo: prompt === 'none' ? SILENT_CALLBACK : returnTo, silent: true, authorizationParams: { prompt } }
    : { returnTo });

  // /bff/login?returnUrl=/local/path&prompt=…: to the provider; back from the callback at
  // returnUrl. (Mapped for every method, as Duende's `Map`.)
  app.all('/bff/login', (req, res) => {
    const returnUrl = typeof req.query.returnUrl === 'string' ? req.query.returnUrl : undefined;
    const prompt = typeof req.query.prompt === 'string' ? req.query.prompt : undefined;
    if (prompt !== undefined && !(metadata.prompt_values_supported ?? []).includes(prompt)) {
      return problem(res, 'Invalid prompt value', 'prompt', `prompt '${prompt}' is not supported`);
    }
    if (returnUrl?.trim() && !isLocalUrl(returnUrl)) {
      return problem(res, 'Invalid return url', 'returnUrl', `ReturnUrl '${returnUrl}' was invalid`);
    }
    challenge(res, returnUrl?.trim() ? returnUrl : '/', prompt);
  });

  // GET /bff/silent-login (deprecated in v4): the challenge with prompt=none.
  app.get('/bff/silent-login', (req, res) => challenge(res, SILENT_CALLBACK, 'none'));

  // GET /bff/silent-login-callback: tells the parent window whether there is a session now.
  app.get(SILENT_CALLBACK, (req, res) => {
    const isLoggedIn = req.oidc.isAuthenticated();
    stats.silentCallbacks.push(isLoggedIn);
    const nonce = randomBytes(16).toString('hex');
    const here = `${req.protocol}://${req.get('host')}`;
    res.status(200).set({
      'content-type': 'text/html',
      'content-security-policy': `script-src 'nonce-${nonce}';`,
      'cache-control': 'no-store, no-cache, max-age=0',
      pragma: 'no-cache',
    }).send(`<script nonce='${nonce}'>window.parent.postMessage({source:'bff-silent-login', isLoggedIn:${isLoggedIn}}, '${here}');</script>`);
  });

  // GET /bff/user: the session's claims as Duende lists them, with the logout URL (carrying the
  // sid) and the seconds left in the session.
  app.get('/bff/user', (req, res, next) => {
    stats.userRequests += 1;
    next();
  }, csrf, (req, res) => {
    if (!req.oidc.isAuthenticated()) return unauthorized(res);
    const list = [];
    for (const [type, value] of Object.entries(req.oidc.user)) {
      // A claim with several values is several claims; claim values are strings.
      for (const one of Array.isArray(value) ? value : [value]) {
        if (one === undefined || one === null) continue;
        list.push({ type, value: typeof one === 'string' ? one : JSON.stringify(one) });
      }
    }
    const session = req.appSession;
    const sid = req.oidc.user.sid;
    list.push({ type: 'bff:logout_url', value: sid ? `/bff/logout?sid=${encodeURIComponent(sid)}` : '/bff/logout' });
    const last = req.noSlide ? session.updated_at : epoch();
    list.push({ type: 'bff:session_expires_in', value: Math.min(last + SLIDING, session.created_at + ABSOLUTE) - epoch() });
    if (session.session_state) list.push({ type: 'bff:session_state', value: session.session_state });
    res.status(200).set('cache-control', 'no-store').json(list);
  });

  // GET /bff/logout?sid=…&returnUrl=/…: with a session, only with its sid (a cross-site link
  // cannot know it); the session ends here, its refresh token is revoked, and the browser signs
  // out at the provider, which sends it back through /signout-callback-oidc to returnUrl.
  app.get('/bff/logout', async (req, res, next) => {
    try {
      const authenticated = req.oidc.isAuthenticated();
      const sid = authenticated ? req.oidc.user.sid : undefined;
      if (sid && req.query.sid !== sid) {
        return problem(res, 'Invalid Session ID', 'sid', `SessionId '${sid}' was invalid`);
      }
      const returnUrl = typeof req.query.returnUrl === 'string' ? req.query.returnUrl : undefined;
      if (returnUrl?.trim() && !isLocalUrl(returnUrl)) {
        return problem(res, 'Invalid return url', 'returnUrl', `ReturnUrl '${returnUrl}' was invalid`);
      }
      if (authenticated) {
        const { key, refresh_token: token } = req.appSession;
        ended.add(key);
        held.delete(key);
        refreshes.delete(key);
        stats.logouts += 1;
        if (token) {
          await revoke(token);
          stats.revocations += 1;
        }
      }
      // eoc's logout: the session goes (its cookie cleared in this response), then the
      // provider's end_session_endpoint with the id_token_hint when there was a session.
      res.oidc.logout({
        returnTo: origin + SIGNOUT_CALLBACK,
        logoutParams: { state: protect({ returnUrl: returnUrl?.trim() ? returnUrl : '/' }) },
      });
    } catch (e) {
      next(e);
    }
  });

  // GET /signout-callback-oidc?state=…: back from the provider; on to the return address the
  // state protects (ASP.NET's SignedOutRedirectUri "/" without one).
  app.get(SIGNOUT_CALLBACK, (req, res) => {
    stats.signedOut += 1;
    const returnUrl = unprotect(req.query.state)?.returnUrl;
    res.redirect(isLocalUrl(returnUrl) ? returnUrl : '/');
  });

  // /api/*: the remote API. Without a session: 401, or (a misconfigured BFF) the OIDC
  // challenge, a 302 to the provider that a fetch() cannot follow anywhere useful.
  const sessionRequired = (req, res, next) => {
    if (req.oidc.isAuthenticated()) return next();
    if (redirectForFetch) return res.oidc.login({ returnTo: req.originalUrl });
    unauthorized(res);
  };
  const countApi = (req, res, next) => {
    stats.apiRequests += 1;
    next();
  };
  app.all('/api/*rest', countApi, csrf, sessionRequired, express.raw({ type: () => true, limit: '1mb' }), proxy);

  // POST /bff/refresh (with `refreshEndpoint`): the session's refresh, asked for by the page.
  if (refreshEndpoint) {
    app.post('/bff/refresh', csrf, requiresAuth(), async (req, res, next) => {
      try {
        await refresh(req);
        res.status(204).end();
      } catch (e) {
        if (!e.refreshFailed) return next(e);
        endHere(req);
        unauthorized(res);
      }
    });
  }

  /** Ends the request's session on the server (eoc clears the cookie of a session set to
   * undefined). */
  function endHere(req) {
    const { key } = req.appSession;
    ended.add(key);
    held.delete(key);
    refreshes.delete(key);
    refreshed.delete(key);
    req.appSession = undefined;
  }

  /** Revokes a refresh token at the provider with the client's credentials. */
  async function revoke(token) {
    const basic = Buffer.from(`bff:${clientSecret}`).toString('base64');
    const res = await fetch(metadata.revocation_endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}` },
      body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }),
    });
    if (!res.ok) throw new Error(`revocation: ${res.status} ${await res.text()}`);
  }

  /** Whether the session's access token has expired (see the header: the provider's mark
   * stands in for the clock). */
  function expired(req) {
    const session = req.appSession;
    return Boolean(req.oidc.accessToken?.isExpired()) || (session.tokens_at ?? 0) < provider.stats.expiredBefore;
  }

  /** Calls the resource with the session's access token, refreshed server-side when expired. */
  async function proxy(req, res, next) {
    try {
      // A stale cookie (sent before a refresh of its session ended, or set again by a
      // response to such a request, which eoc's rolling session re-sets on every response):
      // the session's current tokens, as Duende's server-side session store would have them.
      // (A refresh still running is not waited for: the store has the old tokens until it ends.)
      const done = refreshed.get(req.appSession.key)?.get(req.appSession.refresh_token);
      if (done) Object.assign(req.appSession, done);
      let accessToken = req.appSession.access_token;
      try {
        // With `refreshEndpoint`, the page refreshes: the resource's 401 goes back to it.
        if (!refreshEndpoint && expired(req)) accessToken = await refresh(req);
        const answer = await callResource(req, accessToken);
        if (answer.status === 401) stats.unauthorized += 1;
        if (answer.status === 401 && refreshEndpoint) {
          return res.status(401).set('www-authenticate', 'Bearer error="invalid_token"').json({ error: 'invalid_token' });
        }
        res.status(answer.status).set('content-type', answer.headers.get('content-type') ?? 'application/json');
        const challenge = answer.headers.get('www-authenticate');
        if (challenge) res.set('www-authenticate', challenge);
        res.send(Buffer.from(await answer.arrayBuffer()));
      } catch (e) {
        if (!e.refreshFailed) throw e;
        // The refresh token is gone (revoked, or refused): so is the session.
        endHere(req);
        unauthorized(res);
      }
    } catch (e) {
      next(e);
    }
  }

  /** The provider's resource at the same path, with the access token, the method and body. */
  function callResource(req, accessToken) {
    const body = Buffer.isBuffer(req.body) && req.body.length && !['GET', 'HEAD'].includes(req.method) ? req.body : undefined;
    return fetch(provider.origin + req.originalUrl, {
      method: req.method,
      headers: {
        authorization: `Bearer ${accessToken}`,
        ...(body ? { 'content-type': req.get('content-type') ?? 'application/json' } : {}),
      },
      body,
    });
  }

  /**
   * Refreshes this request's session with eoc's `req.oidc.accessToken.refresh()`, once per
   * refresh token whatever the number of requests presenting it; copies the new tokens into
   * the request's session (eoc writes the session into the response's cookie when the headers
   * go out). Resolves with the new access token; throws `{ refreshFailed }` when the provider
   * refuses.
   */
  async function refresh(req) {
    const session = req.appSession;
    const { key, refresh_token: used } = session;
    if (!refreshes.has(key)) refreshes.set(key, new Map());
    const flights = refreshes.get(key);
    if (!flights.has(used)) {
      const flight = (async () => {
        const asked = epoch();
        try {
          await req.oidc.accessToken.refresh();
        } catch (e) {
          stats.refreshFailures += 1;
          throw Object.assign(new Error(`refresh failed: ${e.error ?? e.message}`), { refreshFailed: true, cause: e });
        }
        stats.serverRefreshes += 1;
        const { access_token, id_token, refresh_token, token_type, expires_at } = session;
        if (!ended.has(key)) held.set(key, refresh_token);
        return { access_token, id_token, refresh_token, token_type, expires_at, tokens_at: asked };
      })();
      flight.then((tokens) => {
        if (!refreshed.has(key)) refreshed.set(key, new Map());
        refreshed.get(key).set(used, tokens);
      }, () => {});
      flights.set(used, flight);
    }
    const tokens = await flights.get(used);
    Object.assign(session, tokens);
    return tokens.access_token;
  }

  // Every other path: the test's pages and files.
  app.use((req, res, next) => {
    if (!fallback) return res.status(404).end();
    Promise.resolve(fallback(req, res)).catch(next);
  });

  // Errors: eoc's (401 from requiresAuth with errorOnRequiredAuth, 400 from a bad callback).
  app.use((err, req, res, next) => {
    const status = err.status ?? err.statusCode ?? 500;
    if (status === 401) return unauthorized(res);
    res.status(status).json({ error: err.error ?? err.message, error_description: err.error_description });
  });

  server.on('request', app);

  return {
    origin,
    provider,
    metadata,
    stats,
    /**
     * The sessions can no longer be refreshed: every refresh token the BFF holds is revoked at
     * the provider (with the client's credentials, which revokes its grant) and every access
     * token issued so far counts as expired. The next API call answers 401 and ends the session.
     */
    endSession: async () => {
      await Promise.all([...held.values()].map((token) => revoke(token)));
      await provider.expire();
    },
    /** Every access token issued so far expires: the BFF refreshes on the next call. */
    expireAccess: () => provider.expire(),
    close: () => Promise.all([
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(ok);
      }),
      provider.close(),
    ]),
  };
}
