// OAuth 2.0 built in, in Chromium against a real authorization server (oidc-provider): the
// login round trip through its login form (Playwright fills it), a forged state and a denied
// login rejected, and a reload that keeps the session (storage: 'session').
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, root, serveStatic } from './helpers.mjs';
import { startProvider } from '../oidc/provider.mjs';

let app, op, browser;
let callback;
before(async () => {
  app = await serveStatic(root);
  callback = `${app.url}/tests/js/fixtures/oauth.html`;
  op = await startProvider({ redirectUris: [callback] });
  browser = await launchChromium();
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

/** Starts the login in the page and fills the authorization server's login form. */
async function logIn(page, { abort = false } = {}) {
  // Not awaited in the page: the navigation replaces it.
  await page.evaluate(() => { window.af.login({ returnTo: '/done' }); });
  await page.waitForURL(`${op.issuer}/**`);
  await page.waitForSelector('input[name=login]');
  if (abort) {
    await page.click('a[href*="abort"]');
  } else {
    await page.fill('input[name=login]', 'bob');
    await page.fill('input[name=password]', 'secret');
    await page.click('button[type=submit]');
  }
  await page.waitForURL(`${callback}?**`);
  await page.waitForFunction(() => window.result !== undefined);
  return page.evaluate(() => window.result);
}

test('login round trip in Chromium: the login form, back with a code, a call to the resource', async () => {
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

test('a login the user cancels comes back as access_denied', async () => {
  const { page } = await openApp();
  assert.deepEqual(await logIn(page, { abort: true }), { error: 'access_denied' });
  await page.close();
});
