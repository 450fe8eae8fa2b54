// authFetch in each browser engine (Chromium, Firefox, WebKit), in a window and in a dedicated
// worker, against the same real server: every scenario of scenarios.mjs, the package loaded by
// a plain module script.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { engineName, engines, launch } from './engines.mjs';
import { scenarios } from './scenarios.mjs';
import { startServer } from './server.mjs';

for (const engine of engines) {
  describe(engineName[engine], () => {
    let server, foreign, browser, page;
    const pageErrors = [];

    before(async () => {
      server = await startServer();
      foreign = await startServer({ cors: true });
      browser = await launch(engine);
      page = await browser.newPage();
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      await page.goto(`${server.url}/tests/js/fixtures/auth.html?foreign=${encodeURIComponent(foreign.url)}`);
      await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
    });
    after(async () => {
      await browser?.close();
      await server?.close();
      await foreign?.close();
    });

    for (const runtime of ['window', 'worker']) {
      describe(`in a ${runtime}`, () => {
        for (const name of Object.keys(scenarios)) {
          test(name, async (t) => {
            const fn = runtime === 'window' ? 'runInWindow' : 'runInWorker';
            const failure = await page.evaluate(([f, n]) => window[f](n), [fn, name]);
            if (failure?.skip) return t.skip(failure.skip);
            assert.equal(failure, null);
          });
        }
      });
    }

    test('without onAuthFailure, a failed refresh sends the page to loginUrl with return_to', async () => {
      const other = await browser.newPage();
      const start = `${server.url}/tests/js/fixtures/auth.html?foreign=x`;
      await other.goto(start);
      await other.waitForFunction(() => window.ready === true);
      const navigated = other.waitForURL(/\/login\?/, { timeout: 10000 });
      // Started, not awaited in the page: the redirect replaces the page before the call returns.
      await other.evaluate(() => {
        (async () => {
          // Firefox gives a script run over WebDriver a module instance of its own: init it.
          const { default: init, createAuthFetch } = await import('/pkg/index.js');
          await init();
          const af = createAuthFetch({ refresh: async () => { throw new Error('expired session'); }, loginUrl: '/login' });
          af.setTokens({ accessToken: 'stale' });
          await af('/api/needs-login');
        })();
      });
      await navigated;
      const url = new URL(await other.url());
      assert.equal(url.pathname, '/login');
      assert.equal(url.searchParams.get('return_to'), start);
      await other.close();
    });

    test('no uncaught errors on the page', () => {
      assert.deepEqual(pageErrors, []);
    });
  });
}
