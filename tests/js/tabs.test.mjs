// Across tabs: pages of one browser context share localStorage and Web Locks, like the tabs of
// one profile. The test server rotates refresh tokens and revokes the family on reuse.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { control } from './scenarios.mjs';
import { startServer } from './server.mjs';
import { engineName, engines, launch } from './engines.mjs';

for (const engine of engines) {
describe(engineName[engine], () => {
  let server, browser, context, ctl;

  before(async () => {
    server = await startServer();
    ctl = control(server.url);
    browser = await launch(engine);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext();
    await ctl.reset();
  });

  async function openTabs(n, query = '') {
    const tabs = [];
    for (let i = 0; i < n; i++) {
      const page = await context.newPage();
      await page.goto(`${server.url}/tests/js/fixtures/tab.html${query}`);
      await page.waitForFunction(() => window.ready === true);
      tabs.push(page);
    }
    return tabs;
  }

  /** Logs in in the first tab; the others pick the tokens up from shared storage. */
  async function logIn(tabs) {
    await tabs[0].evaluate(() => window.af.setTokens({ accessToken: 'at-0', refreshToken: 'rt-0' }));
    for (const t of tabs) await t.waitForFunction(() => window.af.accessToken === 'at-0');
  }

  test('five tabs, an expired token, 10 requests each: one refresh, 50 successes, no logout', async () => {
    const tabs = await openTabs(5);
    await logIn(tabs);
    await ctl.expire();
    const results = await Promise.all(tabs.map((t, i) => t.evaluate((k) => window.burst(10, `tab${k}`), i)));
    assert.deepEqual(results.flat(), Array(50).fill(200), 'all 50 succeed');
    const st = await ctl.state();
    assert.equal(st.refreshCalls, 1, 'the refresh token was presented once across all tabs');
    assert.equal(st.reuseDetected, 0);
    for (const t of tabs) {
      assert.deepEqual(await t.evaluate(() => window.failures), [], 'no tab logged out');
      assert.equal(await t.evaluate(() => window.af.accessToken), 'at-1', 'every tab has the new token');
    }
  });

  if (engine === 'chromium') {
    test('under 6× CPU throttling (a mid-range phone), five tabs, five rotations: each refresh token presented once, no logout', async () => {
      const tabs = await openTabs(5);
      for (const t of tabs) {
        const cdp = await t.context().newCDPSession(t);
        await cdp.send('Emulation.setCPUThrottlingRate', { rate: 6 });
      }
      await logIn(tabs);
      for (let round = 1; round <= 5; round++) {
        await ctl.expire();
        const results = await Promise.all(tabs.map((t, i) => t.evaluate((k) => window.burst(10, `r${k}`), `${round}-${i}`)));
        assert.deepEqual(results.flat(), Array(50).fill(200), `round ${round}: all 50 succeed`);
        const st = await ctl.state();
        assert.equal(st.refreshCalls, round, `round ${round}: one refresh across the tabs`);
        assert.equal(st.reuseDetected, 0, 'no refresh token presented twice');
      }
      for (const t of tabs) assert.deepEqual(await t.evaluate(() => window.failures), [], 'no tab logged out');
    });
  }

  // A refresh slower than lockTimeoutMs (7 s against the default 5 s), or just under its own
  // timeout: no tab takes the lock from a holder whose refresh is still running, so the rotating
  // refresh token is presented once, and every call of every tab ends 200.
  for (const [tabs, delay, query] of [
    [2, 7000, ''],
    [5, 7000, ''],
    [2, 2800, '?timeout=3000&lock=500'],
    [5, 2800, '?timeout=3000&lock=500'],
  ]) {
    test(`${tabs} tabs, a token endpoint that answers in ${delay / 1000} s${query ? ' (refreshTimeoutMs 3000, lockTimeoutMs 500)' : ' (default timeouts)'}: each refresh token presented once, every call 200`, async () => {
      const pages = await openTabs(tabs, query);
      await logIn(pages);
      await ctl.config({ refreshDelay: delay });
      await ctl.expire();
      const results = await Promise.all(pages.map((t, i) => t.evaluate((k) => window.burst(3, `slow${k}`), i)));
      assert.deepEqual(results.flat(), Array(tabs * 3).fill(200), 'every call succeeds');
      const st = await ctl.state();
      assert.deepEqual(st.refreshBodies, ['rt-0'], 'the refresh token was presented once');
      assert.equal(st.reuseDetected, 0);
      for (const t of pages) {
        assert.deepEqual(await t.evaluate(() => window.failures), [], 'no tab logged out');
        assert.equal(await t.evaluate(() => window.af.accessToken), 'at-1');
      }
    });
  }

  test('a lock holder whose refresh hangs past its own timeout stops holding: another tab refreshes', async () => {
    const [stuck] = await openTabs(1, '?hang=1&timeout=1500&lock=800');
    const [healthy] = await openTabs(1, '?lock=800');
    await logIn([stuck, healthy]);
    await ctl.expire();
    const stuckCall = stuck.evaluate(() => window.burst(1, 'stuck'));
    await stuck.waitForFunction(() => window.events.includes('refresh-called'));
    const t0 = Date.now();
    const statuses = await healthy.evaluate(() => window.burst(3, 'healthy'));
    const took = Date.now() - t0;
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.ok(took >= 1000 && took < 5000, `not before the holder's refresh timed out, and soon after (${took} ms)`);
    // The stuck tab's own refresh timed out: its caller got its 401 and its hook ran once.
    assert.deepEqual(await stuckCall, [401]);
    assert.deepEqual(await stuck.evaluate(() => window.failures), ['refresh_timeout']);
    const st = await ctl.state();
    assert.equal(st.refreshCalls, 1);
    assert.equal(st.reuseDetected, 0);
  });

  test('the lock holder is closed mid-refresh: another tab refreshes, nothing hangs', async () => {
    const [doomed] = await openTabs(1, '?hang=1');
    const [survivor] = await openTabs(1);
    await logIn([doomed, survivor]);
    await ctl.expire();
    doomed.evaluate(() => window.burst(1, 'doomed')).catch(() => {});
    await doomed.waitForFunction(() => window.events.includes('refresh-called'));
    await doomed.close();
    const t0 = Date.now();
    assert.deepEqual(await survivor.evaluate(() => window.burst(3, 'survivor')), [200, 200, 200]);
    assert.ok(Date.now() - t0 < 4000, 'no wait for a dead tab');
    assert.equal((await ctl.state()).refreshCalls, 1);
  });

  test('logout in one tab clears every tab and runs each tab\'s redirect hook', async () => {
    const tabs = await openTabs(3);
    await logIn(tabs);
    await tabs[1].evaluate(() => window.af.clearTokens());
    for (const t of tabs) {
      await t.waitForFunction(() => window.af.accessToken === null);
      assert.deepEqual(await t.evaluate(() => window.failures), ['logout']);
    }
    assert.equal(await tabs[0].evaluate(() => localStorage.getItem('tabs')), null);
  });

  test('without Web Locks the storage lock still presents the refresh token once', async () => {
    const tabs = await openTabs(3, '?nolocks=1');
    assert.equal(await tabs[0].evaluate(() => navigator.locks === undefined), true, 'no Web Locks in the page');
    await logIn(tabs);
    await ctl.expire();
    const results = await Promise.all(tabs.map((t, i) => t.evaluate((k) => window.burst(5, `nl${k}`), i)));
    assert.deepEqual(results.flat(), Array(15).fill(200));
    const st = await ctl.state();
    assert.equal(st.refreshCalls, 1);
    assert.equal(st.reuseDetected, 0);
  });

  test('a page coming back online re-checks the expiry and refreshes before any request', async () => {
    const [tab] = await openTabs(1, '?ttl=2');
    await tab.evaluate(() => window.af.setTokens({ accessToken: 'at-0', refreshToken: 'rt-0', expiresIn: 2 }));
    await tab.waitForTimeout(1200);
    await tab.evaluate(() => window.dispatchEvent(new Event('online')));
    await tab.waitForFunction(() => window.af.accessToken === 'at-1');
    const st = await ctl.state();
    assert.equal(st.refreshCalls, 1, 'refreshed on wake');
    assert.equal(st.requests.length, 0, 'without any request');
  });
});
}
