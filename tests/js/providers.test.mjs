// reauth's OAuth build against the provider profiles (tests/oidc/profiles.mjs: oidc-provider as
// Keycloak, Microsoft Entra ID v2.0, Auth0 and Okta, each as its documentation describes it), in
// Node: discovery from each issuer's shape, login through the form, the refresh grant under each
// profile's rotation rules, step-up where the provider has it (a claims challenge where it does
// not), logout with revocation where there is a revocation endpoint, and what reauth does not do
// (RP-initiated logout). tests/js/providers-browser.test.mjs does the login in Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthFetch } from 'reauth/oauth';
import { loginWithForm } from '../oidc/provider.mjs';
import { profiles, startProfile } from '../oidc/profiles.mjs';

const redirectUri = 'http://127.0.0.1:9/callback'; // never loaded in Node: the test reads it
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** A refresh grant made directly at the token endpoint (as a second client copy would). */
async function refreshAt(op, refreshToken) {
  const r = await fetch(op.endpoint('token'), {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'spa' }),
  });
  return { status: r.status, body: await r.json() };
}

for (const name of Object.keys(profiles)) {
  const profile = profiles[name];
  describe(profile.name, () => {
    let op;
    before(async () => {
      op = await startProfile(name, { redirectUris: [redirectUri] });
    });
    after(() => op?.close());

    function make(extra = {}) {
      const failures = [];
      const steps = [];
      // The refresh tokens reauth presented, answered or not.
      const sent = [];
      const fetchSeen = (input, init) => {
        if (String(input) === op.endpoint('token')) {
          const rt = new URLSearchParams(String(init?.body ?? '')).get('refresh_token');
          if (rt) sent.push(rt);
        }
        return fetch(input, init);
      };
      const af = createAuthFetch({
        fetch: fetchSeen,
        oauth: { issuer: op.issuer, clientId: 'spa', redirectUri, scope: 'openid offline_access' },
        origins: [op.origin],
        onAuthFailure: (info) => failures.push(`${info.reason}:${info.error?.code ?? ''}`),
        onStepUp: (info) => steps.push({ acrValues: info.acrValues, maxAge: info.maxAge }),
        ...extra,
      });
      return { af, failures, steps, sent };
    }

    async function loggedIn(extra, loginOptions) {
      const made = make(extra);
      const url = await made.af.authorizationUrl(loginOptions);
      const back = await loginWithForm(url, { redirectPrefix: redirectUri });
      made.completed = await made.af.completeLogin(back);
      made.refreshToken = op.stats.issued.at(-1);
      return made;
    }

    test('discovery at the issuer\'s own address: the endpoints it publishes, and the ones it does not', async () => {
      const m = await (await fetch(op.discovery)).json();
      assert.equal(m.issuer, op.issuer);
      assert.equal(m.authorization_endpoint, op.endpoint('authorization'));
      assert.equal(m.token_endpoint, op.endpoint('token'));
      assert.equal(m.revocation_endpoint, profile.revocation ? op.endpoint('revocation') : undefined);
      assert.equal(m.end_session_endpoint, profile.endSession ? op.endpoint('end_session') : undefined);
      assert.deepEqual(m.acr_values_supported, profile.acr?.supported);
      // reauth finds them: its authorization URL is the profile's authorization endpoint.
      const { af } = make();
      const url = new URL(await af.authorizationUrl());
      assert.equal(url.origin + url.pathname, op.endpoint('authorization'));
      assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    });

    test('login through the form, a call, then an expired token and 5 concurrent calls: one refresh grant', async () => {
      const codes = op.stats.grants.authorization_code;
      const { af, failures, refreshToken } = await loggedIn();
      assert.equal(op.stats.grants.authorization_code, codes + 1, 'the code was exchanged');
      assert.equal((await af(`${op.origin}/api/items`)).status, 200);
      const grants = op.stats.grants.refresh_token;
      await op.expire();
      const rs = await Promise.all([1, 2, 3, 4, 5].map((i) => af(`${op.origin}/api/items/${i}`)));
      assert.deepEqual(rs.map((r) => r.status), [200, 200, 200, 200, 200]);
      assert.equal(op.stats.grants.refresh_token - grants, 1, 'one refresh');
      assert.equal(op.stats.presented.at(-1), refreshToken, 'with the refresh token of the login');
      const rotated = op.stats.issued.at(-1);
      assert.notEqual(rotated, refreshToken, 'every profile answers a new refresh token');
      await op.expire();
      assert.equal((await af(`${op.origin}/api/again`)).status, 200);
      assert.equal(op.stats.presented.at(-1), rotated, 'the next refresh presents the new one');
      assert.deepEqual(failures, []);
    });

    const { window } = profile.reuse;
    if (window === Infinity) {
      test('the old refresh token keeps working after a refresh (not revoked when used)', async () => {
        const { af, failures, refreshToken } = await loggedIn();
        await op.expire();
        assert.equal((await af(`${op.origin}/api/x`)).status, 200);
        const rotated = op.stats.issued.at(-1);
        await sleep(1100);
        const again = await refreshAt(op, refreshToken);
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.ok(again.body.refresh_token && again.body.refresh_token !== rotated);
        // reauth's own token is untouched by that.
        await op.expire();
        assert.equal((await af(`${op.origin}/api/y`)).status, 200);
        assert.equal(op.stats.presented.at(-1), rotated);
        assert.deepEqual(failures, []);
      });
    } else if (window === 0) {
      test('the old refresh token is refused after a refresh (Revoke Refresh Token, max reuse 0)', async () => {
        const { af, refreshToken } = await loggedIn();
        await op.expire();
        assert.equal((await af(`${op.origin}/api/x`)).status, 200);
        const again = await refreshAt(op, refreshToken);
        assert.equal(again.status, 400);
        assert.equal(again.body.error, 'invalid_grant');
      });
    } else {
      test(`the previous refresh token works within the ${window} s leeway; after it, reuse revokes the family and reauth reports invalid_grant once`, async () => {
        const { af, failures, refreshToken, sent } = await loggedIn();
        await op.expire();
        assert.equal((await af(`${op.origin}/api/x`)).status, 200);
        const rotated = op.stats.issued.at(-1);
        const reuses = op.stats.reuses;
        const within = await refreshAt(op, refreshToken);
        assert.equal(within.status, 200, `within the leeway: ${JSON.stringify(within.body)}`);
        assert.equal(op.stats.reuses, reuses + 1);
        await sleep(window * 1000 + 1100);
        const late = await refreshAt(op, refreshToken);
        assert.equal(late.body.error, 'invalid_grant', 'after the leeway: reuse detected');
        // The family is gone: reauth's current refresh token (never reused) no longer works.
        await op.expire();
        const rs = await Promise.all([1, 2, 3].map((i) => af(`${op.origin}/api/after-reuse/${i}`)));
        assert.deepEqual(rs.map((r) => r.status), [401, 401, 401]);
        assert.deepEqual(sent, [refreshToken, rotated], 'reauth presented its current token once, and was refused');
        assert.deepEqual(failures, ['refresh_failed:invalid_grant'], 'the hook ran once');
        assert.equal(af.accessToken, null);
      });
    }

    if (name === 'entra' || name === 'okta') {
      test('a rotated refresh token keeps the expiry of the login\'s (a fixed lifetime, not a sliding one)', async () => {
        const { af, refreshToken } = await loggedIn();
        const first = await op.provider.RefreshToken.find(refreshToken);
        await sleep(1100);
        await op.expire();
        assert.equal((await af(`${op.origin}/api/x`)).status, 200);
        const second = await op.provider.RefreshToken.find(op.stats.issued.at(-1));
        assert.ok(second.iat > first.iat, 'issued later');
        assert.equal(second.exp, first.exp, 'and expires at the same moment');
        if (name === 'entra') assert.ok(Math.abs(first.exp - first.iat - 24 * 3600) <= 1, '24 hours for an SPA');
      });
    }

    if (profile.acr) {
      test(`step-up: the resource asks for acr ${profile.acr.stepUp}; onStepUp hears it, a login with acr_values gets a token that passes`, async () => {
        const { af, steps, failures } = await loggedIn();
        const grants = op.stats.grants.refresh_token;
        const rs = await Promise.all([1, 2].map(() => af(`${op.origin}/api/strong`)));
        assert.deepEqual(rs.map((r) => r.status), [401, 401]);
        assert.deepEqual(steps, [{ acrValues: profile.acr.stepUp, maxAge: 300 }], 'once for the burst');
        assert.equal(op.stats.grants.refresh_token, grants, 'no refresh for a step-up');
        const url = new URL(await af.authorizationUrl({ acrValues: steps[0].acrValues, maxAge: steps[0].maxAge }));
        assert.equal(url.searchParams.get('acr_values'), profile.acr.stepUp);
        const back = await loginWithForm(url.href, { redirectPrefix: redirectUri });
        await af.completeLogin(back);
        const r = await af(`${op.origin}/api/strong`);
        assert.equal(r.status, 200);
        // The stronger login's acr survives a refresh.
        await op.expire();
        assert.equal((await af(`${op.origin}/api/strong`)).status, 200);
        assert.deepEqual(failures, []);
      });
    } else if (profile.stepUpChallenge) {
      test('no acr_values step-up: a claims challenge (insufficient_claims) is handed back, with no refresh and no step-up', async () => {
        const { af, steps, failures } = await loggedIn();
        const grants = op.stats.grants.refresh_token;
        const r = await af(`${op.origin}/api/strong`);
        assert.equal(r.status, 401);
        assert.match(r.headers.get('www-authenticate'), /error="insufficient_claims", claims="/);
        assert.equal(op.stats.grants.refresh_token, grants, 'no refresh');
        assert.deepEqual(steps, [], 'onStepUp is for RFC 9470 only');
        assert.deepEqual(failures, []);
        assert.ok(af.accessToken, 'still logged in');
      });
    }

    test(profile.revocation
      ? 'logout revokes the refresh token at the revocation endpoint; the end-session endpoint is not called'
      : 'logout without a revocation endpoint: the tokens are forgotten here, the refresh token still works at the provider', async () => {
      const { af, failures } = await loggedIn();
      await op.expire();
      assert.equal((await af(`${op.origin}/api/x`)).status, 200);
      const current = op.stats.issued.at(-1);
      const revoked = op.stats.revoked;
      await af.logout();
      assert.equal(af.accessToken, null);
      assert.equal(op.stats.revoked - revoked, profile.revocation ? 1 : 0);
      assert.deepEqual(op.stats.endSessions, [], 'logout() without endSession leaves the provider\'s session');
      const after = await refreshAt(op, current);
      if (profile.revocation) {
        assert.equal(after.body.error, 'invalid_grant', 'revoked');
      } else {
        assert.equal(after.status, 200, 'Entra has no revocation endpoint: the refresh token outlives the logout');
      }
      assert.deepEqual(failures, []);
    });

    if (profile.endSession) {
      test('logout({ endSession: true }) ends the session at the provider: the end-session URL with client_id, id_token_hint (the last ID token) and post_logout_redirect_uri, which the provider accepts', async () => {
        const { af } = await loggedIn();
        const revoked = op.stats.revoked;
        const href = await af.logout({ endSession: true, returnTo: redirectUri });
        assert.equal(af.accessToken, null);
        assert.equal(op.stats.revoked - revoked, profile.revocation ? 1 : 0, 'revoked first where it can');
        const url = new URL(href);
        assert.equal(url.origin + url.pathname, op.endpoint('end_session'));
        assert.equal(url.searchParams.get('client_id'), 'spa');
        assert.equal(url.searchParams.get('post_logout_redirect_uri'), redirectUri);
        const hint = url.searchParams.get('id_token_hint');
        assert.ok(hint && hint.split('.').length === 3, `an ID token: ${hint}`);
        assert.equal(JSON.parse(Buffer.from(hint.split('.')[1], 'base64url')).aud, 'spa');
        // The provider takes it (its sign-out confirmation), where without the hint Okta's
        // answers 400.
        const r = await fetch(url, { redirect: 'manual' });
        assert.equal(r.status, 200, await r.text());
        // The ID token goes with the tokens: a second logout has none to send.
        const again = new URL(await af.logout({ endSession: true }));
        assert.equal(again.searchParams.get('id_token_hint'), null);
      });
    } else {
      test('logout({ endSession: true }) where the provider publishes no end_session_endpoint: the tokens are gone, and end_session_unsupported says why', async () => {
        const { af } = await loggedIn();
        await assert.rejects(af.logout({ endSession: true }), (e) => e.code === 'end_session_unsupported');
        assert.equal(af.accessToken, null);
      });
    }

    if (profile.endSession?.requireIdTokenHint) {
      test('Okta\'s end-session needs id_token_hint: without it, 400 (reauth sends the last ID token)', async () => {
        const url = new URL(op.endpoint('end_session'));
        url.searchParams.set('client_id', 'spa');
        url.searchParams.set('post_logout_redirect_uri', redirectUri);
        const r = await fetch(url, { redirect: 'manual' });
        assert.equal(r.status, 400);
        assert.equal((await r.json()).error, 'invalid_request');
      });
    }
  });
}
