// End-to-end: the demo's OIDC mode (`./scripts/demo.sh --oidc`, i.e. demo-server/oidc.mjs):
// the demo page logs in through oidc-provider's login form with DPoP, in Chromium, driven as a
// person would; the timeline shows the proofs, a nonce retry and the refresh.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, root, startLauncher } from './helpers.mjs';

const artifacts = join(root, 'target/e2e');
let launcher, url, browser;

before(async () => {
  assert.ok(existsSync(join(root, 'target/debug/reauth-demo')), 'build it first: cargo build -p reauth-demo');
  mkdirSync(artifacts, { recursive: true });
  ({ url, launcher } = await startLauncher('oidc.mjs', 'OIDC'));
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  launcher?.kill('SIGINT');
});

test('OIDC mode: login at the authorization server, DPoP proofs, a nonce retry, one refresh for 20 calls', async () => {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.demoReady === true);
  // The page loads the build its mode needs: the OAuth build, no other.
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)
    .filter((p) => p.startsWith('/pkg/')).sort());
  assert.deepEqual(loaded, ['/pkg/loader.js', '/pkg/oauth.js', '/pkg/reauth_oauth.js', '/pkg/reauth_oauth_bg.wasm']);
  const api = new URL(url).searchParams.get('api');
  const stats = () => fetch(`${api}/demo/stats`).then((r) => r.json()).then((j) => j.stats);
  // The login form of the authorization server, and back.
  await page.click('#oidc-login button[type=submit]');
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', 'erin');
  await page.fill('input[name=password]', 'secret');
  await page.click('button[type=submit]');
  await page.waitForSelector('#app-view:not([hidden])');
  assert.equal(new URL(page.url()).search, '', 'the callback query is gone from the address bar');
  const settled = (n) => page.waitForFunction((k) => window.demo.calls.length >= k && window.demo.calls.every((c) => c.end !== undefined), n);
  // One call: its proof first lacks the API's nonce, the API asks for it, one retry.
  await page.click('#call-one');
  await settled(1);
  assert.equal(await page.textContent('#c-nonce'), '1');
  // Expire the token, fire 20: one refresh (the grant, DPoP-bound), 20 successes.
  await fetch(`${api}/demo/expire`, { method: 'POST' });
  const before = await stats();
  await page.click('#call-twenty');
  await settled(21);
  const s = await stats();
  assert.equal(s.refreshes - before.refreshes, 1, 'one refresh');
  assert.deepEqual(await page.evaluate(() => window.demo.calls.slice(1).map((c) => c.status)), Array(20).fill(200));
  assert.equal(s.proofs - before.proofs, 20, 'the API checked 20 proofs');
  assert.equal(await page.textContent('#c-refreshes'), '1');
  // The nonce knob: the next call is retried once with the new nonce, without a refresh.
  await page.click('#rotate-nonce');
  await page.waitForTimeout(50);
  await page.click('#call-one');
  await settled(22);
  assert.equal(await page.textContent('#c-nonce'), '2');
  assert.equal((await stats()).refreshes - before.refreshes, 1);
  assert.ok(Number(await page.textContent('#c-proofs')) >= 43, 'every attempt carried a proof');
  await page.waitForTimeout(100);
  await page.locator('body').screenshot({ path: join(artifacts, 'timeline-oidc.png') });
  assert.deepEqual(errors, []);
});
