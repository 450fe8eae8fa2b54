// Hardening in each engine: where a relative URL goes (the document's base URL, not the page's
// URL), instances of one page that share a storage key, and memory held flat while calls wait
// with signals. A real server plays the page's origin, another a foreign one.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { control } from './scenarios.mjs';
import { startServer } from './server.mjs';
import { engineName, engines, launch } from './engines.mjs';

for (const engine of engines) {
describe(engineName[engine], () => {
  let server, foreign, browser, context, page, ctl, fctl;
  const pageErrors = [];

  before(async () => {
    server = await startServer();
    foreign = await startServer({ cors: true });
    ctl = control(server.url);
    fctl = control(foreign.url);
    browser = await launch(engine);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await foreign?.close();
  });
  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext();
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(`${server.url}/tests/js/fixtures/blank.html`);
    await page.waitForFunction(() => window.ready === true);
    await ctl.reset();
    await fctl.reset();
  });

  const requests = async (base = server.url) => (await ctl.state(base)).requests.map((q) => [q.path, q.auth]);

  /** In the page: a <base href> pointing at `href`. */
  const setBase = (href) => page.evaluate((h) => {
    let b = document.querySelector('base');
    if (!b) {
      b = document.createElement('base');
      document.head.append(b);
    }
    b.href = h;
  }, href);

  test('a <base> on a foreign origin: a relative URL goes there without the token', async () => {
    await setBase(`${foreign.url}/`);
    const status = await page.evaluate(async () => {
      const af = window.reauth.createAuthFetch({ refresh: async () => 'x' });
      af.setTokens({ accessToken: 'at-0' });
      return (await af('api/relative')).status;
    });
    assert.equal(status, 401, 'the foreign server answered (it does not know the token)');
    assert.deepEqual(await requests(foreign.url), [['/api/relative', null]], 'the call went where fetch sends it, without the token');
    assert.deepEqual(await requests(), [], 'nothing reached the page\'s origin');
  });

  test('a <base> on an allowed origin: a relative URL gets the token there', async () => {
    await setBase(`${foreign.url}/`);
    const status = await page.evaluate(async (allowed) => {
      // The page's own origin is not allowed; the base's is.
      const af = window.reauth.createAuthFetch({ refresh: async () => 'x', origins: [allowed] });
      af.setTokens({ accessToken: 'at-0' });
      await af('api/relative');
      return (await af('/api/absolute-path')).status;
    }, foreign.url);
    assert.equal(status, 200, 'that server takes the token');
    assert.deepEqual(await requests(foreign.url), [['/api/relative', 'Bearer at-0'], ['/api/absolute-path', 'Bearer at-0']]);
  });

  test('a <base> inserted after createAuthFetch is read at call time', async () => {
    await page.evaluate(() => {
      window.af = window.reauth.createAuthFetch({ refresh: async () => 'x' });
      window.af.setTokens({ accessToken: 'at-0' });
    });
    await page.evaluate(() => window.af('/api/before-base'));
    await setBase(`${foreign.url}/`);
    await page.evaluate(() => window.af('/api/after-base'));
    assert.deepEqual(await requests(), [['/api/before-base', 'Bearer at-0']]);
    assert.deepEqual(await requests(foreign.url), [['/api/after-base', null]]);
  });

  test('the retry goes where the first attempt went, though the <base> changed meanwhile', async () => {
    await page.evaluate((base) => {
      window.af = window.reauth.createAuthFetch({
        refresh: async (ctx) => {
          // The base changes while the refresh runs.
          const b = document.createElement('base');
          b.href = `${window.foreign}/`;
          document.head.append(b);
          const r = await ctx.fetch(`${base}/token`, { method: 'POST', body: JSON.stringify({ refreshToken: ctx.refreshToken }) });
          const j = await r.json();
          return { accessToken: j.access_token, refreshToken: j.refresh_token };
        },
      });
      window.af.setTokens({ accessToken: 'at-0', refreshToken: 'rt-0' });
    }, server.url);
    await page.evaluate((f) => { window.foreign = f; }, foreign.url);
    await ctl.expire();
    const status = await page.evaluate(async () => (await window.af('/api/retried')).status);
    assert.equal(status, 200);
    assert.deepEqual(await requests(), [['/api/retried', 'Bearer at-0'], ['/api/retried', 'Bearer at-1']]);
    assert.deepEqual(await requests(foreign.url), [], 'nothing, and no token, went to the foreign origin');
  });

  for (const [storage, crossTab] of [['session', false], ['local', false], ['local', true]]) {
    test(`two instances on one storage key in one page (${storage}${crossTab ? ', crossTab' : ''}) share one session: one refresh, the rotated token reaches both`, async () => {
      const out = await page.evaluate(async ({ storage, crossTab }) => {
        const failures = [];
        const make = () => window.reauth.createAuthFetch({
          storage,
          crossTab,
          storageKey: 'shared',
          onAuthFailure: (i) => failures.push(i.reason),
          async refresh(ctx) {
            const r = await ctx.fetch('/token', { method: 'POST', body: JSON.stringify({ refreshToken: ctx.refreshToken }) });
            if (!r.ok) throw new Error(`token endpoint answered ${r.status}`);
            const j = await r.json();
            return { accessToken: j.access_token, refreshToken: j.refresh_token };
          },
        });
        // React StrictMode's double useMemo, or a hot reload: a second instance.
        const a = make();
        a.setTokens({ accessToken: 'at-0', refreshToken: 'rt-0' });
        const b = make();
        await fetch('/__control/expire', { method: 'POST' });
        const first = (await a('/api/a')).status;
        const second = (await b('/api/b')).status;
        await fetch('/__control/expire', { method: 'POST' });
        const together = (await Promise.all([a('/api/c'), b('/api/d'), a('/api/e'), b('/api/f')])).map((r) => r.status);
        return { first, second, together, failures, tokens: [a.accessToken, b.accessToken] };
      }, { storage, crossTab });
      assert.deepEqual(out, { first: 200, second: 200, together: [200, 200, 200, 200], failures: [], tokens: ['at-2', 'at-2'] });
      const st = await ctl.state();
      assert.deepEqual(st.refreshBodies, ['rt-0', 'rt-1'], 'each refresh token presented once');
      assert.equal(st.reuseDetected, 0);
    });
  }

  for (const where of ['window', 'worker']) {
    test(`globalThis.fetch = authFetch at startup, before the module has loaded, in a ${where}: every entry loads it and then routes fetch() through reauth`, async () => {
      for (const entry of ['index', 'inline', 'bff', 'bff-inline', 'oauth', 'oauth-inline']) {
        await ctl.reset();
        const p = await context.newPage();
        try {
          await p.goto(`${server.url}/tests/js/fixtures/global-fetch.html?entry=/pkg/${entry}.js${where === 'worker' ? '&worker=1' : ''}`);
          await p.waitForFunction(() => window.loaded !== undefined, null, { timeout: 15000 });
          const got = await p.evaluate(() => window.loaded);
          assert.deepEqual(got, { ready: 'ready', statuses: [200, 200], refreshed: ['rt-0'], token: 'at-1' }, entry);
        } finally {
          await p.close();
        }
        const st = await ctl.state();
        assert.equal(st.refreshCalls, 1, `${entry}: one refresh for both calls`);
        assert.deepEqual(st.requests.filter((q) => q.path.startsWith('/api/g')).map((q) => q.auth).sort(),
          ['Bearer at-0', 'Bearer at-0', 'Bearer at-1', 'Bearer at-1'], `${entry}: each call sent with the token, retried with the new one`);
      }
    });
  }

  test('calls that wait for a refresh with an AbortSignal leave nothing behind in wasm memory', async () => {
    const out = await page.evaluate(async () => {
      const { glue } = window;
      const { waitWithSignals } = await import(new URL('/tests/js/waiting.mjs', location.origin).href);
      const memory = Object.values(glue.initSync({ module: new Uint8Array() })).find((e) => typeof e?.grow === 'function' && 'buffer' in e);
      return waitWithSignals(window.reauth.createAuthFetch, () => memory.buffer.byteLength);
    });
    assert.ok(out.after <= out.warm + 65536, `wasm memory ${out.warm} -> ${out.after} over 24,000 waiting calls`);
  });

  test('no uncaught errors on the pages', () => {
    assert.deepEqual(pageErrors, []);
  });
});
}
