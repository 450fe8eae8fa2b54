// OAuth 2.0 built in, against a real authorization server (oidc-provider, tests/oidc/): the
// code flow with PKCE and state, the refresh grant when the app gives no `refresh`, the token
// endpoint's answers, and logout with revocation. In Node; tests/js/oauth-browser.test.mjs does
// the login in Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthFetch } from 'reauth/oauth';
import { loginWithForm, startProvider } from '../oidc/provider.mjs';

const redirectUri = 'http://127.0.0.1:9/callback'; // never loaded in Node: the test reads it
let op;
before(async () => {
  op = await startProvider({ redirectUris: [redirectUri] });
});
after(() => op?.close());

function make({ oauth = {}, ...extra } = {}) {
  const failures = [];
  const af = createAuthFetch({
    oauth: { issuer: op.issuer, clientId: 'spa', redirectUri, scope: 'openid offline_access', ...oauth },
    origins: [op.issuer],
    onAuthFailure: (info) => failures.push(info),
    ...extra,
  });
  return { af, failures };
}

async function loggedIn(options) {
  const made = make(options);
  const back = await loginWithForm(await made.af.authorizationUrl({ returnTo: '/after-login' }), { redirectPrefix: redirectUri });
  made.completed = await made.af.completeLogin(back);
  made.refreshToken = op.stats.issued.at(-1);
  return made;
}

test('login round trip: PKCE S256 and state, code exchange, a call to the resource', async () => {
  const { af } = make();
  const url = new URL(await af.authorizationUrl({ returnTo: '/after-login', loginHint: 'alice' }));
  const q = url.searchParams;
  assert.equal(url.origin + url.pathname, `${op.issuer}/auth`);
  assert.deepEqual(
    [q.get('response_type'), q.get('client_id'), q.get('redirect_uri'), q.get('scope'), q.get('code_challenge_method'), q.get('login_hint')],
    ['code', 'spa', redirectUri, 'openid offline_access', 'S256', 'alice'],
  );
  assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.match(q.get('state'), /^[A-Za-z0-9_-]{22}$/);
  const codes = op.stats.grants.authorization_code;
  const back = await loginWithForm(url.href, { redirectPrefix: redirectUri });
  assert.deepEqual(await af.completeLogin(back), { returnTo: '/after-login' });
  assert.equal(op.stats.grants.authorization_code, codes + 1, 'the code was exchanged (the server checked the verifier)');
  const r = await af(`${op.issuer}/api/items`);
  assert.equal(r.status, 200);
  assert.equal((await r.json()).sub, 'alice');
});

test('a callback with another state, an error, or a replay is rejected with its OAuth code', async () => {
  const { af } = make();
  const back = await loginWithForm(await af.authorizationUrl(), { redirectPrefix: redirectUri });
  const forged = new URL(back);
  forged.searchParams.set('state', 'not-ours');
  await assert.rejects(af.completeLogin(forged.href), (e) => e instanceof Error && e.code === 'state_mismatch');
  // The real callback still completes (the login in progress was kept), and only once.
  await af.completeLogin(back);
  await assert.rejects(af.completeLogin(back), (e) => e.code === 'state_mismatch');
  // The user says no: error=access_denied.
  const denied = await loginWithForm(await af.authorizationUrl(), { redirectPrefix: redirectUri, abort: true });
  await assert.rejects(af.completeLogin(denied), (e) => e.code === 'access_denied');
  // Without options.oauth the methods say so.
  const plain = createAuthFetch({ refresh: async () => 'x', origins: [op.issuer] });
  await assert.rejects(plain.authorizationUrl(), TypeError);
});

test('an expired token and 20 concurrent calls: one refresh grant, its refresh token rotated, 20 successes', async () => {
  const { af, failures, refreshToken } = await loggedIn();
  const grants = op.stats.grants.refresh_token;
  await op.expire();
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => af(`${op.issuer}/api/items/${i}`)));
  assert.deepEqual(rs.map((r) => r.status), Array(20).fill(200));
  assert.equal(op.stats.grants.refresh_token - grants, 1, 'one refresh');
  assert.equal(op.stats.presented.at(-1), refreshToken, 'with the refresh token from the login');
  const rotated = op.stats.issued.at(-1);
  assert.notEqual(rotated, refreshToken, 'which the server rotated');
  await op.expire();
  assert.equal((await af(`${op.issuer}/api/again`)).status, 200);
  assert.equal(op.stats.presented.at(-1), rotated, 'the next refresh presents the rotated one');
  assert.deepEqual(failures, []);
});

