// End-to-end: the demo server (Rust) and the demo page in Chromium, driven as a person would.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, root } from './helpers.mjs';

const binary = join(root, 'target/debug/reauth-demo');
const artifacts = join(root, 'target/e2e');

async function startDemo(...flags) {
  assert.ok(existsSync(binary), 'build it first: cargo build -p reauth-demo');
  const child = spawn(binary, ['--port', '0', '--root', root, ...flags], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout, 'data');
  return { child, url: String(line).match(/http:\/\/[\d.:]+/)[0] };
}

let demo, browser, page;
const post = (path, body) =>
  fetch(`${demo.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) }).then((r) => r.json());
const stats = () => fetch(`${demo.url}/demo/stats`).then((r) => r.json()).then((j) => j.stats);

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  demo = await startDemo('--demo');
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  demo?.child.kill('SIGINT');
});
beforeEach(async () => {
  await page?.close();
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(demo.url);
  await page.waitForFunction(() => window.demoReady === true);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app-view:not([hidden])');
  await post('/demo/reset');
});

const settled = (n) => page.waitForFunction((k) => window.demo.calls.length >= k && window.demo.calls.every((c) => c.end !== undefined), n);

test('the page loads the build its mode needs: the core (its own refresh hook), no other', async () => {
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)
    .filter((p) => p.startsWith('/pkg/')).sort());
  assert.deepEqual(loaded, ['/pkg/index.js', '/pkg/loader.js', '/pkg/reauth.js', '/pkg/reauth_bg.wasm']);
});

test('expired token, 20 concurrent calls: exactly one refresh and 20 successes', async () => {
  await post('/demo/expire');
  await page.click('#call-twenty');
  await settled(20);
  const s = await stats();
  assert.equal(s.refreshes, 1, 'one refresh');
  assert.equal(s.refresh_ok, 1);
  assert.equal(s.api_ok, 20, '20 successes');
  assert.equal(s.unauthorized, 20, 'each first attempt was refused');
  assert.equal(s.api_requests, 40, '20 attempts and 20 retries');
  const page401 = await page.evaluate(() => window.demo.calls.map((c) => c.status));
  assert.deepEqual(page401, Array(20).fill(200), 'the page got 20 successes');
  assert.equal(await page.textContent('#c-refreshes'), '1');
  await page.waitForTimeout(100);
  await page.locator('body').screenshot({ path: join(artifacts, 'timeline-burst.png') });
});

test('revoked refresh token: the redirect hook fires once and the login view shows', async () => {
  await post('/demo/expire');
  await post('/demo/revoke');
  await page.click('#call-twenty');
  await page.waitForSelector('#login-view:not([hidden])');
  await settled(20);
  assert.deepEqual(await page.evaluate(() => window.demo.authFailures), ['refresh_failed']);
  assert.match(await page.textContent('#login-message'), /session ended/);
  const s = await stats();
  assert.equal(s.refreshes, 1, 'one refresh attempt for 20 calls');
  assert.equal(s.api_requests, 20, 'no retries after a failed refresh');
});

test('a replayed refresh token is refused, its family revoked, and the page logs out without looping', async () => {
  const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('reauth-demo')));
  // Someone else uses the page's refresh token first (a stolen token, or another tab).
  const stolen = await post('/auth/refresh', { refresh_token: stored.refreshToken });
  assert.ok(stolen.access_token, 'the first use is accepted');
  await post('/demo/expire');
  await page.click('#call-one');
  await page.waitForSelector('#login-view:not([hidden])');
  await page.waitForTimeout(500);
  const s = await stats();
  assert.equal(s.refreshes, 2, 'the thief\'s refresh and exactly one from the page: no loop');
  assert.equal(s.reuse_detected, 1, 'the server saw the replay');
  assert.deepEqual(await page.evaluate(() => window.demo.authFailures), ['refresh_failed']);
  // The family is revoked: the thief's new refresh token is dead too.
  const again = await fetch(`${demo.url}/auth/refresh`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: stolen.refresh_token }),
  });
  assert.equal(again.status, 400);
});

test('the knob checkboxes set the server: a slow refresh with latency still ends in one refresh', async () => {
  await page.check('#slow-refresh');
  await page.check('#latency');
  let knobs;
  for (let i = 0; i < 50; i++) {
    knobs = await fetch(`${demo.url}/demo/stats`).then((r) => r.json()).then((j) => j.knobs);
    if (knobs.refresh_delay_ms === 2000 && knobs.latency_ms === 300) break;
    await page.waitForTimeout(20);
  }
  assert.deepEqual([knobs.refresh_delay_ms, knobs.latency_ms], [2000, 300]);
  await post('/demo/expire');
  await page.click('#call-twenty');
  await page.waitForTimeout(600);
  await page.click('#call-one'); // started while the refresh runs: waits for it
  await settled(21);
  const s = await stats();
  assert.equal(s.refreshes, 1);
  assert.equal(s.api_ok, 21);
  await page.uncheck('#slow-refresh');
  await page.uncheck('#latency');
});

test('pass-through routes never refresh: 403 insufficient_scope, 401 Basic', async () => {
  await post('/demo/expire');
  await page.click('#call-one');
  await settled(1);
  await post('/demo/reset');
  await page.click('#call-admin');
  await settled(2);
  assert.equal(await page.evaluate(() => window.demo.calls[1].status), 403);
  const basic = await fetch(`${demo.url}/api/basic`);
  assert.equal(basic.status, 401);
  assert.equal(basic.headers.get('www-authenticate'), 'Basic realm="demo"');
  assert.equal((await stats()).refreshes, 0);
});

test('without --demo the knobs do not exist', async () => {
  const plain = await startDemo();
  try {
    assert.equal((await fetch(`${plain.url}/demo/stats`)).status, 404);
    assert.equal((await fetch(`${plain.url}/demo/expire`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${plain.url}/`)).status, 200, 'the page is still served');
  } finally {
    plain.child.kill('SIGINT');
  }
});

test('the demo server stops cleanly on Ctrl-C', async () => {
  const s = await startDemo('--demo');
  s.child.kill('SIGINT');
  const [code] = await once(s.child, 'exit');
  assert.equal(code, 0);
});
