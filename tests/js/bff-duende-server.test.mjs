// The Duende-style BFF of tests/bff/duende.mjs against Duende BFF's documentation and source, in
// Node with plain fetch and one cookie jar for the BFF and the provider (as a browser has for
// 127.0.0.1, whose cookies do not depend on the port): each assertion names what it checks.
// Sources: Duende BFF v4 (github.com/DuendeSoftware/products, bff/src/Bff/…, "v4 …" below), v3
// (github.com/DuendeSoftware/BFF, bff/src/Duende.Bff/…), and the documentation at
// https://docs.duendesoftware.com/bff/… ("docs …" below).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isLocalUrl, startDuendeBff } from '../bff/duende.mjs';

const DOCS = 'https://docs.duendesoftware.com/bff';
const V4 = 'DuendeSoftware/products bff/src/Bff';

/** A browser's cookies for 127.0.0.1: sends them, keeps Set-Cookie (deletions included). */
function cookieJar() {
  const jar = new Map();
  const keep = (res) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const expires = attrs.map((a) => /^\s*expires=(.*)$/i.exec(a)?.[1]).find(Boolean);
      if (expires && Date.parse(expires) <= Date.now()) jar.delete(name);
      else jar.set(name, pair.slice(i + 1));
    }
  };
  return {
    jar,
    /** fetch without following redirects, with the jar's cookies and `headers`. */
    async fetch(url, { headers, ...init } = {}) {
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(url, { redirect: 'manual', ...init, headers: { ...headers, ...(cookie ? { cookie } : {}) } });
      keep(res);
      return res;
    },
    /** Another jar holding a copy of these cookies now. */
    copy() {
      const other = cookieJar();
      for (const [k, v] of jar) other.jar.set(k, v);
      return other;
    },
  };
}

/**
 * Goes from `url` as a browser would: follows redirects; submits the forms it is shown (the
 * provider's login form as `login`, any other form, such as an auto-submitting one, with its
 * hidden fields); stops at the first URL `stop(url)` accepts and returns it.
 */
