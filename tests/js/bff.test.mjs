// Cookie sessions (`bff`, the cookie-session build `reauth/bff`) in Node: what runs here without
// a cookie jar. The options and the TypeErrors that name a wrong one; what each build takes and
// what its authFetch has (the core and the OAuth build refuse `bff` and name `reauth/bff`; the
// cookie-session build refuses `oauth` and `dpop`); and the engine on a BFF's terms against a real HTTP server
// on 127.0.0.1: the anti-CSRF header on every call to the BFF and none elsewhere, one session
// refresh (a POST) for a burst of 401s and one retry each, a refused refresh ending the session
// with the hook once, and no token anywhere. (The cookie itself is the browser's: the Chromium
// tests, bff-browser.test.mjs, run against real BFFs.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createAuthFetch } from 'reauth/bff';
import { createAuthFetch as createCoreFetch } from 'reauth';
import { createAuthFetch as createOAuthFetch } from 'reauth/oauth';

/** A BFF in miniature: `/api/*` answers 401 until the session is refreshed (`POST /refresh`),
 * which `refuse` makes answer 401; every request's anti-CSRF header is recorded. */
async function startBff() {
  const state = { live: false, refuse: false, refreshes: 0, unauthorized: 0, seen: [] };
  const server = createServer((req, res) => {
    state.seen.push({ method: req.method, path: req.url, header: req.headers['token-handler-version'] ?? null, authorization: req.headers.authorization ?? null });
    if (req.method === 'POST' && req.url === '/agent/refresh') {
      state.refreshes += 1;
      if (state.refuse) return res.writeHead(401).end();
      // A refresh that takes a moment, as a token endpoint does.
      return setTimeout(() => { state.live = true; res.writeHead(204).end(); }, 30);
    }
    if (req.url.startsWith('/api/')) {
      if (!state.live) {
        state.unauthorized += 1;
        return res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ path: req.url }));
    }
    res.writeHead(404).end();
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}`, state, close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }) };
}

const typeError = (options, message) => assert.throws(() => createAuthFetch(options), (e) => {
  assert.equal(e.name, 'TypeError');
  assert.match(e.message, message);
  return true;
});

test('bff options: a TypeError names what is wrong', () => {
  typeError({ bff: 'auth0', origins: ['https://bff.example.com'] }, /^createAuthFetch: options\.bff must be 'duende', 'curity', 'oauth-agent' or \{/);
  typeError({ bff: 42, origins: ['https://bff.example.com'] }, /options\.bff must be/);
  typeError({ bff: 'token-handler', origins: ['https://bff.example.com'] }, /options\.bff: 'token-handler' is now two presets: 'curity' for the Curity Identity Server's Token Handler, 'oauth-agent' for Curity's open-source OAuth Agent/);
  typeError({ bff: 'curity', origins: ['https://bff.example.com'] }, /options\.bff\.url is required with 'curity': the token handler application's URL/);
  typeError({ bff: 'oauth-agent', origins: ['https://bff.example.com'] }, /options\.bff\.url is required with 'oauth-agent': the OAuth Agent's URL/);
  typeError({ bff: { preset: 'duende', csrfHeader: 'x-a-csrf' }, origins: ['https://bff.example.com'] }, /options\.bff\.csrfHeader is the OAuth Agent's: it goes with preset 'oauth-agent'/);
  typeError({ bff: { preset: 'duende', refreshURL: '/x' }, origins: ['https://bff.example.com'] }, /options\.bff\.refreshURL is not an option; did you mean refreshUrl\?/);
  typeError({ bff: { url: 'https://bff.example.com', headers: { 'X-CSRF': 1 } } }, /options\.bff\.headers must be a record of header names and string values/);
  typeError({ bff: { url: 'ftp://bff.example.com' } }, /options\.bff\.url must be an http\(s\) URL/);
  // No refresh hook needed with bff; without either, the core says what it needs.
  typeError({ origins: ['https://api.example.com'] }, /options\.refresh is required/);
});

/** Asserts that `make(options)` throws a TypeError with exactly `message`. */
const refuses = (make, options, message) => assert.throws(() => make(options), (e) => {
  assert.equal(e.name, 'TypeError');
  assert.equal(e.message, message);
  return true;
});
const toBff = "createAuthFetch: options.bff is in the cookie-session build: import { createAuthFetch } from 'reauth/bff'";
const toOAuth = (o) => `createAuthFetch: options.${o} is in the OAuth build: import { createAuthFetch } from 'reauth/oauth'`;
const oauth = { tokenEndpoint: 'https://as.example.com/token', clientId: 'spa' };
const origins = ['https://bff.example.com'];
const refresh = () => null;

test('each build takes its own layer: the core and the OAuth build refuse bff and name reauth/bff; reauth/bff refuses oauth and dpop and names reauth/oauth', () => {
  for (const [build, make] of [['reauth', createCoreFetch], ['reauth/oauth', createOAuthFetch]]) {
    for (const bff of ['duende', { preset: 'curity', url: 'https://bff.example.com/agent' }, { url: 'https://bff.example.com' }]) {
      refuses(make, { bff, origins }, toBff);
    }
    // With a refresh hook, and (the OAuth build) with oauth beside it: still the build's name.
    refuses(make, { bff: 'duende', refresh, origins }, toBff);
    if (build === 'reauth/oauth') refuses(make, { bff: 'duende', oauth, origins }, toBff);
  }
  refuses(createAuthFetch, { oauth, origins }, toOAuth('oauth'));
  refuses(createAuthFetch, { refresh, dpop: true, origins }, toOAuth('dpop'));
  refuses(createAuthFetch, { bff: 'duende', oauth, origins }, toOAuth('oauth'));
  refuses(createAuthFetch, { bff: 'duende', dpop: true, origins }, toOAuth('dpop'));
});

// The members each build's authFetch has beyond the core's (a page's own fields aside).
const layerMembers = ['authorizationUrl', 'login', 'completeLogin', 'logout', 'session'];
const members = (af) => layerMembers.filter((k) => k in af);
const bffMembers = ['login', 'completeLogin', 'logout', 'session'];

test('what an authFetch has, per build: the core no login, completeLogin, logout or session; reauth/bff all four; reauth/oauth its own and no session', async () => {
  // Made in Node by the server entries: the module is loaded at once, the instance is the
  // module's own.
  assert.deepEqual(members(createCoreFetch({ refresh, origins })), []);
  assert.deepEqual(members(createOAuthFetch({ refresh, origins })), ['authorizationUrl', 'login', 'completeLogin', 'logout']);
  assert.deepEqual(members(createOAuthFetch({ oauth, origins })), ['authorizationUrl', 'login', 'completeLogin', 'logout']);
  const session = createAuthFetch({ bff: 'duende', origins });
  assert.deepEqual(members(session), bffMembers);
  for (const k of bffMembers) assert.equal(typeof session[k], 'function', k);
  // Without options.bff the four are there and reject, naming the option.
  const tokens = createAuthFetch({ refresh, origins });
  assert.deepEqual(members(tokens), bffMembers);
  for (const k of bffMembers) {
    await assert.rejects(tokens[k](), (e) => {
      assert.equal(e.name, 'TypeError');
      assert.equal(e.message, `authFetch.${k}() is for cookie sessions: give options.bff`);
      return true;
    }, k);
  }

  // The inline entries read nothing at first use: an instance made before the module has loaded
  // is the loader's, whose calls wait for the load. It has the same members as the module's,
  // before the load and after, and so has one made once the module is there.
  for (const [entry, want] of [['inline.js', []], ['bff-inline.js', bffMembers], ['oauth-inline.js', ['authorizationUrl', 'login', 'completeLogin', 'logout']]]) {
    const m = await import(new URL(`../../pkg/${entry}`, import.meta.url).href);
    const early = m.createAuthFetch({ refresh, origins });
    assert.deepEqual(members(early), want, `${entry}: made before the load`);
    // The other layer's option, before the load: refused when the module is there; the
    // instance's `ready` (and its calls) say why.
    const [wrong, message] = entry === 'bff-inline.js' ? [{ refresh, dpop: true, origins }, toOAuth('dpop')] : [{ bff: 'duende', origins }, toBff];
    const refused = m.createAuthFetch(wrong);
    await early.ready;
    assert.deepEqual(members(early), want, `${entry}: the same instance, after the load`);
    assert.deepEqual(members(m.createAuthFetch({ refresh, origins })), want, `${entry}: made after the load`);
    await assert.rejects(refused.ready, { name: 'TypeError', message }, entry);
    refuses(m.createAuthFetch, wrong, message);
  }
});

describe('the engine on a BFF\'s terms (Node, a real server; no cookie jar)', () => {
  let bff, foreign;
  before(async () => {
    bff = await startBff();
    foreign = await startBff();
  });
  after(async () => {
    await bff?.close();
    await foreign?.close();
  });

  test('20 calls → 20 × 401 → one POST to the refresh endpoint → 20 retries → 20 × 200; the header everywhere on the BFF, nowhere else', async () => {
    const failures = [];
    const events = [];
    const af = createAuthFetch({
      bff: { preset: 'curity', url: `${bff.url}/agent` },
      onAuthFailure: (i) => failures.push(i),
      onEvent: (e) => events.push(e.type),
    });
    assert.equal(af.accessToken, null);
    assert.throws(() => af.setTokens('t'), /setTokens: a cookie session \(options\.bff\) keeps no tokens in the page/);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => af(`${bff.url}/api/items?i=${i}`).then((r) => r.status)));
    assert.deepEqual(results, Array(20).fill(200));
    assert.equal(bff.state.refreshes, 1, 'one session refresh for 20 401s');
    // Each 401 retried once (a call that reached the server after the refresh needed none).
    const retries = events.filter((e) => e === 'retry').length;
    assert.ok(bff.state.unauthorized >= 1);
    assert.equal(retries, bff.state.unauthorized);
    assert.equal(bff.state.seen.length, 21 + retries, 'the 20 calls, the refresh, a retry per 401');
    assert.ok(bff.state.seen.every((r) => r.header === '1' && r.authorization === null), 'the header on every request; no token');
    await af(`${foreign.url}/api/x`);
    assert.deepEqual(foreign.state.seen.map((r) => r.header), [null], 'another origin gets no header');
    assert.deepEqual(failures, []);

    // The refresh endpoint refuses: the session is over; the hook once for a burst.
    bff.state.live = false;
    bff.state.refuse = true;
    const ended = await Promise.all(Array.from({ length: 5 }, () => af(`${bff.url}/api/items`).then((r) => r.status)));
    assert.deepEqual(ended, Array(5).fill(401));
    assert.equal(bff.state.refreshes, 2);
    assert.equal(failures.length, 1);
    assert.equal(failures[0].reason, 'refresh_failed');
    assert.equal(failures[0].error.code, 'session_expired');
  });

  test('the app\'s refresh hook instead of an endpoint: anything but null refreshes, null ends the session', async () => {
    bff.state.live = false;
    bff.state.refuse = false;
    let calls = 0;
    const failures = [];
    const af = createAuthFetch({
      bff: { url: bff.url, headers: { 'token-handler-version': '1' } },
      origins: [bff.url],
      async refresh(ctx) {
        calls += 1;
        assert.equal(ctx.refreshToken, null, 'no marker leaves the module');
        if (calls > 1) return null;
        bff.state.live = true;
        return true;
      },
      onAuthFailure: (i) => failures.push(i.reason),
    });
    const first = await Promise.all(Array.from({ length: 3 }, () => af(`${bff.url}/api/a`).then((r) => r.status)));
    assert.deepEqual(first, [200, 200, 200]);
    bff.state.live = false;
    const second = await Promise.all(Array.from({ length: 3 }, () => af(`${bff.url}/api/a`).then((r) => r.status)));
    assert.deepEqual(second, [401, 401, 401]);
    assert.equal(calls, 2);
    assert.deepEqual(failures, ['refresh_failed']);
  });
});
