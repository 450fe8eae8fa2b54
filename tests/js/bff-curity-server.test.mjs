// The Curity Token Handler counterpart (tests/bff/curity-token-handler.mjs) on its own, in Node,
// driven over HTTP exactly as Curity's own client drives the product:
//   - curityio/token-handler-js-assistant @ df1cd5a59afa6abb732c8a12013095974a85b77a,
//     src/oauth-agent-client.ts: OAuthAgentClient is ported below line for line (refresh l. 59-66,
//     session l. 76-83, startLogin l. 97-103, endLogin l. 115-122, logout l. 133-137, onPageLoad and
//     isOAuthResponse l. 150-167, toUrlSearchParams, fetch l. 176-207), with `window.fetch`
//     replaced by Node's fetch plus what the browser adds itself: the SPA's Origin and the cookies
//     (`credentials: 'include'`). Node's fetch, like a browser's, labels a URLSearchParams body
//     without a content-type header `application/x-www-form-urlencoded;charset=UTF-8`.
//   - curityio/spa-using-curitytokenhandler @ 9e1d53a643b766169069eafb3ad05644c4ea514e,
//     spa/src/api/apiClient.ts fetchImpl: API and /oauthuserinfo calls with `accept` and
//     `token-handler-version: 1`; fetch(): a 401 → oauthClient.refresh() → retry; a 401 on refresh is
//     session expiry.
// What the product answers on errors is not public: the tests mark those checks ASSUMED (see the
// header of tests/bff/curity-token-handler.mjs); the client contract only relies on the status.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loginWithForm } from '../oidc/provider.mjs';
import { startCurityTokenHandler } from '../bff/curity-token-handler.mjs';

const spaOrigin = 'http://127.0.0.1:9'; // same site as the token handler, another origin
let th;
before(async () => {
  th = await startCurityTokenHandler({ spaOrigin, accessTtl: 60 });
});
after(() => th?.close());

// The browser's cookies for 127.0.0.1 (all Path=/ here): name → { value, attributes }.
const jar = new Map();

/** What the browser does around window.fetch: the Origin header, the cookies, Set-Cookie. */
async function browserFetch(url, init = {}, { origin = spaOrigin } = {}) {
  const headers = { ...init.headers, origin };
  const cookie = [...jar].map(([k, c]) => `${k}=${c.value}`).join('; ');
  if (cookie) headers.cookie = cookie;
  const res = await fetch(url, { ...init, headers });
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const i = pair.indexOf('=');
    if (attributes.some((a) => /^max-age=0$/i.test(a))) jar.delete(pair.slice(0, i));
    else jar.set(pair.slice(0, i), { value: pair.slice(i + 1), attributes });
  }
  return res;
}