async function browse(browser, url, stop, { login = 'alice' } = {}) {
  let init = {};
  for (let hop = 0; hop < 20; hop++) {
    if (stop(url)) return url;
    const res = await browser.fetch(url, init);
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url).href;
      init = {};
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no form at ${url}: ${res.status} ${html.slice(0, 300)}`);
    const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (/name="login"/.test(html)) Object.assign(fields, { login, password: 'x' });
    url = new URL(action, url).href;
    init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() };
  }
  throw new Error('too many hops');
}

const csrf = { 'x-csrf': '1' };

/** Logs in as `login` through `/bff/login?returnUrl=…`; asserts where the browser lands. */
async function logIn(bff, browser, { login = 'alice', returnUrl = '/page' } = {}) {
  const start = await browser.fetch(`${bff.origin}/bff/login?returnUrl=${encodeURIComponent(returnUrl)}`);
  assert.equal(start.status, 302);
  const authorization = start.headers.get('location');
  assert.ok(authorization.startsWith(`${bff.metadata.authorization_endpoint}?`), authorization);
  const q = new URL(authorization).searchParams;
  assert.equal(q.get('client_id'), 'bff');
  assert.equal(q.get('code_challenge_method'), 'S256');
  const back = await browse(browser, authorization, (u) => u.startsWith(bff.origin), { login });
  assert.match(back, /^[^?]*\/bff\/callback\?.*code=/);
  const callback = await browser.fetch(back);
  assert.equal(callback.status, 302, await callback.clone().text());
  assert.equal(callback.headers.get('location'), returnUrl);
  assert.ok(browser.jar.has('appSession'));
}

const user = (bff, browser, query = '') => browser.fetch(`${bff.origin}/bff/user${query}`, { headers: csrf });
const api = (bff, browser, path = '/api/x', init = {}) =>
  browser.fetch(bff.origin + path, { ...init, headers: { ...csrf, ...init.headers } });
/** The claims of `/bff/user` as { type: value } (the last value of a type). */
const claimsOf = (list) => Object.fromEntries(list.map((c) => [c.type, c.value]));
/** A 400 validation problem as v4's HttpContextExtensions.ReturnHttpProblem writes it. */
async function assertProblem(res, title, key, why) {
  assert.equal(res.status, 400, why);
  // ReturnHttpProblem sets application/problem+json, then WriteAsJsonAsync(problem) sets its own
  // (aspnetcore src/Http/Http.Extensions/src/HttpResponseJsonExtensions.cs: contentType ??
  // JsonContentTypeWithCharset).
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8', why);
  const body = await res.json();
  assert.equal(body.title, title, why);
  assert.equal(body.status, 400, why);
  assert.ok(Array.isArray(body.errors?.[key]), why);
}
/** Follows a silent login from `start` to its callback page; resolves with that page. */
async function silentLogin(bff, browser, start) {
  const callbackPage = `${bff.origin}/bff/silent-login-callback`;
  const last = await browse(browser, start, (u) => u === callbackPage);
  const res = await browser.fetch(last);
  return { res, html: await res.text() };
}

describe('the Duende-style BFF', () => {
  let bff;
  const browser = cookieJar();
  before(async () => {
    bff = await startDuendeBff({
      fallback: (req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<p>page ${req.path}</p>`),
    });
  });
  after(() => bff?.close());

  test('before login: /bff/user and /api answer a bare 401; other paths go to the fallback', async () => {
    const anonymous = await user(bff, browser);
    assert.equal(anonymous.status, 401, `${DOCS}/fundamentals/session/management/user/ "Output": no session → 401 (AnonymousSessionResponse default)`);
    assert.equal(await anonymous.text(), '', `${V4}/Endpoints/Internal/DefaultUserEndpoint.cs: only StatusCode = 401, no body`);
    const noSession = await api(bff, browser);
    assert.equal(noSession.status, 401, `${V4}/Endpoints/Internal/BffAuthenticationService.cs: a challenge on a BFF API endpoint → 401`);
    assert.equal(noSession.headers.get('location'), null, 'BffAuthenticationService.cs: Location removed');
    const page = await browser.fetch(`${bff.origin}/page`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<p>page /page</p>');
    assert.equal(bff.stats.unauthorized, 2);
  });

  test('anti-forgery: /bff/user and /api/* without X-CSRF: 1 → 401 (not 400), before the session is looked at', async () => {
    const why = `${V4}/Endpoints/Internal/BffAntiForgeryMiddleware.cs: !CheckAntiForgeryHeader → StatusCode = 401`;
    for (const headers of [{}, { 'x-csrf': '0' }, { 'x-xsrf': '1' }]) {
      const u = await browser.fetch(`${bff.origin}/bff/user`, { headers });
      assert.equal(u.status, 401, `${why} (/bff/user, ${JSON.stringify(headers)})`);
      assert.equal(await u.text(), '', why);
      assert.equal((await browser.fetch(`${bff.origin}/api/x`, { headers })).status, 401, `${why} (/api, ${JSON.stringify(headers)})`);
    }
    // HTTP header names are case-insensitive: `X-CSRF: 1` as the docs write it passes.
    assert.equal((await browser.fetch(`${bff.origin}/bff/user`, { headers: { 'X-CSRF': '1' } })).status, 401,
      `${DOCS}/fundamentals/session/management/user/ "Typical Usage": X-CSRF: 1 passes the check (and then: no session, 401)`);
    assert.deepEqual(bff.stats.csrf.at(-1), { method: 'GET', path: '/bff/user', header: '1' });
  });

  test('/bff/login: a non-local returnUrl → 400 problem; a local one and none are accepted', async () => {
    const why = `${V4}/Endpoints/Internal/DefaultLoginEndpoint.cs + Internal/LocalUrlReturnUrlValidator.cs (v3 threw: a 500)`;
    for (const bad of ['//evil.example/x', '/\\evil.example', 'http://evil.example/', 'https://127.0.0.1/x', 'page', '/a\nb']) {
      const res = await cookieJar().fetch(`${bff.origin}/bff/login?returnUrl=${encodeURIComponent(bad)}`);
      await assertProblem(res, 'Invalid return url', 'returnUrl', `${why}: ${JSON.stringify(bad)}`);
    }
    for (const good of ['/', '/page?x=1#y', '/a/b']) assert.equal(isLocalUrl(good), true, `${why}: ${good}`);
    const start = await cookieJar().fetch(`${bff.origin}/bff/login?returnUrl=${encodeURIComponent('/a/b?c=1')}`);
    assert.equal(start.status, 302, `${DOCS}/fundamentals/session/management/login/ "Return Url": a local URL`);
    const state = (location) => JSON.parse(Buffer.from(new URL(location).searchParams.get('state'), 'base64url'));
    assert.equal(state(start.headers.get('location')).returnTo, '/a/b?c=1');
    const plain = await cookieJar().fetch(`${bff.origin}/bff/login`);
    assert.equal(state(plain.headers.get('location')).returnTo, '/', `${DOCS}/fundamentals/session/management/login/: "By default, this redirect goes to the root"`);
  });

  test('/bff/login?prompt=: forwarded when the provider lists it, else 400 problem', async () => {
    const prompted = await cookieJar().fetch(`${bff.origin}/bff/login?prompt=login&returnUrl=/x`);
    assert.equal(prompted.status, 302);
    assert.equal(new URL(prompted.headers.get('location')).searchParams.get('prompt'), 'login',
      `${DOCS}/fundamentals/session/oidc-prompts/: /bff/login?prompt=login is forwarded to the provider`);
    const unsupported = await cookieJar().fetch(`${bff.origin}/bff/login?prompt=select_account`);
    await assertProblem(unsupported, 'Invalid prompt value', 'prompt',
      `${V4}/Endpoints/Internal/DefaultLoginEndpoint.cs: a prompt not in prompt_values_supported`);
  });

  test('login through the provider lands on returnUrl', async () => {
    await logIn(bff, browser);
    assert.equal(bff.stats.logins, 1);
  });

  test('/bff/user: the claims [{ type, value }] with sid, bff:logout_url, bff:session_expires_in; slide=false', async () => {
    const res = await user(bff, browser);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    const list = await res.json();
    const why = `${DOCS}/fundamentals/session/management/user/ "Output" and ${V4}/Endpoints/Internal/DefaultUserEndpoint.cs`;
    assert.ok(list.every((c) => Object.keys(c).join() === 'type,value'), `${why}: [{ type, value }]`);
    const claims = claimsOf(list);
    assert.equal(claims.sub, 'alice', why);
    assert.equal(typeof claims.sid, 'string', `${why}: the session's sid claim (from the ID token)`);
    assert.ok(list.filter((c) => !c.type.startsWith('bff:')).every((c) => typeof c.value === 'string'), `${why}: claim values are strings`);
    assert.equal(claims['bff:logout_url'], `/bff/logout?sid=${encodeURIComponent(claims.sid)}`,
      `${V4}/Internal/LogoutUrlBuilder.cs: LogoutPath + ?sid=<sid>`);
    const expiresIn = claims['bff:session_expires_in'];
    assert.equal(typeof expiresIn, 'number', `${why}: bff:session_expires_in, seconds (Math.Round)`);
    assert.ok(expiresIn > 3590 && expiresIn <= 3600, `${expiresIn}`);
    assert.equal('bff:session_state' in claims, false,
      `${DOCS}/fundamentals/session/management/user/ "bff:session_state … (if provided)": this provider sends no session_state`);
    // The management claims come after the session's.
    assert.deepEqual(list.slice(-2).map((c) => c.type), ['bff:logout_url', 'bff:session_expires_in'], why);
    assert.ok(res.headers.getSetCookie().some((c) => c.startsWith('appSession=')), 'a sliding session: the cookie is renewed');
    const still = await user(bff, browser, '?slide=false');
    assert.equal(still.status, 200);
    assert.equal(still.headers.getSetCookie().some((c) => c.startsWith('appSession=')), false,
      `${DOCS}/fundamentals/session/management/user/ "Cookie Sliding": slide=false does not renew the cookie (PostConfigureSlidingExpirationCheck.cs: ShouldRenew = false)`);
    assert.ok(claimsOf(await still.json())['bff:session_expires_in'] <= 3600);
  });

  test('/api/*: the resource answers with the session access token; its own 401 goes back as it is', async () => {
    const res = await api(bff, browser, '/api/x?y=1');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { sub: 'alice', path: '/api/x?y=1' });
    const post = await api(bff, browser, '/api/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.equal(post.status, 200);
    assert.deepEqual(await post.json(), { sub: 'alice', path: '/api/items' });
    const refused = await browser.fetch(`${bff.origin}/api/x`, { headers: { 'x-csrf': '0' } });
    assert.equal(refused.status, 401, `${DOCS}/fundamentals/apis/remote/ "Anti-forgery header": remote APIs always require it`);
    assert.deepEqual(bff.stats.csrf.at(-1), { method: 'GET', path: '/api/x', header: '0' });
    // The resource asks for a step-up: its 401 and challenge reach the page, no refresh.
    const stepUp = await api(bff, browser, '/api/strong');
    assert.equal(stepUp.status, 401, 'Bff.Yarp forwards the remote API\'s answer');
    assert.match(stepUp.headers.get('www-authenticate'), /insufficient_user_authentication/);
    assert.equal(bff.stats.serverRefreshes, 0);
    assert.ok(browser.jar.has('appSession'), 'the session stays');
  });

  test('expired access: 5 concurrent calls, one server-side refresh; a stale cookie makes no second', async () => {
    const stale = browser.copy();
    const apiBefore = bff.stats.apiRequests;
    const refused = bff.provider.stats.refused.length;
    await bff.expireAccess();
    const answers = await Promise.all([1, 2, 3, 4, 5].map((i) => api(bff, browser, `/api/c${i}`)));
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200]);
    assert.deepEqual(await Promise.all(answers.map((r) => r.json())), [1, 2, 3, 4, 5].map((i) => ({ sub: 'alice', path: `/api/c${i}` })));
    assert.equal(bff.stats.apiRequests, apiBefore + 5);
    assert.equal(bff.stats.serverRefreshes, 1, 'Duende.AccessTokenManagement: refreshed before the call, once for concurrent requests');
    assert.equal(bff.provider.stats.grants.refresh_token, 1);
    assert.equal(bff.provider.stats.refused.length, refused, 'refreshed by expiry, before the resource sees the old token');
    // Each of the 5 responses carries the new tokens in its cookie.
    for (const answer of answers) {
      const one = cookieJar();
      const [pair] = answer.headers.getSetCookie().filter((c) => c.startsWith('appSession='));
      one.jar.set('appSession', pair.split(';')[0].slice('appSession='.length));
      assert.equal((await api(bff, one)).status, 200);
    }
    assert.equal((await api(bff, browser)).status, 200);
    // The cookie from before the rotation takes the tokens its refresh token was rotated into.
    assert.equal((await api(bff, stale)).status, 200);
    assert.equal(bff.stats.serverRefreshes, 1);
    assert.equal(bff.provider.stats.grants.refresh_token, 1);
    assert.equal(bff.provider.stats.refused.length, refused);
    assert.equal((await user(bff, browser)).status, 200);
  });

  test('endSession: the refused refresh ends the session and answers 401', async () => {
    const unauthorized = bff.stats.unauthorized;
    await bff.endSession();
    const res = await api(bff, browser);
    assert.equal(res.status, 401, `${DOCS}/fundamentals/options/ RemoveSessionAfterRefreshTokenExpiration; Bff.Yarp/Internal/AccessTokenRequestTransform.cs: ApplyError → 401`);
    assert.equal(bff.stats.refreshFailures, 1);
    assert.equal(bff.stats.serverRefreshes, 1);
    assert.equal(browser.jar.has('appSession'), false, 'AccessTokenRequestTransform.cs: SignOutAsync(cookie scheme)');
    assert.equal((await user(bff, browser)).status, 401);
    assert.equal(bff.stats.unauthorized, unauthorized + 2);
  });

  test('silent login: /bff/silent-login and /bff/login?prompt=none post isLoggedIn to the parent', async () => {
    // This browser still has its login session at the provider (the grant was revoked, not
    // the session): the silent login makes a session here without a form.
    const logins = bff.stats.logins;
    const start = await browser.fetch(`${bff.origin}/bff/silent-login`);
    assert.equal(start.status, 302);
    assert.equal(new URL(start.headers.get('location')).searchParams.get('prompt'), 'none',
      `${DOCS}/fundamentals/session/management/silent-login/: non-interactive (BffOpenIdConnectEvents.cs: Prompt = "none")`);
    const { res, html } = await silentLogin(bff, browser, `${bff.origin}/bff/silent-login`);
    assert.equal(bff.stats.logins, logins + 1);
    const why = `${V4}/Endpoints/Internal/DefaultSilentLoginCallbackEndpoint.cs`;
    assert.equal(res.status, 200, why);
    assert.match(res.headers.get('content-type'), /^text\/html/, why);
    const nonce = /^script-src 'nonce-([0-9a-f]+)';$/.exec(res.headers.get('content-security-policy'))?.[1];
    assert.ok(nonce, `${why}: CSP script-src 'nonce-…'`);
    assert.equal(res.headers.get('cache-control'), 'no-store, no-cache, max-age=0', why);
    assert.equal(res.headers.get('pragma'), 'no-cache', why);
    assert.equal(html, `<script nonce='${nonce}'>window.parent.postMessage({source:'bff-silent-login', isLoggedIn:true}, '${bff.origin}');</script>`,
      `${DOCS}/fundamentals/session/management/silent-login/: postMessage with data.source 'bff-silent-login' and data.isLoggedIn`);
    assert.equal(claimsOf(await (await user(bff, browser)).json()).sub, 'alice');
    // v4: /bff/login?prompt=none is the silent login, whatever returnUrl says.
    const viaLogin = await silentLogin(bff, browser, `${bff.origin}/bff/login?prompt=none&returnUrl=/elsewhere`);
    assert.match(viaLogin.html, /isLoggedIn:true/, `${DOCS}/fundamentals/session/oidc-prompts/ "Silent Login Deprecation": /bff/login?prompt=none`);
    // A browser with no session at the provider: the provider's login_required comes back as
    // isLoggedIn:false, no error, no session.
    const stranger = cookieJar();
    for (const path of ['/bff/silent-login', '/bff/login?prompt=none']) {
      const { res: r, html: h } = await silentLogin(bff, stranger, bff.origin + path);
      assert.equal(r.status, 200, `${V4}/Endpoints/Internal/BffOpenIdConnectEvents.cs: an error for a silent login → the callback (${path})`);
      assert.match(h, /isLoggedIn:false/);
    }
    assert.equal(stranger.jar.has('appSession'), false);
    assert.deepEqual(bff.stats.silentCallbacks, [true, true, false, false]);
  });

  test('logout: sid required and matched, returnUrl local; ends the session here and at the provider', async () => {
    // Another browser (this one's provider session is alice's).
    const browser = cookieJar();
    await logIn(bff, browser, { login: 'bob', returnUrl: '/again' });
    const claims = claimsOf(await (await user(bff, browser)).json());
    assert.equal(claims.sub, 'bob');
    const logoutUrl = claims['bff:logout_url'];
    const kept = browser.copy();
    const why = `${V4}/Endpoints/Internal/DefaultLogoutEndpoint.cs (RequireLogoutSessionId; v3 threw "Invalid Session Id": a 500)`;
    for (const query of ['', '?sid=nope', `?sid=${claims.sid}x`]) {
      await assertProblem(await browser.fetch(`${bff.origin}/bff/logout${query}`), 'Invalid Session ID', 'sid', `${why}: ${query || 'no sid'}`);
    }
    await assertProblem(await browser.fetch(`${bff.origin}${logoutUrl}&returnUrl=${encodeURIComponent('//evil.example/')}`),
      'Invalid return url', 'returnUrl', `${DOCS}/fundamentals/session/management/logout/ "Return Url": a local URL`);
    assert.equal((await user(bff, browser)).status, 200, 'a refused logout leaves the session');
    assert.equal(bff.stats.logouts, 0);

    const revoked = bff.provider.stats.revoked;
    const res = await browser.fetch(`${bff.origin}${logoutUrl}&returnUrl=/bye`);
    assert.equal(res.status, 302);
    assert.equal(browser.jar.has('appSession'), false, `${DOCS}/fundamentals/session/management/logout/: deletes the BFF's session cookie`);
    assert.equal(bff.stats.logouts, 1);
    assert.equal(bff.stats.revocations, 1, `${DOCS}/fundamentals/session/management/logout/ "Revocation Of Refresh Tokens" (RevokeRefreshTokenOnLogout)`);
    assert.equal(bff.provider.stats.revoked, revoked + 1);
    const endSession = new URL(res.headers.get('location'));
    assert.equal(endSession.origin + endSession.pathname, bff.metadata.end_session_endpoint,
      `${DOCS}/fundamentals/session/management/logout/: "sign out from the remote identity provider"`);
    assert.ok(endSession.searchParams.get('id_token_hint'));
    assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), `${bff.origin}/signout-callback-oidc`);
    assert.ok(endSession.searchParams.get('state'));
    // Through the provider's end-session and back: to returnUrl.
    const back = await browse(browser, endSession.href, (u) => u.startsWith(bff.origin));
    assert.match(back, /\/signout-callback-oidc\?state=/);
    const last = await browser.fetch(back);
    assert.equal(last.status, 302);
    assert.equal(last.headers.get('location'), '/bye', `${DOCS}/fundamentals/session/management/logout/ "Return Url"`);
    assert.equal(bff.stats.signedOut, 1);
    assert.equal((await user(bff, browser)).status, 401);
    assert.equal((await user(bff, kept)).status, 401, 'a copy of the cookie from before the logout is refused too');
    // The provider's session is over: a silent login finds none.
    assert.match((await silentLogin(bff, browser, `${bff.origin}/bff/silent-login`)).html, /isLoggedIn:false/);

    // Without a session: no sid to check; the provider's end-session without a hint, or the
    // same 400 for a foreign returnUrl.
    const anonymous = await cookieJar().fetch(`${bff.origin}/bff/logout?returnUrl=/x`);
    assert.equal(anonymous.status, 302, `${why}: the sid is checked only for an authenticated user`);
    const hintless = new URL(anonymous.headers.get('location'));
    assert.equal(hintless.origin + hintless.pathname, bff.metadata.end_session_endpoint);
    assert.equal(hintless.searchParams.get('id_token_hint'), null);
    await assertProblem(await cookieJar().fetch(`${bff.origin}/bff/logout?returnUrl=https://evil.example/`), 'Invalid return url', 'returnUrl', why);
    assert.equal(bff.stats.logouts, 1);
  });
});

