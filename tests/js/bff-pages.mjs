// What the cookie-session browser tiers share (bff-browser.test.mjs, bff-curity-browser.test.mjs):
// a foreign server that says what reached it, the provider's login form, the fixture page.
import { createServer } from 'node:http';

/** The fixture page of the cookie-session tiers. */
export const PAGE = '/tests/js/fixtures/bff.html';

/** A server on another origin that says what it got: each BFF's anti-CSRF header (Duende's
 * `X-CSRF`, Curity's `token-handler-version`, the OAuth Agent's `x-example-csrf`) and any cookie. */
export async function startForeign() {
  const seen = [];
  const server = createServer((req, res) => {
    const got = {
      csrf: req.headers['x-csrf'] ?? null,
      version: req.headers['token-handler-version'] ?? null,
      agentCsrf: req.headers['x-example-csrf'] ?? null,
      cookie: req.headers.cookie ?? null,
    };
    if (req.method !== 'OPTIONS') seen.push(got);
    res.writeHead(200, {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'x-csrf, token-handler-version, x-example-csrf, content-type',
      'content-type': 'application/json',
    });
    res.end(JSON.stringify(got));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(ok); }),
  };
}

/** Fills the provider's development login form (the page is on it) and submits it. */
export async function fillLogin(page, issuer, login = 'bob') {
  await page.waitForURL(`${issuer}/**`);
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'secret');
  await page.click('button[type=submit]');
}

/** Opens the fixture page at `url` in a new tab of `context` and waits for it to be ready. */
export async function open(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.ready === true);
  return { page, errors };
}

export const statuses = (results) => results.map((r) => r.status);

/** Resolves once `check()` is true (polled; fails after 20 s). */
export async function waitFor(check) {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${check}`);
}
export const count = (list, item) => list.filter((x) => x === item).length;
