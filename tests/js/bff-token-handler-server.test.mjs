// The test token handler (tests/bff/token-handler.mjs) on its own, in Node: its contract with
// plain fetch and a hand-made cookie jar, acting as the SPA (its Origin and the
// token-handler-version header), before the cookie-session tests rely on it: the login through
// the provider's form, encrypted HttpOnly cookies, the session and userinfo, the API proxy, the
// header and CORS checks, expiry then refresh, revocation, and logout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loginWithForm } from '../oidc/provider.mjs';
import { startTokenHandler } from '../bff/token-handler.mjs';

const spaOrigin = 'http://127.0.0.1:9'; // never loaded: the SPA is played by this test
let th;
before(async () => {
  th = await startTokenHandler({ spaOrigin });
});
after(() => th?.close());

// The browser's cookies for 127.0.0.1 (cookies ignore the port): name → { value, attributes }.
const jar = new Map();

/** A request as the SPA makes it: its origin, the header, the cookies; keeps what is set. */
async function call(path, { method = 'GET', body, header = '1', origin = spaOrigin } = {}) {
  const headers = { origin, cookie: [...jar].map(([k, c]) => `${k}=${c.value}`).join('; ') };
  if (header !== null) headers['token-handler-version'] = header;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(th.origin + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const i = pair.indexOf('=');
    const name = pair.slice(0, i);
    if (attributes.some((a) => /^max-age=0$/i.test(a))) jar.delete(name);
    else jar.set(name, { value: pair.slice(i + 1), attributes });
  }
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function logIn(login = 'alice') {
  const start = await call('/oauth-agent/login/start', { method: 'POST', body: {} });
  assert.equal(start.status, 200);
  const back = await loginWithForm(start.body.authorizationUrl, { login, redirectPrefix: spaOrigin });
  const end = await call('/oauth-agent/login/end', { method: 'POST', body: { pageUrl: back } });
  return { start, back, end };
}

describe('the test token handler', () => {
  it('logs in: authorization URL with PKCE, code exchanged, tokens only in encrypted HttpOnly cookies', async () => {
    const before = await call('/oauth-agent/session');
    assert.deepEqual(before.body, { isLoggedIn: false });
    const start = await call('/oauth-agent/login/start', {
      method: 'POST',
      body: { extraParams: [{ key: 'login_hint', value: 'alice' }] },
    });
    assert.equal(start.status, 200);
    const url = new URL(start.body.authorizationUrl);
    const q = url.searchParams;
    assert.equal(url.origin + url.pathname, `${th.provider.issuer}/auth`);
    assert.deepEqual(
      [q.get('client_id'), q.get('redirect_uri'), q.get('response_type'), q.get('scope'), q.get('code_challenge_method'), q.get('login_hint')],
      ['oauth-agent', `${spaOrigin}/`, 'code', 'openid offline_access api', 'S256', 'alice'],
    );
    assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.ok(q.get('state'));
    assert.ok(jar.has('th-login'));

    const back = await loginWithForm(url.href, { redirectPrefix: spaOrigin });
    assert.equal(new URL(back).searchParams.get('state'), q.get('state'));
    const end = await call('/oauth-agent/login/end', { method: 'POST', body: { pageUrl: back } });
    assert.equal(end.status, 200);
    assert.deepEqual(end.body, { handled: true, isLoggedIn: true });
    assert.deepEqual([...jar.keys()].sort(), ['th-at', 'th-id', 'th-rt']);
    for (const [, { attributes }] of jar) {
      assert.deepEqual(attributes.map((a) => a.toLowerCase()).sort(), ['httponly', 'path=/', 'samesite=strict']);
    }
    assert.equal(th.stats.logins, 1);
    assert.equal(th.provider.stats.grants.authorization_code, 1);
    const refreshToken = th.provider.stats.issued.at(-1);
    assert.ok(refreshToken);
    assert.ok([...jar.values()].every(({ value }) => !value.includes(refreshToken)), 'the refresh token is not in a cookie in clear');

    // The same page load again (no code any more): nothing to handle, still logged in.
    const again = await call('/oauth-agent/login/end', { method: 'POST', body: { pageUrl: `${spaOrigin}/` } });
    assert.deepEqual(again.body, { handled: false, isLoggedIn: true });
  });

  it('gives the session (id token claims) and the userinfo', async () => {
    const session = await call('/oauth-agent/session');
    assert.equal(session.status, 200);
    assert.equal(session.body.isLoggedIn, true);
    assert.equal(session.body.idTokenClaims.sub, 'alice');
    assert.equal(session.body.idTokenClaims.aud, 'oauth-agent');
    assert.equal(session.body.idTokenClaims.iss, th.provider.issuer);
    const info = await call('/oauth-agent/userInfo');
    assert.equal(info.status, 200);
    assert.equal(info.body.sub, 'alice');
    assert.equal(th.stats.session, 2);
    assert.equal(th.stats.userInfo, 1);
  });

  it('proxies the API with the access token of the cookie', async () => {
    const get = await call('/api/x?page=2');
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, { sub: 'alice', path: '/api/x?page=2' });
    assert.equal(get.headers.get('access-control-allow-origin'), spaOrigin);
    assert.equal(get.headers.get('access-control-allow-credentials'), 'true');
    const post = await call('/api/items', { method: 'POST', body: { name: 'n' } });
    assert.equal(post.status, 200);
    assert.deepEqual(post.body, { sub: 'alice', path: '/api/items' });
    assert.equal(th.stats.apiRequests, 2);
    assert.equal(th.stats.apiUnauthorized, 0);
  });

  it('refuses a request without token-handler-version: 1, and records it', async () => {
    const apiCalls = th.stats.apiRequests;
    const res = await call('/api/x', { header: null });
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { code: 'unauthorized' });
    assert.equal(th.stats.missingHeader, 1);
    assert.equal(th.stats.apiRequests, apiCalls, 'not proxied');
    assert.deepEqual(th.stats.requests.at(-1), { method: 'GET', path: '/api/x', header: null });
    assert.deepEqual(th.stats.requests.at(-2), { method: 'POST', path: '/api/items', header: '1' });
    const wrong = await call('/oauth-agent/session', { header: '2' });
    assert.equal(wrong.status, 401);
    assert.equal(th.stats.missingHeader, 2);
  });

  it('answers preflights for the SPA origin only, and does not record them', async () => {
    const count = th.stats.requests.length;
    const preflight = (origin) => fetch(`${th.origin}/api/x`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'token-handler-version,content-type' },
    });
    const ok = await preflight(spaOrigin);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), spaOrigin);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.deepEqual(ok.headers.get('access-control-allow-methods').split(/,\s*/), ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
    assert.deepEqual(ok.headers.get('access-control-allow-headers').split(/,\s*/), ['token-handler-version', 'content-type']);
    assert.equal(ok.headers.get('access-control-expose-headers'), 'WWW-Authenticate');
    assert.equal(ok.headers.get('vary'), 'Origin');
    const other = await preflight('http://127.0.0.2:9');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.equal(other.headers.get('access-control-allow-credentials'), null);
    const otherGet = await call('/api/x', { origin: 'http://127.0.0.2:9' });
    assert.equal(otherGet.headers.get('access-control-allow-origin'), null);
    assert.equal(th.stats.requests.length, count + 1, 'only the GET is recorded');
  });

  it('after expireAccess(): 401 with WWW-Authenticate on every call until one /refresh', async () => {
    await th.expireAccess();
    const stats = { ...th.stats };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(`/api/c${i}`)));
    for (const a of answers) {
      assert.equal(a.status, 401);
      assert.equal(a.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      assert.equal(a.headers.get('access-control-expose-headers'), 'WWW-Authenticate');
    }
    assert.equal(th.stats.apiRequests, stats.apiRequests + 20);
    assert.equal(th.stats.apiUnauthorized, stats.apiUnauthorized + 20);
    const info = await call('/oauth-agent/userInfo');
    assert.equal(info.status, 401);
    assert.equal(info.headers.get('www-authenticate'), 'Bearer error="invalid_token"');

    const oldRt = jar.get('th-rt').value;
    const refreshed = await call('/oauth-agent/refresh', { method: 'POST' });
    assert.equal(refreshed.status, 204);
    assert.equal(th.stats.refreshes, 1);
    assert.equal(th.stats.refreshRefused, 0);
    assert.equal(th.provider.stats.grants.refresh_token, 1);
    assert.notEqual(jar.get('th-rt').value, oldRt, 'the rotated refresh token is kept');
    const get = await call('/api/x');
    assert.equal(get.status, 200);
    assert.equal(get.body.sub, 'alice');
    assert.equal((await call('/oauth-agent/userInfo')).status, 200);
  });

  it('after revokeRefresh(): /refresh is 401 session_expired and the session is gone', async () => {
    await th.revokeRefresh();
    const refused = await call('/oauth-agent/refresh', { method: 'POST' });
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.body, { code: 'session_expired' });
    assert.equal(th.stats.refreshes, 2);
    assert.equal(th.stats.refreshRefused, 1);
    assert.deepEqual([...jar.keys()], [], 'the token cookies are cleared');
    assert.deepEqual((await call('/oauth-agent/session')).body, { isLoggedIn: false });
    assert.equal((await call('/api/x')).status, 401);
    const again = await call('/oauth-agent/refresh', { method: 'POST' });
    assert.equal(again.status, 401);
    assert.equal(th.stats.refreshRefused, 2);
  });

  it('a login error, or a code with another state, is refused', async () => {
    const start = await call('/oauth-agent/login/start', { method: 'POST' });
    const aborted = await loginWithForm(start.body.authorizationUrl, { redirectPrefix: spaOrigin, abort: true });
    assert.ok(new URL(aborted).searchParams.get('error'));
    const failed = await call('/oauth-agent/login/end', { method: 'POST', body: { pageUrl: aborted } });
    assert.equal(failed.status, 401);
    assert.deepEqual(failed.body, { code: 'login_failed' });
    assert.equal(jar.has('th-login'), false);

    await call('/oauth-agent/login/start', { method: 'POST' });
    const forged = await call('/oauth-agent/login/end', { method: 'POST', body: { pageUrl: `${spaOrigin}/?code=x&state=not-ours` } });
    assert.equal(forged.status, 400);
    assert.deepEqual(forged.body, { code: 'invalid_request' });
    assert.equal(th.stats.logins, 1);
  });

  it('logs in again, refreshes, then logs out: the end-session URL, and no cookies left', async () => {
    const { end } = await logIn('bob');
    assert.deepEqual(end.body, { handled: true, isLoggedIn: true });
    assert.equal(th.stats.logins, 2);
    assert.equal((await call('/oauth-agent/refresh', { method: 'POST' })).status, 204);
    assert.equal(th.stats.refreshes, 4);
    assert.equal((await call('/api/y')).body.sub, 'bob');

    const out = await call('/oauth-agent/logout', { method: 'POST' });
    assert.equal(out.status, 200);
    const url = new URL(out.body.url);
    assert.equal(url.origin + url.pathname, `${th.provider.issuer}/session/end`);
    assert.equal(url.searchParams.get('client_id'), 'oauth-agent');
    assert.equal(url.searchParams.get('post_logout_redirect_uri'), `${spaOrigin}/`);
    assert.equal((await fetch(url)).status, 200, 'the provider takes the end-session request');
    assert.deepEqual([...jar.keys()], []);
    assert.equal(th.stats.logouts, 1);
    assert.deepEqual((await call('/oauth-agent/session')).body, { isLoggedIn: false });
    const api = await call('/api/y');
    assert.equal(api.status, 401);
    assert.equal(api.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
  });
});
