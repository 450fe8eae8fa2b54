// A real backend-for-frontend for the cookie-session tests: the Token Handler pattern as Curity
// documents it, on 127.0.0.1 at a random port, in front of the real authorization server of
// tests/oidc/ (oidc-provider, with a confidential client `oauth-agent` of its own). Two parts:
//   - the OAuth Agent (`/oauth-agent/…`): login/start, login/end, session, userInfo, refresh and
//     logout; it runs the code flow with PKCE as a confidential client (client_secret_basic) and
//     keeps the tokens in HttpOnly, SameSite=Strict cookies encrypted with AES-256-GCM under a key
//     of its own, so the SPA never sees a token;
//   - the OAuth Proxy (`/api/…`): decrypts the access-token cookie and forwards the call to the
//     provider's resource with `Authorization: Bearer …`; a missing, expired or refused token is a
//     401 with `WWW-Authenticate: Bearer error="invalid_token"`, after which the SPA calls
//     `/oauth-agent/refresh` and retries.
// The SPA is on another origin of the same site: CORS with credentials for that origin only, and
// every request but a preflight must carry `token-handler-version: 1` (Curity's replacement for
// a CSRF token: a custom header forces a preflight on a cross-origin request). Like a real token
// handler it does not serialise concurrent refreshes: the provider rotates refresh tokens, so
// two `/refresh` calls with the same cookie make the second fail (and revoke the grant); keeping
// to one at a time is the client's job, which is what the tests check with `stats`.
import { createServer } from 'node:http';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { startProvider } from '../oidc/provider.mjs';

const CLIENT_ID = 'oauth-agent';
const SCOPE = 'openid offline_access api';
const VERSION_HEADER = 'token-handler-version';
const COOKIES = { at: 'th-at', rt: 'th-rt', id: 'th-id', login: 'th-login' };
const TOKEN_COOKIES = [COOKIES.at, COOKIES.rt, COOKIES.id];
const INVALID_TOKEN = 'Bearer error="invalid_token"';

/**
 * Starts the token handler, then the provider it is a client of. `spaOrigin`: the SPA's origin
 * (the only one CORS lets in; the login comes back to `spaOrigin + redirectPath`, and logout to
 * `spaOrigin + '/'`); `accessTtl`: the provider's access-token lifetime in seconds.
 * Resolves with { origin, agent, provider, stats, expireAccess(), revokeRefresh(), close() }:
 * `agent` is `origin + '/oauth-agent'`, `provider` the handle of tests/oidc/provider.mjs, and
 * `stats` counts what the token handler was asked (requests refused for a missing header count
 * only in `missingHeader`):
 *   refreshes      `POST /refresh` requests (each one, answered 204 or 401);
 *   refreshRefused those answered 401 session_expired;
 *   apiRequests    requests to the API proxy;  apiUnauthorized  those answered 401;
 *   logins         logins completed (`/login/end` that exchanged a code);
 *   logouts        `/logout` requests;  userInfo  `/userInfo` requests;  session  `/session` requests;
 *   missingHeader  requests refused for want of `token-handler-version: 1`;
 *   requests       every request but preflights, in order: { method, path (no query), header }.
 */
