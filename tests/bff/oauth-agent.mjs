// A counterpart of Curity's open-source OAuth Agent for Node/Express, with the OAuth Proxy and
// Phantom Token gateway plugins of Curity's example deployment in front of the API, following
// the sources point by point, in front of the real authorization server of tests/oidc/
// (oidc-provider, with a confidential client `oauth-agent` of its own).
//
// Followed (file: what):
//   curityio/oauth-agent-node-express @ 4293863272eb1cbccfa52cab36939d44ba73a37c (v1.6.0)
//     src/server.ts                      CORS (cors 2.8: origin list, credentials, methods ['POST']),
//                                        express.json(), routes under /oauth-agent, etag off
//     src/config.ts                      endpointsPrefix '/oauth-agent', cookieNamePrefix 'example',
//                                        cookieOptions { httpOnly, sameSite: true, secure: useSsl,
//                                        domain, path '/' }
//     src/validateExpressRequest.ts      CSRF header `x-<prefix>-csrf`, cookie `<prefix>-csrf`, Origin
//     src/lib/validateRequest.ts         trusted origin, then CSRF header == decrypted CSRF cookie
//     src/controller/LoginController.ts  POST /login/start, POST /login/end (csrf issue/reuse)
//     src/controller/UserInfoController.ts, ClaimsController.ts, RefreshTokenController.ts,
//       LogoutController.ts             GET /userInfo, GET /claims, POST /refresh (204), POST /logout
//     src/lib/loginHandler.ts            the authorization request URL, the response's code/state/error
//     src/lib/getToken.ts, getUserInfo.ts, getIDTokenClaims.ts, getLogoutURL.ts, idTokenValidator.ts
//     src/lib/cookieBuilder.ts, cookieName.ts, cookieEncrypter.ts, pkce.ts
//                                        cookie names, paths, attributes, AES-256-GCM layout
//     src/lib/exceptions/*.ts, src/middleware/exceptionMiddleware.ts
//                                        `{ code, message }` bodies and statuses; cookies cleared on
//                                        session_expired
//   curityio/nginx-lua-oauth-proxy-plugin @ 00e561cea246b21b37f18730ef6c6c26af9c84f5
//     plugin/access.lua                  the OAuth Proxy in front of /api: CORS, Origin, CSRF on
//                                        POST/PUT/PATCH/DELETE, `<prefix>-at` cookie → Bearer
//   curityio/nginx-lua-phantom-token-plugin @ f38fa5613832856de1400df510f7566d0c4f6098
//     plugin/access.lua                  an inactive token → 401, `WWW-Authenticate: Bearer`,
//                                        {"code":"unauthorized","message":"Missing, invalid or expired access token"}
//   curityio/spa-using-token-handler @ 64d0b0cbd6809ee13af8c568f7e5fe8bab181c08
//     deployments/standard/components/api-gateway/kong/kong-template.yml
//                                        /oauth-agent and /api on one gateway origin; oauth-proxy then
//                                        phantom-token on /api; cookie_name_prefix example
//
// Not faithful, and why:
//   - node:http instead of Express/cors/cookie-parser (not installed here); their behaviour is
//     reproduced: cors 2.8 preflight (204, Allow-Methods POST, Allow-Headers reflected,
//     Allow-Credentials on every response, Allow-Origin only for a trusted origin), express.json()
//     (a JSON body only with a JSON content type; malformed JSON → 500 server_error), res.json's
//     `application/json; charset=utf-8`, X-Powered-By, first cookie of a name wins.
//   - Cookies have no Domain by default (config.ts defaults COOKIE_DOMAIN to 'api.example.local';
//     here the agent is on 127.0.0.1: pass `cookieDomain` to set one) and no Secure (useSsl is false
//     over HTTP, as in the example's HTTP deployment).
//   - The ID token's iss/aud are checked always (idTokenValidator.ts checks them only when the
//     ISSUER environment variable is set, which the example deployment does).
//   - The phantom-token step is an in-process look-up of the token at the provider (active = known,
//     not expired, not older than provider.expire()) instead of an introspection request; the API
//     behind it is the provider's resource (tests/oidc/provider.mjs), which gets the opaque token.
//   - The gateway replaces the upstream's own CORS headers by the plugin's.
//   - The Kong/OpenResty `add_cors_response_headers` runs before the phantom-token plugin, so its
//     CORS headers are on the phantom-token 401 as well (nginx keeps headers set in the access phase).
import { createServer } from 'node:http';
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomFillSync } from 'node:crypto';
import { startProvider } from '../oidc/provider.mjs';

