// Cookie sessions against Curity's two token handlers, in each engine, with the preset made for
// each: 'curity' against the Curity Identity Server's Token Handler as its JS assistant speaks to
// it (tests/bff/curity-token-handler.mjs) and 'oauth-agent' against Curity's open-source OAuth
// Agent with its gateway's OAuth Proxy (tests/bff/oauth-agent.mjs). Each counterpart follows the
// product's published code (the files its header names), runs on its own origin with the app on
// another origin of the same site, in front of the real oidc-provider. The scenarios of the
// cookie-session tier: login and completeLogin, 20 calls after expiry → one refresh, three tabs ×
// 20 calls → one refresh, a revoked refresh token → one hook per tab, logout reaching every tab,
// nothing sent to a foreign origin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { root, serveStatic } from './helpers.mjs';
import { engineName, engines, launch } from './engines.mjs';
import { startCurityTokenHandler } from '../bff/curity-token-handler.mjs';
import { startOAuthAgent } from '../bff/oauth-agent.mjs';
import { PAGE, count, fillLogin, open, startForeign, statuses, waitFor } from './bff-pages.mjs';

/** The two products: how to start each counterpart, and what its anti-CSRF rule is. */
const products = [
  {
    preset: 'curity',
    name: 'the Curity Identity Server\'s Token Handler',
    start: (spaOrigin) => startCurityTokenHandler({ spaOrigin, redirectPath: PAGE }),
    // `token-handler-version: 1` on every request, to the agent and to the API.
    guarded: (r) => r.header === '1',
    sessionAsked: (stats) => stats.session,
  },
  {
    preset: 'oauth-agent',
    name: 'Curity\'s open-source OAuth Agent',
    start: (spaOrigin) => startOAuthAgent({ spaOrigin, redirectPath: PAGE }),
    // The CSRF value login/end answered, as `x-example-csrf`, on refresh, logout and API writes.
    guarded: (r) => r.method === 'GET' || (typeof r.csrf === 'string' && r.csrf.length === 64),
    sessionAsked: (stats) => stats.claims,
  },
];