test('a revoked grant: the refresh fails with invalid_grant, the hook runs once, the tokens are gone', async () => {
  const { af, failures, refreshToken } = await loggedIn();
  await op.revoke(refreshToken);
  await op.expire();
  const rs = await Promise.all([1, 2, 3].map((i) => af(`${op.issuer}/api/r/${i}`)));
  assert.deepEqual(rs.map((r) => r.status), [401, 401, 401]);
  assert.equal(failures.length, 1, 'the hook ran once');
  assert.equal(failures[0].reason, 'refresh_failed');
  assert.equal(failures[0].error.code, 'invalid_grant');
  assert.equal(af.accessToken, null, 'logged out');
});

test('a token endpoint that fails (503, or no answer) fails the refresh but keeps the refresh token', async () => {
  let broken = 0;
  const flaky = async (input, init) => {
    if (String(input).endsWith('/token') && broken > 0) {
      broken -= 1;
      return broken === 1 ? new Response('busy', { status: 503 }) : Promise.reject(new TypeError('network down'));
    }
    return fetch(input, init);
  };
  const { af, failures, refreshToken } = await loggedIn({ fetch: flaky });
  broken = 2;
  await op.expire();
  assert.equal((await af(`${op.issuer}/api/a`)).status, 401, '503: the 401 comes back');
  assert.equal(failures.at(-1).error.code, 'http_503');
  assert.equal((await af(`${op.issuer}/api/b`)).status, 401, 'network error: the 401 comes back');
  assert.equal(failures.at(-1).error.name, 'TypeError');
  assert.equal((await af(`${op.issuer}/api/c`)).status, 200, 'the next 401 refreshes with the same refresh token');
  assert.equal(op.stats.presented.at(-1), refreshToken);
  assert.equal(failures.length, 2);
});