export async function startTokenHandler({ spaOrigin, redirectPath = '/', accessTtl = 60 } = {}) {
  if (!spaOrigin) throw new Error('startTokenHandler: spaOrigin is required');
  const stats = {
    refreshes: 0, refreshRefused: 0, apiRequests: 0, apiUnauthorized: 0, logins: 0, logouts: 0,
    userInfo: 0, session: 0, missingHeader: 0, requests: [],
  };
  // Every token the provider gave the token handler: expireAccess() and revokeRefresh() act on them.
  const seen = { access: new Set(), refresh: new Set() };
  const key = randomBytes(32);
  const clientSecret = randomBytes(24).toString('base64url');
  const redirectUri = spaOrigin + redirectPath;
  const postLogoutRedirectUri = `${spaOrigin}/`;
  // Set once the provider is up; no request can come in before the handle resolves.
  let op;
  let meta;

  // The token handler listens first: the provider is started once its origin is known.
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(req, res, 500, { code: 'server_error', message: String(err?.message ?? err) });
      else res.destroy();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;

  op = await startProvider({
    redirectUris: [redirectUri],
    accessTtl,
    clients: [{
      client_id: CLIENT_ID,
      client_secret: clientSecret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [postLogoutRedirectUri],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
  });
  try {
    const res = await fetch(`${op.issuer}/.well-known/openid-configuration`);
    if (!res.ok) throw new Error(`discovery: ${res.status}`);
    meta = await res.json();
  } catch (err) {
    await Promise.all([op.close(), closeServer()]);
    throw err;
  }

  // --- Cookies: AES-256-GCM, laid out as Curity does (version byte, IV, ciphertext, tag), in
  // base64url; the cookie's name is the additional data, so one cookie's value cannot be
  // passed off as another's. A cookie that does not decrypt (another token handler's, from an
  // earlier test on this host) counts as absent.

  function seal(name, plain) {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(name));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([1]), iv, data, cipher.getAuthTag()]).toString('base64url');
  }

  function unseal(name, value) {
    try {
      const raw = Buffer.from(value, 'base64url');
      if (raw.length < 1 + 12 + 16 || raw[0] !== 1) return null;
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(1, 13));
      decipher.setAAD(Buffer.from(name));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(13, raw.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }

  /** The decrypted value of each of our cookies the request carries. */
  function readCookies(req) {
    const out = {};
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const i = part.indexOf('=');
      if (i < 0) continue;
      const name = part.slice(0, i).trim();
      if (!Object.values(COOKIES).includes(name) || name in out) continue;
      const plain = unseal(name, part.slice(i + 1).trim());
      if (plain !== null) out[name] = plain;
    }
    return out;
  }

  const attributes = 'Path=/; HttpOnly; SameSite=Strict';
  const setCookie = (name, plain) => `${name}=${seal(name, plain)}; ${attributes}`;
  const clearCookie = (name) => `${name}=; ${attributes}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;

  // --- HTTP helpers.

  /** CORS headers: with credentials, for the SPA's origin only. */
  function cors(req) {
    const headers = { vary: 'Origin' };
    if (req.headers.origin === spaOrigin) {
      headers['access-control-allow-origin'] = spaOrigin;
      headers['access-control-allow-credentials'] = 'true';
      headers['access-control-expose-headers'] = 'WWW-Authenticate';
    }
    return headers;
  }

  function send(req, res, status, body, headers = {}) {
    const all = { ...cors(req), 'cache-control': 'no-store', ...headers };
    if (body === undefined) return res.writeHead(status, all).end();
    res.writeHead(status, { ...all, 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  async function readBody(req) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async function readJson(req) {
    const text = (await readBody(req)).toString('utf8');
    if (!text.trim()) return {};
    try {
      const value = JSON.parse(text);
      return value && typeof value === 'object' ? value : {};
    } catch {
      return null;
    }
  }

  /** A request to the provider's token endpoint, authenticated with client_secret_basic. */
  async function tokenRequest(params) {
    const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    const res = await fetch(meta.token_endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(params),
    });
    const body = await res.json().catch(() => ({}));
    if (res.ok) {
      if (body.access_token) seen.access.add(body.access_token);
      if (body.refresh_token) seen.refresh.add(body.refresh_token);
    }
    return { status: res.status, ok: res.ok, body };
  }

  /** The cookies that keep a token endpoint response (an id token only if there is one). */
  function tokenCookies(tokens) {
    const cookies = [setCookie(COOKIES.at, tokens.access_token)];
    if (tokens.refresh_token) cookies.push(setCookie(COOKIES.rt, tokens.refresh_token));
    if (tokens.id_token) cookies.push(setCookie(COOKIES.id, tokens.id_token));
    return cookies;
  }

  function decodeJwt(jwt) {
    try {
      return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
    } catch {
      return null;
    }
  }

  // --- The requests.

  async function handle(req, res) {
    const url = new URL(req.url, origin);
    const path = url.pathname;
    if (req.method === 'OPTIONS') {
      // Preflight: allowed only for the SPA's origin (another gets no Allow-Origin, so the
      // browser stops there). Not recorded.
      const headers = cors(req);
      if (headers['access-control-allow-origin']) {
        headers['access-control-allow-methods'] = 'GET, POST, PUT, PATCH, DELETE';
        headers['access-control-allow-headers'] = `${VERSION_HEADER}, content-type`;
        headers['access-control-max-age'] = '600';
      }
      return res.writeHead(204, headers).end();
    }
    const header = req.headers[VERSION_HEADER] ?? null;
    stats.requests.push({ method: req.method, path, header });
    if (header !== '1') {
      stats.missingHeader += 1;
      return send(req, res, 401, { code: 'unauthorized' });
    }
    if (path === '/api' || path.startsWith('/api/')) return proxy(req, res, url);
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'POST /oauth-agent/login/start': return loginStart(req, res);
      case 'POST /oauth-agent/login/end': return loginEnd(req, res);
      case 'GET /oauth-agent/session': return session(req, res);
      case 'GET /oauth-agent/userInfo': return userInfo(req, res);
      case 'POST /oauth-agent/refresh': return refresh(req, res);
      case 'POST /oauth-agent/logout': return logout(req, res);
      default: return send(req, res, 404, { code: 'not_found' });
    }
  }

  /** Builds the authorization request (code flow, PKCE S256, state); keeps state and verifier in th-login. */
  async function loginStart(req, res) {
    const body = await readJson(req);
    if (body === null) return send(req, res, 400, { code: 'invalid_request' });
    const state = randomBytes(16).toString('base64url');
    const codeVerifier = randomBytes(32).toString('base64url');
    const authorizationUrl = new URL(meta.authorization_endpoint);
    const params = authorizationUrl.searchParams;
    params.set('client_id', CLIENT_ID);
    params.set('redirect_uri', redirectUri);
    params.set('response_type', 'code');
    params.set('scope', SCOPE);
    params.set('state', state);
    params.set('code_challenge', createHash('sha256').update(codeVerifier).digest('base64url'));
    params.set('code_challenge_method', 'S256');
    for (const { key: name, value } of Array.isArray(body.extraParams) ? body.extraParams : []) {
      if (typeof name === 'string' && name) params.set(name, String(value ?? ''));
    }
    send(req, res, 200, { authorizationUrl: authorizationUrl.href }, {
      'set-cookie': [setCookie(COOKIES.login, JSON.stringify({ state, codeVerifier }))],
    });
  }

  /**
   * The SPA's page load: with a code and our state, exchanges the code and sets the token
   * cookies; with an authorization error, 401 login_failed; a code with another state (or no
   * login under way) is 400 invalid_request, as Curity's agent answers; otherwise it only says
   * whether there is a session.
   */
  async function loginEnd(req, res) {
    const body = await readJson(req);
    if (body === null) return send(req, res, 400, { code: 'invalid_request' });
    const cookies = readCookies(req);
    let query = new URLSearchParams();
    try {
      if (typeof body.pageUrl === 'string') query = new URL(body.pageUrl).searchParams;
    } catch {
      // Not a URL: nothing to handle.
    }
    const clearLogin = [clearCookie(COOKIES.login)];
    if (query.has('error')) return send(req, res, 401, { code: 'login_failed' }, { 'set-cookie': clearLogin });
    if (query.has('code') && query.has('state')) {
      const login = cookies[COOKIES.login] ? JSON.parse(cookies[COOKIES.login]) : null;
      if (!login || login.state !== query.get('state')) return send(req, res, 400, { code: 'invalid_request' });
      const tokens = await tokenRequest({
        grant_type: 'authorization_code',
        code: query.get('code'),
        redirect_uri: redirectUri,
        code_verifier: login.codeVerifier,
      });
      if (!tokens.ok || !tokens.body.access_token) return send(req, res, 401, { code: 'login_failed' }, { 'set-cookie': clearLogin });
      stats.logins += 1;
      return send(req, res, 200, { handled: true, isLoggedIn: true }, {
        'set-cookie': [...tokenCookies(tokens.body), ...clearLogin],
      });
    }
    send(req, res, 200, { handled: false, isLoggedIn: Boolean(cookies[COOKIES.at] || cookies[COOKIES.rt]) });
  }

  /** Whether there is a session, and the claims of its id token. */
  function session(req, res) {
    stats.session += 1;
    const cookies = readCookies(req);
    if (!cookies[COOKIES.at] && !cookies[COOKIES.rt]) return send(req, res, 200, { isLoggedIn: false });
    send(req, res, 200, { isLoggedIn: true, idTokenClaims: (cookies[COOKIES.id] && decodeJwt(cookies[COOKIES.id])) || {} });
  }

  /** The provider's userinfo, called with the access token. */
  async function userInfo(req, res) {
    stats.userInfo += 1;
    const at = readCookies(req)[COOKIES.at];
    if (!at) return send(req, res, 401, { code: 'unauthorized' }, { 'www-authenticate': INVALID_TOKEN });
    const answer = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${at}`, accept: 'application/json' } });
    if (answer.status === 401) return send(req, res, 401, { code: 'unauthorized' }, { 'www-authenticate': INVALID_TOKEN });
    if (!answer.ok) return send(req, res, 502, { code: 'server_error', status: answer.status });
    send(req, res, 200, await answer.text());
  }

  /** The refresh grant with th-rt; new cookies and 204, or 401 session_expired and no more session. */
  async function refresh(req, res) {
    stats.refreshes += 1;
    const expired = () => {
      stats.refreshRefused += 1;
      send(req, res, 401, { code: 'session_expired' }, { 'set-cookie': TOKEN_COOKIES.map(clearCookie) });
    };
    const rt = readCookies(req)[COOKIES.rt];
    if (!rt) return expired();
    const tokens = await tokenRequest({ grant_type: 'refresh_token', refresh_token: rt });
    if (tokens.ok && tokens.body.access_token) return send(req, res, 204, undefined, { 'set-cookie': tokenCookies(tokens.body) });
    if (tokens.status === 400 || tokens.status === 401) return expired();
    send(req, res, 502, { code: 'server_error', status: tokens.status });
  }

  /** Ends the session here and gives the SPA the provider's end-session URL to go to. */
  function logout(req, res) {
    stats.logouts += 1;
    const url = new URL(meta.end_session_endpoint);
    url.searchParams.set('client_id', CLIENT_ID);
    url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
    send(req, res, 200, { url: url.href }, { 'set-cookie': [...TOKEN_COOKIES, COOKIES.login].map(clearCookie) });
  }

  /** The OAuth Proxy: the access-token cookie becomes a Bearer token for the resource. */
  async function proxy(req, res, url) {
    stats.apiRequests += 1;
    const refuse = (challenge = INVALID_TOKEN) => {
      stats.apiUnauthorized += 1;
      send(req, res, 401, { code: 'unauthorized' }, { 'www-authenticate': challenge });
    };
    const at = readCookies(req)[COOKIES.at];
    const body = await readBody(req);
    if (!at) return refuse();
    const headers = { authorization: `Bearer ${at}`, accept: 'application/json' };
    if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
    const answer = await fetch(op.origin + url.pathname + url.search, {
      method: req.method,
      headers,
      body: ['GET', 'HEAD'].includes(req.method) || !body.length ? undefined : body,
    });
    const text = await answer.text();
    if (answer.status === 401) {
      // An expired or unknown token is the SPA's cue to refresh; another challenge (a step-up)
      // goes through as the resource gave it.
      const challenge = answer.headers.get('www-authenticate');
      return refuse(challenge && !/invalid_token/.test(challenge) ? challenge : INVALID_TOKEN);
    }
    res.writeHead(answer.status, {
      ...cors(req),
      'cache-control': 'no-store',
      'content-type': answer.headers.get('content-type') ?? 'application/json',
    });
    res.end(text);
  }

  function closeServer() {
    return new Promise((ok) => {
      server.closeAllConnections?.();
      server.close(() => ok());
    });
  }

  return {
    origin,
    agent: `${origin}/oauth-agent`,
    provider: op,
    stats,
    /**
     * Every access token issued so far stops being accepted: by the resource (provider.expire()),
     * and, for those the token handler holds, by the provider's userinfo too (their records are
     * dropped; the grant and its refresh token stay). The proxy answers 401 until `/refresh`.
     */
    expireAccess: async () => {
      await op.expire();
      for (const token of seen.access) {
        const record = await op.provider.AccessToken.find(token);
        await record?.destroy();
      }
    },
    /**
     * Revokes every refresh token the token handler has seen at the provider's revocation
     * endpoint (as the confidential client it is: client_secret_basic), which revokes their
     * grants: `/refresh` answers 401 from then on, until a new login.
     */
    revokeRefresh: async () => {
      const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(clientSecret)}`).toString('base64');
      for (const token of seen.refresh) {
        const res = await fetch(meta.revocation_endpoint, {
          method: 'POST',
          headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }),
        });
        if (!res.ok) throw new Error(`revocation: ${res.status} ${await res.text()}`);
      }
    },
    close: () => Promise.all([closeServer(), op.close()]),
  };
}
