// The built package in each browser engine, loaded by a plain <script type="module">: the ways
// init() takes the module, the inline entry, and the shared parser vectors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAll, root, sendFile, serveStatic, vectorMismatches, vectors } from './helpers.mjs';
import { engineName, engines, launch } from './engines.mjs';

for (const engine of engines) {
describe(engineName[engine], () => {
  let server, browser, page;
  before(async () => {
    server = await serveStatic(root, async (req, res, url) => {
      // /spa/…: a single-page app's server, whose history fallback answers any path that is not a
      // script with the app's HTML page (the .wasm included).
      if (url.pathname.startsWith('/spa/')) {
        if (url.pathname.endsWith('.js')) await sendFile(root, url.pathname.slice(4), res);
        else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>app</title>');
        return true;
      }
      // csp.html?policy=…: a strict policy (no inline script, Trusted Types), with or without
      // 'wasm-unsafe-eval'.
      const wasm = { strict: " 'wasm-unsafe-eval'", nowasm: '' }[url.searchParams.get('policy')];
      if (url.pathname.endsWith('/csp.html') && wasm !== undefined) {
        res.setHeader('content-security-policy', `script-src 'self'${wasm}; require-trusted-types-for 'script'`);
      }
      return false;
    });
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

  /** Opens fixtures/`path` in a fresh page; returns its `window.loaded`. */
  async function open(path) {
    const p = await browser.newPage();
    try {
      await p.goto(`${server.url}/tests/js/fixtures/${path}`);
      await p.waitForFunction(() => window.loaded !== undefined);
      return await p.evaluate(() => window.loaded);
    } finally {
      await p.close();
    }
  }

  // What an authFetch has beyond the core's, per build: the cookie-session build's four, the
  // OAuth build's own; the core none.
  const buildMembers = (entry) => (/\/bff/.test(entry) ? ['login', 'completeLogin', 'logout', 'session']
    : /\/oauth/.test(entry) ? ['authorizationUrl', 'login', 'completeLogin', 'logout'] : []);
  const firstCall = (entry) => ({
    before: { accessToken: null, type: 'function', readyIsPromise: true, members: buildMembers(entry) },
    call: { status: 200, text: 'ok', sent: ['Bearer early'] },
    after: { accessToken: 'early', parsed: 'Basic', members: [buildMembers(entry), buildMembers(entry)] },
    badOption: 'TypeError: createAuthFetch: options.onAuthFail is not an option; did you mean onAuthFailure?',
  });

  test('an authFetch made and called before the module has loaded (no init()) waits for it, then is the same, with its build\'s members before the load and after', async () => {
    for (const entry of ['/pkg/index.js', '/pkg/inline.js', '/pkg/bff.js', '/pkg/bff-inline.js', '/pkg/oauth.js', '/pkg/oauth-inline.js']) {
      assert.deepEqual(await open(`first-call.html?entry=${entry}`), firstCall(entry), entry);
    }
  });

  test('a .wasm URL answered with an HTML page (an SPA\'s history fallback) fails each call with an error that says so', async () => {
    const got = await open('first-call.html?entry=/spa/pkg/index.js');
    const said = new RegExp(`^Error: reauth: ${server.url}/spa/pkg/reauth_bg\\.wasm answered text/html; charset=utf-8 \\(an HTML page\\?\\), not the module; serve the \\.wasm as a static file \\(a bundler that emits no \\.wasm, such as esbuild or Rollup: import 'reauth/inline' instead, or 'reauth/bff/inline', 'reauth/oauth/inline'\\)$`);
    assert.match(got.callError ?? JSON.stringify(got), said, 'the call');
    assert.match(got.readyError, said, 'ready');
    assert.match(got.again, said, 'a later call tries again, and says the same');
  });

  test('under a strict CSP with \'wasm-unsafe-eval\' and Trusted Types both entries work; without it, init() names the directive', async () => {
    for (const entry of ['index', 'inline']) {
      assert.deepEqual(await open(`csp.html?policy=strict&entry=${entry}`), { works: true }, entry);
      const refused = await open(`csp.html?policy=nowasm&entry=${entry}`);
      assert.equal(refused.error, 'Error: reauth: the page\'s Content-Security-Policy refuses to compile WebAssembly; '
        + 'add \'wasm-unsafe-eval\' to its script-src (nothing else is needed)', `${entry}: ${JSON.stringify(refused)}`);
    }
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

  test('the entry Angular\'s bundler picks (its es2015 condition: pkg/split.js, pkg/bff-split.js, pkg/oauth-split.js) loads the module from its own chunk at first use, fetching no .wasm', async () => {
    for (const [entry, chunk] of [['split', 'reauth_wasm.js'], ['bff-split', 'reauth_bff_wasm.js'], ['oauth-split', 'reauth_oauth_wasm.js']]) {
      const fetched = [];
      assert.deepEqual(await load('default', entry, fetched), { works: true }, entry);
      assert.ok(fetched.some((u) => u.endsWith(`/pkg/${chunk}`)), fetched.join('\n'));
      assert.deepEqual(fetched.filter((u) => u.endsWith('.wasm')), [], entry);
    }
    for (const entry of ['/pkg/split.js', '/pkg/bff-split.js']) {
      assert.deepEqual(await open(`first-call.html?entry=${entry}`), firstCall(entry), entry);
    }
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
