// The built package in headless Chromium, loaded by a plain <script type="module">.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, parseAll, root, serveStatic, vectorMismatches, vectors } from './helpers.mjs';

let server, browser, page;
before(async () => {
  server = await serveStatic(root);
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.url}/tests/js/fixtures/plain.html`);
  await page.waitForFunction(() => window.ready !== undefined);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('the module loads and init() is idempotent', async () => {
  assert.equal(await page.evaluate(() => window.ready), 'ok');
});

test('parseChallenges agrees with the shared vectors in Chromium', async () => {
  const headers = vectors.map((v) => v.header);
  const results = await page.evaluate(
    `(${parseAll.toString()})(window.reauth.parseChallenges, ${JSON.stringify(headers)})`,
  );
  assert.deepEqual(vectorMismatches(results), []);
});

test('a parse error is a ChallengeParseError in Chromium too', async () => {
  const e = await page.evaluate(() => {
    try {
      window.reauth.parseChallenges('Negotiate abc=, realm=x');
      return null;
    } catch (e) {
      return { name: e.name, message: e.message, isError: e instanceof Error };
    }
  });
  assert.deepEqual(e, { name: 'ChallengeParseError', message: 'auth-param after a token68 at byte 16', isError: true });
});

/** Loads the module in a fresh page as `how` says, from the entry `entry`; returns what the
 * page reported, and with `requests` the URLs the page fetched. */
async function load(how, entry = 'index', requests = []) {
  const p = await browser.newPage();
  p.on('request', (r) => requests.push(r.url()));
  try {
    await p.goto(`${server.url}/tests/js/fixtures/load.html?how=${how}&entry=${entry}`);
    await p.waitForFunction(() => window.loaded !== undefined);
    return await p.evaluate(() => window.loaded);
  } finally {
    await p.close();
  }
}

test('init() loads the module from every kind of input it documents', async () => {
  for (const how of ['default', 'url', 'string', 'request', 'response', 'octet', 'bytes', 'module', 'sync']) {
    assert.deepEqual(await load(how), { works: true }, how);
  }
});

test('a module that fails to load says so and can be loaded again; using it first is a clear error', async () => {
  const missing = await load('missing');
  assert.match(missing.missing, /could not load its \.wasm \(HTTP 404/);
  assert.equal(missing.works, true);
  const early = await load('early');
  assert.match(early.early, /await init\(\)/);
  assert.equal(early.works, true);
});

test('reauth/inline (pkg/inline.js) loads the module from inside itself, fetching no .wasm, and takes the same inputs', async () => {
  const requests = [];
  assert.deepEqual(await load('default', 'inline', requests), { works: true });
  assert.ok(requests.some((u) => u.endsWith('/pkg/reauth_wasm.js')), requests.join('\n'));
  assert.deepEqual(requests.filter((u) => u.endsWith('.wasm')), []);
  for (const how of ['bytes', 'module', 'url', 'sync']) {
    assert.deepEqual(await load(how, 'inline'), { works: true }, how);
  }
  const early = await load('early', 'inline');
  assert.match(early.early, /await init\(\)/);
  assert.equal(early.works, true);
  const missing = await load('missing', 'inline');
  assert.match(missing.missing, /could not load its \.wasm \(HTTP 404/);
  assert.equal(missing.works, true);
});

test('reauth/inline loads in a dedicated worker too', async () => {
  const got = await page.evaluate(() => new Promise((ok) => {
    new Worker('/tests/js/fixtures/inline-worker.mjs', { type: 'module' }).onmessage = (e) => ok(e.data);
  }));
  assert.equal(got, 'x');
});
