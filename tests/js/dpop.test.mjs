// DPoP (RFC 9449) and step-up (RFC 9470), built in, against a real authorization server
// (oidc-provider, tests/oidc/: the `spa-dpop` client gets DPoP-bound tokens only, nonces
// required) and a resource that checks every proof with jose. In Node; the Chromium side (key
// in IndexedDB, reload, tabs, a worker) is tests/js/dpop-browser.test.mjs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createAuthFetch } from 'reauth/oauth';
import { loginWithForm, startProvider } from '../oidc/provider.mjs';

const redirectUri = 'http://127.0.0.1:9/callback'; // never loaded in Node: the test reads it
let op;
before(async () => {
  op = await startProvider({ redirectUris: [redirectUri] });
});
after(() => op?.close());

function make(extra = {}) {
  const failures = [];
  const events = [];
  const af = createAuthFetch({
    oauth: { issuer: op.issuer, clientId: 'spa-dpop', redirectUri, scope: 'openid offline_access' },
    dpop: true,
    origins: [op.api, op.issuer],
    onAuthFailure: (info) => failures.push(info),
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return { af, failures, events };
}

async function loggedIn(extra) {
  const made = make(extra);
  made.url = new URL(await made.af.authorizationUrl());
  made.before = { ...op.stats, grants: { ...op.stats.grants } };
  await made.af.completeLogin(await loginWithForm(made.url.href, { redirectPrefix: redirectUri }));
  made.refreshToken = op.stats.issued.at(-1);
  return made;
}

const sha256 = (s) => createHash('sha256').update(s).digest('base64url');
const since = (n) => op.stats.proofs.slice(n);

test('login with DPoP: dpop_jkt, the code exchange retried once with the nonce, a bound token, proofs the resource accepts', async () => {
  const { af, url, before: b } = await loggedIn();
  const jkt = url.searchParams.get('dpop_jkt');
  assert.match(jkt, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(op.stats.grants.authorization_code - b.grants.authorization_code, 1);
  // No nonce known yet: the first token request is answered use_dpop_nonce and sent again.
  assert.equal(op.stats.tokenRequests - b.tokenRequests, 2);
  assert.equal(op.stats.tokenNonceChallenges - b.tokenNonceChallenges, 1);
  const at = await op.provider.AccessToken.find(af.accessToken);
  assert.equal(at.jkt, jkt, 'the access token is bound to the key of the authorization URL');
  // The resource checks the proof: first without its nonce (one retry), then accepted.
  const proofs = op.stats.proofs.length;
  const refused = op.stats.refused.length;
  const r = await af(`${op.api}/api/items?page=2#top`);
  assert.equal(r.status, 200);
  assert.deepEqual(op.stats.refused.slice(refused), ['use_dpop_nonce']);
  const [p] = since(proofs);
  assert.deepEqual(
    { htm: p.htm, htu: p.htu, ath: p.ath, jkt: p.jkt },
    { htm: 'GET', htu: `${op.api}/api/items`, ath: sha256(af.accessToken), jkt },
    'htu without query and fragment, ath of the token, the bound key',
  );
  // Now the nonce is known: a POST goes through at once, with its method in the proof.
  const r2 = await af(`${op.api}/api/items`, { method: 'post', body: 'x' });
  assert.equal(r2.status, 200);
  assert.equal(op.stats.refused.length, refused + 1);
  assert.equal(since(proofs)[1].htm, 'POST');
  // The provider's own userinfo endpoint checks the proof and its own nonce too.
  const me = await af(`${op.issuer}/me`);
  assert.equal(me.status, 200);
  assert.equal((await me.json()).sub, 'alice');
});

test('an expired DPoP token and 20 concurrent calls: one refresh (DPoP-bound, rotated), 20 successes, a fresh proof each', async () => {
  const { af, failures, refreshToken, url } = await loggedIn();
  await af(`${op.api}/api/warm`); // learn the resource's nonce
  const grants = op.stats.grants.refresh_token;
  const proofs = op.stats.proofs.length;
  await op.expire();
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => af(`${op.api}/api/items/${i}`)));
  assert.deepEqual(rs.map((r) => r.status), Array(20).fill(200));
  assert.equal(op.stats.grants.refresh_token - grants, 1, 'one refresh');
  assert.equal(op.stats.presented.at(-1), refreshToken, 'the refresh token from the login, presented once');
  assert.notEqual(op.stats.issued.at(-1), refreshToken, 'rotated');
  const at = await op.provider.AccessToken.find(af.accessToken);
  assert.equal(at.jkt, url.searchParams.get('dpop_jkt'), 'the new token is bound to the same key');
  const accepted = since(proofs);
  assert.equal(accepted.length, 20);
  assert.equal(new Set(accepted.map((p) => p.jti)).size, 20, 'a fresh jti per request');
  assert.ok(accepted.every((p) => p.ath === sha256(af.accessToken)), 'bound to the new token');
  assert.deepEqual(failures, []);
});

test('a nonce change mid-session: use_dpop_nonce, one retry with the new nonce, no refresh', async () => {
  const { af, events } = await loggedIn();
  assert.equal((await af(`${op.api}/api/a`)).status, 200);
  const grants = op.stats.grants.refresh_token;
  const refused = op.stats.refused.length;
  const proofs = op.stats.proofs.length;
  const nonce = op.rotateNonce();
  const rs = await Promise.all([af(`${op.api}/api/b`), af(`${op.api}/api/c`)]);
  assert.deepEqual(rs.map((r) => r.status), [200, 200]);
  assert.equal(op.stats.grants.refresh_token, grants, 'no refresh');
  assert.deepEqual(op.stats.refused.slice(refused), ['use_dpop_nonce', 'use_dpop_nonce']);
  assert.deepEqual(since(proofs).map((p) => p.nonce), [nonce, nonce]);
  assert.equal(events.filter((e) => e.type === 'retry' && e.reason === 'use_dpop_nonce').length, 3);
  assert.equal(events.filter((e) => e.type === 'refresh-start').length, 0);
});

test('a nonce the resource refuses twice is handed back: one retry only, no refresh', async () => {
  const { af } = await loggedIn({ fetch: async (input, init) => {
    // Rotates the resource's nonce before every request: the retry's nonce is stale too.
    op.rotateNonce();
    return fetch(input, init);
  } });
  const grants = op.stats.grants.refresh_token;
  const refused = op.stats.refused.length;
  const r = await af(`${op.api}/api/a`);
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate'), /use_dpop_nonce/);
  assert.deepEqual(op.stats.refused.slice(refused), ['use_dpop_nonce', 'use_dpop_nonce']);
  assert.equal(op.stats.grants.refresh_token, grants);
});

test('the binding: the token with a proof of another key, without a proof, or as Bearer is refused', async () => {
  const { af } = await loggedIn();
  assert.equal((await af(`${op.api}/api/a`)).status, 200);
  const token = af.accessToken;
  const url = `${op.api}/api/stolen`;
  const nonce = (await fetch(url)).headers.get('dpop-nonce');
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const proof = await new SignJWT({ htm: 'GET', htu: url, jti: crypto.randomUUID(), ath: sha256(token), nonce })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(publicKey) })
    .setIssuedAt()
    .sign(privateKey);
  const refused = op.stats.refused.length;
  const answers = [
    await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop: proof } }),
    await fetch(url, { headers: { authorization: `DPoP ${token}` } }),
    await fetch(url, { headers: { authorization: `Bearer ${token}` } }),
    await fetch(`${op.issuer}/me`, { headers: { authorization: `Bearer ${token}` } }),
  ];
  assert.deepEqual(answers.map((r) => r.status), [401, 401, 401, 401]);
  assert.deepEqual(op.stats.refused.slice(refused), ['binding', 'no_proof', 'scheme']);
  // The app's own requests still work.
  assert.equal((await af(`${op.api}/api/b`)).status, 200);
});