describe('the BFF with redirectForFetch (not Duende: an API endpoint without its response handling)', () => {
  let bff;
  before(async () => {
    bff = await startDuendeBff({ redirectForFetch: true });
  });
  after(() => bff?.close());

  test('/api without a session: the OIDC challenge, a 302 to the provider; other paths 404 without a fallback', async () => {
    const browser = cookieJar();
    const res = await api(bff, browser, '/api/x?y=1');
    assert.equal(res.status, 302);
    assert.ok(res.headers.get('location').startsWith(`${bff.metadata.authorization_endpoint}?`),
      `${DOCS}/fundamentals/apis/local/: SkipResponseHandling lets the challenge redirect`);
    assert.equal(bff.stats.apiRequests, 1);
    assert.equal(bff.stats.unauthorized, 0);
    assert.equal((await browser.fetch(`${bff.origin}/page`)).status, 404);
    await logIn(bff, browser);
    const ok = await api(bff, browser);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { sub: 'alice', path: '/api/x' });
  });
});

describe('the BFF with refreshEndpoint (not Duende: the page refreshes)', () => {
  let bff;
  before(async () => {
    bff = await startDuendeBff({ refreshEndpoint: true });
  });
  after(() => bff?.close());

  test('an expired access token: 401 invalid_token; POST /bff/refresh (X-CSRF) 204; a refused one 401 and the end', async () => {
    const browser = cookieJar();
    await logIn(bff, browser);
    await bff.expireAccess();
    const expired = await api(bff, browser);
    assert.equal(expired.status, 401);
    assert.equal(expired.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.equal((await browser.fetch(`${bff.origin}/bff/refresh`, { method: 'POST' })).status, 401, 'anti-forgery');
    assert.equal((await browser.fetch(`${bff.origin}/bff/refresh`, { method: 'POST', headers: csrf })).status, 204);
    assert.equal(bff.stats.serverRefreshes, 1);
    assert.equal((await api(bff, browser)).status, 200);
    await bff.endSession();
    assert.equal((await api(bff, browser)).status, 401);
    assert.equal((await browser.fetch(`${bff.origin}/bff/refresh`, { method: 'POST', headers: csrf })).status, 401);
    assert.equal(bff.stats.refreshFailures, 1);
    assert.equal(browser.jar.has('appSession'), false);
  });
});
