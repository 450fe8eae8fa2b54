// DPoP and step-up in each engine against a real authorization server (oidc-provider, the
// `spa-dpop` client: DPoP-bound tokens only, nonces required) and a resource on an origin of
// its own that checks every proof: the login form, the key in IndexedDB (non-extractable) kept
// across a reload, the binding, a revoked grant, five tabs sharing tokens and key with one
// refresh, a Web Worker, and a step-up that sends the page to the login.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { root, serveStatic } from './helpers.mjs';
import { logInInPage, loginWithForm, startProvider } from '../oidc/provider.mjs';
import { engineName, engines, launch } from './engines.mjs';

for (const engine of engines) {
describe(engineName[engine], () => {
  let app, op, browser;
  let callback;
  before(async () => {
    app = await serveStatic(root);
    callback = `${app.url}/tests/js/fixtures/dpop.html`;
    op = await startProvider({ redirectUris: [callback] });
    browser = await launch(engine);
  });
  after(async () => {
    await browser?.close();
    await op?.close();
    await app?.close();
  });

  async function openApp(context, { storage = 'session', stepup = '' } = {}) {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const q = new URLSearchParams({ issuer: op.issuer, api: op.api, storage, stepup });
    await page.goto(`${callback}?${q}`);
    await page.waitForFunction(() => window.ready === true);
    return { page, errors };
  }

  const logIn = (page) => logInInPage(page, { issuer: op.issuer, callback, login: 'carol' });

  const jktOf = async (token) => (await op.provider.AccessToken.find(token)).jkt;

  test('DPoP in a window: login, bound token, key in IndexedDB (not extractable), a reload keeps session and key', async () => {
    const context = await browser.newContext();
    try {
      const { page, errors } = await openApp(context);
      assert.deepEqual(await logIn(page), { returnTo: '/done' });
      const token = await page.evaluate(() => window.af.accessToken);
      const jkt = await jktOf(token);
      assert.ok(jkt, 'the access token is DPoP-bound');
      const proofs = op.stats.proofs.length;
      assert.deepEqual(await page.evaluate(() => window.burst(3, 'a')), [200, 200, 200]);
      assert.deepEqual(op.stats.proofs.slice(proofs).map((p) => p.jkt), [jkt, jkt, jkt]);
      assert.deepEqual(await page.evaluate(() => window.storedKey()), {
        count: 1,
        extractable: false,
        algorithm: ['ECDSA', 'P-256'],
        usages: ['sign'],
        exported: 'InvalidAccessError',
      });
      const codes = op.stats.grants.authorization_code;
      await page.reload();
      await page.waitForFunction(() => window.ready === true);
      assert.equal(await page.evaluate(() => window.af.accessToken), token, 'the tokens survived the reload');
      assert.equal(await page.evaluate(() => window.call('/api/after-reload')), 200);
      assert.equal(op.stats.proofs.at(-1).jkt, jkt, 'signed with the same key after the reload');
      assert.equal(op.stats.grants.authorization_code, codes, 'no new login');
      // The refresh after the reload is DPoP-bound to the same key too.
      await op.expire();
      const grants = op.stats.grants.refresh_token;
      assert.equal(await page.evaluate(() => window.call('/api/expired')), 200);
      assert.equal(op.stats.grants.refresh_token - grants, 1);
      assert.equal(await jktOf(await page.evaluate(() => window.af.accessToken)), jkt);
      // The binding, from the page: the token without a proof, or as Bearer, is refused.
      const stolen = await page.evaluate(async ([api, t]) => Promise.all([`DPoP ${t}`, `Bearer ${t}`].map(
        async (authorization) => (await fetch(`${api}/api/stolen`, { headers: { authorization } })).status,
      )), [op.api, await page.evaluate(() => window.af.accessToken)]);
      assert.deepEqual(stolen, [401, 401]);
      // A revoked grant: the hook once, the user logged out.
      await op.revoke(op.stats.issued.at(-1));
      await op.expire();
      assert.deepEqual(await page.evaluate(() => window.burst(3, 'revoked')), [401, 401, 401]);
      assert.deepEqual(await page.evaluate(() => window.failures), ['refresh_failed:invalid_grant']);
      assert.equal(await page.evaluate(() => window.af.accessToken), null);
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('five tabs with crossTab and DPoP: one key, one refresh, the rotated refresh token presented once', async () => {
    const context = await browser.newContext();
    try {
      const first = await openApp(context, { storage: 'local' });
      await logIn(first.page);
      const rt = op.stats.issued.at(-1);
      const tabs = [first.page];
      for (let i = 1; i < 5; i++) tabs.push((await openApp(context, { storage: 'local' })).page);
      for (const t of tabs) await t.waitForFunction(() => window.af.accessToken !== null);
      const jkt = await jktOf(await tabs[0].evaluate(() => window.af.accessToken));
      await op.expire();
      const grants = op.stats.grants.refresh_token;
      const proofs = op.stats.proofs.length;
      const results = await Promise.all(tabs.map((t, i) => t.evaluate((k) => window.burst(4, `tab${k}`), i)));
      assert.deepEqual(results.flat(), Array(20).fill(200));
      assert.equal(op.stats.grants.refresh_token - grants, 1, 'one refresh across the tabs');
      assert.equal(op.stats.presented.filter((p) => p === rt).length, 1, 'the refresh token was presented once');
      const signed = op.stats.proofs.slice(proofs);
      assert.equal(signed.length, 20);
      assert.ok(signed.every((p) => p.jkt === jkt), 'every tab signs with the one key');
      const tokens = await Promise.all(tabs.map((t) => t.evaluate(() => window.af.accessToken)));
      assert.equal(new Set(tokens).size, 1, 'every tab has the new token');
    } finally {
      await context.close();
    }
  });

  test('tabs that make their key at the same moment agree on one (IndexedDB add, then read)', async () => {
    const context = await browser.newContext();
    try {
      const pages = await Promise.all([1, 2, 3].map(() => openApp(context, { storage: 'local' })));
      const urls = await Promise.all(pages.map(({ page }) => page.evaluate(() => window.af.authorizationUrl())));
      const jkts = urls.map((u) => new URL(u).searchParams.get('dpop_jkt'));
      assert.ok(jkts[0]);
      assert.deepEqual(jkts, [jkts[0], jkts[0], jkts[0]]);
    } finally {
      await context.close();
    }
  });

  test('a Web Worker runs the same calls (memory storage): login, 10 concurrent calls after expiry, one refresh, a nonce retry', async () => {
    const context = await browser.newContext();
    try {
      const { page, errors } = await openApp(context);
      await page.evaluate(() => {
        const w = new Worker('/tests/js/fixtures/dpop-worker.mjs', { type: 'module' });
        let n = 0;
        const waiting = new Map();
        w.onmessage = ({ data }) => waiting.get(data.id)(data);
        window.worker = (op, args) => new Promise((ok) => { n += 1; waiting.set(n, ok); w.postMessage({ id: n, op, args }); });
      });
      const ask = async (op_, args) => {
        const r = await page.evaluate(([o, a]) => window.worker(o, a), [op_, args]);
        if (r.error) throw new Error(r.error);
        return r.result;
      };
      assert.equal(await ask('create', { issuer: op.issuer, api: op.api, redirectUri: callback }), 'undefined', 'no window in there');
      const url = await ask('authorizationUrl');
      assert.ok(new URL(url).searchParams.get('dpop_jkt'));
      await ask('completeLogin', await loginWithForm(url, { redirectPrefix: callback, login: 'dave' }));
      const token = await ask('accessToken');
      assert.equal(await jktOf(token), new URL(url).searchParams.get('dpop_jkt'));
      await op.expire();
      const grants = op.stats.grants.refresh_token;
      assert.deepEqual(await ask('burst', 10), Array(10).fill(200));
      assert.equal(op.stats.grants.refresh_token - grants, 1);
      const refused = op.stats.refused.length;
      op.rotateNonce();
      assert.deepEqual(await ask('burst', 1), [200]);
      assert.deepEqual(op.stats.refused.slice(refused), ['use_dpop_nonce']);
      assert.equal(op.stats.grants.refresh_token - grants, 1, 'no refresh for the nonce');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('step-up without onStepUp: the caller gets the 401 and the page goes to the login with acr_values and max_age', async () => {
    const context = await browser.newContext();
    try {
      const { page } = await openApp(context);
      await logIn(page);
      // The provider still has the login session, so it answers at once with a code: its
      // record of the authorization request tells what the page asked for.
      const asked = op.stats.authorizations.length;
      // Started, not awaited in the page: the page goes to the login (and, with the provider's
      // session, straight back), and an evaluate that spans that navigation can be left
      // unsettled for good (the old document may be kept in the back/forward cache). What the
      // caller got, if it got it before the page went, is kept in sessionStorage.
      await page.evaluate(() => {
        window.before = true; // this document, not the one the login comes back to
        window.call('/api/strong').then((s) => sessionStorage.setItem('strong', String(s)));
      });
      for (let i = 0; i < 200 && op.stats.authorizations.length === asked; i++) await page.waitForTimeout(50);
      assert.equal(op.stats.authorizations.length, asked + 1, 'one authorization request');
      const at = new URL(op.stats.authorizations.at(-1), op.issuer);
      // Back at the app with the code (or already without it: the app strips the query).
      await page.waitForFunction(() => !window.before && window.ready === true && window.result !== undefined);
      assert.ok([null, '401'].includes(await page.evaluate(() => sessionStorage.getItem('strong'))), 'the caller got the 401, unless the page went first');
      assert.deepEqual(
        [at.searchParams.get('acr_values'), at.searchParams.get('max_age'), at.searchParams.get('client_id')],
        ['urn:strong', '300', 'spa-dpop'],
      );
      assert.ok(at.searchParams.get('dpop_jkt'));
    } finally {
      await context.close();
    }
    // With onStepUp, the app decides: the hook runs once for the burst, the page stays.
    const other = await browser.newContext();
    try {
      const hooked = await openApp(other, { stepup: 'hook' });
      await logIn(hooked.page);
      assert.deepEqual(await hooked.page.evaluate(() => Promise.all([1, 2, 3].map(() => window.call('/api/strong')))), [401, 401, 401]);
      assert.deepEqual(await hooked.page.evaluate(() => window.steps), ['urn:strong']);
      assert.ok((await hooked.page.url()).startsWith(callback));
    } finally {
      await other.close();
    }
  });

  test('logout replaces the key pair; the other tabs learn of the new key through the stored record', async () => {
    const context = await browser.newContext();
    try {
      const one = await openApp(context, { storage: 'local' });
      await logIn(one.page);
      const two = await openApp(context, { storage: 'local' });
      await two.page.waitForFunction(() => window.af.accessToken !== null);
      const first = await jktOf(await one.page.evaluate(() => window.af.accessToken));
      assert.equal(await two.page.evaluate(() => window.call('/api/two-before')), 200);
      await one.page.evaluate(() => window.af.logout());
      await two.page.waitForFunction(() => window.af.accessToken === null);
      // A new login in the first tab binds its tokens to a new key.
      await logInInPage(one.page, { issuer: op.issuer, callback, login: 'carol', prompt: 'login' });
      const second = await jktOf(await one.page.evaluate(() => window.af.accessToken));
      assert.ok(second && second !== first, 'a new key after logout');
      // The other tab picks up the tokens and signs with the new key.
      await two.page.waitForFunction(() => window.af.accessToken !== null);
      const proofs = op.stats.proofs.length;
      assert.equal(await two.page.evaluate(() => window.call('/api/two-after')), 200);
      assert.deepEqual(op.stats.proofs.slice(proofs).map((p) => p.jkt), [second]);
      assert.deepEqual([one.errors, two.errors], [[], []]);
    } finally {
      await context.close();
    }
  });

  test('with storage: \'session\' the key does not outlive the session: a new session (tab) gets a key of its own', async () => {
    const context = await browser.newContext();
    try {
      const one = await openApp(context, { storage: 'session' });
      await logIn(one.page);
      const first = await jktOf(await one.page.evaluate(() => window.af.accessToken));
      // Another tab is another session (sessionStorage is per tab).
      const two = await openApp(context, { storage: 'session' });
      const url = await two.page.evaluate(() => window.af.authorizationUrl());
      const jkt = new URL(url).searchParams.get('dpop_jkt');
      assert.ok(jkt && jkt !== first, 'another session, another key');
      // The first session keeps its own across a reload.
      await one.page.reload();
      await one.page.waitForFunction(() => window.ready === true);
      assert.equal(await one.page.evaluate(() => window.call('/api/still-mine')), 200);
      assert.equal(op.stats.proofs.at(-1).jkt, first);
    } finally {
      await context.close();
    }
  });

  test('a tab whose key is gone while its tokens are bound to it: the hook once (dpop_key_lost), no proofs the resource refuses', async () => {
    const context = await browser.newContext();
    try {
      const { page } = await openApp(context, { storage: 'local' });
      await logIn(page);
      assert.equal(await page.evaluate(() => window.call('/api/before-eviction')), 200);
      await page.evaluate(() => window.dropKeys());
      await page.reload();
      await page.waitForFunction(() => window.ready === true);
      const refused = op.stats.refused.length;
      const grants = op.stats.grants.refresh_token;
      const statuses = await page.evaluate(() => window.burst(3, 'key-gone'));
      assert.deepEqual(statuses, [401, 401, 401]);
      assert.deepEqual(await page.evaluate(() => window.failures), ['dpop_key_lost:dpop_key_lost'], 'the hook ran once, saying why');
      assert.equal(await page.evaluate(() => window.af.accessToken), null, 'the unusable tokens are gone');
      assert.ok(!op.stats.refused.slice(refused).some((r) => r === 'binding' || r === 'signature'), `no proof of another key was sent: ${op.stats.refused.slice(refused)}`);
      assert.equal(op.stats.grants.refresh_token, grants, 'no refresh with a refresh token bound to the lost key');
    } finally {
      await context.close();
    }
  });

  test('a relative URL under a <base> on the resource\'s origin: the token, and a proof whose htu is the URL fetch requests', async () => {
    const context = await browser.newContext();
    try {
      const { page } = await openApp(context);
      await logIn(page);
      const proofs = op.stats.proofs.length;
      const status = await page.evaluate(async (api) => {
        const b = document.createElement('base');
        b.href = `${api}/api/v1/`;
        document.head.append(b);
        return (await window.af('items?page=2')).status;
      }, op.api);
      assert.equal(status, 200);
      assert.deepEqual(op.stats.proofs.slice(proofs).map((p) => p.htu), [`${op.api}/api/v1/items`]);
    } finally {
      await context.close();
    }
  });
});
}