test('a revoked DPoP grant: the refresh fails with invalid_grant, the hook runs once, the user is logged out', async () => {
  const { af, failures, refreshToken } = await loggedIn();
  await op.revoke(refreshToken);
  await op.expire();
  const rs = await Promise.all(Array.from({ length: 5 }, () => af(`${op.api}/api/a`)));
  assert.deepEqual(rs.map((r) => r.status), Array(5).fill(401));
  assert.equal(failures.length, 1);
  assert.equal(failures[0].reason, 'refresh_failed');
  assert.equal(failures[0].error.code, 'invalid_grant');
  assert.equal(af.accessToken, null);
});

test('step-up (RFC 9470): insufficient_user_authentication calls onStepUp once per burst, the callers get the 401, no refresh', async () => {
  const steps = [];
  const { af } = await loggedIn({ onStepUp: (info) => steps.push(info) });
  const grants = op.stats.grants.refresh_token;
  const rs = await Promise.all(Array.from({ length: 3 }, () => af(`${op.api}/api/strong`)));
  assert.deepEqual(rs.map((r) => r.status), [401, 401, 401]);
  assert.equal(steps.length, 1, 'once for the burst');
  assert.deepEqual(
    { acrValues: steps[0].acrValues, maxAge: steps[0].maxAge, url: steps[0].url, status: steps[0].response.status },
    { acrValues: 'urn:strong', maxAge: 300, url: `${op.api}/api/strong`, status: 401 },
  );
  assert.equal((await rs[0].json()).refused, 'step_up', "the caller's body is unread");
  assert.equal(op.stats.grants.refresh_token, grants, 'no refresh');
  // A hook that throws is reported, not swallowed; the caller still gets its 401.
  const reported = [];
  const onError = (e) => reported.push(e);
  process.on('uncaughtException', onError);
  const origError = console.error;
  console.error = (e) => reported.push(e);
  try {
    const { af: throwing } = await loggedIn({ onStepUp: () => { throw new Error('hook broke'); } });
    assert.equal((await throwing(`${op.api}/api/strong`)).status, 401);
  } finally {
    console.error = origError;
    process.off('uncaughtException', onError);
  }
  assert.ok(reported.some((e) => String(e?.message ?? e).includes('hook broke')));
});

