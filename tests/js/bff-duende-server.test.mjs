// The Duende-style BFF of tests/bff/duende.mjs, in Node with plain fetch and a cookie jar: the
// login through the real provider, the anti-forgery header, `/bff/user`'s claims, the API proxy
// and its server-side refresh (one refresh grant for concurrent calls, a stale cookie served
// without a second grant), the end of the session when refresh fails, the misconfigured
// redirect for fetch, and logout by session id.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loginWithForm } from '../oidc/provider.mjs';
import { startDuendeBff } from '../bff/duende.mjs';

/** A browser's cookies for one origin: sends them, keeps Set-Cookie (deletions included). */
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

const csrf = { 'x-csrf': '1' };

/** Logs in as `login` through `/bff/login?returnUrl=…`; asserts where the browser lands. */
async function logIn(bff, browser, { login = 'alice', returnUrl = '/page' } = {}) {
  const start = await browser.fetch(`${bff.origin}/bff/login?returnUrl=${encodeURIComponent(returnUrl)}`);
  assert.equal(start.status, 302);
  const authorization = start.headers.get('location');
  assert.ok(authorization.startsWith(`${bff.provider.issuer}/auth?`), authorization);
  const q = new URL(authorization).searchParams;
  assert.equal(q.get('client_id'), 'bff');
  assert.equal(q.get('code_challenge_method'), 'S256');
  const back = await loginWithForm(authorization, { login, redirectPrefix: `${bff.origin}/bff/callback` });
  assert.match(back, /[?&]code=/);
  const callback = await browser.fetch(back);
  assert.equal(callback.status, 302, await callback.clone().text());
  assert.equal(callback.headers.get('location'), returnUrl);
  assert.ok(browser.jar.has('appSession'));
}

const user = (bff, browser) => browser.fetch(`${bff.origin}/bff/user`, { headers: csrf });
const api = (bff, browser, path = '/api/x', init = {}) =>
  browser.fetch(bff.origin + path, { ...init, headers: { ...csrf, ...init.headers } });