for (const engine of engines) for (const product of products) {
describe(`${engineName[engine]}: '${product.preset}' against ${product.name}`, () => {
  let app, th, foreign, browser;
  before(async () => {
    app = await serveStatic(root);
    th = await product.start(app.url);
    foreign = await startForeign();
    browser = await launch(engine);
  });
  after(async () => {
    await browser?.close();
    await th?.close();
    await foreign?.close();
    await app?.close();
  });

  const start = (extra = '') => `${app.url}${PAGE}?preset=${product.preset}&agent=${encodeURIComponent(th.agent)}`
    + `&api=${encodeURIComponent(`${th.api}/`)}&foreign=${encodeURIComponent(foreign.url)}${extra}`;

  /** A new browser context logged in through the token handler; its first tab. */
  async function loggedIn(extra = '') {
    const context = await browser.newContext();
    const { page, errors } = await open(context, start(extra));
    await page.evaluate(() => { window.af.login({ returnTo: `${location.origin}${location.pathname}?done=1` }); });
    await fillLogin(page, th.provider.issuer);
    await page.waitForURL(new RegExp(`^${app.url}${PAGE}`));
    await page.waitForFunction(() => window.ready === true);
    return { context, page, errors };
  }

  test('login: login/start, the provider\'s form, back with a code that completeLogin() hands to login/end; session() is the claims', async () => {
    const logins = th.stats.logins;
    const { context, page, errors } = await loggedIn();
    assert.deepEqual(await page.evaluate(() => window.completed), { returnTo: `${app.url}${PAGE}?done=1` });
    assert.equal(await page.evaluate(() => location.href), `${app.url}${PAGE}?done=1`, 'the code left the address bar');
    assert.equal(th.stats.logins - logins, 1);
    assert.equal((await page.evaluate(() => window.af.session())).sub, 'bob');
    assert.deepEqual(statuses(await page.evaluate(() => window.callApi(1))), [200]);
    assert.deepEqual(statuses(await page.evaluate(() => window.callApi(1, 'items', 'POST'))), [200], 'a write passes the gateway\'s check');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('20 calls (10 reads, 10 writes) after the access token expired: one refresh, 20 × 200; the anti-CSRF header where the product wants it, nothing to another origin', async () => {
    const { context, page, errors } = await loggedIn();
    await th.expireAccess();
    const refreshes = th.stats.refreshes;
    const requests = th.stats.requests.length;
    const unauthorized = th.stats.apiUnauthorized;
    const results = await page.evaluate(async () => [...await window.callApi(10), ...await window.callApi(10, 'items', 'POST')]);
    assert.deepEqual(statuses(results), Array(20).fill(200));
    assert.equal(th.stats.refreshes - refreshes, 1, 'one session refresh');
    assert.equal(th.stats.refreshRefused, 0);
    const events = await page.evaluate(() => window.events);
    assert.equal(count(events, 'refresh-start'), 1);
    assert.equal(count(events, 'retry'), th.stats.apiUnauthorized - unauthorized, 'each 401 retried once');
    const sent = th.stats.requests.slice(requests);
    const bad = sent.filter((r) => !product.guarded(r));
    assert.deepEqual(bad, [], 'every request carries what the product checks');
    assert.deepEqual(await page.evaluate(() => window.callForeign()), { csrf: null, version: null, agentCsrf: null, cookie: null });
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('three tabs, 20 calls each, after the access token expired: one refresh for all of them', async () => {
    const { context, page } = await loggedIn();
    const tabs = [page];
    for (let i = 0; i < 2; i++) tabs.push((await open(context, start())).page);
    await th.expireAccess();
    const refreshes = th.stats.refreshes;
    const results = await Promise.all(tabs.map((p) => p.evaluate(() => window.callApi(20))));
    assert.deepEqual(results.map(statuses), [Array(20).fill(200), Array(20).fill(200), Array(20).fill(200)]);
    assert.equal(th.stats.refreshes - refreshes, 1, 'one refresh across three tabs');
    assert.equal(th.stats.refreshRefused, 0);
    await context.close();
  });

  test('a revoked refresh token: 20 × 401 in each of three tabs, the hook once per tab, one refused refresh; without a hook, the page goes to the login and comes back', async () => {
    const { context, page } = await loggedIn();
    const tabs = [page];
    for (let i = 0; i < 2; i++) tabs.push((await open(context, start())).page);
    await th.revokeRefresh();
    await th.expireAccess();
    const refused = th.stats.refreshRefused;
    // Each tab's burst starts before any is awaited (over WebDriver one tab's script runs at a
    // time: awaiting each would make the bursts sequential).
    for (const p of tabs) await p.evaluate(() => { window.burst = window.callApi(20); });
    const results = await Promise.all(tabs.map((p) => p.evaluate(() => window.burst)));
    assert.deepEqual(results.map(statuses), [Array(20).fill(401), Array(20).fill(401), Array(20).fill(401)]);
    assert.equal(th.stats.refreshRefused - refused, 1, 'one refused refresh for all three tabs');
    for (const p of tabs) {
      await p.waitForFunction(() => window.failures.length > 0);
      const heard = await p.evaluate(() => window.failures.map((f) => `${f.reason}:${f.code}`));
      const events = await p.evaluate(() => window.events.filter((e) => e !== 'retry'));
      // One hook for the session's end in each tab: its own refused refresh, or the logout it
      // heard from the tab whose refresh was refused. A tab whose burst began only after it
      // heard that (its calls then go out with no session) gets one more, for the refresh
      // those calls start: after the logout, not for it.
      const ok = heard.length === 1
        || (JSON.stringify(heard) === '["logout:null","refresh_failed:session_expired"]'
          && JSON.stringify(events) === '["auth-failure","refresh-start","refresh-failure","auth-failure"]');
      assert.ok(ok, `one hook per end of the session in each tab: ${JSON.stringify(heard)}; events ${JSON.stringify(events)}`);
    }
    const first = await page.evaluate(() => window.failures[0]);
    assert.ok(first.code === 'session_expired' || first.reason === 'logout', JSON.stringify(first));
    await context.close();

    const second = await loggedIn('&nohook=1');
    await th.revokeRefresh();
    await th.expireAccess();
    const logins = th.stats.logins;
    await second.page.evaluate(() => { window.old = true; window.callApi(5); });
    await waitFor(() => th.stats.logins - logins === 1);
    await second.page.waitForURL(`${app.url}${PAGE}?done=1`);
    await second.page.waitForFunction(() => window.old === undefined && window.ready === true);
    assert.deepEqual(await second.page.evaluate(() => window.completed), { returnTo: `${app.url}${PAGE}?done=1` },
      'back where the session was found over');
    assert.deepEqual(statuses(await second.page.evaluate(() => window.callApi(1))), [200]);
    await second.context.close();
  });

  test('logout() in one tab reaches the other two and goes to the provider\'s end-session URL; session() is one request per session', async () => {
    const { context, page } = await loggedIn();
    const others = [];
    for (let i = 0; i < 2; i++) others.push((await open(context, start())).page);
    const asked = product.sessionAsked(th.stats);
    await others[0].evaluate(() => Promise.all([window.af.session(), window.af.session()]));
    assert.equal(product.sessionAsked(th.stats) - asked, 1, 'two calls, one request');
    await th.expireAccess();
    assert.deepEqual(statuses(await others[0].evaluate(() => window.callApi(1))), [200]);
    await others[0].evaluate(() => window.af.session());
    assert.equal(product.sessionAsked(th.stats) - asked, 2, 'a refresh is a new session: asked again');

    const logouts = th.stats.logouts;
    await page.evaluate(() => { window.af.logout(); });
    await page.waitForURL(`${th.provider.issuer}/**`);
    assert.equal(th.stats.logouts - logouts, 1);
    for (const p of others) {
      await p.waitForFunction(() => window.failures.length > 0);
      assert.deepEqual((await p.evaluate(() => window.failures)).map((f) => f.reason), ['logout']);
      assert.equal(await p.evaluate(() => window.af.session()), null);
    }
    await context.close();
  });
});
}