test('step-up with Bearer tokens (the spa client) works the same way', async () => {
  const steps = [];
  const af = createAuthFetch({
    oauth: { issuer: op.issuer, clientId: 'spa', redirectUri, scope: 'openid offline_access' },
    origins: [op.api],
    onStepUp: (info) => steps.push(info.acrValues),
  });
  await af.completeLogin(await loginWithForm(await af.authorizationUrl(), { redirectPrefix: redirectUri }));
  assert.equal((await af(`${op.api}/api/strong`)).status, 401);
  assert.deepEqual(steps, ['urn:strong']);
});

test('options: dpop needs oauth without a refresh hook, and is a boolean', () => {
  const oauth = { issuer: 'https://as.example', clientId: 'spa' };
  assert.throws(() => createAuthFetch({ refresh: async () => 't', dpop: true, origins: ['https://a.example'] }), /options\.dpop needs the built-in refresh grant/);
  assert.throws(() => createAuthFetch({ oauth, refresh: async () => 't', dpop: true, origins: ['https://a.example'] }), TypeError);
  assert.throws(() => createAuthFetch({ oauth, dpop: 'yes', origins: ['https://a.example'] }), /options\.dpop must be a boolean/);
  assert.throws(() => createAuthFetch({ oauth, onStepUp: 1, origins: ['https://a.example'] }), /options\.onStepUp must be a function/);
  assert.equal(typeof createAuthFetch({ oauth, dpop: true, origins: ['https://a.example'] }), 'function');
});
