// OAuth 2.0 built in, in each engine against a real authorization server (oidc-provider): the
// login round trip through its login form (Playwright fills it), a forged state and a denied
// login rejected, and a reload that keeps the session (storage: 'session').
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { root, serveStatic } from './helpers.mjs';
import { logInInPage, startProvider } from '../oidc/provider.mjs';
import { engineName, engines, launch } from './engines.mjs';

for (const engine of engines) {
describe(engineName[engine], () => {
  let app, op, browser;
  let callback;
  before(async () => {
    app = await serveStatic(root);
    callback = `${app.url}/tests/js/fixtures/oauth.html`;
    op = await startProvider({ redirectUris: [callback] });
    browser = await launch(engine);
  });
  after(async () => {
    await browser?.close();
    await op?.close();
    await app?.close();
  });

  async function openApp() {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${callback}?issuer=${encodeURIComponent(op.issuer)}`);
    await page.waitForFunction(() => window.ready === true);
    return { page, errors };
  }

  const logIn = (page, options) => logInInPage(page, { issuer: op.issuer, callback, ...options });

  test('login round trip: the login form, back with a code, a call to the resource', async () => {
    const { page, errors } = await openApp();
    const result = await logIn(page);
    assert.deepEqual(result, { returnTo: '/done', api: { status: 200, body: { sub: 'bob', path: '/api/items' } } });
    // A reload keeps the session (its tokens are in sessionStorage).
    await page.reload();
    await page.waitForFunction(() => window.ready === true);
    assert.deepEqual(await page.evaluate(() => window.callApi()), { status: 200, body: { sub: 'bob', path: '/api/items' } });
    // A forged callback: another state.
    await page.goto(`${callback}?code=forged&state=not-ours`);
    await page.waitForFunction(() => window.result !== undefined);
    assert.deepEqual(await page.evaluate(() => window.result), { error: 'state_mismatch' });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('with storage: \'memory\', login() leaves the page and the callback still completes it', async () => {
    // The pending login (verifier, state) outlives the page in sessionStorage; the tokens stay
    // in memory only.
    const page = await browser.newPage();
    await page.goto(`${callback}?issuer=${encodeURIComponent(op.issuer)}&storage=memory`);
    await page.waitForFunction(() => window.ready === true);
    const result = await logIn(page, { prompt: 'login' });
    assert.deepEqual(result, { returnTo: '/done', api: { status: 200, body: { sub: 'bob', path: '/api/items' } } });
    assert.deepEqual(await page.evaluate(() => [sessionStorage.getItem('reauth'), sessionStorage.getItem('reauth:login')]),
      [null, null], 'no tokens in storage; the pending login is gone once used');
    await page.close();
  });

  test('a login the user cancels comes back as access_denied', async () => {
    const { page } = await openApp();
    // prompt=login: the form again, though this browser may have a session at the provider
    // (over WebDriver, pages share one profile).
    assert.deepEqual(await logIn(page, { abort: true, prompt: 'login' }), { error: 'access_denied' });
    await page.close();
  });

  test('an issuer with a path (Keycloak\'s /realms/demo): discovery, login, refresh and logout', async () => {
    const realm = await startProvider({ redirectUris: [callback], prefix: '/realms/demo' });
    try {
      const page = await browser.newPage();
      await page.goto(`${callback}?issuer=${encodeURIComponent(realm.issuer)}`);
      await page.waitForFunction(() => window.ready === true);
      const result = await logInInPage(page, { issuer: realm.issuer, callback });
      assert.deepEqual(result, { returnTo: '/done', api: { status: 200, body: { sub: 'bob', path: '/api/items' } } });
      await realm.expire();
      assert.deepEqual(await page.evaluate(() => window.callApi()), { status: 200, body: { sub: 'bob', path: '/api/items' } });
      assert.equal(realm.stats.grants.refresh_token, 1, 'refreshed');
      await page.evaluate(() => window.af.logout());
      assert.equal(realm.stats.revoked, 1, 'revoked');
      assert.equal(await page.evaluate(() => window.af.accessToken), null);
      await page.close();
    } finally {
      await realm.close();
    }
  });
});
}
