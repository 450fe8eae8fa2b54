// Cookie sessions behind a backend-for-frontend (`bff`), in each engine (Chromium, Firefox,
// WebKit), against a real server: a Duende-style BFF built on express-openid-connect in front of
// the real oidc-provider (tests/bff/duende.mjs names the Duende sources it follows; Curity's two
// token handlers are in bff-curity-browser.test.mjs). The page holds only the BFF's HttpOnly
// cookie. Node's fetch has no cookie jar: bff.test.mjs runs there what can (the options, the
// engine against a plain server).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { root, sendFile, serveStatic } from './helpers.mjs';
import { engineName, engines, launch } from './engines.mjs';
import { startDuendeBff } from '../bff/duende.mjs';
import { PAGE, count, fillLogin, open, startForeign, statuses, waitFor } from './bff-pages.mjs';



/**
 * Checks that each of the `unauthorized` 401s the server answered was retried once, and that
 * there was at least one; returns how many retries. (The browser attaches the cookie when it
 * sends a request, not when the page makes the call: a call it queued behind its six connections
 * to the host until after the refresh goes out with the new cookie and needs no retry.)
 */
function retriedEach401(events, unauthorized) {
  const retries = count(events, 'retry');
  assert.ok(unauthorized >= 1, 'the expired session was seen');
  assert.equal(retries, unauthorized, 'each 401 retried once');
  return retries;
}

