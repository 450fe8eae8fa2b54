// The OAuth Agent counterpart (tests/bff/oauth-agent.mjs) on its own, in Node, driven over HTTP
// as its own clients drive the real one:
//   - curityio/oauth-agent-node-express @ 4293863272eb1cbccfa52cab36939d44ba73a37c, the agent's
//     integration tests: test/integration/testUtils.ts (startLogin, performLogin: `origin` header,
//     `{ pageUrl }` JSON, the cookie string), loginControllerTests.ts, refreshTokenControllerTests.ts,
//     logoutControllerTests.ts, userInfoControllerTests.ts, claimsControllerTests.ts;
//   - curityio/spa-using-token-handler @ 64d0b0cbd6809ee13af8c568f7e5fe8bab181c08, the example
//     SPA: spa/src/oauth/oauthClient.ts (every call: accept + content-type application/json, and
//     `x-example-csrf` once login/end gave `csrf`; handlePageLoad posts `{ pageUrl }`; startLogin
//     reads `authorizationRequestUrl`; logout reads `url`) and spa/src/api/apiClient.ts (API calls
//     with the same CSRF header; a 401 → POST /refresh → retry).
// The browser is played with a cookie jar that keeps cookies by name *and path* (RFC 6265 §5.3)
// and sends only those whose path matches, longer paths first, as a browser does: the agent sets
// `example-auth` on /oauth-agent/refresh and `example-id` on /oauth-agent/claims but unsets all
// cookies on `/` (cookieBuilder.ts getCookiesForUnset), which this makes visible.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loginWithForm } from '../oidc/provider.mjs';
import { startOAuthAgent } from '../bff/oauth-agent.mjs';

const spaOrigin = 'http://127.0.0.1:9'; // same site as the agent (127.0.0.1), another origin
let oa;
before(async () => {
  oa = await startOAuthAgent({ spaOrigin });
});
after(() => oa?.close());

/** The browser's cookies for 127.0.0.1: { name, value, path, attributes }. */
let jar = [];

function defaultPath(pathname) {
  const i = pathname.lastIndexOf('/');
  return i <= 0 ? '/' : pathname.slice(0, i);
}

function keep(res, url) {
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const i = pair.indexOf('=');
    const name = pair.slice(0, i);
    const path = attributes.find((a) => /^path=/i.test(a))?.slice(5) || defaultPath(new URL(url).pathname);
    const expires = attributes.find((a) => /^expires=/i.test(a));
    jar = jar.filter((c) => !(c.name === name && c.path === path));
    if (!(expires && Date.parse(expires.slice(8)) <= Date.now())) jar.push({ name, value: pair.slice(i + 1), path, attributes });
  }
}

function cookieHeader(url) {
  const { pathname } = new URL(url);
  const matches = (p) => pathname === p || (pathname.startsWith(p) && (p.endsWith('/') || pathname[p.length] === '/'));
  return jar.filter((c) => matches(c.path)).sort((a, b) => b.path.length - a.path.length).map((c) => `${c.name}=${c.value}`).join('; ');
}

const cookie = (name, path) => jar.find((c) => c.name === name && (path === undefined || c.path === path));

/** The SPA's anti-forgery token, as oauthClient.ts keeps it (from login/end's `csrf`). */
let csrf = null;

/**
 * A request as spa/src/oauth/oauthClient.ts fetch() sends it (or apiClient.ts fetchImpl):
 * accept + content-type JSON, the CSRF header when the SPA has a token, cookies, the SPA's Origin.
 */
async function call(url, { method = 'GET', body, origin = spaOrigin, csrfToken = csrf, headers: extra = {} } = {}) {
  const headers = { accept: 'application/json', 'content-type': 'application/json', origin, ...extra };
  if (csrfToken) headers['x-example-csrf'] = csrfToken;
  const c = cookieHeader(url);
  if (c) headers.cookie = c;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  keep(res, url);
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, body: json, setCookie: res.headers.getSetCookie() };
}

