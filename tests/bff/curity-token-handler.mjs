// A counterpart of the Curity Identity Server's Token Handler application (the OAuth Agent) as
// Curity's JavaScript assistant speaks to it, with the gateway of Curity's example deployment in
// front of the API (a CORS step, the OAuth Proxy, the Phantom Token plugin), in front of the real
// authorization server of tests/oidc/ (oidc-provider, confidential client `oauth-agent`).
//
// The product itself is closed source. Followed (file: what):
//   curityio/token-handler-js-assistant @ df1cd5a59afa6abb732c8a12013095974a85b77a (1.2.2-rc.1)
//     src/oauth-agent-client.ts  the wire contract: every request has `accept: application/json` and
//                                `token-handler-version: 1` (fetch(), l. 176-207); bodies are
//                                URLSearchParams, `content-type: application/x-www-form-urlencoded`
//                                set only when there are parameters (else the browser's fetch labels
//                                the empty body `…;charset=UTF-8`); POST login/start → authorization_url;
//                                POST login/end with the page's query string → is_logged_in,
//                                id_token_claims, access_token_expires_in; GET session → the same;
//                                POST refresh → access_token_expires_in; POST logout (no body) →
//                                logout_url; a 2xx is read with response.json() (so refresh and
//                                logout must answer a JSON body, not 204); an error is read as
//                                { error_code, detailed_error } only when content-type is exactly
//                                `application/json`.
//     src/types.ts               the same fields; extra parameters must be allowed by configuration.
//     README.md                  `token-handler-version: 1` "on every request to the OAuth Agent".
//   curityio/spa-using-curitytokenhandler @ 9e1d53a643b766169069eafb3ad05644c4ea514e
//     deployments/*/oauthagent|idsvr/config-backup.xml  the application `example` under the
//                                endpoint `/oauthagent` (base URL /oauthagent/example), cookie-prefix
//                                `th-`, require-custom-header true, redirect URI …/callback.
//     deployments/curity/apigateway/nginx/default.conf.template, kong/kong.yml.template
//                                the gateway: CORS for the SPA's origin (preflight answered 200 with
//                                methods GET,POST,PUT,PATCH,DELETE, the requested headers, max-age
//                                86400), oauth_proxy, then phantom_token on /api; /oauthuserinfo is
//                                the AS's userinfo behind oauth_proxy only.
//     spa/src/api/apiClient.ts   API calls carry `token-handler-version: 1`; a 401 → refresh → retry;
//                                a 401 on refresh is session expiry; gateway errors are { code, message }.
//   curityio/nginx-lua-phantom-token-plugin @ f38fa5613832856de1400df510f7566d0c4f6098
//     plugin/access.lua          an inactive token → 401, `WWW-Authenticate: Bearer`,
//                                {"code":"unauthorized","message":"Missing, invalid or expired access token"}
//   curity.io docs, Token Handler application: "The only parameter that is always allowed to be sent
//     by SPAs is scope. Any other parameters … have to be enabled using the Authorization Parameters
//     Whitelist"; the SPA base URL is the CORS origin (all requests from the SPA are cross-origin).
//
// Not faithful, or not verifiable, and why:
//   - ASSUMED (no public source): the server's error statuses and error_code values. Chosen to
//     mirror the open-source agent: a missing/wrong `token-handler-version` → 401 unauthorized_request;
//     a parameter not allowed, a foreign state, no login in progress, a JARM response → 400
//     invalid_request; the AS's `error` on login/end → 400 (401 for login_required) with that error
//     as error_code; a refresh the AS refuses (invalid_grant) → 401 session_expired with the cookies
//     cleared; no refresh cookie → 401 unauthorized_request; another AS refusal → 400 authorization_error.
//   - ASSUMED: cookie names `<prefix>at`, `<prefix>rt`, `<prefix>id`, `<prefix>login` (prefix 'th-'),
//     Path=/, HttpOnly, SameSite=Strict (Secure omitted over HTTP); the product encrypts the proxy
//     cookie as a JWE for the proxy's EC key, here AES-256-GCM with a key of its own.
//   - ASSUMED: login/end without an authorization response answers like session; logout answers
//     200 { logout_url } (logout is configured) and clears the cookies even without a session;
//     session without a session is { is_logged_in: false }; login/start's `scope` replaces the
//     configured scope; the agent's own CORS (preflight 204, methods GET,POST, headers as requested).
//   - ASSUMED: the OAuth Proxy refuses a request without `token-handler-version: 1` (option
//     `proxyRequiresHeader`; the assistant's README says SPAs "may be required" to send it to
//     proxies, and the example SPA does) and a missing or undecryptable cookie, with 401
//     {"code":"unauthorized","message":"Access denied due to missing or invalid credentials"}, the
//     body of Curity's open-source OAuth Proxy plugins.
//   - Plain code flow with PKCE; the product can also use PAR, JARM and client assertions.
//   - The phantom-token step is an in-process look-up at the provider, and the API behind it is the
//     provider's resource, as in tests/bff/oauth-agent.mjs.
import { createServer } from 'node:http';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { startProvider } from '../oidc/provider.mjs';

