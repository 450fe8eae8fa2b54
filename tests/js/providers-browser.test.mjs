// reauth's OAuth build against the provider profiles (tests/oidc/profiles.mjs) in a browser:
// the login through the provider's form, a call, an expired token and one refresh, step-up where
// the provider has it (reauth's default: the page goes to the login with acr_values and max_age),
// and logout: revocation where there is an endpoint, and the provider's end-session (reauth's
// logout({ endSession: true }), RP-Initiated Logout with id_token_hint) where it publishes one.
// Chromium by default (ENGINES=chromium,firefox,webkit for the others: each profile needs a
// browser profile of its own, as the providers' session cookies share the host 127.0.0.1).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { root, serveStatic } from './helpers.mjs';
import { profiles, startProfile } from '../oidc/profiles.mjs';
import { engineName, launch } from './engines.mjs';

const engines = (process.env.ENGINES ?? 'chromium').split(',').map((e) => e.trim()).filter(Boolean);

for (const engine of engines) {
describe(engineName[engine] ?? engine, () => {
  let app, browser, callback;
  before(async () => {
    app = await serveStatic(root);
    callback = `${app.url}/tests/js/fixtures/providers.html`;
    browser = await launch(engine);
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  const items = { status: 200, body: { sub: 'bob', path: '/api/items' } };

  /** Fills the provider's login form (the page is at the provider). */
  async function fillForm(page, op) {
    await page.waitForURL(`${op.origin}/**`);
    await page.waitForSelector('input[name=login]');
    await page.fill('input[name=login]', 'bob');
    await page.fill('input[name=password]', 'secret');
    await page.click('button[type=submit]');
  }

  /** Waits until the app is back at the callback with its login done. */
  async function backAtApp(page) {
    await page.waitForURL(new RegExp(`^${callback.replace(/[.?*+^$()[\]{}|\\]/g, '\\$&')}`));
    await page.waitForFunction(() => window.ready === true && window.result !== undefined && !window.before);
    return page.evaluate(() => window.result);
  }

  for (const name of Object.keys(profiles)) {
    const profile = profiles[name];
    test(`${profile.name}: login through the form, a call, expire → one refresh → 200${profile.acr ? ', step-up' : ''}, logout${profile.endSession ? ' with the provider\'s end-session' : ' (no end-session: the provider\'s session outlives it)'}`, async () => {
      const op = await startProfile(name, { redirectUris: [callback] });
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(`${callback}?issuer=${encodeURIComponent(op.issuer)}`);
        await page.waitForFunction(() => window.ready === true);

        // Login: to the profile's authorization endpoint, its form, back with a code.
        await page.evaluate(() => { window.before = true; window.af.login({ returnTo: '/done' }); });
        await fillForm(page, op);
        assert.deepEqual(await backAtApp(page), { returnTo: '/done', api: items });
        assert.ok(op.stats.authorizations.at(-1).startsWith(`${op.routes.authorization}?`), 'at the profile\'s authorization endpoint');
        assert.equal(op.stats.grants.authorization_code, 1);

        // Expired: one refresh, the calls succeed.
        await op.expire();
        assert.deepEqual(await page.evaluate(() => Promise.all([1, 2, 3].map(() => window.call('/api/items')))), [items, items, items]);
        assert.equal(op.stats.grants.refresh_token, 1, 'one refresh');

        if (profile.acr) {
          // Step-up: the resource asks for the stronger acr; reauth sends the page to the
          // login with acr_values and max_age; the provider shows its form again.
          await page.evaluate(() => {
            window.before = true; // this document, not the one the login comes back to
            window.call('/api/strong');
          });
          await fillForm(page, op);
          const back = await backAtApp(page);
          assert.equal(back.api.status, 200);
          const asked = new URL(op.stats.authorizations.at(-1), op.origin).searchParams;
          assert.deepEqual([asked.get('acr_values'), asked.get('max_age')], [profile.acr.stepUp, '300']);
          assert.equal((await page.evaluate(() => window.call('/api/strong'))).status, 200, 'the stronger login passes');
          assert.equal(op.stats.grants.authorization_code, 2);
        } else if (profile.stepUpChallenge) {
          const r = await page.evaluate(() => window.call('/api/strong'));
          assert.equal(r.status, 401, 'a claims challenge is handed back');
          assert.ok(await page.evaluate(() => window.af.accessToken), 'the page stays, logged in');
        }

        const revoked = op.stats.revoked;
        if (profile.endSession) {
          // reauth's logout with the provider's end-session: revocation where there is an
          // endpoint, then the provider (its sign-out confirmation), then back to the page.
          await page.evaluate(() => { window.before = true; window.endSession(); });
          await page.waitForURL(`${op.origin}/**`);
          await page.click('button[type=submit]');
          await page.waitForURL(new RegExp(`^${callback.replace(/[.?*+^$()[\]{}|\\]/g, '\\$&')}`));
          await page.waitForFunction(() => window.ready === true && window.before === undefined);
          assert.equal(op.stats.revoked - revoked, profile.revocation ? 1 : 0);
          assert.equal(op.stats.endSessions.length, 1, 'the provider ended its session');
          assert.equal(await page.evaluate(() => window.af.accessToken), null);
          // The provider's session is over: the next login shows the form.
          await page.evaluate(() => { window.before = true; window.af.login({ returnTo: '/again' }); });
          await fillForm(page, op);
          assert.deepEqual(await backAtApp(page), { returnTo: '/again', api: items });
        } else {
          // No end_session_endpoint (Auth0 without RP-initiated logout discovery): endSession
          // says so; logout() revokes, and the provider's session outlives it: the next login
          // comes back with a code and no form.
          assert.equal(await page.evaluate(() => window.endSession()), 'error: end_session_unsupported');
          assert.equal(await page.evaluate(() => window.af.accessToken), null);
          assert.equal(op.stats.revoked - revoked, profile.revocation ? 1 : 0);
          assert.deepEqual(op.stats.endSessions, []);
          const codes = op.stats.grants.authorization_code;
          await page.evaluate(() => { window.before = true; window.af.login({ returnTo: '/again' }); });
          assert.deepEqual(await backAtApp(page), { returnTo: '/again', api: items });
          assert.equal(op.stats.grants.authorization_code, codes + 1);
        }
        assert.deepEqual(await page.evaluate(() => window.failures), []);
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
        await op.close();
      }
    });
  }
});
}
