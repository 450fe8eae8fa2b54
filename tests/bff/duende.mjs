// A real backend-for-frontend for the cookie-session tests, shaped like Duende BFF: Express with
// Auth0's express-openid-connect (a confidential OIDC client, code flow with PKCE, the session in
// its encrypted `appSession` cookie) in front of the real provider of tests/oidc/provider.mjs.
// The browser only ever holds the cookie: `/bff/login`, `/bff/user` and `/bff/logout` are
// Duende's management endpoints, `/api/*` is the remote-API proxy (anti-forgery header
// `X-CSRF: 1`, the access token attached and refreshed server-side, single-flight per session,
// the new tokens written back into each response's cookie), and every other path goes to the
// test's `fallback` (the page and the package files, same-origin with the BFF).
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import express from 'express';
import eoc from 'express-openid-connect';
import { startProvider } from '../oidc/provider.mjs';

// The BFF's cookie session: sliding (each response pushes it out by SLIDING seconds) up to
// ABSOLUTE seconds after login, as eoc's `session.rolling` computes it.
const SLIDING = 3600;
const ABSOLUTE = 8 * 3600;

// CommonJS: `requiresAuth` comes from a spread, which Node's named-export detection misses.
const { auth, requiresAuth } = eoc;

const epoch = () => Math.floor(Date.now() / 1000);

/** A local path to send the browser back to (not `//host` or `/\host`), else `/`. */
const localPath = (url) => (typeof url === 'string' && /^\/(?![/\\])/.test(url) ? url : '/');