const CLIENT_ID = 'oauth-agent';
const DAY_MS = 1000 * 60 * 60 * 24;
const PREFIX = '/oauth-agent';

/** An OAuthAgentException (src/lib/exceptions/*.ts): the status, `code` and `message` it sends. */
class AgentError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
const unauthorizedRequest = () => new AgentError(401, 'unauthorized_request', 'Access denied due to invalid request details');
const serverError = () => new AgentError(500, 'server_error', 'A technical problem occurred in the OAuth Agent');
const authorizationServerError = () => new AgentError(502, 'authorization_server_error', 'A problem occurred with a request to the Authorization Server');
const rejected = (status, code) => new AgentError(status, code, 'A request sent to the Authorization Server was rejected');
const invalidIdToken = () => new AgentError(400, 'invalid_request', 'ID Token missing or invalid');

/**
 * Starts the agent and its gateway (one origin: `/oauth-agent/…` and `/api/…`), then the provider.
 * `spaOrigin`: the only trusted web origin (the login comes back to `spaOrigin + redirectPath`,
 * logout to `spaOrigin + '/'`); `accessTtl`: access-token lifetime in seconds; `cookieNamePrefix`:
 * config.ts's COOKIE_NAME_PREFIX (cookies `<prefix>-at`…, CSRF header `x-<prefix>-csrf`);
 * `corsEnabled`: config.ts's CORS_ENABLED; `cookieDomain`: a Domain attribute for the cookies.
 * Resolves with { origin, agent, api, csrfHeader, cookieNames, provider, stats, expireAccess(),
 * revokeRefresh(), close() }. `stats` counts (preflights are not counted):
 *   loginStarts    `POST /login/start` answered 200;  logins  `/login/end` that exchanged a code;
 *   userInfo, claims  requests to those endpoints;
 *   refreshes      `POST /refresh` requests (each one, whatever the answer);
 *   refreshRefused those answered 401 session_expired;
 *   logouts        `POST /logout` answered 200;
 *   csrfRefused    agent requests refused by the CSRF check (validateRequest.ts);
 *   originRefused  agent requests refused for an untrusted Origin;
 *   apiRequests    requests to the gateway's /api;  apiUnauthorized  those answered 401;
 *   apiRefused     the reason of each gateway 401: 'origin', 'csrf', 'cookie' (OAuth Proxy) or
 *                  'inactive' (phantom token);
 *   requests       every request but preflights: { method, path, csrf } (csrf: the header or null).
 */
