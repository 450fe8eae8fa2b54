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