/**
 * Starts the BFF on 127.0.0.1 at a random port, then the provider with a confidential `bff`
 * client whose redirect URI is the BFF's `/bff/callback`. `accessTtl`: the provider's
 * access-token lifetime in seconds; `redirectForFetch`: `/api/*` without a session answers a
 * 302 to `/bff/login?returnUrl=…` (a misconfigured BFF) instead of 401; `refreshEndpoint`:
 * the API proxy does not refresh on its own (an expired access token is a 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"`) and `POST /bff/refresh` refreshes the
 * session (204; 401 when the refresh token is refused, which ends it); `fallback(req, res)`:
 * answers every path that is not the BFF's (else 404); `port`: the BFF's (default: any free one).
 * Resolves with { origin, provider, stats, endSession(), expireAccess(), close() }: `provider`
 * is the provider's handle; `stats` counts { apiRequests, unauthorized, userRequests,
 * serverRefreshes, refreshFailures, logins, logouts } and lists in `csrf` the
 * { method, path, header } of every request to `/bff/user` and `/api/*`.
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
      post_logout_redirect_uris: [`${origin}/`],
      // eoc's default for a code-flow client with a secret; PKCE (which the provider requires)
      // eoc adds to every code flow whatever the client authentication.
      token_endpoint_auth_method: 'client_secret_basic',
    }],
  });

  // What the tests look at. `unauthorized`: the 401s the BFF answered (anti-forgery, no
  // session, a refresh that failed, the resource's own 401 after the retry);
  // `serverRefreshes`: refresh grants the token endpoint gave; `refreshFailures`: those it
  // refused; `logins`: completed callbacks; `logouts`: sessions ended at `/bff/logout`.
  const stats = {
    apiRequests: 0, unauthorized: 0, userRequests: 0, serverRefreshes: 0, refreshFailures: 0,
    logins: 0, logouts: 0, csrf: [],
  };
  // The refresh token each live session holds (by session id), for endSession().
  const held = new Map();
  // Sessions ended on the server (logout, failed refresh): their cookies are refused from then
  // on, even a copy the browser still sends.
  const ended = new Set();
  // Single-flight refresh: by session id, the refresh started for each refresh token of that
  // session (a promise of the new tokens). A request whose cookie holds a refresh token already
  // used (concurrent calls sent with one cookie, or a cookie older than the rotation) takes
  // that refresh's tokens: presenting a rotated refresh token again would make the provider
  // revoke the grant.
  const refreshes = new Map();

  const app = express();
  app.disable('x-powered-by');
  app.use(auth({
    issuerBaseURL: provider.issuer,
    baseURL: origin,
    clientID: 'bff',
    clientSecret,
    clientAuthMethod: 'client_secret_basic',
    secret: randomBytes(32).toString('hex'),
    authRequired: false,
    errorOnRequiredAuth: true,
    idpLogout: false,
    enableTelemetry: false,
    authorizationParams: { response_type: 'code', scope: 'openid offline_access api' },
    // Login and logout are ours (eoc's own login route ignores where to return to); eoc
    // handles the callback.
    routes: { login: false, logout: false, callback: '/bff/callback' },
    session: { rolling: true, rollingDuration: SLIDING, absoluteDuration: ABSOLUTE },
    // The provider puts no `sid` in ID tokens (no front/back-channel logout): the session gets
    // an id of its own, stored in the cookie next to the tokens, and its start.
    afterCallback: (req, res, session) => {
      const sid = session.sid ?? randomBytes(16).toString('hex');
      stats.logins += 1;
      held.set(sid, session.refresh_token);
      return { ...session, sid, created_at: epoch() };
    },
  }));

  // A session the server ended is no session: eoc clears its cookie in this response.
  app.use((req, res, next) => {
    if (req.appSession?.sid && ended.has(req.appSession.sid)) req.appSession = undefined;
    next();
  });

  // Duende's anti-forgery check on /bff/user and /api/*: the header `X-CSRF: 1`, which a
  // cross-site form or image cannot send (and a cross-site fetch only after a preflight).
  const csrf = (req, res, next) => {
    const header = req.get('x-csrf') ?? null;
    stats.csrf.push({ method: req.method, path: req.path, header });
    if (header !== '1') return unauthorized(res, 'anti-forgery header missing');
    next();
  };
  const unauthorized = (res, why) => {
    stats.unauthorized += 1;
    res.status(401).set('cache-control', 'no-store').json({ error: why });
  };

  // GET /bff/login?returnUrl=/local/path: to the provider; back from the callback at returnUrl.
  app.get('/bff/login', (req, res) => res.oidc.login({ returnTo: localPath(req.query.returnUrl) }));

  // GET /bff/user: the session's claims as Duende lists them, with the logout URL (carrying the
  // session id) and the seconds left in the session.
  app.get('/bff/user', (req, res, next) => {
    stats.userRequests += 1;
    next();
  }, csrf, (req, res) => {
    if (!req.oidc.isAuthenticated()) return unauthorized(res, 'not logged in');
    const { sub, ...claims } = req.oidc.user;
    const list = [{ type: 'sub', value: sub }];
    for (const [type, value] of Object.entries(claims)) {
      // A claim with several values is several claims; an object, its JSON.
      for (const one of Array.isArray(value) ? value : [value]) {
        if (one === undefined || one === null) continue;
        list.push({ type, value: typeof one === 'object' ? JSON.stringify(one) : one });
      }
    }
    const { sid, created_at: created } = req.appSession;
    list.push({ type: 'bff:logout_url', value: `/bff/logout?sid=${encodeURIComponent(sid)}` });
    list.push({ type: 'bff:session_expires_in', value: Math.min(SLIDING, created + ABSOLUTE - epoch()) });
    res.set('cache-control', 'no-store').json(list);
  });

  // GET /bff/logout?sid=…&returnUrl=/…: only with this session's id (a cross-site link cannot
  // know it); ends the session here (eoc's logout, local only) and goes to returnUrl.
  app.get('/bff/logout', (req, res) => {
    const returnTo = localPath(req.query.returnUrl);
    if (!req.oidc.isAuthenticated()) return res.redirect(returnTo);
    const { sid } = req.appSession;
    if (req.query.sid !== sid) return res.status(400).json({ error: 'invalid sid' });
    ended.add(sid);
    held.delete(sid);
    refreshes.delete(sid);
    stats.logouts += 1;
    res.oidc.logout({ returnTo });
  });

  // /api/*: the remote-API proxy. Without a session: eoc's requiresAuth(), which with
  // errorOnRequiredAuth answers 401 (through the error handler below), or, as a misconfigured
  // BFF does, a redirect to the login page that a fetch() cannot follow anywhere useful.
  const sessionRequired = redirectForFetch
    ? (req, res, next) => {
      if (req.oidc.isAuthenticated()) return next();
      res.redirect(`/bff/login?returnUrl=${encodeURIComponent(req.originalUrl)}`);
    }
    : requiresAuth();
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
        unauthorized(res, 'session ended');
      }
    });
  }

  /** Ends the request's session on the server (eoc clears the cookie of a session set to
   * undefined). */
  function endHere(req) {
    const { sid } = req.appSession;
    ended.add(sid);
    held.delete(sid);
    refreshes.delete(sid);
    req.appSession = undefined;
  }

  /** Calls the resource with the session's access token, refreshed server-side as needed. */
  async function proxy(req, res, next) {
    try {
      let accessToken = req.appSession.access_token;
      try {
        // By the clock first (eoc's expires_at); then once more if the resource refuses it.
        // With `refreshEndpoint`, the page refreshes: the resource's 401 goes back to it.
        if (!refreshEndpoint && req.oidc.accessToken?.isExpired()) accessToken = await refresh(req);
        let answer = await callResource(req, accessToken);
        if (answer.status === 401 && refreshEndpoint) {
          stats.unauthorized += 1;
          return res.status(401).set('www-authenticate', 'Bearer error="invalid_token"').json({ error: 'invalid_token' });
        }
        if (answer.status === 401) {
          accessToken = await refresh(req);
          answer = await callResource(req, accessToken);
        }
        if (answer.status === 401) stats.unauthorized += 1;
        res.status(answer.status).set('content-type', answer.headers.get('content-type') ?? 'application/json');
        res.send(Buffer.from(await answer.arrayBuffer()));
      } catch (e) {
        if (!e.refreshFailed) throw e;
        // The refresh token is gone (revoked, or refused): so is the session.
        endHere(req);
        unauthorized(res, 'session ended');
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
    const { sid, refresh_token: used } = session;
    if (!refreshes.has(sid)) refreshes.set(sid, new Map());
    const flights = refreshes.get(sid);
    if (!flights.has(used)) {
      const flight = (async () => {
        try {
          await req.oidc.accessToken.refresh();
        } catch (e) {
          stats.refreshFailures += 1;
          throw Object.assign(new Error(`refresh failed: ${e.error ?? e.message}`), { refreshFailed: true, cause: e });
        }
        stats.serverRefreshes += 1;
        const { access_token, id_token, refresh_token, token_type, expires_at } = session;
        if (!ended.has(sid)) held.set(sid, refresh_token);
        return { access_token, id_token, refresh_token, token_type, expires_at };
      })();
      flight.catch(() => {});
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
    if (status === 401) return unauthorized(res, err.message);
    res.status(status).json({ error: err.error ?? err.message, error_description: err.error_description });
  });

  server.on('request', app);

  return {
    origin,
    provider,
    stats,
    /**
     * The sessions can no longer be refreshed: every refresh token the BFF holds is revoked at
     * the provider (with the client's credentials, which revokes its grant) and every access
     * token issued so far stops being accepted. The next API call answers 401 and ends the
     * session.
     */
    endSession: async () => {
      const basic = Buffer.from(`bff:${clientSecret}`).toString('base64');
      await Promise.all([...held.values()].map(async (token) => {
        const res = await fetch(`${provider.issuer}/token/revocation`, {
          method: 'POST',
          headers: { authorization: `Basic ${basic}` },
          body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }),
        });
        if (!res.ok) throw new Error(`revocation: ${res.status} ${await res.text()}`);
      }));
      await provider.expire();
    },
    /** Every access token issued so far stops being accepted: the BFF refreshes on the next call. */
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
