// Duende's silent login in a real browser, against the Duende-style BFF of tests/bff/duende.mjs:
// the page sets a hidden iframe's src to `/bff/silent-login` (or v4's `/bff/login?prompt=none`)
// and listens for the callback page's postMessage, as
// https://docs.duendesoftware.com/bff/fundamentals/session/management/silent-login/ describes
// (the callback: DuendeSoftware/products bff/src/Bff/Endpoints/Internal/DefaultSilentLoginCallbackEndpoint.cs).
// In each engine of ENGINES.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { engineName, engines, launch } from './engines.mjs';
import { startDuendeBff } from '../bff/duende.mjs';

// The docs' page: an iframe and a message listener.
const PAGE = `<!DOCTYPE html><html><body><iframe id="bff-silent-login"></iframe><script>
  window.messages = [];
  window.addEventListener('message', (e) => {
    if (e.data && e.data.source === 'bff-silent-login') window.messages.push({ origin: e.origin, data: e.data });
  });
  window.silent = (src) => { document.querySelector('#bff-silent-login').src = src; };
  window.ready = true;
</script></body></html>`;

for (const engine of engines) {
  describe(`${engineName[engine]}: Duende's silent login (iframe, postMessage)`, () => {
    let bff, browser;
    before(async () => {
      bff = await startDuendeBff({
        fallback: (req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE),
      });
      browser = await launch(engine);
    });
    after(async () => {
      await browser?.close();
      await bff?.close();
    });

    test('no session at the provider: isLoggedIn false; with one: isLoggedIn true and a BFF session', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${bff.origin}/page`);
      await page.waitForFunction(() => window.ready === true);
      await page.evaluate(() => { window.silent('/bff/silent-login'); });
      await page.waitForFunction(() => window.messages.length === 1);
      assert.deepEqual(await page.evaluate(() => window.messages), [{ origin: bff.origin, data: { source: 'bff-silent-login', isLoggedIn: false } }]);

      // Log in (the BFF's session and the provider's), then end the BFF's session only: a
      // refused refresh ends it at the next API call; the provider's stays.
      await page.goto(`${bff.origin}/bff/login?returnUrl=/page`);
      await page.waitForURL(`${bff.provider.issuer}/**`);
      await page.waitForSelector('input[name=login]');
      await page.fill('input[name=login]', 'carol');
      await page.fill('input[name=password]', 'secret');
      await page.click('button[type=submit]');
      await page.waitForURL(`${bff.origin}/page`);
      await page.waitForFunction(() => window.ready === true);
      await bff.endSession();
      const ended = await page.evaluate(async () => (await fetch('/api/x', { headers: { 'X-CSRF': '1' } })).status);
      assert.equal(ended, 401);
      assert.equal(await page.evaluate(async () => (await fetch('/bff/user', { headers: { 'X-CSRF': '1' } })).status), 401);

      for (const src of ['/bff/silent-login', '/bff/login?prompt=none']) {
        await page.evaluate(() => { window.messages = []; });
        await page.evaluate((s) => { window.silent(s); }, src);
        await page.waitForFunction(() => window.messages.length === 1);
        assert.deepEqual(await page.evaluate(() => window.messages), [{ origin: bff.origin, data: { source: 'bff-silent-login', isLoggedIn: true } }], src);
        const claims = await page.evaluate(async () => (await fetch('/bff/user', { headers: { 'X-CSRF': '1' } })).json());
        assert.equal(claims.find((c) => c.type === 'sub').value, 'carol', src);
      }
      await context.close();
    });
  });
}
