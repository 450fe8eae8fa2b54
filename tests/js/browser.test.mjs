// The built package in each browser engine, loaded by a plain <script type="module">: the ways
// init() takes the module, the inline entry, and the shared parser vectors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAll, root, serveStatic, vectorMismatches, vectors } from './helpers.mjs';
import { engineName, engines, launch } from './engines.mjs';

for (const engine of engines) {
describe(engineName[engine], () => {
  let server, browser, page;
  before(async () => {
    server = await serveStatic(root);
    browser = await launch(engine);
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

  test('parseChallenges agrees with the shared vectors ', async () => {
    const headers = vectors.map((v) => v.header);
    const results = await page.evaluate(
      `(${parseAll.toString()})(window.reauth.parseChallenges, ${JSON.stringify(headers)})`,
    );
    assert.deepEqual(vectorMismatches(results), []);
  });

  test('a parse error is a ChallengeParseError too', async () => {
    const e = await page.evaluate(() => window.parseError('Negotiate abc=, realm=x'));
    assert.deepEqual(e, { name: 'ChallengeParseError', message: 'auth-param after a token68 at byte 16', isError: true });
  });

  /** Loads the module in a fresh page as `how` says, from the entry `entry` (`query`: more of the
   * page's query); returns what the page reported, and with `fetched` the paths it fetched. */
  async function load(how, entry = 'index', fetched = [], query = '') {
    const p = await browser.newPage();
    try {
      await p.goto(`${server.url}/tests/js/fixtures/load.html?how=${how}&entry=${entry}${query}`);
      await p.waitForFunction(() => window.loaded !== undefined);
      fetched.push(...await p.evaluate(() => window.fetched));
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
    const fetched = [];
    assert.deepEqual(await load('default', 'inline', fetched), { works: true });
    assert.ok(fetched.includes('/pkg/reauth_wasm.js'), fetched.join('\n'));
    assert.deepEqual(fetched.filter((u) => u.endsWith('.wasm')), []);
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

  test('reauth/inline without Uint8Array.fromBase64 (before Chrome 140, Firefox 133, Safari 18.2) decodes with atob', async () => {
    assert.deepEqual(await load('default', 'inline', [], '&without=fromBase64'), { works: true });
  });

  test('reauth/inline without DecompressionStream says what it needs; the main entry still loads', async () => {
    const got = await load('default', 'inline', [], '&without=DecompressionStream');
    assert.match(got.error ?? '', /TypeError: reauth\/inline needs DecompressionStream/, JSON.stringify(got));
    assert.deepEqual(await load('default', 'index', [], '&without=DecompressionStream,fromBase64'), { works: true });
  });

  test('reauth/inline loads in a dedicated worker too', async () => {
    const got = await page.evaluate(() => new Promise((ok) => {
      new Worker('/tests/js/fixtures/inline-worker.mjs', { type: 'module' }).onmessage = (e) => ok(e.data);
    }));
    assert.equal(got, 'x');
  });
});
}