test('logout revokes the refresh token and forgets the tokens', async () => {
  const { af, refreshToken } = await loggedIn();
  const revoked = op.stats.revoked;
  await af.logout();
  assert.equal(op.stats.revoked, revoked + 1, 'the revocation endpoint was called');
  assert.equal(af.accessToken, null);
  const r = await fetch(`${op.issuer}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'spa' }) });
  assert.equal((await r.json()).error, 'invalid_grant', 'the refresh token no longer works');
});

test('endpoints from RFC 8414 metadata when there is no OpenID configuration, or given directly', async () => {
  const asked = [];
  // A server that only publishes /.well-known/oauth-authorization-server.
  const only8414 = async (input, init) => {
    const url = String(input);
    asked.push(new URL(url).pathname);
    if (url.endsWith('/.well-known/openid-configuration')) return new Response('no', { status: 404 });
    if (url.endsWith('/.well-known/oauth-authorization-server')) return fetch(`${op.issuer}/.well-known/openid-configuration`);
    return fetch(input, init);
  };
  const { af } = await loggedIn({ fetch: only8414 });
  assert.deepEqual(asked.slice(0, 2), ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']);
  assert.equal((await af(`${op.issuer}/api/x`)).status, 200);
  // Given directly: no metadata request at all.
  asked.length = 0;
  const direct = createAuthFetch({
    oauth: { tokenEndpoint: `${op.issuer}/token`, authorizationEndpoint: `${op.issuer}/auth`, clientId: 'spa', redirectUri, scope: 'openid' },
    origins: [op.issuer],
    fetch: only8414,
  });
  const back = await loginWithForm(await direct.authorizationUrl(), { redirectPrefix: redirectUri });
  await direct.completeLogin(back);
  assert.ok(!asked.some((p) => p.includes('.well-known')), `no metadata: ${asked}`);
  assert.ok(direct.accessToken);
});

test('bad oauth options are TypeErrors that name them', () => {
  for (const [oauth, name] of [
    [{ issuer: op.issuer }, 'options.oauth'],
    [{ clientId: 'spa' }, 'options.oauth needs an issuer'],
    [{ clientId: '', issuer: op.issuer }, 'options.oauth.clientId'],
    [{ clientId: 'spa', issuer: 'not a url' }, 'options.oauth.issuer'],
  ]) {
    assert.throws(() => createAuthFetch({ oauth, origins: [op.issuer] }), (e) => e instanceof TypeError && e.message.includes(name), name);
  }
  assert.throws(() => createAuthFetch({ origins: [op.issuer] }), (e) => e instanceof TypeError && /options\.refresh is required/.test(e.message));
});

/** Logs in `af` through the login form of provider `p`. */
async function logInTo(af, p = op) {
  const back = await loginWithForm(await af.authorizationUrl(), { redirectPrefix: redirectUri });
  await af.completeLogin(back);
  return p.stats.issued.at(-1);
}

for (const only8414 of [false, true]) {
  test(`an issuer with a path (${only8414 ? 'RFC 8414 metadata only: /.well-known/oauth-authorization-server/realms/demo' : 'OIDC discovery: issuer + /.well-known/openid-configuration'}): login, refresh, logout`, async () => {
    const realm = await startProvider({ redirectUris: [redirectUri], prefix: '/realms/demo', only8414 });
    try {
      assert.equal(realm.issuer, `${realm.origin}/realms/demo`);
      const failures = [];
      const af = createAuthFetch({
        oauth: { issuer: realm.issuer, clientId: 'spa', redirectUri, scope: 'openid offline_access' },
        origins: [realm.origin],
        onAuthFailure: (info) => failures.push(info),
      });
      const refreshToken = await logInTo(af, realm);
      assert.ok(af.accessToken, 'logged in');
      await realm.expire();
      const rs = await Promise.all([1, 2, 3].map((i) => af(`${realm.origin}/api/realm/${i}`)));
      assert.deepEqual(rs.map((r) => r.status), [200, 200, 200]);
      assert.equal(realm.stats.grants.refresh_token, 1, 'one refresh');
      assert.deepEqual(realm.stats.presented, [refreshToken]);
      const rotated = realm.stats.issued.at(-1);
      await af.logout();
      assert.equal(realm.stats.revoked, 1, 'revoked at the issuer\'s revocation endpoint');
      const r = await fetch(`${realm.issuer}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rotated, client_id: 'spa' }) });
      assert.equal((await r.json()).error, 'invalid_grant', 'the refresh token no longer works');
      assert.deepEqual(failures, []);
    } finally {
      await realm.close();
    }
  });
}

test('the login callback: state is checked first (an error= callback with another state keeps the login); a callback without iss is rejected where the server says it sends one', async () => {
  const { af } = make();
  const url = await af.authorizationUrl();
  // Someone else's error callback (another state) must not cancel this app's login.
  await assert.rejects(af.completeLogin(`${redirectUri}?error=access_denied&state=not-ours`), (e) => e.code === 'state_mismatch');
  const back = await loginWithForm(url, { redirectPrefix: redirectUri });
  // The provider says authorization_response_iss_parameter_supported: true (RFC 9207), so a
  // callback without iss is rejected (a mix-up attack would strip it) …
  const meta = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  const stripped = new URL(back);
  assert.equal(stripped.searchParams.get('iss'), op.issuer);
  stripped.searchParams.delete('iss');
  const codes = op.stats.grants.authorization_code;
  await assert.rejects(af.completeLogin(stripped.href), (e) => e.code === 'issuer_missing');
  assert.equal(op.stats.grants.authorization_code, codes, 'the code was not exchanged');
  // … and our own error callback ends the login with its code.
  const again = await loginWithForm(await af.authorizationUrl(), { redirectPrefix: redirectUri, abort: true });
  await assert.rejects(af.completeLogin(again), (e) => e.code === 'access_denied');
  await assert.rejects(af.completeLogin(again), (e) => e.code === 'state_mismatch', 'the login is over');
});

test('logout clears the session at once and settles within the timeout though revocation never answers', async () => {
  const hung = [];
  const hanging = (input, init) => {
    if (String(input).endsWith('/token/revocation')) {
      hung.push(input);
      return new Promise(() => {});
    }
    return fetch(input, init);
  };
  const { af, failures } = await loggedIn({ fetch: hanging, refreshTimeoutMs: 500 });
  const t0 = Date.now();
  const done = af.logout();
  assert.equal(af.accessToken, null, 'the tokens are gone before logout settles');
  await done;
  const took = Date.now() - t0;
  assert.ok(took >= 400 && took < 2000, `settled after the timeout (${took} ms)`);
  assert.equal(hung.length, 1, 'revocation was asked for');
  assert.deepEqual(failures, []);
});