describe('the BFF', () => {
  let bff;
  const browser = cookieJar();
  before(async () => {
    bff = await startDuendeBff({
      fallback: (req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<p>page ${req.path}</p>`),
    });
  });
  after(() => bff?.close());

  test('before login: /bff/user and /api answer 401, other paths go to the fallback', async () => {
    assert.equal((await user(bff, browser)).status, 401);
    assert.equal((await api(bff, browser)).status, 401);
    const page = await browser.fetch(`${bff.origin}/page`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<p>page /page</p>');
    assert.equal(bff.stats.unauthorized, 2);
  });

  test('login lands on returnUrl; a foreign returnUrl lands on /', async () => {
    const start = await cookieJar().fetch(`${bff.origin}/bff/login?returnUrl=${encodeURIComponent('//evil.example/x')}`);
    const state = JSON.parse(Buffer.from(new URL(start.headers.get('location')).searchParams.get('state'), 'base64url'));
    assert.equal(state.returnTo, '/');
    await logIn(bff, browser);
    assert.equal(bff.stats.logins, 1);
  });

  test('/bff/user: 401 without X-CSRF; the claims with it', async () => {
    const before = bff.stats.csrf.length;
    const refused = await browser.fetch(`${bff.origin}/bff/user`);
    assert.equal(refused.status, 401);
    const res = await user(bff, browser);
    assert.equal(res.status, 200);
    const claims = await res.json();
    assert.deepEqual(claims[0], { type: 'sub', value: 'alice' });
    const sid = claims.find((c) => c.type === 'sid')?.value;
    assert.ok(sid);
    assert.deepEqual(claims.find((c) => c.type === 'bff:logout_url'), { type: 'bff:logout_url', value: `/bff/logout?sid=${sid}` });
    const expiresIn = claims.find((c) => c.type === 'bff:session_expires_in').value;
    assert.ok(expiresIn > 3500 && expiresIn <= 3600, `${expiresIn}`);
    assert.deepEqual(bff.stats.csrf.slice(before), [
      { method: 'GET', path: '/bff/user', header: null },
      { method: 'GET', path: '/bff/user', header: '1' },
    ]);
  });

  test('/api/*: the resource answers with the session access token; 401 without X-CSRF', async () => {
    const res = await api(bff, browser, '/api/x?y=1');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { sub: 'alice', path: '/api/x?y=1' });
    const post = await api(bff, browser, '/api/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.equal(post.status, 200);
    assert.deepEqual(await post.json(), { sub: 'alice', path: '/api/items' });
    const refused = await browser.fetch(`${bff.origin}/api/x`, { headers: { 'x-csrf': '0' } });
    assert.equal(refused.status, 401);
    assert.deepEqual(bff.stats.csrf.at(-1), { method: 'GET', path: '/api/x', header: '0' });
    assert.equal(bff.stats.serverRefreshes, 0);
  });

  test('expired access: 5 concurrent calls, one server-side refresh; a stale cookie makes no second', async () => {
    const stale = browser.copy();
    const apiBefore = bff.stats.apiRequests;
    await bff.expireAccess();
    const answers = await Promise.all([1, 2, 3, 4, 5].map((i) => api(bff, browser, `/api/c${i}`)));
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200]);
    assert.deepEqual(await Promise.all(answers.map((r) => r.json())), [1, 2, 3, 4, 5].map((i) => ({ sub: 'alice', path: `/api/c${i}` })));
    assert.equal(bff.stats.apiRequests, apiBefore + 5);
    assert.equal(bff.stats.serverRefreshes, 1);
    assert.equal(bff.provider.stats.grants.refresh_token, 1);
    // Each of the 5 responses carries the new tokens in its cookie: a call with any of them is
    // accepted by the resource at once (no refusal, no refresh).
    const refused = bff.provider.stats.refused.length;
    for (const answer of answers) {
      const one = cookieJar();
      const [pair] = answer.headers.getSetCookie().filter((c) => c.startsWith('appSession='));
      one.jar.set('appSession', pair.split(';')[0].slice('appSession='.length));
      assert.equal((await api(bff, one)).status, 200);
    }
    assert.equal((await api(bff, browser)).status, 200);
    assert.equal(bff.provider.stats.refused.length, refused);
    // The cookie from before the rotation: its access token is refused once, then the BFF
    // answers with the tokens that refresh token was already rotated into.
    assert.equal((await api(bff, stale)).status, 200);
    assert.equal(bff.provider.stats.refused.length, refused + 1);
    assert.equal(bff.stats.serverRefreshes, 1);
    assert.equal(bff.provider.stats.grants.refresh_token, 1);
    assert.equal((await user(bff, browser)).status, 200);
  });

  test('endSession: the next API call answers 401, the session is gone', async () => {
    const unauthorized = bff.stats.unauthorized;
    await bff.endSession();
    const res = await api(bff, browser);
    assert.equal(res.status, 401);
    assert.equal(bff.stats.refreshFailures, 1);
    assert.equal(bff.stats.serverRefreshes, 1);
    assert.equal(browser.jar.has('appSession'), false);
    assert.equal((await user(bff, browser)).status, 401);
    assert.equal(bff.stats.unauthorized, unauthorized + 2);
  });

  test('logout: a wrong sid is refused; the right one ends the session and goes to returnUrl', async () => {
    await logIn(bff, browser, { login: 'bob', returnUrl: '/again' });
    assert.equal(bff.stats.logins, 2);
    const claims = await (await user(bff, browser)).json();
    assert.deepEqual(claims[0], { type: 'sub', value: 'bob' });
    const logoutUrl = claims.find((c) => c.type === 'bff:logout_url').value;
    const kept = browser.copy();
    const wrong = await browser.fetch(`${bff.origin}/bff/logout?sid=nope&returnUrl=/bye`);
    assert.equal(wrong.status, 400);
    assert.equal((await user(bff, browser)).status, 200);
    const res = await browser.fetch(`${bff.origin}${logoutUrl}&returnUrl=/bye`);
    assert.equal(res.status, 302);
    assert.equal(new URL(res.headers.get('location'), bff.origin).href, `${bff.origin}/bye`);
    assert.equal(bff.stats.logouts, 1);
    assert.equal((await user(bff, browser)).status, 401);
    // A copy of the cookie from before the logout is refused too.
    assert.equal((await user(bff, kept)).status, 401);
  });
});

describe('the BFF with redirectForFetch', () => {
  let bff;
  before(async () => {
    bff = await startDuendeBff({ redirectForFetch: true });
  });
  after(() => bff?.close());

  test('/api without a session: a 302 to /bff/login; other paths 404 without a fallback', async () => {
    const browser = cookieJar();
    const res = await api(bff, browser, '/api/x?y=1');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `/bff/login?returnUrl=${encodeURIComponent('/api/x?y=1')}`);
    assert.equal(bff.stats.apiRequests, 1);
    assert.equal(bff.stats.unauthorized, 0);
    assert.equal((await browser.fetch(`${bff.origin}/page`)).status, 404);
    await logIn(bff, browser);
    const ok = await api(bff, browser);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { sub: 'alice', path: '/api/x' });
  });
});