/** types.ts OAuthAgentRemoteError. */
class OAuthAgentRemoteError extends Error {
  constructor(status, code, details) {
    super(`${status}: ${code}`);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** oauth-agent-client.ts OAuthAgentClient, ported. */
class OAuthAgentClient {
  constructor(config) {
    this.oauthAgentBaseUrl = config.oauthAgentBaseUrl.endsWith('/') ? config.oauthAgentBaseUrl : `${config.oauthAgentBaseUrl}/`;
  }

  async refresh(request) {
    const urlSearchParams = this.toUrlSearchParams(request?.extraRefreshParameters);
    const refreshResponse = await this.fetch('POST', 'refresh', urlSearchParams);
    return { accessTokenExpiresIn: refreshResponse.access_token_expires_in };
  }

  async session() {
    const sessionResponse = await this.fetch('GET', 'session');
    return { isLoggedIn: sessionResponse.is_logged_in, idTokenClaims: sessionResponse.id_token_claims, accessTokenExpiresIn: sessionResponse.access_token_expires_in };
  }

  async startLogin(request) {
    const urlSearchParams = this.toUrlSearchParams(request?.extraAuthorizationParameters);
    const startLoginResponse = await this.fetch('POST', 'login/start', urlSearchParams);
    return { authorizationUrl: startLoginResponse.authorization_url };
  }

  async endLogin(request) {
    const endLoginResponse = await this.fetch('POST', 'login/end', request.searchParams);
    return { isLoggedIn: endLoginResponse.is_logged_in, idTokenClaims: endLoginResponse.id_token_claims, accessTokenExpiresIn: endLoginResponse.access_token_expires_in };
  }

  async logout() {
    const logoutResponse = await this.fetch('POST', 'logout');
    return { logoutUrl: logoutResponse.logout_url };
  }

  async onPageLoad(pageUrl) {
    const url = new URL(pageUrl);
    if (this.isOAuthResponse(url)) return this.endLogin({ searchParams: url.searchParams });
    return this.session();
  }

  isOAuthResponse(url) {
    const params = url.searchParams;
    const isPlainOAuthResponse = params.has('state') && params.has('code');
    const isJarmOAuthResponse = params.has('response') && Array.from(params).length == 1;
    const isErrorOAuthResponse = params.has('error') && params.has('state');
    return isPlainOAuthResponse || isJarmOAuthResponse || isErrorOAuthResponse;
  }

  toUrlSearchParams(data) {
    return data ? new URLSearchParams(data) : new URLSearchParams();
  }

  async fetch(method, path, content) {
    const headers = { accept: 'application/json', 'token-handler-version': '1' };
    if (content && content.size !== 0) headers['content-type'] = 'application/x-www-form-urlencoded';
    const init = { credentials: 'include', headers, method, mode: 'cors' };
    if (content != null) init.body = content;
    const response = await browserFetch(`${this.oauthAgentBaseUrl}${path}`, init);
    if (response.ok) return response.json();
    if (response.headers.get('content-type') == 'application/json') {
      const errorResponse = await response.json();
      throw new OAuthAgentRemoteError(response.status, errorResponse.error_code, errorResponse.detailed_error);
    }
    throw new OAuthAgentRemoteError(response.status, 'server_error', response.statusText);
  }
}

/** apiClient.ts fetchImpl: the API (or /oauthuserinfo) with the cookie and the custom header. */
async function callApi(url, { method = 'GET', header = '1' } = {}) {
  const headers = { accept: 'application/json' };
  if (header !== null) headers['token-handler-version'] = header;
  const res = await browserFetch(url, { method, headers, credentials: 'include', mode: 'cors' });
  const text = await res.text();
  let body;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
  return { status: res.status, headers: res.headers, text, body };
}

/** apiClient.ts fetch(): a 401 → refresh() → retry once; a 401 on refresh is session expiry. */
async function callApiWithRefresh(client, url) {
  const first = await callApi(url);
  if (first.status !== 401) return first;
  try {
    await client.refresh();
  } catch (e) {
    if (e.status == 401) return { sessionExpired: true };
  }
  return callApi(url);
}

const rejection = (promise) => promise.then(() => assert.fail('expected an OAuthAgentRemoteError'), (e) => e);
const lastRequest = () => th.stats.requests.at(-1);

describe('the Curity Token Handler counterpart, spoken to as the JS assistant does', () => {
  let client;
  before(() => {
    client = new OAuthAgentClient({ oauthAgentBaseUrl: th.agent });
    assert.equal(new URL(th.agent).pathname, '/oauthagent/example', 'config-backup.xml: /oauthagent + application id');
  });

  it('CORS for the SPA base URL only (agent and gateway)', async () => {
    const preflight = (url, origin) => fetch(url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'accept,content-type,token-handler-version' },
    });
    const ok = await preflight(`${th.agent}/login/start`, spaOrigin);
    assert.equal(ok.headers.get('access-control-allow-origin'), spaOrigin);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.match(ok.headers.get('access-control-allow-headers'), /token-handler-version/);
    const other = await preflight(`${th.agent}/login/start`, 'http://127.0.0.2:9');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const gw = await preflight(`${th.api}/x`, spaOrigin);
    assert.equal(gw.status, 200, 'default.conf.template: matched-preflight → return 200');
    assert.equal(gw.headers.get('access-control-allow-methods'), 'GET,POST,PUT,PATCH,DELETE');
    assert.equal(gw.headers.get('access-control-max-age'), '86400');
    assert.equal(th.stats.requests.length, 0, 'preflights are not recorded');
  });

  it('every agent request needs token-handler-version: 1 (README; ASSUMED: 401 unauthorized_request)', async () => {
    for (const [method, path] of [['POST', 'login/start'], ['GET', 'session'], ['POST', 'refresh'], ['POST', 'logout']]) {
      const res = await browserFetch(`${th.agent}/${path}`, { method, headers: { accept: 'application/json' } });
      assert.equal(res.status, 401, path);
      assert.equal(res.headers.get('content-type'), 'application/json', 'exactly, or the assistant cannot read error_code');
      assert.equal((await res.json()).error_code, 'unauthorized_request');
    }
    assert.equal(th.stats.missingHeader, 4);
    assert.equal(th.stats.logouts, 0, 'refused before the endpoint ran');
  });

  it('session() before a login: { is_logged_in: false } (l. 76-83)', async () => {
    const s = await client.session();
    assert.deepEqual(s, { isLoggedIn: false, idTokenClaims: undefined, accessTokenExpiresIn: undefined });
    assert.deepEqual(lastRequest(), { method: 'GET', path: '/oauthagent/example/session', header: '1', contentType: null, body: '' });
  });

  it('startLogin(): a form body of extra parameters → authorization_url (l. 97-103, fetch l. 182-184)', async () => {
    const plain = await client.startLogin();
    assert.equal(lastRequest().contentType, 'application/x-www-form-urlencoded;charset=UTF-8', 'empty URLSearchParams: the fetch implementation labels it');
    assert.equal(lastRequest().body, '');
    assert.equal(new URL(plain.authorizationUrl).searchParams.get('login_hint'), null);

    const { authorizationUrl } = await client.startLogin({ extraAuthorizationParameters: { login_hint: 'alice', ui_locales: 'sv' } });
    assert.equal(lastRequest().contentType, 'application/x-www-form-urlencoded', 'set by the assistant when there are parameters');
    assert.equal(lastRequest().body, 'login_hint=alice&ui_locales=sv');
    const url = new URL(authorizationUrl);
    const q = url.searchParams;
    assert.equal(url.origin + url.pathname, `${th.provider.issuer}/auth`);
    assert.deepEqual([q.get('client_id'), q.get('redirect_uri'), q.get('response_type'), q.get('code_challenge_method'), q.get('login_hint'), q.get('ui_locales')],
      ['oauth-agent', `${spaOrigin}/callback`, 'code', 'S256', 'alice', 'sv']);
    assert.ok(jar.has('th-login'));

    // curity.io docs: only scope is always allowed; others need the whitelist (ASSUMED: 400 invalid_request).
    const refused = await rejection(client.startLogin({ extraAuthorizationParameters: { nonce: 'n' } }));
    assert.equal(refused.status, 400);
    assert.equal(refused.code, 'invalid_request');
    assert.equal(th.stats.loginStarts, 2);

    // The login: the browser leaves for the provider and comes back to /callback.
    const back = await loginWithForm(authorizationUrl, { redirectPrefix: spaOrigin });
    assert.equal(new URL(back).pathname, '/callback');
    const end = await client.onPageLoad(back);
    assert.equal(lastRequest().path, '/oauthagent/example/login/end');
    assert.equal(lastRequest().contentType, 'application/x-www-form-urlencoded');
    assert.equal(lastRequest().body, new URL(back).searchParams.toString(), 'the page query string as it is');
    assert.equal(end.isLoggedIn, true);
    assert.equal(end.idTokenClaims.sub, 'alice');
    assert.equal(end.idTokenClaims.aud, 'oauth-agent');
    assert.ok(end.accessTokenExpiresIn > 55 && end.accessTokenExpiresIn <= 60, 'seconds left of the access token');
    assert.deepEqual([...jar.keys()].sort(), ['th-at', 'th-id', 'th-rt']);
    for (const [, { attributes }] of jar) assert.deepEqual(attributes, ['Path=/', 'HttpOnly', 'SameSite=Strict']);
    assert.equal(th.stats.logins, 1);
  });

  it('onPageLoad() without an authorization response calls session (l. 150-167)', async () => {
    const s = await client.onPageLoad(`${spaOrigin}/?code=only`);
    assert.equal(lastRequest().path, '/oauthagent/example/session');
    assert.equal(s.isLoggedIn, true);
    assert.equal(s.idTokenClaims.sub, 'alice');
    assert.equal(typeof s.accessTokenExpiresIn, 'number');
  });

  it('the API and /oauthuserinfo through the gateway, with the custom header (apiClient.ts)', async () => {
    const get = await callApi(`${th.api}/data`, { method: 'POST' });
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, { sub: 'alice', path: '/api/data' });
    assert.equal(get.headers.get('access-control-allow-origin'), spaOrigin);
    const info = await callApi(th.userinfo);
    assert.equal(info.status, 200);
    assert.equal(info.body.sub, 'alice');
    const bare = await callApi(`${th.api}/data`, { header: null });
    assert.equal(bare.status, 401, 'ASSUMED: the proxy requires the header');
    assert.deepEqual(bare.body, { code: 'unauthorized', message: 'Access denied due to missing or invalid credentials' });
    assert.deepEqual(th.stats.apiRefused, ['header']);
  });