test('logout during a refresh: logged out at once, the late answer is not installed, and the refresh token it brings is revoked too', async () => {
  let slowToken = false;
  const revoked = [];
  // The token endpoint answers at once (the server rotates), the answer reaches the app late.
  const late = async (input, init) => {
    if (String(input).endsWith('/token/revocation')) revoked.push(new URLSearchParams(String(init.body)).get('token'));
    const r = await fetch(input, init);
    if (slowToken && String(input).endsWith('/token')) await new Promise((ok) => setTimeout(ok, 400));
    return r;
  };
  const { af, refreshToken } = await loggedIn({ fetch: late });
  slowToken = true;
  const issued = op.stats.issued.length;
  await op.expire();
  const call = af(`${op.issuer}/api/during-logout`);
  await new Promise((ok) => setTimeout(ok, 100));
  assert.equal(op.stats.presented.at(-1), refreshToken, 'the refresh presented the refresh token');
  const done = af.logout();
  assert.equal(af.accessToken, null, 'logged out at once');
  await done;
  assert.equal((await call).status, 401, 'the call gets its 401');
  await new Promise((ok) => setTimeout(ok, 700)); // the late answer arrives
  assert.equal(af.accessToken, null, 'still logged out: the late answer was not installed');
  assert.equal(op.stats.issued.length, issued + 1, 'the server rotated the refresh token');
  assert.deepEqual(revoked, [refreshToken, op.stats.issued.at(-1)], 'the one current at logout, then the one the refresh brought');
});

test('invalid_grant in a proactive refresh: the hook runs once with the server\'s code, and the request that waited does not call it again', async () => {
  const short = await startProvider({ redirectUris: [redirectUri], accessTtl: 2 });
  try {
    const failures = [];
    const af = createAuthFetch({
      oauth: { issuer: short.issuer, clientId: 'spa', redirectUri, scope: 'openid offline_access' },
      origins: [short.issuer],
      onAuthFailure: (info) => failures.push(`${info.reason}:${info.error?.code}`),
    });
    const refreshToken = await logInTo(af, short);
    await short.revoke(refreshToken);
    await new Promise((ok) => setTimeout(ok, 1200)); // past half the token's 2 s
    const r = await af(`${short.issuer}/api/proactive`);
    assert.equal(r.status, 401);
    await new Promise((ok) => setTimeout(ok, 100));
    assert.deepEqual(failures, ['refresh_failed:invalid_grant']);
    assert.equal(af.accessToken, null, 'logged out');
    assert.equal(short.stats.grants.refresh_token, 0);
  } finally {
    await short.close();
  }
});

test('a token request that outlives refreshTimeoutMs finishes in the background: its rotated refresh token is kept, never presented twice', async () => {
  let delay = 0;
  const late = async (input, init) => {
    const r = await fetch(input, { ...init, signal: undefined });
    if (delay && String(input).endsWith('/token')) await new Promise((ok) => setTimeout(ok, delay));
    return r;
  };
  const { af, failures, refreshToken } = await loggedIn({ fetch: late, refreshTimeoutMs: 400 });
  // The server answers at once (and rotates); the answer reaches the app after 600 ms.
  delay = 600;
  await op.expire();
  const presented = op.stats.presented.length;
  assert.equal((await af(`${op.issuer}/api/timed-out`)).status, 401, 'the caller gets its failure at the timeout');
  assert.deepEqual(failures.map((f) => f.reason), ['refresh_timeout']);
  // A 401 while the token request is still out (for 200 ms more) waits for it instead of
  // presenting the same refresh token again.
  delay = 0;
  const during = await af(`${op.issuer}/api/while-pending`);
  assert.equal(during.status, 200, 'served with the tokens the late answer brought');
  assert.deepEqual(op.stats.presented.slice(presented), [refreshToken], 'the refresh token was presented once');
  await op.expire();
  assert.equal((await af(`${op.issuer}/api/next`)).status, 200, 'the next refresh uses the rotated token');
  assert.equal(op.stats.presented.at(-1), op.stats.issued.at(-2));
  assert.deepEqual(failures.map((f) => f.reason), ['refresh_timeout']);
});
