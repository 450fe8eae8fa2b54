// OAuth 2.0 built in, against a real authorization server (oidc-provider, tests/oidc/): the
// code flow with PKCE and state, the refresh grant when the app gives no `refresh`, the token
// endpoint's answers, and logout with revocation. In Node; tests/js/oauth-browser.test.mjs does
// the login in Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthFetch } from 'reauth';
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
