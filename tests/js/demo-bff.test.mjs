// End-to-end: the demo's BFF mode (`./scripts/demo.sh --bff`, i.e. demo-server/bff.mjs): the
// demo page as a cookie-session app behind the express-openid-connect BFF, in Chromium, driven
// as a person would: the login through the BFF and the provider's form, one session refresh for
// 20 calls on the timeline, and a session that ends.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, root, startLauncher } from './helpers.mjs';

const artifacts = join(root, 'target/e2e');
let launcher, url, browser;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  ({ url, launcher } = await startLauncher('bff.mjs', 'BFF'));
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  launcher?.kill('SIGINT');
});

test('BFF mode: login at the BFF, one session refresh for 20 calls, X-CSRF on each, and the end of the session', async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const origin = new URL(url).origin;
  const stats = () => fetch(`${origin}/demo/stats`).then((r) => r.json()).then((j) => j.stats);
  await page.goto(url);
  await page.waitForFunction(() => window.demoReady === true);
  // The page loads the build its mode needs: the cookie-session build, no other.
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)
    .filter((p) => p.startsWith('/pkg/')).sort());
  assert.deepEqual(loaded, ['/pkg/bff.js', '/pkg/loader.js', '/pkg/reauth_bff.js', '/pkg/reauth_bff_bg.wasm']);
  assert.equal(await page.isVisible('#bff-login'), true, 'not logged in yet');
  // The BFF's login: to the provider's form, back through the BFF's callback to the page.
  await page.click('#bff-login button[type=submit]');
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', 'erin');
  await page.fill('input[name=password]', 'secret');
  await page.click('button[type=submit]');
  await page.waitForSelector('#app-view:not([hidden])');
  assert.equal(await page.textContent('#user'), 'erin', 'session() gave the claims');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly');
  const settled = (n) => page.waitForFunction((k) => window.demo.calls.length >= k && window.demo.calls.every((c) => c.end !== undefined), n);
  await page.click('#call-one');
  await settled(1);
  // Expire the session's access token, fire 20: one POST /bff/refresh, the retries, 20 × 200.
  await page.click('#expire');
  await page.waitForTimeout(1100);
  const before = await stats();
  await page.click('#call-twenty');
  await settled(21);
  const s = await stats();
  assert.equal(s.refreshes - before.refreshes, 1, 'one session refresh');
  assert.deepEqual(await page.evaluate(() => window.demo.calls.slice(1).map((c) => c.status)), Array(20).fill(200));
  assert.equal(await page.textContent('#c-refreshes'), '1');
  // A retry for each 401 (a call the browser queued until after the refresh went out with the
  // new cookie and needed none).
  const retries = Number(await page.textContent('#c-retries'));
  assert.ok(retries >= 1);
  assert.equal(retries, Number(await page.textContent('#c-401')));
  assert.equal(await page.evaluate(() => window.demo.refreshes.length), 1, 'the refresh lane shows it');
  await page.waitForTimeout(100);
  await page.locator('body').screenshot({ path: join(artifacts, 'timeline-bff.png') });
  // The session cannot be refreshed any more: one call, the hook, the login view.
  await page.click('#revoke');
  await page.waitForTimeout(1100);
  await page.click('#call-one');
  await settled(22);
  await page.waitForSelector('#login-view:not([hidden])');
  assert.match(await page.textContent('#login-message'), /session ended/);
  assert.deepEqual(await page.evaluate(() => window.demo.authFailures), ['refresh_failed']);
  assert.deepEqual(errors, []);
});