const CLIENT_ID = 'oauth-agent';
const VERSION_HEADER = 'token-handler-version';
const DEFAULT_ALLOWED = ['login_hint', 'ui_locales', 'prompt', 'acr_values', 'max_age'];

class AgentError extends Error {
  constructor(status, errorCode, detail, { clear = false } = {}) {
    super(detail);
    this.status = status;
    this.errorCode = errorCode;
    this.clear = clear;
  }
}

/**
 * Starts the token handler (agent at `/oauthagent/<appId>`, gateway at `/api/…` and
 * `/oauthuserinfo`, one origin), then the provider. `spaOrigin`: the SPA base URL (the CORS
 * origin; the login comes back to `spaOrigin + redirectPath`, logout to `spaOrigin + '/'`);
 * `accessTtl`: access-token lifetime in seconds; `allowedParameters`: the authorization
 * parameters whitelist (scope is always allowed); `proxyRequiresHeader`: see the header.
 * Resolves with { origin, agent, api, userinfo, cookieNames, provider, stats, expireAccess(),
 * revokeRefresh(), close() }. `stats` counts (preflights are not counted):
 *   loginStarts, logins (codes exchanged), session, refreshes (each POST refresh with the header),
 *   refreshRefused (answered 401 session_expired), logouts, userInfo (/oauthuserinfo requests);
 *   missingHeader   agent requests refused for want of `token-handler-version: 1`;
 *   apiRequests     requests to /api;  apiUnauthorized  those answered 401;
 *   apiRefused      the reason of each /api 401: 'header', 'cookie' (proxy) or 'inactive' (phantom);
 *   requests        every request but preflights: { method, path, header, contentType, body }.
 */