for (const engine of engines) {
describe(`${engineName[engine]}: Duende-style BFF (express-openid-connect in front of oidc-provider)`, () => {
  let bff, misconfigured, refreshing, foreign, browser;
  before(async () => {
    const fallback = (req, res) => sendFile(root, new URL(req.url, 'http://x').pathname, res);
    bff = await startDuendeBff({ fallback });
    misconfigured = await startDuendeBff({ fallback, redirectForFetch: true });
    refreshing = await startDuendeBff({ fallback, refreshEndpoint: true });
    foreign = await startForeign();
    browser = await launch(engine);
  });
  after(async () => {
    await browser?.close();
    await bff?.close();
    await misconfigured?.close();
    await refreshing?.close();
    await foreign?.close();
  });

  const start = (extra = '') => `${bff.origin}${PAGE}?preset=duende&foreign=${encodeURIComponent(foreign.url)}${extra}`;

  /** A new browser context (its own cookie jar) logged in at the BFF; its first tab. */
  async function loggedIn(extra = '') {
    const context = await browser.newContext();
    const { page, errors } = await open(context, start(extra));
    const back = `${PAGE}?back=1`;
    await page.evaluate((to) => { window.af.login({ returnTo: to }); }, back);
    await fillLogin(page, bff.provider.issuer);
    await page.waitForURL(`${bff.origin}${back}`);
    await page.waitForFunction(() => window.ready === true);
    return { context, page, errors };
  }

  test('login through the provider\'s form and back; session() is the claims, fetched once per session', async () => {
    const before = bff.stats.userRequests;
    const { context, page, errors } = await loggedIn();
    const [a, b, c] = await page.evaluate(() => Promise.all([window.af.session(), window.af.session(), window.af.session()]));
    assert.equal(a.sub, 'bob');
    assert.match(a['bff:logout_url'], /^\/bff\/logout\?sid=/);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
    assert.equal(await page.evaluate(async () => (await window.af.session()).sub), 'bob');
    assert.equal(bff.stats.userRequests - before, 1, 'one request to /bff/user for four calls');
    assert.equal(await page.evaluate(() => window.af.accessToken), null, 'no token in the page');
    // Duende refuses a returnUrl on another origin (LocalUrlReturnUrlValidator): said at once.
    assert.equal(await page.evaluate(() => window.af.login({ returnTo: 'https://elsewhere.example/' }).then(() => 'went', (e) => `${e.name}: ${e.message}`)),
      'TypeError: login: Duende BFF takes only a local returnUrl: returnTo must be on the BFF\'s origin');
    assert.equal(await page.evaluate(() => location.pathname), PAGE, 'the page stayed');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('20 calls after the access token expired: the BFF refreshes on its side, 20 × 200, each with X-CSRF and never to another origin', async () => {
    const { context, page, errors } = await loggedIn();
    await bff.expireAccess();
    const refreshes = bff.stats.serverRefreshes;
    const csrfBefore = bff.stats.csrf.length;
    const results = await page.evaluate(() => window.callApi(20));
    assert.deepEqual(statuses(results), Array(20).fill(200));
    assert.equal(results[0].body.sub, 'bob');
    assert.equal(bff.stats.serverRefreshes - refreshes, 1, 'one server-side refresh');
    const sent = bff.stats.csrf.slice(csrfBefore);
    assert.equal(sent.length, 20);
    assert.ok(sent.every((r) => r.header === '1'), 'every call to the BFF carried X-CSRF: 1');
    assert.deepEqual(await page.evaluate(() => window.events), [], 'no refresh in the page');
    assert.deepEqual(await page.evaluate(() => window.callForeign()), { csrf: null, version: null, agentCsrf: null, cookie: null },
      'another origin gets neither the header nor the cookie');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('the session ends at the BFF: 20 calls → 20 × 401, the hook once (session_expired, returnTo), no refresh request; the other tab hears it', async () => {
    const { context, page, errors } = await loggedIn();
    const other = (await open(context, start())).page;
    await bff.endSession();
    const results = await page.evaluate(() => window.callApi(20));
    assert.deepEqual(statuses(results), Array(20).fill(401));
    const failures = await page.evaluate(() => window.failures);
    assert.equal(failures.length, 1, 'once per burst, not once per call');
    assert.equal(failures[0].reason, 'refresh_failed');
    assert.equal(failures[0].code, 'session_expired');
    assert.equal(failures[0].returnTo, `${bff.origin}${PAGE}?back=1`);
    assert.equal(failures[0].status, 401);
    const events = await page.evaluate(() => window.events);
    assert.equal(count(events, 'refresh-start'), 1);
    assert.equal(count(events, 'retry'), 0);
    assert.equal(await page.evaluate(() => window.af.session()), null, 'session() says logged out');
    // The other tab made no call: it hears of the end as a logout.
    await other.waitForFunction(() => window.failures.length > 0);
    assert.deepEqual((await other.evaluate(() => window.failures)).map((f) => f.reason), ['logout']);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('without onAuthFailure, an ended session sends the page to /bff/login and the login comes back to it', async () => {
    const { context, page } = await loggedIn('&nohook=1');
    const here = await page.evaluate(() => location.href);
    await bff.endSession();
    const logins = bff.stats.logins;
    // Not awaited: the page goes away, to /bff/login and the provider, which still has a login
    // session for this browser and sends it straight back through the BFF's callback.
    // The old document is marked: the page comes back to the same URL, and only a new
    // document (without the mark) is the page after the login.
    await page.evaluate(() => { window.old = true; window.callApi(5); });
    await waitFor(() => bff.stats.logins - logins === 1);
    await page.waitForURL(here);
    await page.waitForFunction(() => window.old === undefined && window.ready === true);
    assert.deepEqual(statuses(await page.evaluate(() => window.callApi(1))), [200]);
    await context.close();
  });

  test('a BFF that answers a fetch with a redirect to its login page: an expired session, the hook once', async () => {
    const context = await browser.newContext();
    const url = `${misconfigured.origin}${PAGE}?preset=duende&foreign=${encodeURIComponent(foreign.url)}`;
    const { page, errors } = await open(context, url);
    const results = await page.evaluate(() => window.callApi(3));
    assert.deepEqual(results.map((r) => r.type), Array(3).fill('opaqueredirect'));
    const failures = await page.evaluate(() => window.failures);
    assert.equal(failures.length, 1);
    assert.equal(failures[0].code, 'session_expired');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a BFF whose API answers 401 and lets the page refresh (refreshUrl): 20 calls → one POST, 20 retries, 20 × 200', async () => {
    const context = await browser.newContext();
    const url = `${refreshing.origin}${PAGE}?preset=duende&refresh=/bff/refresh&foreign=${encodeURIComponent(foreign.url)}`;
    const { page, errors } = await open(context, url);
    await page.evaluate(() => { window.af.login({ returnTo: location.pathname }); });
    await fillLogin(page, refreshing.provider.issuer);
    await page.waitForURL(`${refreshing.origin}${PAGE}`);
    await page.waitForFunction(() => window.ready === true);
    await refreshing.expireAccess();
    const before = { refreshes: refreshing.stats.serverRefreshes, csrf: refreshing.stats.csrf.length, unauthorized: refreshing.stats.unauthorized };
    const results = await page.evaluate(() => window.callApi(20));
    assert.deepEqual(statuses(results), Array(20).fill(200));
    assert.equal(refreshing.stats.serverRefreshes - before.refreshes, 1, 'one session refresh');
    const events = await page.evaluate(() => window.events);
    assert.equal(count(events, 'refresh-start'), 1);
    const retries = retriedEach401(events, refreshing.stats.unauthorized - before.unauthorized);
    const sent = refreshing.stats.csrf.slice(before.csrf);
    assert.equal(sent.filter((r) => r.path === '/bff/refresh').length, 1, 'one POST /bff/refresh');
    assert.equal(sent.length, 21 + retries, 'the 20 calls, the refresh, a retry per 401');
    assert.ok(sent.every((r) => r.header === '1'));
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('logout() in one tab reaches the other two; the BFF ends the session', async () => {
    const { context, page } = await loggedIn();
    const others = [];
    for (let i = 0; i < 2; i++) others.push((await open(context, start())).page);
    for (const p of others) assert.equal((await p.evaluate(() => window.af.session())).sub, 'bob');
    const logouts = bff.stats.logouts;
    await page.evaluate(() => { window.af.logout({ returnTo: '/tests/js/fixtures/blank.html' }); });
    await page.waitForURL(`${bff.origin}/tests/js/fixtures/blank.html`);
    assert.equal(bff.stats.logouts - logouts, 1, 'the BFF ended the session');
    for (const p of others) {
      await p.waitForFunction(() => window.failures.length > 0);
      assert.deepEqual((await p.evaluate(() => window.failures)).map((f) => f.reason), ['logout']);
      assert.equal(await p.evaluate(() => window.af.session()), null);
    }
    await context.close();
  });
});
}