  it('an expired access token: 401 WWW-Authenticate: Bearer; refresh() → 200 { access_token_expires_in }, rotated', async () => {
    await th.expireAccess();
    const api = await callApi(`${th.api}/x`);
    assert.equal(api.status, 401);
    assert.equal(api.headers.get('www-authenticate'), 'Bearer', 'nginx-lua-phantom-token-plugin');
    assert.deepEqual(api.body, { code: 'unauthorized', message: 'Missing, invalid or expired access token' });
    assert.equal((await callApi(th.userinfo)).status, 401, 'the AS userinfo refuses it');

    const oldRt = jar.get('th-rt').value;
    const refreshed = await client.refresh();
    assert.equal(lastRequest().method, 'POST');
    assert.equal(lastRequest().contentType, 'application/x-www-form-urlencoded;charset=UTF-8');
    assert.deepEqual(refreshed, { accessTokenExpiresIn: 60 });
    assert.notEqual(jar.get('th-rt').value, oldRt);
    assert.equal(th.provider.stats.grants.refresh_token, 1);
    assert.equal((await callApi(`${th.api}/x`)).status, 200);

    // apiClient.ts: the 401 → refresh → retry loop, once.
    await th.expireAccess();
    const retried = await callApiWithRefresh(client, `${th.api}/y`);
    assert.equal(retried.status, 200);
    assert.equal(th.stats.refreshes, 2);
    const withScope = await client.refresh({ extraRefreshParameters: { scope: 'openid' } });
    assert.equal(lastRequest().body, 'scope=openid');
    assert.equal(withScope.accessTokenExpiresIn, 60);
  });