export async function startCurityTokenHandler({
  spaOrigin, redirectPath = '/callback', accessTtl = 60, appId = 'example', cookiePrefix = 'th-',
  scope = 'openid offline_access api', allowedParameters = DEFAULT_ALLOWED, allowedRefreshParameters = ['scope'],
  requireCustomHeader = true, proxyRequiresHeader = true,
} = {}) {
  if (!spaOrigin) throw new Error('startCurityTokenHandler: spaOrigin is required');
  const stats = {
    loginStarts: 0, logins: 0, session: 0, refreshes: 0, refreshRefused: 0, logouts: 0, userInfo: 0,
    missingHeader: 0, apiRequests: 0, apiUnauthorized: 0, apiRefused: [], requests: [],
  };
  const seen = { access: new Set(), refresh: new Set() };
  const key = randomBytes(32);
  const clientSecret = randomBytes(24).toString('base64url');
  const redirectUri = spaOrigin + redirectPath;
  const postLogoutRedirectUri = `${spaOrigin}/`;
  const base = `/oauthagent/${appId}`;
  const names = { at: `${cookiePrefix}at`, rt: `${cookiePrefix}rt`, id: `${cookiePrefix}id`, login: `${cookiePrefix}login` };
  let op;
  let meta;

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) json(res, 500, { error_code: 'server_error', detailed_error: String(err?.message ?? err) });
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

  // --- Cookies (see the header): AES-256-GCM, version byte, IV, ciphertext, tag, base64url.

  function seal(plain) {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([1]), iv, data, cipher.getAuthTag()]).toString('base64url');
  }

  function unseal(value) {
    try {
      const raw = Buffer.from(value, 'base64url');
      if (raw.length < 1 + 12 + 1 + 16 || raw[0] !== 1) return null;
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(1, 13));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(13, raw.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }

  /** Our cookies the request carries, decrypted (one that does not decrypt counts as absent). */
  function readCookies(req) {
    const out = {};
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const i = part.indexOf('=');
      if (i < 0) continue;
      const name = part.slice(0, i).trim();
      if (!Object.values(names).includes(name) || name in out) continue;
      const plain = unseal(part.slice(i + 1).trim());
      if (plain !== null) out[name] = plain;
    }
    return out;
  }

  const attributes = 'Path=/; HttpOnly; SameSite=Strict';
  const setCookie = (name, plain) => `${name}=${seal(plain)}; ${attributes}`;
  const clearCookie = (name) => `${name}=; ${attributes}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
  const clearAll = () => Object.values(names).map(clearCookie);

  // --- HTTP helpers.

  /** Error and success bodies: content-type exactly application/json (the assistant compares with ==). */
  function json(res, status, body, headers = {}) {
    res.writeHead(status, { 'cache-control': 'no-store', ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  async function readBody(req) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** A form body (an empty body is no parameters); another content type with a body is refused. */
  function readForm(req, text) {
    if (!text) return new URLSearchParams();
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      throw new AgentError(400, 'invalid_request', 'The request body must be application/x-www-form-urlencoded');
    }
    return new URLSearchParams(text);
  }

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

  function tokenCookies(tokens) {
    const expiresAt = typeof tokens.expires_in === 'number' ? Date.now() + tokens.expires_in * 1000 : null;
    const cookies = [setCookie(names.at, JSON.stringify({ token: tokens.access_token, expiresAt }))];
    if (tokens.refresh_token) cookies.push(setCookie(names.rt, tokens.refresh_token));
    if (tokens.id_token) cookies.push(setCookie(names.id, tokens.id_token));
    return cookies;
  }

  function accessToken(cookies) {
    try {
      return cookies[names.at] ? JSON.parse(cookies[names.at]) : null;
    } catch {
      return null;
    }
  }

  const expiresIn = (at) => (at?.expiresAt ? Math.max(0, Math.round((at.expiresAt - Date.now()) / 1000)) : undefined);

  function decodeJwt(jwt) {
    try {
      return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
    } catch {
      return null;
    }
  }

  /** The session shape of session, login/end: is_logged_in, id_token_claims, access_token_expires_in. */
  function sessionBody(cookies, idToken, at) {
    if (!at && !cookies[names.rt]) return { is_logged_in: false };
    const body = { is_logged_in: true, id_token_claims: (idToken && decodeJwt(idToken)) || null };
    const seconds = expiresIn(at);
    if (seconds !== undefined) body.access_token_expires_in = seconds;
    return body;
  }

  // --- CORS.

  /** The agent (the SPA base URL is its only CORS origin). */
  function agentCors(req) {
    if (req.headers.origin !== spaOrigin) return {};
    return { 'access-control-allow-origin': spaOrigin, 'access-control-allow-credentials': 'true', vary: 'origin' };
  }

  /** The gateway's CORS step (default.conf.template): `matched` and `matched-preflight`. */
  function gatewayCors(req) {
    if (req.headers.origin !== spaOrigin) return {};
    const headers = { 'access-control-allow-origin': spaOrigin, 'access-control-allow-credentials': 'true', vary: 'origin' };
    if (req.method === 'OPTIONS') {
      headers['access-control-allow-methods'] = 'GET,POST,PUT,PATCH,DELETE';
      if (req.headers['access-control-request-headers']) headers['access-control-allow-headers'] = req.headers['access-control-request-headers'];
      headers['access-control-max-age'] = '86400';
      headers.vary = 'origin, access-control-request-headers';
    }
    return headers;
  }

  // --- The requests.

  async function handle(req, res) {
    const url = new URL(req.url, origin);
    const path = url.pathname;
    const gatewayRoute = path === '/oauthuserinfo' || path.startsWith('/api/') || path === '/api';
    if (req.method === 'OPTIONS') {
      await readBody(req);
      if (gatewayRoute) {
        const headers = gatewayCors(req);
        return res.writeHead(headers['access-control-allow-origin'] ? 200 : 204, headers).end();
      }
      const headers = agentCors(req);
      if (headers['access-control-allow-origin']) {
        headers['access-control-allow-methods'] = 'GET,POST';
        if (req.headers['access-control-request-headers']) headers['access-control-allow-headers'] = req.headers['access-control-request-headers'];
        headers['access-control-max-age'] = '86400';
      }
      return res.writeHead(204, headers).end();
    }
    const text = await readBody(req);
    const header = req.headers[VERSION_HEADER] ?? null;
    stats.requests.push({ method: req.method, path, header, contentType: req.headers['content-type'] ?? null, body: text });
    if (gatewayRoute) return gateway(req, res, url, text, header);
    const cors = agentCors(req);
    try {
      if (!path.startsWith(`${base}/`)) throw new AgentError(404, 'not_found', 'No such endpoint');
      if (requireCustomHeader && header !== '1') {
        stats.missingHeader += 1;
        throw new AgentError(401, 'unauthorized_request', `The request did not contain the ${VERSION_HEADER} header`);
      }
      const cookies = readCookies(req);
      switch (`${req.method} ${path.slice(base.length)}`) {
        case 'POST /login/start': return loginStart(res, cors, readForm(req, text));
        case 'POST /login/end': return await loginEnd(res, cors, readForm(req, text), cookies);
        case 'GET /session': return session(res, cors, cookies);
        case 'POST /refresh': return await refresh(res, cors, readForm(req, text), cookies);
        case 'POST /logout': return logout(res, cors);
        default: throw new AgentError(404, 'not_found', 'No such endpoint');
      }
    } catch (caught) {
      const err = caught instanceof AgentError ? caught : new AgentError(500, 'server_error', String(caught?.message ?? caught));
      const headers = { ...cors };
      if (err.clear) headers['set-cookie'] = clearAll();
      return json(res, err.status, { error_code: err.errorCode, detailed_error: err.message }, headers);
    }
  }

  /** POST login/start: a form of extra authorization parameters → { authorization_url }. */
  function loginStart(res, cors, params) {
    const state = randomBytes(32).toString('base64url');
    const codeVerifier = randomBytes(32).toString('base64url');
    const authorizationUrl = new URL(meta.authorization_endpoint);
    const q = authorizationUrl.searchParams;
    q.set('client_id', CLIENT_ID);
    q.set('redirect_uri', redirectUri);
    q.set('response_type', 'code');
    q.set('scope', scope);
    q.set('state', state);
    q.set('code_challenge', createHash('sha256').update(codeVerifier).digest('base64url'));
    q.set('code_challenge_method', 'S256');
    for (const [name, value] of params) {
      if (name !== 'scope' && !allowedParameters.includes(name)) {
        throw new AgentError(400, 'invalid_request', `The authorization parameter ${name} is not allowed`);
      }
      q.set(name, value);
    }
    stats.loginStarts += 1;
    json(res, 200, { authorization_url: authorizationUrl.href }, {
      ...cors, 'set-cookie': [setCookie(names.login, JSON.stringify({ state, codeVerifier }))],
    });
  }

  /** POST login/end: the page's query string as a form → the session shape. */
  async function loginEnd(res, cors, params, cookies) {
    const login = cookies[names.login] ? JSON.parse(cookies[names.login]) : null;
    if (params.has('state') && params.has('error') && !params.has('code')) {
      const error = params.get('error');
      throw new AgentError(error === 'login_required' ? 401 : 400, error, params.get('error_description') ?? 'The authorization request failed');
    }
    if (params.has('response') && !params.has('code')) {
      throw new AgentError(400, 'invalid_request', 'JARM responses are not configured for this application');
    }
    if (!(params.has('code') && params.has('state'))) {
      return json(res, 200, sessionBody(cookies, cookies[names.id], accessToken(cookies)), cors);
    }
    if (!login) throw new AgentError(400, 'invalid_request', 'No login is in progress');
    if (login.state !== params.get('state')) throw new AgentError(400, 'invalid_request', 'The state does not match');
    const tokens = await tokenRequest({
      grant_type: 'authorization_code', code: params.get('code'), redirect_uri: redirectUri, code_verifier: login.codeVerifier,
    });
    if (tokens.status >= 500) throw new AgentError(502, 'authorization_server_error', 'The authorization server failed');
    if (!tokens.ok || !tokens.body.access_token) throw new AgentError(400, 'authorization_error', 'The authorization server refused the code');
    stats.logins += 1;
    const at = { token: tokens.body.access_token, expiresAt: Date.now() + (tokens.body.expires_in ?? 0) * 1000 };
    json(res, 200, sessionBody({}, tokens.body.id_token, at), {
      ...cors, 'set-cookie': [...tokenCookies(tokens.body), clearCookie(names.login)],
    });
  }

  /** GET session. */
  function session(res, cors, cookies) {
    stats.session += 1;
    json(res, 200, sessionBody(cookies, cookies[names.id], accessToken(cookies)), cors);
  }

  /** POST refresh: the refresh grant → { access_token_expires_in }, or 401 session_expired. */
  async function refresh(res, cors, params, cookies) {
    stats.refreshes += 1;
    for (const [name] of params) {
      if (!allowedRefreshParameters.includes(name)) throw new AgentError(400, 'invalid_request', `The refresh parameter ${name} is not allowed`);
    }
    const rt = cookies[names.rt];
    if (!rt) throw new AgentError(401, 'unauthorized_request', 'No refresh token cookie was received');
    const tokens = await tokenRequest({ grant_type: 'refresh_token', refresh_token: rt, ...Object.fromEntries(params) });
    if (tokens.status >= 500) throw new AgentError(502, 'authorization_server_error', 'The authorization server failed');
    if (!tokens.ok || !tokens.body.access_token) {
      if (tokens.body?.error === 'invalid_grant') {
        stats.refreshRefused += 1;
        throw new AgentError(401, 'session_expired', 'The refresh token was refused', { clear: true });
      }
      throw new AgentError(400, 'authorization_error', 'The authorization server refused the refresh');
    }
    const body = {};
    if (typeof tokens.body.expires_in === 'number') body.access_token_expires_in = tokens.body.expires_in;
    json(res, 200, body, { ...cors, 'set-cookie': tokenCookies(tokens.body) });
  }

  /** POST logout: the cookies cleared → { logout_url }. */
  function logout(res, cors) {
    stats.logouts += 1;
    const url = new URL(meta.end_session_endpoint);
    url.searchParams.set('client_id', CLIENT_ID);
    url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
    json(res, 200, { logout_url: url.href }, { ...cors, 'set-cookie': clearAll() });
  }

  // --- The gateway: CORS, the OAuth Proxy, then (on /api) the Phantom Token plugin.

  async function gateway(req, res, url, text, header) {
    const cors = gatewayCors(req);
    const isApi = url.pathname !== '/oauthuserinfo';
    if (isApi) stats.apiRequests += 1;
    else stats.userInfo += 1;
    const refuse = (why) => {
      if (isApi) {
        stats.apiRefused.push(why);
        stats.apiUnauthorized += 1;
      }
      res.writeHead(401, { ...cors, 'content-type': 'application/json' });
      res.end('{"code":"unauthorized","message":"Access denied due to missing or invalid credentials"}');
    };
    if (proxyRequiresHeader && header !== '1') return refuse('header');
    const at = accessToken(readCookies(req));
    if (!at?.token) return refuse('cookie');
    if (!isApi) {
      // /oauthuserinfo: proxied to the AS's userinfo with the access token, its answer as it is.
      const answer = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${at.token}`, accept: 'application/json' } });
      const out = { ...cors, 'content-type': answer.headers.get('content-type') ?? 'application/json' };
      if (answer.headers.get('www-authenticate')) out['www-authenticate'] = answer.headers.get('www-authenticate');
      res.writeHead(answer.status, out);
      return res.end(await answer.text());
    }
    const record = await op.provider.AccessToken.find(at.token);
    if (!record || record.isExpired || record.iat < op.stats.expiredBefore) {
      stats.apiRefused.push('inactive');
      stats.apiUnauthorized += 1;
      res.writeHead(401, { ...cors, 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      return res.end('{"code":"unauthorized","message":"Missing, invalid or expired access token"}\n');
    }
    const headers = { authorization: `Bearer ${at.token}`, accept: req.headers.accept ?? '*/*' };
    if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
    const answer = await fetch(op.origin + url.pathname + url.search, {
      method: req.method,
      headers,
      body: ['GET', 'HEAD'].includes(req.method) || !text ? undefined : text,
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
    agent: origin + base,
    api: `${origin}/api`,
    userinfo: `${origin}/oauthuserinfo`,
    cookieNames: names,
    provider: op,
    stats,
    /** Every access token issued so far stops being accepted (gateway, resource, userinfo). */
    expireAccess: async () => {
      await op.expire();
      for (const token of seen.access) {
        const record = await op.provider.AccessToken.find(token);
        await record?.destroy();
      }
    },
    /** Revokes every refresh token seen (their grants with them): refresh → 401 session_expired. */
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
