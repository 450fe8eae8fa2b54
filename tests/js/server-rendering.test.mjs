// The package on servers (Node, as SSR and prerendering run it; a server bundle; an edge
// runtime) and the global-fetch install, each case in a process of its own so that no module
// state carries over: importing never throws nor loads anything; the load happens at first use,
// from the .wasm beside the entry or, where that is not there, from the inline build's bytes;
// the instance a module makes for the page works on the server; an authFetch installed as the
// global fetch before the module loaded does not wait for itself; the README's refresh hook
// asks the token endpoint nothing when there is no refresh token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './helpers.mjs';

const pkg = join(root, 'pkg');

/** Runs `code` as an ES module in a new Node process (cwd: the repository, so `reauth`
 * resolves to the package); resolves with what it printed, parsed as JSON. */
function run(code, { timeout = 20000 } = {}) {
  return new Promise((ok, fail) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], { cwd: root, timeout, encoding: 'utf8' }, (e, out, err) => {
      if (e) fail(new Error(`${e.killed ? 'timed out' : `exit ${e.code}`}: ${err}${out}`));
      else ok(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

// Counts every way the module can be compiled, so a test can tell that an import compiled none.
const counting = `
  let compiled = 0;
  for (const k of ['compile', 'compileStreaming', 'instantiate', 'instantiateStreaming']) {
    const f = WebAssembly[k];
    WebAssembly[k] = function (...a) { compiled += 1; return f.apply(this, a); };
  }
  const M = WebAssembly.Module;
  WebAssembly.Module = function (...a) { compiled += 1; return new M(...a); };
  WebAssembly.Module.prototype = M.prototype;`;

let api;
before(async () => {
  // An API that takes only 'Bearer at-1' and a token endpoint that counts its requests.
  const state = { token: 0, requests: [] };
  const server = createServer((req, res) => {
    state.requests.push([req.url, req.headers.authorization ?? null]);
    if (req.url === '/token') {
      state.token += 1;
      return res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
    }
    if (req.url === '/__state') return res.end(JSON.stringify(state));
    const ok = req.headers.authorization === 'Bearer at-1';
    res.writeHead(ok ? 200 : 401, ok ? {} : { 'www-authenticate': 'Bearer error="invalid_token"' }).end(ok ? 'ok' : '');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  api = { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close(), server, state };
});
after(() => api.close());

const entries = ['reauth', 'reauth/inline', 'reauth/bff', 'reauth/bff/inline', 'reauth/oauth', 'reauth/oauth/inline'];
const file = (f) => new URL(f, `file://${pkg}/`).href;
// The entries that load in Node by themselves (index.js, bff.js and oauth.js fetch their .wasm
// by URL, which Node's fetch cannot read from a file).
const files = ['inline.js', 'node.js', 'split.js', 'bff-inline.js', 'bff-node.js', 'bff-split.js',
  'oauth-inline.js', 'oauth-node.js', 'oauth-split.js'];

test('importing any entry (by name, and each file) compiles nothing and throws nothing; the first use loads the module', async () => {
  for (const name of [...entries, ...files.map(file)]) {
    const got = await run(`${counting}
      const m = await import(${JSON.stringify(name)});
      const atImport = compiled;
      await m.default();
      const parsed = m.parseChallenges('Bearer error=invalid_token')[0].scheme;
      console.log(JSON.stringify({ atImport, loaded: compiled > 0, parsed }));`);
    assert.deepEqual(got, { atImport: 0, loaded: true, parsed: 'Bearer' }, name);
  }
  for (const name of ['index.js', 'bff.js', 'oauth.js'].map(file)) {
    const got = await run(`${counting}
      const m = await import(${JSON.stringify(name)});
      m.createAuthFetch({ origins: ['https://api.example.com'], refresh: () => null });
      console.log(JSON.stringify({ compiled }));`);
    assert.deepEqual(got, { compiled: 0 }, `${name}: an instance made on a server loads nothing until used`);
  }
});

test('in Node the server entry is ready at first use, synchronously: createAuthFetch and parseChallenges need no init()', async () => {
  const got = await run(`
    import { createAuthFetch, parseChallenges } from 'reauth';
    const af = createAuthFetch({ origins: ['https://api.example.com'], refresh: () => null });
    af.setTokens('at-1');
    console.log(JSON.stringify({ token: af.accessToken, parsed: parseChallenges('Basic')[0].scheme }));`);
  assert.deepEqual(got, { token: 'at-1', parsed: 'Basic' });
});

test('a server bundle or an edge runtime (no .wasm beside the entry, or no file system): the module comes from the inline bytes at first use', async () => {
  // The entry's files without the .wasm, as a bundler that rewrote its URL leaves them.
  const dir = mkdtempSync(join(tmpdir(), 'reauth-bundled-'));
  try {
    for (const f of ['node.js', 'bff-node.js', 'oauth-node.js', 'loader.js', 'reauth.js', 'reauth_wasm.js',
      'reauth_bff.js', 'reauth_bff_wasm.js', 'reauth_oauth.js', 'reauth_oauth_wasm.js']) {
      cpSync(join(pkg, f), join(dir, f));
    }
    for (const [entry, edge] of [['node.js', false], ['bff-node.js', false], ['oauth-node.js', false], ['node.js', true], ['bff-node.js', true]]) {
      const got = await run(`${counting}
        ${edge ? 'delete process.getBuiltinModule;' : ''}
        const m = await import(${JSON.stringify(new URL(entry, `file://${dir}/`).href)});
        const af = m.createAuthFetch({ origins: [${JSON.stringify(api.url)}], refresh: () => null });
        af.setTokens('at-1');
        const before = af.accessToken;
        const status = (await af(${JSON.stringify(`${api.url}/api/x`)})).status;
        console.log(JSON.stringify({ before, status, after: af.accessToken, loaded: compiled > 0 }));`);
      assert.deepEqual(got, { before: null, status: 200, after: 'at-1', loaded: true }, `${entry}${edge ? ' (no file system)' : ''}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the instance a module makes for the page, made on a server: no throw, memory storage, and without origins no token goes anywhere', async () => {
  api.state.requests.length = 0;
  const tokensBefore = api.state.token;
  const got = await run(`
    import { createAuthFetch } from 'reauth';
    import { createAuthFetch as createBff } from 'reauth/bff';
    import { createAuthFetch as createOAuth } from 'reauth/oauth';
    const api = ${JSON.stringify(api.url)};
    const refresh = () => null;
    // The README's patterns as written for the page.
    const pageOnly = createAuthFetch({ storage: 'session', refresh });
    const shared = createAuthFetch({ storage: 'local', crossTab: true, origins: [api], refresh });
    const oauth = createOAuth({ oauth: { issuer: 'https://auth.example.com', clientId: 'spa' }, origins: [api], storage: 'session' });
    const bff = createBff({ bff: 'duende' });
    // The core has no cookie sessions: it names the build that has them, on the server too.
    let refused = null;
    try { createAuthFetch({ bff: 'duende' }); } catch (e) { refused = e.name + ': ' + e.message; }
    pageOnly.setTokens('at-1');
    shared.setTokens('at-1');
    const plain = await (await pageOnly(api + '/api/a')).status;
    const sent = await (await shared(api + '/api/b')).status;
    console.log(JSON.stringify({ plain, sent, types: [typeof oauth, typeof bff, typeof bff.session], refused }));`);
  assert.deepEqual(got, {
    plain: 401,
    sent: 200,
    types: ['function', 'function', 'function'],
    refused: "TypeError: createAuthFetch: options.bff is in the cookie-session build: import { createAuthFetch } from 'reauth/bff'",
  });
  const seen = api.state.requests.filter(([u]) => u.startsWith('/api/'));
  assert.deepEqual(seen, [['/api/a', null], ['/api/b', 'Bearer at-1']], 'no origin listed: no token sent');
  assert.equal(api.state.token - tokensBefore, 0, 'the 401 without a listed origin refreshed nothing');
});

test('globalThis.fetch = authFetch before the module has loaded, in Node: no deadlock, whichever entry', async () => {
  for (const entry of [...entries, ...files.map(file)]) {
    const got = await run(`
      const { createAuthFetch } = await import(${JSON.stringify(entry)});
      const af = createAuthFetch({ origins: [${JSON.stringify(api.url)}], refresh: () => null });
      globalThis.fetch = af;
      af.setTokens('at-1');
      const timeout = new Promise((ok) => setTimeout(() => ok('still pending after 5 s'), 5000));
      const ready = await Promise.race([af.ready.then(() => 'ready', String), timeout]);
      const status = ready === 'ready' ? (await fetch(${JSON.stringify(`${api.url}/api/global`)})).status : null;
      console.log(JSON.stringify({ ready, status }));
      process.exit(0);`);
    assert.deepEqual(got, { ready: 'ready', status: 200 }, entry);
  }
});

test('the README\'s refresh hook, on a first call with no tokens, asks the token endpoint nothing: the session is over at once, one hook', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const hook = readme.match(/\n {2}(async refresh\(\{ refreshToken, fetch \}\) \{[\s\S]*?\n {2}\},)\n/)?.[1];
  assert.ok(hook, 'the quick start has its refresh hook');
  const tokensBefore = api.state.token;
  const got = await run(`
    import { createAuthFetch } from 'reauth';
    const failures = [];
    const authFetch = createAuthFetch({
      origins: [${JSON.stringify(api.url)}],
      ${hook.replaceAll('https://auth.example.com/token', `${api.url}/token`)}
      onAuthFailure: (f) => failures.push(f.reason),
    });
    const status = (await authFetch(${JSON.stringify(`${api.url}/api/first`)})).status;
    console.log(JSON.stringify({ status, failures }));`);
  assert.deepEqual(got, { status: 401, failures: ['refresh_failed'] });
  assert.equal(api.state.token - tokensBefore, 0, 'no request to the token endpoint');
});