export async function startOAuthAgent({
  spaOrigin, redirectPath = '/', accessTtl = 60, cookieNamePrefix = 'example', corsEnabled = true,
  cookieDomain, scope = 'openid offline_access api',
} = {}) {
  if (!spaOrigin) throw new Error('startOAuthAgent: spaOrigin is required');
  const stats = {
    loginStarts: 0, logins: 0, userInfo: 0, claims: 0, refreshes: 0, refreshRefused: 0, logouts: 0,
    csrfRefused: 0, originRefused: 0, apiRequests: 0, apiUnauthorized: 0, apiRefused: [], requests: [],
  };
  const seen = { access: new Set(), refresh: new Set() };
  const encKey = randomBytes(32).toString('hex');
  const clientSecret = randomBytes(24).toString('base64url');
  const redirectUri = spaOrigin + redirectPath;
  const postLogoutRedirectUri = `${spaOrigin}/`;
  const trustedWebOrigins = [spaOrigin];
  const names = {
    login: `${cookieNamePrefix}-login`, auth: `${cookieNamePrefix}-auth`, at: `${cookieNamePrefix}-at`,
    id: `${cookieNamePrefix}-id`, csrf: `${cookieNamePrefix}-csrf`,
  };
  const csrfHeader = `x-${cookieNamePrefix}-csrf`;
  // config.ts: cookieOptions.
  const cookieOptions = { httpOnly: true, sameSite: true, secure: false, domain: cookieDomain, path: '/' };
  let op;
  let meta;

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, { code: 'server_error', message: String(err?.message ?? err) });
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

  // --- cookieEncrypter.ts: version byte 1, 12-byte IV, ciphertext, 16-byte tag; base64url; no AAD.

  function encryptCookie(plaintext) {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(encKey, 'hex'), iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([1]), iv, data, cipher.getAuthTag()]).toString('base64url');
  }

  /** decryptCookie: InvalidCookieException / CookieDecryptionException, both 401 unauthorized_request. */
  function decryptCookie(value) {
    if (typeof value !== 'string') throw serverError(); // base64url.toBuffer(undefined) is a TypeError
    const all = Buffer.from(value, 'base64url');
    if (all.length < 1 + 12 + 1 + 16 || all[0] !== 1) throw unauthorizedRequest();
    try {
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(encKey, 'hex'), all.subarray(1, 13));
      decipher.setAuthTag(all.subarray(all.length - 16));
      return Buffer.concat([decipher.update(all.subarray(13, all.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw unauthorizedRequest();
    }
  }

  /** The `cookie` package's serialize: Domain, Path, Expires, HttpOnly, Secure, SameSite, in that order. */
  function serialize(name, value, options) {
    let str = `${name}=${value}`;
    if (options.domain) str += `; Domain=${options.domain}`;
    if (options.path) str += `; Path=${options.path}`;
    if (options.expires) str += `; Expires=${options.expires.toUTCString()}`;
    if (options.httpOnly) str += '; HttpOnly';
    if (options.secure) str += '; Secure';
    if (options.sameSite) str += '; SameSite=Strict';
    return str;
  }
  const encrypted = (options, value, name) => serialize(name, encryptCookie(value), options);

  /** cookieBuilder.ts getCookiesForTokenResponse. */
  function cookiesForTokenResponse(tokens, unsetTempLoginDataCookie = false, csrfCookieValue) {
    const cookies = [encrypted(cookieOptions, tokens.access_token, names.at)];
    if (csrfCookieValue) cookies.push(encrypted(cookieOptions, csrfCookieValue, names.csrf));
    if (unsetTempLoginDataCookie) cookies.push(serialize(names.login, '', { ...cookieOptions, expires: new Date(Date.now() - DAY_MS) }));
    if (tokens.refresh_token) cookies.push(encrypted({ ...cookieOptions, path: `${PREFIX}/refresh` }, tokens.refresh_token, names.auth));
    if (tokens.id_token) cookies.push(encrypted({ ...cookieOptions, path: `${PREFIX}/claims` }, tokens.id_token, names.id));
    return cookies;
  }

  /** cookieBuilder.ts getCookiesForUnset: all at config.cookieOptions' path ('/'). */
  function cookiesForUnset() {
    const options = { ...cookieOptions, expires: new Date(Date.now() - DAY_MS) };
    return [names.auth, names.at, names.id, names.csrf].map((name) => serialize(name, '', options));
  }

  /** pkce.ts generateRandomString: 64 characters of [A-Za-z0-9]. */
  function generateRandomString(length = 64) {
    const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const bytes = randomFillSync(new Uint8Array(length));
    return String.fromCharCode(...bytes.map((x) => chars.charCodeAt(x % chars.length)));
  }

  // --- HTTP helpers.

  /** cookie-parser: the first cookie of a name wins (the browser sends longer paths first). */
  function parseCookies(req) {
    const out = {};
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const i = part.indexOf('=');
      if (i < 0) continue;
      const name = part.slice(0, i).trim();
      if (!(name in out)) {
        const raw = part.slice(i + 1).trim();
        try { out[name] = decodeURIComponent(raw); } catch { out[name] = raw; }
      }
    }
    return out;
  }

  /** cors 2.8 on a non-preflight request: Allow-Origin for a trusted origin, Vary, Allow-Credentials. */
  function agentCors(req) {
    if (!corsEnabled) return {};
    const headers = { vary: 'Origin', 'access-control-allow-credentials': 'true' };
    if (trustedWebOrigins.includes(req.headers.origin)) headers['access-control-allow-origin'] = req.headers.origin;
    return headers;
  }

  function sendJson(res, status, body, headers = {}) {
    res.writeHead(status, { 'x-powered-by': 'Express', ...headers, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  async function readBody(req) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** express.json(): parses only a JSON content type; strict (an object or array); else {}. */
  async function readExpressJson(req) {
    const body = await readBody(req);
    if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return {};
    const text = body.toString('utf8');
    if (!text.trim()) return {};
    if (!/^\s*[{[]/.test(text)) throw serverError();
    try {
      return JSON.parse(text);
    } catch {
      throw serverError(); // a body-parser error reaches exceptionMiddleware as UnhandledException
    }
  }

  /** A token-endpoint request as getToken.ts sends it (Basic credential, hand-built form body). */
  async function tokenRequest(body) {
    let res;
    let text;
    try {
      res = await fetch(meta.token_endpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body,
      });
      text = await res.text();
    } catch {
      throw authorizationServerError();
    }
    return { status: res.status, text };
  }

  function remember(tokens) {
    if (tokens.access_token) seen.access.add(tokens.access_token);
    if (tokens.refresh_token) seen.refresh.add(tokens.refresh_token);
  }

  /** idTokenValidator.ts: iss and aud (see the header: always checked here). */
  function validateIdToken(idToken) {
    let payload;
    try {
      payload = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString('utf8'));
    } catch {
      throw invalidIdToken();
    }
    const aud = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
    if (payload.iss !== op.issuer || !aud.includes(CLIENT_ID)) throw invalidIdToken();
  }

  /**
   * validateExpressRequest.ts + validateRequest.ts: the trusted origin, then the CSRF header against
   * the decrypted CSRF cookie. `origin` and `csrf` are the ValidateRequestOptions of each controller.
   */
  function validateRequest(req, cookies, { origin: requireTrustedOrigin = true, csrf: requireCsrfHeader = true }) {
    if (requireTrustedOrigin && !trustedWebOrigins.includes(req.headers.origin)) {
      stats.originRefused += 1;
      throw unauthorizedRequest();
    }
    if (requireCsrfHeader) {
      const cookie = cookies[names.csrf];
      let ok = false;
      if (cookie) {
        try {
          ok = decryptCookie(cookie) === req.headers[csrfHeader];
        } catch (err) {
          stats.csrfRefused += 1;
          throw err;
        }
      }
      if (!ok) {
        stats.csrfRefused += 1;
        throw unauthorizedRequest();
      }
    }
  }

  // --- The requests.

  async function handle(req, res) {
    const url = new URL(req.url, origin);
    const path = url.pathname;
    if (path === '/api' || path.startsWith('/api/')) return gateway(req, res, url);
    // The agent's Express app: app.use(cors(...)) first, for every path.
    if (req.method === 'OPTIONS' && corsEnabled) {
      const headers = {
        'x-powered-by': 'Express', ...agentCors(req), 'access-control-allow-methods': 'POST', 'content-length': '0',
      };
      const requested = req.headers['access-control-request-headers'];
      if (requested) {
        headers['access-control-allow-headers'] = requested;
        headers.vary = 'Origin, Access-Control-Request-Headers';
      }
      await readBody(req);
      return res.writeHead(204, headers).end();
    }
    stats.requests.push({ method: req.method, path, csrf: req.headers[csrfHeader] ?? null });
    const cors = agentCors(req);
    try {
      const body = await readExpressJson(req);
      const cookies = parseCookies(req);
      const route = `${req.method} ${path.replace(/\/$/, '')}`;
      switch (route) {
        case `POST ${PREFIX}/login/start`: return loginStart(req, res, cors, body, cookies);
        case `POST ${PREFIX}/login/end`: return await loginEnd(req, res, cors, body, cookies);
        case `GET ${PREFIX}/userInfo`: return await userInfo(req, res, cors, cookies);
        case `GET ${PREFIX}/claims`: return claims(req, res, cors, cookies);
        case `POST ${PREFIX}/refresh`: return await refresh(req, res, cors, cookies);
        case `POST ${PREFIX}/logout`: return logout(req, res, cors, cookies);
        default: {
          // Express's final handler.
          res.writeHead(404, { ...cors, 'x-powered-by': 'Express', 'content-type': 'text/html; charset=utf-8', 'x-content-type-options': 'nosniff' });
          return res.end(`<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot ${req.method} ${path}</pre>\n</body>\n</html>\n`);
        }
      }
    } catch (caught) {
      // exceptionMiddleware.ts: { code, message }, and the cookies cleared on session_expired.
      const err = caught instanceof AgentError ? caught : serverError();
      const headers = { ...cors };
      if (err.code === 'session_expired') headers['set-cookie'] = cookiesForUnset();
      return sendJson(res, err.status, { code: err.code, message: err.message }, headers);
    }
  }

  /** LoginController.startLogin + loginHandler.createAuthorizationRequest. */
  function loginStart(req, res, cors, body, cookies) {
    validateRequest(req, cookies, { csrf: false });
    const codeVerifier = generateRandomString();
    const state = generateRandomString();
    const challenge = createHash('sha256').update(codeVerifier).digest('base64url');
    let authorizationRequestUrl = `${meta.authorization_endpoint}?client_id=${encodeURIComponent(CLIENT_ID)}`
      + `&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&state=${encodeURIComponent(state)}`
      + `&code_challenge=${challenge}&code_challenge_method=S256`;
    if (body && Array.isArray(body.extraParams)) {
      for (const p of body.extraParams) {
        if (p && p.key && p.value) authorizationRequestUrl += `&${p.key}=${encodeURIComponent(p.value)}`;
      }
    }
    if (scope) authorizationRequestUrl += `&scope=${encodeURIComponent(scope)}`;
    stats.loginStarts += 1;
    sendJson(res, 200, { authorizationRequestUrl }, {
      ...cors,
      'set-cookie': serialize(names.login, encryptCookie(JSON.stringify({ codeVerifier, state })), cookieOptions),
    });
  }

  /** LoginController.handlePageLoad (+ loginHandler.handleAuthorizationResponse, getToken.ts). */
  async function loginEnd(req, res, cors, body, cookies) {
    validateRequest(req, cookies, { csrf: false });
    let query = {};
    if (typeof body?.pageUrl === 'string' && body.pageUrl) {
      try {
        query = Object.fromEntries(new URL(body.pageUrl, 'http://unknown/').searchParams);
      } catch {
        query = {};
      }
    }
    if (!(query.state && query.code) && query.state && query.error) {
      throw new AgentError(query.error === 'login_required' ? 401 : 400, query.error, query.error_description || 'Login failed at the Authorization Server');
    }
    let isLoggedIn = false;
    let handled = false;
    let csrfToken = '';
    const headers = { ...cors };
    if (query.code && query.state) {
      const tempLoginData = cookies[names.login];
      if (!tempLoginData) throw new AgentError(400, 'invalid_request', 'Missing code verifier when completing a login');
      const login = JSON.parse(decryptCookie(tempLoginData));
      if (login.state !== query.state) throw new AgentError(400, 'invalid_request', 'State parameter mismatch when completing a login');
      const answer = await tokenRequest(`grant_type=authorization_code&redirect_uri=${redirectUri}&code=${query.code}&code_verifier=${login.codeVerifier}`);
      if (answer.status >= 500) throw authorizationServerError();
      if (answer.status >= 400) throw rejected(400, 'authorization_error');
      const tokens = JSON.parse(answer.text);
      remember(tokens);
      if (tokens.id_token) validateIdToken(tokens.id_token);
      // "Avoid setting a new value if the user opens two browser tabs and signs in on both".
      const csrfCookie = cookies[names.csrf];
      if (csrfCookie) {
        try {
          csrfToken = decryptCookie(csrfCookie);
        } catch {
          csrfToken = generateRandomString();
        }
      } else {
        csrfToken = generateRandomString();
      }
      headers['set-cookie'] = cookiesForTokenResponse(tokens, true, csrfToken);
      handled = true;
      isLoggedIn = true;
      stats.logins += 1;
    } else {
      // "During a page reload, return the existing anti forgery token".
      isLoggedIn = Boolean(cookies[names.at]);
      if (isLoggedIn) csrfToken = decryptCookie(cookies[names.csrf]);
    }
    const responseBody = { handled, isLoggedIn };
    if (csrfToken) responseBody.csrf = csrfToken;
    sendJson(res, 200, responseBody, headers);
  }

  /** UserInfoController + getUserInfo.ts: POST to the userinfo endpoint with the access token. */
  async function userInfo(req, res, cors, cookies) {
    stats.userInfo += 1;
    validateRequest(req, cookies, { csrf: false, origin: corsEnabled });
    if (!cookies[names.at]) throw unauthorizedRequest();
    const accessToken = decryptCookie(cookies[names.at]);
    let answer;
    let text;
    try {
      answer = await fetch(meta.userinfo_endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/x-www-form-urlencoded' },
      });
      text = await answer.text();
    } catch {
      throw authorizationServerError();
    }
    if (answer.status >= 500) throw authorizationServerError();
    if (answer.status >= 400) throw answer.status === 401 ? rejected(401, 'token_expired') : rejected(400, 'authorization_error');
    sendJson(res, 200, JSON.parse(text), cors);
  }

  /** ClaimsController + getIDTokenClaims.ts. */
  function claims(req, res, cors, cookies) {
    stats.claims += 1;
    validateRequest(req, cookies, { csrf: false, origin: corsEnabled });
    if (!cookies[names.id]) throw unauthorizedRequest();
    const idToken = decryptCookie(cookies[names.id]);
    const parts = idToken.split('.');
    if (parts.length !== 3) throw invalidIdToken();
    let payload;
    try {
      payload = JSON.parse(Buffer.from(parts[1], 'base64').toString('binary'));
    } catch {
      throw invalidIdToken();
    }
    sendJson(res, 200, payload, cors);
  }

  /** RefreshTokenController + getToken.refreshAccessToken: 204 and new cookies. */
  async function refresh(req, res, cors, cookies) {
    stats.refreshes += 1;
    validateRequest(req, cookies, {});
    if (!cookies[names.auth]) throw unauthorizedRequest();
    const refreshToken = decryptCookie(cookies[names.auth]);
    const answer = await tokenRequest(`grant_type=refresh_token&refresh_token=${refreshToken}`);
    if (answer.status >= 500) throw authorizationServerError();
    if (answer.status >= 400) {
      if (answer.text.includes('invalid_grant')) {
        stats.refreshRefused += 1;
        throw rejected(401, 'session_expired');
      }
      throw rejected(400, 'authorization_error');
    }
    const tokens = JSON.parse(answer.text);
    remember(tokens);
    if (tokens.id_token) validateIdToken(tokens.id_token);
    res.writeHead(204, { ...cors, 'x-powered-by': 'Express', 'set-cookie': cookiesForTokenResponse(tokens) });
    res.end();
  }

  /** LogoutController + getLogoutURL.ts: 200 { url } and the cookies unset. */
  function logout(req, res, cors, cookies) {
    validateRequest(req, cookies, {});
    if (!cookies[names.at]) throw unauthorizedRequest();
    stats.logouts += 1;
    const url = `${meta.end_session_endpoint}?client_id=${encodeURIComponent(CLIENT_ID)}&post_logout_redirect_uri=${encodeURIComponent(postLogoutRedirectUri)}`;
    sendJson(res, 200, { url }, { ...cors, 'set-cookie': cookiesForUnset() });
  }

  // --- The gateway in front of /api: the OAuth Proxy plugin, then the Phantom Token plugin.

  /** access.lua add_cors_response_headers (cors_allow_methods, max_age defaults; no expose headers). */
  function proxyCors(req) {
    const headers = {};
    if (!corsEnabled || !trustedWebOrigins.includes(req.headers.origin)) return headers;
    headers['access-control-allow-origin'] = req.headers.origin;
    headers['access-control-allow-credentials'] = 'true';
    let vary = 'origin';
    if (req.method === 'OPTIONS') {
      headers['access-control-allow-methods'] = 'OPTIONS,HEAD,GET,POST,PUT,PATCH,DELETE';
      const requested = (req.headers['access-control-request-headers'] ?? '').match(/[^,\s]+/g) ?? [];
      if (requested.length) headers['access-control-allow-headers'] = requested.join(',');
      headers['access-control-max-age'] = '86400';
      vary = 'origin,access-control-request-headers';
    }
    headers.vary = vary;
    return headers;
  }

  /** A gateway plugin's error: application/json, the body ngx.say writes (with its newline). */
  function gatewayError(req, res, status, body, headers) {
    stats.apiUnauthorized += status === 401 ? 1 : 0;
    res.writeHead(status, { ...headers, 'content-type': 'application/json' });
    res.end(req.method === 'HEAD' ? undefined : `${body}\n`);
  }

  function decryptOrNull(value) {
    try {
      return decryptCookie(value);
    } catch {
      return null;
    }
  }

  async function gateway(req, res, url) {
    const method = req.method.toUpperCase();
    if (method === 'OPTIONS') {
      await readBody(req);
      if (corsEnabled) return res.writeHead(204, proxyCors(req)).end();
    }
    stats.apiRequests += 1;
    stats.requests.push({ method, path: url.pathname, csrf: req.headers[csrfHeader] ?? null });
    const body = await readBody(req);
    const cookies = parseCookies(req);
    const dataChanging = ['POST', 'PUT', 'DELETE', 'PATCH'].includes(method);
    const refuse = (why) => {
      stats.apiRefused.push(why);
      gatewayError(req, res, 401, '{"code":"unauthorized", "message":"Access denied due to missing or invalid credentials"}', proxyCors(req));
    };
    if ((corsEnabled || dataChanging) && !trustedWebOrigins.includes(req.headers.origin)) return refuse('origin');
    if (dataChanging) {
      const token = cookies[names.csrf] ? decryptOrNull(cookies[names.csrf]) : null;
      if (!token || req.headers[csrfHeader] !== token) return refuse('csrf');
    }
    const accessToken = cookies[names.at] ? decryptOrNull(cookies[names.at]) : null;
    if (!accessToken) return refuse('cookie');
    const cors = proxyCors(req);
    // The Phantom Token plugin: introspection (here, a look-up at the provider).
    const record = await op.provider.AccessToken.find(accessToken);
    if (!record || record.isExpired || record.iat < op.stats.expiredBefore) {
      stats.apiRefused.push('inactive');
      return gatewayError(req, res, 401, '{"code":"unauthorized","message":"Missing, invalid or expired access token"}', { ...cors, 'www-authenticate': 'Bearer' });
    }
    // remove_cookie_headers: neither the cookies nor the CSRF header go to the API.
    const headers = { authorization: `Bearer ${accessToken}`, accept: req.headers.accept ?? '*/*' };
    if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
    const answer = await fetch(op.origin + url.pathname + url.search, {
      method,
      headers,
      body: ['GET', 'HEAD'].includes(method) || !body.length ? undefined : body,
    });
    const out = { ...cors };
    for (const name of ['content-type', 'www-authenticate', 'cache-control']) {
      const value = answer.headers.get(name);
      if (value) out[name] = value;
    }
    if (answer.status === 401) stats.apiUnauthorized += 1;
    res.writeHead(answer.status, out);
    res.end(Buffer.from(await answer.arrayBuffer()));
  }

  function closeServer() {
    return new Promise((ok) => {
      server.closeAllConnections?.();
      server.close(() => ok());
    });
  }

  return {
    origin,
    agent: origin + PREFIX,
    api: `${origin}/api`,
    csrfHeader,
    cookieNames: names,
    provider: op,
    stats,
    /**
     * Every access token issued so far stops being accepted: by the gateway and the resource
     * (provider.expire()) and by the provider's userinfo (the records the agent holds are dropped;
     * grants and refresh tokens stay).
     */
    expireAccess: async () => {
      await op.expire();
      for (const token of seen.access) {
        const record = await op.provider.AccessToken.find(token);
        await record?.destroy();
      }
    },
    /** Revokes every refresh token the agent has seen (their grants with them): /refresh → 401 session_expired. */
    revokeRefresh: async () => {
      const basic = Buffer.from(`${CLIENT_ID}:${clientSecret}`).toString('base64');
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