  it('a refused refresh: 401 (ASSUMED session_expired), cookies cleared, then logged out', async () => {
    await th.revokeRefresh();
    const e = await rejection(client.refresh());
    assert.ok(e instanceof OAuthAgentRemoteError);
    assert.equal(e.status, 401);
    assert.equal(e.code, 'session_expired');
    assert.equal(th.stats.refreshRefused, 1);
    assert.deepEqual([...jar.keys()], []);
    assert.equal((await client.session()).isLoggedIn, false);
    assert.deepEqual(await callApiWithRefresh(client, `${th.api}/x`), { sessionExpired: true });
    assert.equal(th.stats.apiRefused.at(-1), 'cookie');
  });

  it('a login error comes back through onPageLoad → endLogin as an OAuthAgentRemoteError (ASSUMED 400)', async () => {
    const { authorizationUrl } = await client.startLogin();
    const aborted = await loginWithForm(authorizationUrl, { redirectPrefix: spaOrigin, abort: true });
    const e = await rejection(client.onPageLoad(aborted));
    assert.equal(lastRequest().path, '/oauthagent/example/login/end');
    assert.equal(e.status, 400);
    assert.equal(e.code, new URL(aborted).searchParams.get('error'));
    const forged = await rejection(client.onPageLoad(`${spaOrigin}/callback?code=x&state=not-ours`));
    assert.equal(forged.status, 400);
    assert.equal(forged.code, 'invalid_request');
    assert.equal(th.stats.logins, 1);
  });

  it('logs in again, then logout() → 200 { logout_url } and no cookies left (l. 133-137)', async () => {
    const { authorizationUrl } = await client.startLogin({ extraAuthorizationParameters: { login_hint: 'bob' } });
    const back = await loginWithForm(authorizationUrl, { login: 'bob', redirectPrefix: spaOrigin });
    assert.equal((await client.onPageLoad(back)).idTokenClaims.sub, 'bob');
    assert.equal((await callApi(`${th.api}/z`)).body.sub, 'bob');

    const { logoutUrl } = await client.logout();
    assert.deepEqual(lastRequest(), { method: 'POST', path: '/oauthagent/example/logout', header: '1', contentType: null, body: '' });
    const url = new URL(logoutUrl);
    assert.equal(url.origin + url.pathname, `${th.provider.issuer}/session/end`);
    assert.equal(url.searchParams.get('client_id'), 'oauth-agent');
    assert.equal(url.searchParams.get('post_logout_redirect_uri'), `${spaOrigin}/`);
    assert.equal((await fetch(url)).status, 200, 'the provider takes the end-session request');
    assert.deepEqual([...jar.keys()], []);
    assert.equal(th.stats.logouts, 1);
    assert.equal((await client.session()).isLoggedIn, false);
    assert.equal((await callApi(`${th.api}/z`)).status, 401);
  });
});