const agent = (p) => `${oa.agent}${p}`;
const api = (p) => `${oa.api}${p}`;

/** oauthClient.ts handlePageLoad: POST login/end { pageUrl }, keep `csrf`. */
async function pageLoad(pageUrl) {
  const res = await call(agent('/login/end'), { method: 'POST', body: { pageUrl } });
  if (res.body?.csrf) csrf = res.body.csrf;
  return res;
}

async function logIn(login = 'alice', body) {
  const start = await call(agent('/login/start'), { method: 'POST', body });
  assert.equal(start.status, 200);
  const back = await loginWithForm(start.body.authorizationRequestUrl, { login, redirectPrefix: spaOrigin });
  return { start, back, end: await pageLoad(back) };
}

/** testUtils.ts getCookieString: `name=value;` for each Set-Cookie. */
const cookieString = (setCookie) => setCookie.map((l) => `${l.split(';')[0]};`).join('');

describe('the OAuth Agent counterpart (oauth-agent-node-express)', () => {
  it('CORS: preflight 204, Allow-Origin only for the trusted origin (server.ts; loginControllerTests "OPTIONS")', async () => {
    const preflight = (origin) => fetch(agent('/refresh'), {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-example-csrf' },
    });
    const bad = await preflight('https://malicious-site.com');
    assert.equal(bad.status, 204);
    assert.equal(bad.headers.get('access-control-allow-origin'), null);
    const ok = await preflight(spaOrigin);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), spaOrigin);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(ok.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(ok.headers.get('access-control-allow-headers'), 'content-type,x-example-csrf');
    assert.equal(oa.stats.requests.length, 0, 'preflights are not recorded');
  });

  it('an untrusted origin is 401 unauthorized_request (validateRequest.ts; loginControllerTests)', async () => {
    for (const path of ['/login/start', '/login/end']) {
      const res = await fetch(agent(path), { method: 'POST', headers: { origin: 'https://malicious-site.com' }, body: JSON.stringify({ pageUrl: 'http://www.example.com' }) });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.deepEqual(await res.json(), { code: 'unauthorized_request', message: 'Access denied due to invalid request details' });
    }
    assert.equal(oa.stats.originRefused, 2);
  });

  it('login/end without a session: { handled: false, isLoggedIn: false }, no csrf (LoginController.handlePageLoad)', async () => {
    const res = await pageLoad(`${spaOrigin}/`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { handled: false, isLoggedIn: false });
    assert.equal(csrf, null);
  });

  it('logs in: login/start URL (loginHandler.createAuthorizationRequest), login/end exchanges the code and issues csrf', async () => {
    const start = await call(agent('/login/start'), { method: 'POST', body: { extraParams: [{ key: 'login_hint', value: 'alice' }, { key: 'ui_locales', value: '' }] } });
    assert.equal(start.status, 200);
    assert.deepEqual(Object.keys(start.body), ['authorizationRequestUrl']);
    const url = new URL(start.body.authorizationRequestUrl);
    assert.equal(url.origin + url.pathname, `${oa.provider.issuer}/auth`);
    assert.deepEqual([...url.searchParams.keys()], ['client_id', 'redirect_uri', 'response_type', 'state', 'code_challenge', 'code_challenge_method', 'login_hint', 'scope'], 'order as built; an empty extra param is dropped');
    const q = url.searchParams;
    assert.deepEqual([q.get('client_id'), q.get('redirect_uri'), q.get('response_type'), q.get('code_challenge_method'), q.get('login_hint'), q.get('scope')],
      ['oauth-agent', `${spaOrigin}/`, 'code', 'S256', 'alice', 'openid offline_access api']);
    assert.match(q.get('state'), /^[A-Za-z0-9]{64}$/);
    assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(cookie('example-login').attributes, ['Path=/', 'HttpOnly', 'SameSite=Strict']);

    const back = await loginWithForm(url.href, { redirectPrefix: spaOrigin });
    const end = await pageLoad(back);
    assert.equal(end.status, 200);
    assert.deepEqual(Object.keys(end.body), ['handled', 'isLoggedIn', 'csrf']);
    assert.equal(end.body.handled, true);
    assert.equal(end.body.isLoggedIn, true);
    assert.match(end.body.csrf, /^[A-Za-z0-9]{64}$/, 'pkce.ts generateRandomString()');
    // cookieBuilder.ts getCookiesForTokenResponse: at, csrf, login unset, auth (refresh path), id (claims path).
    assert.deepEqual(end.setCookie.map((l) => l.split('=')[0]), ['example-at', 'example-csrf', 'example-login', 'example-auth', 'example-id']);
    assert.match(end.setCookie[2], /^example-login=; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Strict$/);
    assert.deepEqual(jar.map((c) => [c.name, c.path]).sort(), [
      ['example-at', '/'], ['example-auth', '/oauth-agent/refresh'], ['example-csrf', '/'], ['example-id', '/oauth-agent/claims'],
    ]);
    for (const c of jar) assert.deepEqual(c.attributes.slice(1), ['HttpOnly', 'SameSite=Strict']);
    const rt = oa.provider.stats.issued.at(-1);
    assert.ok(rt && jar.every((c) => !c.value.includes(rt)), 'the refresh token is encrypted');
    assert.equal(oa.stats.logins, 1);
    assert.equal(oa.stats.loginStarts, 1);
  });

  it('a page reload returns the same csrf (LoginController: "return the existing anti forgery token")', async () => {
    const first = csrf;
    const res = await pageLoad(`${spaOrigin}/`);
    assert.deepEqual(res.body, { handled: false, isLoggedIn: true, csrf: first });
    assert.deepEqual(res.setCookie, []);
  });

  it('userInfo (GET, no CSRF) and claims (UserInfoController, ClaimsController; their tests)', async () => {
    const info = await call(agent('/userInfo'), { csrfToken: null });
    assert.equal(info.status, 200);
    assert.equal(info.body.sub, 'alice');
    const claims = await call(agent('/claims'), { csrfToken: null });
    assert.equal(claims.status, 200);
    assert.equal(claims.body.sub, 'alice');
    assert.equal(claims.body.aud, 'oauth-agent');
    assert.equal(claims.body.iss, oa.provider.issuer);
    // claimsControllerTests checks auth_time; oidc-provider puts it in the ID token only on request.
    assert.equal(typeof claims.body.iat, 'number');
    const noCookies = await fetch(agent('/userInfo'), { headers: { origin: spaOrigin } });
    assert.equal(noCookies.status, 401);
    assert.equal((await noCookies.json()).code, 'unauthorized_request');
  });

  it('the gateway: GET with the cookie; POST needs the CSRF header (nginx-lua-oauth-proxy-plugin access.lua)', async () => {
    const get = await call(api('/x?page=2'), { csrfToken: null });
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, { sub: 'alice', path: '/api/x?page=2' });
    assert.equal(get.headers.get('access-control-allow-origin'), spaOrigin);
    assert.equal(get.headers.get('access-control-allow-credentials'), 'true');
    const noCsrf = await call(api('/items'), { method: 'POST', body: {}, csrfToken: null });
    assert.equal(noCsrf.status, 401);
    assert.equal(noCsrf.text, '{"code":"unauthorized", "message":"Access denied due to missing or invalid credentials"}\n');
    assert.equal(noCsrf.headers.get('www-authenticate'), null);
    const post = await call(api('/items'), { method: 'POST', body: { name: 'n' } });
    assert.equal(post.status, 200);
    const foreign = await call(api('/x'), { origin: 'https://malicious-site.com' });
    assert.equal(foreign.status, 401);
    assert.deepEqual(oa.stats.apiRefused, ['csrf', 'origin']);
    const preflight = await fetch(api('/items'), { method: 'OPTIONS', headers: { origin: spaOrigin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type, x-example-csrf' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'OPTIONS,HEAD,GET,POST,PUT,PATCH,DELETE');
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'content-type,x-example-csrf');
    assert.equal(preflight.headers.get('vary'), 'origin,access-control-request-headers');
  });

  it('refresh without or with a wrong CSRF header: 401 unauthorized_request (refreshTokenControllerTests)', async () => {
    const before = oa.provider.stats.grants.refresh_token;
    const none = await call(agent('/refresh'), { method: 'POST', csrfToken: null });
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'unauthorized_request');
    const wrong = await call(agent('/refresh'), { method: 'POST', csrfToken: 'abc123' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'unauthorized_request');
    assert.equal(oa.stats.csrfRefused, 2);
    assert.equal(oa.stats.refreshes, 2);
    assert.equal(oa.provider.stats.grants.refresh_token, before, 'the provider was not asked');
    assert.deepEqual(wrong.setCookie, [], 'no cookie is cleared');
  });

  it('an expired access token: gateway 401 WWW-Authenticate: Bearer, userInfo token_expired; refresh 204 rotates', async () => {
    await oa.expireAccess();
    const api401 = await call(api('/x'));
    assert.equal(api401.status, 401);
    assert.equal(api401.headers.get('www-authenticate'), 'Bearer', 'nginx-lua-phantom-token-plugin error_response');
    assert.equal(api401.text, '{"code":"unauthorized","message":"Missing, invalid or expired access token"}\n');
    assert.equal(api401.headers.get('access-control-allow-origin'), spaOrigin);
    const info = await call(agent('/userInfo'));
    assert.equal(info.status, 401);
    assert.deepEqual(info.body, { code: 'token_expired', message: 'A request sent to the Authorization Server was rejected' });

    const oldRt = cookie('example-auth').value;
    const oldCsrfCookie = cookie('example-csrf').value;
    const refreshed = await call(agent('/refresh'), { method: 'POST' });
    assert.equal(refreshed.status, 204, 'RefreshTokenController: res.status(204).send()');
    assert.equal(refreshed.text, '');
    assert.deepEqual(refreshed.setCookie.map((l) => l.split('=')[0]), ['example-at', 'example-auth', 'example-id'], 'no csrf cookie on refresh');
    assert.notEqual(cookie('example-auth').value, oldRt);
    assert.equal(cookie('example-csrf').value, oldCsrfCookie);
    assert.equal(oa.provider.stats.grants.refresh_token, 1);
    assert.equal(oa.stats.refreshes, 3);
    assert.equal((await call(api('/x'))).status, 200);
    assert.equal((await call(agent('/userInfo'))).status, 200);
    assert.equal((await pageLoad(`${spaOrigin}/`)).body.csrf, csrf, 'the csrf value does not change on refresh');
  });

  it('a second login in the same browser keeps the csrf value (LoginController: two tabs)', async () => {
    const before = csrf;
    const { end } = await logIn('alice');
    assert.equal(end.body.handled, true);
    assert.equal(end.body.csrf, before);
  });

  it('a refused refresh: 401 session_expired and the cookies unset on / (exceptionMiddleware.ts)', async () => {
    await oa.revokeRefresh();
    const refused = await call(agent('/refresh'), { method: 'POST' });
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.body, { code: 'session_expired', message: 'A request sent to the Authorization Server was rejected' });
    assert.equal(cookieString(refused.setCookie), 'example-auth=;example-at=;example-id=;example-csrf=;', 'refreshTokenControllerTests');
    for (const line of refused.setCookie) assert.match(line, /=; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Strict$/);
    assert.equal(oa.stats.refreshRefused, 1);
    // In a browser the unsets on Path=/ leave the cookies set on the refresh and claims paths.
    assert.deepEqual(jar.map((c) => [c.name, c.path]).sort(), [['example-auth', '/oauth-agent/refresh'], ['example-id', '/oauth-agent/claims']]);
    assert.deepEqual((await pageLoad(`${spaOrigin}/`)).body, { handled: false, isLoggedIn: false });
    const again = await call(agent('/refresh'), { method: 'POST' });
    assert.equal(again.status, 401);
    assert.equal(again.body.code, 'unauthorized_request', 'no CSRF cookie any more');
    assert.equal((await call(api('/x'))).status, 401);
    assert.equal(oa.stats.apiRefused.at(-1), 'cookie');
  });

  it('login errors: the AS error as code (400), a foreign state or no login cookie 400 invalid_request', async () => {
    const start = await call(agent('/login/start'), { method: 'POST' });
    const aborted = await loginWithForm(start.body.authorizationRequestUrl, { redirectPrefix: spaOrigin, abort: true });
    const failed = await pageLoad(aborted);
    assert.equal(failed.status, 400, 'AuthorizationResponseException');
    assert.equal(failed.body.code, new URL(aborted).searchParams.get('error'));
    assert.equal(typeof failed.body.message, 'string');
    assert.ok(cookie('example-login'), 'the login cookie stays');

    const forged = await pageLoad(`${spaOrigin}/?code=x&state=not-ours`);
    assert.equal(forged.status, 400);
    assert.deepEqual(forged.body, { code: 'invalid_request', message: 'State parameter mismatch when completing a login' });
    jar = jar.filter((c) => c.name !== 'example-login');
    const noLogin = await pageLoad(`${spaOrigin}/?code=x&state=y`);
    assert.deepEqual(noLogin.body, { code: 'invalid_request', message: 'Missing code verifier when completing a login' });
    const prompted = await pageLoad(`${spaOrigin}/?error=login_required&state=y`);
    assert.equal(prompted.status, 401, 'login_required is expiry related');
    assert.equal(oa.stats.logins, 2);
  });

  it('malformed JSON is 500 server_error (express.json → exceptionMiddleware)', async () => {
    const res = await fetch(agent('/login/end'), { method: 'POST', headers: { origin: spaOrigin, 'content-type': 'application/json' }, body: '{' });
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { code: 'server_error', message: 'A technical problem occurred in the OAuth Agent' });
  });

  it('logs in with a new csrf, then logs out: 200 { url }, cookies unset (LogoutController; logoutControllerTests)', async () => {
    const stale = csrf;
    const { end } = await logIn('bob');
    assert.equal(end.body.handled, true);
    assert.notEqual(end.body.csrf, stale, 'the csrf cookie was gone: a new value');
    assert.equal((await call(agent('/refresh'), { method: 'POST' })).status, 204);
    assert.equal((await call(api('/y'))).body.sub, 'bob');

    const wrong = await call(agent('/logout'), { method: 'POST', csrfToken: 'abc123' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'unauthorized_request');
    const out = await call(agent('/logout'), { method: 'POST' });
    assert.equal(out.status, 200);
    assert.deepEqual(Object.keys(out.body), ['url']);
    const url = new URL(out.body.url);
    assert.equal(url.origin + url.pathname, `${oa.provider.issuer}/session/end`);
    assert.equal(url.searchParams.get('client_id'), 'oauth-agent');
    assert.equal(url.searchParams.get('post_logout_redirect_uri'), `${spaOrigin}/`);
    assert.equal(cookieString(out.setCookie), 'example-auth=;example-at=;example-id=;example-csrf=;');
    assert.equal((await fetch(url)).status, 200, 'the provider takes the end-session request');
    assert.equal(oa.stats.logouts, 1);
    const twice = await call(agent('/logout'), { method: 'POST' });
    assert.equal(twice.status, 401);
    assert.deepEqual((await pageLoad(`${spaOrigin}/`)).body, { handled: false, isLoggedIn: false });
  });
});
