// `npm pack` in pkg/ gives a tarball that installs and loads in a scratch Node project and in a
// scratch Vite project (production build, served and run in Chromium).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { launchChromium, packPkg, root, run, scratchProject, serveStatic } from './helpers.mjs';

const work = join(root, 'target', 'pack-test');
let tarball;

const scratch = (name, files) => scratchProject(join(work, name), tarball, files);

before(() => {
  tarball = packPkg(work);
});

test('the tarball holds the entries, types, the wasm and its inline copy, the digests of the .wasm files, nothing else', () => {
  const files = run('tar', ['-tzf', tarball], work).trim().split('\n')
    .map((f) => f.replace(/^package\//, ''))
    .sort();
  // The digests the package carries are those of the .wasm files it carries.
  const sums = run('tar', ['-xzOf', tarball, 'package/SHA256SUMS'], work);
  const wasm = ['reauth_bg.wasm', 'reauth_bff_bg.wasm', 'reauth_oauth_bg.wasm'];
  for (const f of wasm) {
    const digest = createHash('sha256').update(readFileSync(join(root, 'pkg', f))).digest('hex');
    assert.ok(sums.includes(`${digest}  ${f}`), `${f}: ${sums}`);
  }
  assert.equal(sums.trim().split('\n').length, wasm.length, sums);
  assert.deepEqual(files, [
    'README.md', 'SHA256SUMS', 'bff-inline.d.ts', 'bff-inline.js', 'bff-node.js', 'bff-split.js', 'bff.d.ts', 'bff.js',
    'index.d.ts', 'index.js', 'inline.d.ts', 'inline.js', 'loader.js', 'node.js',
    'oauth-inline.d.ts', 'oauth-inline.js', 'oauth-node.js', 'oauth-split.js', 'oauth.d.ts', 'oauth.js',
    'package.json', 'reauth.d.ts', 'reauth.js', 'reauth_bff.d.ts', 'reauth_bff.js', 'reauth_bff_bg.wasm', 'reauth_bff_wasm.js',
    'reauth_bg.wasm', 'reauth_oauth.d.ts', 'reauth_oauth.js',
    'reauth_oauth_bg.wasm', 'reauth_oauth_wasm.js', 'reauth_wasm.js', 'split.js',
  ]);
});

test('the package is the Rust module, in three builds: wasm-bindgen glue that reaches fetch, and at most 270 lines of hand-written JS', () => {
  const pkg = join(root, 'pkg');
  // Hand-written: every .js in pkg/ (twelve entries, three builds by four ways to load, and the
  // loader they share) but the build's outputs: reauth.js, reauth_bff.js and reauth_oauth.js
  // (wasm-bindgen's glue) and reauth_wasm.js, reauth_bff_wasm.js and reauth_oauth_wasm.js (the
  // inline .wasm), which git ignores.
  const generated = ['reauth.js', 'reauth_wasm.js', 'reauth_bff.js', 'reauth_bff_wasm.js', 'reauth_oauth.js', 'reauth_oauth_wasm.js'];
  for (const f of generated) assert.equal(run('git', ['check-ignore', join('pkg', f)], root).trim(), join('pkg', f));
  const handWritten = readdirSync(pkg, { recursive: true })
    .filter((f) => f.endsWith('.js') && !generated.includes(f))
    .map((f) => join(pkg, f));
  assert.ok(handWritten.length >= 3, `${handWritten}`);
  const count = (f) => readFileSync(f, 'utf8').trimEnd().split('\n').length;
  const lines = handWritten.reduce((n, f) => n + count(f), 0);
  // (225: issue 27 added what loading needs on servers and where a bundler emits no .wasm: the
  // read at first use in Node, the split entries Angular's bundler picks, the fetch that never
  // is an authFetch. 270: issue 30 added the cookie-session build's four entries, 43 lines.)
  assert.ok(lines <= 270, `${lines} lines of hand-written JS`);
  // An entry only names its build's glue, where its module comes from and its methods: what
  // loading takes is in the loader they share.
  for (const f of handWritten.filter((f) => !f.endsWith('loader.js'))) assert.ok(count(f) <= 12, `${f}: ${count(f)} lines`);
  for (const name of ['reauth', 'reauth_bff', 'reauth_oauth']) {
  const glue = readFileSync(join(pkg, `${name}.js`), 'utf8');
  assert.match(glue, /^\/\* @ts-self-types="\.\/reauth(_bff|_oauth)?\.d\.ts" \*\/|wasm-bindgen|__wbg_/m, 'wasm-bindgen glue');
  // The module imports only from the glue's import object (one module; the build shortens the
  // names of both), and the glue is where fetch is read from the global object.
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(join(pkg, `${name}_bg.wasm`))));
  assert.equal(new Set(imports.map((i) => i.module)).size, 1, 'one import module: the glue');
  assert.match(glue, /import0 = \{/, 'the glue builds the import object');
  assert.match(glue, /: function\(arg0\) \{\s*const ret = arg0\.fetch;/, 'fetch is reached through the glue');
  }
});

test('installs and loads in a scratch Node project (ESM): each build refuses the other builds\' options and names the build that takes them', () => {
  const dir = scratch('node-app', {
    'package.json': JSON.stringify({ name: 'node-app', private: true, type: 'module' }),
    'main.js': `import init, { createAuthFetch, parseChallenges } from 'reauth';
import * as bff from 'reauth/bff';
import * as oauth from 'reauth/oauth';
await init();
const origins = ['https://api.example.com'];
const refusals = (make, list) => list.map((options) => {
  try { make({ origins, ...options }); return 'made'; } catch (e) { return e.name + ': ' + e.message; }
});
const session = { bff: 'duende' };
const client = { oauth: { issuer: 'https://as.example.com', clientId: 'spa' } };
const dpop = { refresh: () => 'x', dpop: true };
const members = (af) => ['authorizationUrl', 'login', 'completeLogin', 'logout', 'session'].filter((k) => typeof af[k] === 'function');
const af = oauth.createAuthFetch({ origins, oauth: { tokenEndpoint: 'https://as.example.com/token', clientId: 'spa' } });
console.log(JSON.stringify({
  challenges: parseChallenges('Bearer error="invalid_token", Basic realm=x'),
  refused: {
    core: refusals(createAuthFetch, [client, dpop, session]),
    bff: refusals(bff.createAuthFetch, [client, dpop]),
    oauth: refusals(oauth.createAuthFetch, [session]),
  },
  members: {
    core: members(createAuthFetch({ origins, refresh: () => 'x' })),
    bff: members(bff.createAuthFetch({ origins, ...session })),
    oauth: members(af),
  },
}));`,
  });
  const out = JSON.parse(run('node', ['main.js'], dir));
  const toOAuth = (o) => `TypeError: createAuthFetch: options.${o} is in the OAuth build: import { createAuthFetch } from 'reauth/oauth'`;
  const toBff = "TypeError: createAuthFetch: options.bff is in the cookie-session build: import { createAuthFetch } from 'reauth/bff'";
  assert.deepEqual(out, {
    challenges: [
      { scheme: 'Bearer', token68: null, params: [['error', 'invalid_token']] },
      { scheme: 'Basic', token68: null, params: [['realm', 'x']] },
    ],
    refused: {
      core: [toOAuth('oauth'), toOAuth('dpop'), toBff],
      bff: [toOAuth('oauth'), toOAuth('dpop')],
      oauth: [toBff],
    },
    members: {
      core: [],
      bff: ['login', 'completeLogin', 'logout', 'session'],
      oauth: ['authorizationUrl', 'login', 'completeLogin', 'logout'],
    },
  });
});

let server, browser;
after(async () => {
  await browser?.close();
  await server?.close();
});

test('installs, builds with Vite for production (the core: at most 81 KB gzip shipped) and runs in Chromium', async () => {
  const dir = scratch('vite-app', {
    'package.json': JSON.stringify({ name: 'vite-app', private: true, type: 'module' }),
    'index.html': '<!doctype html><title>vite app</title><script type="module" src="/main.js"></script>',
    // Vite's own modulepreload polyfill is not reauth's: leave it out of what is measured.
    'vite.config.js': 'export default { build: { modulePreload: { polyfill: false } } };',
    'main.js': `import init, { createAuthFetch, parseChallenges } from 'reauth';
await init();
await init();
// A stub API on the page's own origin: 401 for the old token, 200 for the new one.
const api = async (url, init) => new Response(init.headers.authorization === 'Bearer new' ? 'ok' : 'no', {
  status: init.headers.authorization === 'Bearer new' ? 200 : 401,
  headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
});
let refreshes = 0;
const authFetch = createAuthFetch({ fetch: api, refresh: async () => { refreshes += 1; return 'new'; } });
authFetch.setTokens({ accessToken: 'old' });
const texts = await Promise.all([1, 2, 3].map((i) => authFetch('/api/' + i).then((r) => r.text())));
window.result = {
  challenges: parseChallenges('DPoP algs="ES256", error="use_dpop_nonce"'),
  texts,
  refreshes,
};`,
  });
  run(join(root, 'node_modules/.bin/vite'), ['build', '--logLevel', 'error'], dir);
  const assets = readdirSync(join(dir, 'dist', 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `Vite emitted the wasm: ${assets}`);
  // What the app ships, reauth and these few lines: the .wasm and the JS the page fetches, each
  // gzip -9 (not the fallback chunk with the inline bytes Vite also emits: it loads only where
  // the .wasm is missing).
  const served = new Set();
  server = await serveStatic(join(dir, 'dist'), (req, res, url) => { served.add(url.pathname.split('/').pop()); return false; });
  browser = await launchChromium();
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 10000 });
  assert.deepEqual(errors, []);
  const shipped = assets.filter((f) => /\.(js|wasm)$/.test(f) && served.has(f))
    .reduce((n, f) => n + gzipSync(readFileSync(join(dir, 'dist', 'assets', f)), { level: 9 }).length, 0);
  assert.ok(!assets.some((f) => served.has(f) && /reauth_wasm/.test(f)), `the fallback chunk was not fetched: ${[...served]}`);
  // A guard against growth, under the core's ceiling (issue 30: no more than 80 KB; 92.9 KB
  // before cookie sessions left the core for reauth/bff, 78.5 KB in the bundler tier's Vite app
  // after the trims; the other builds are guarded there); BENCHMARKS.md says what each part
  // costs.
  assert.ok(shipped <= 79000, `gzip -9 of the app's .js and .wasm: ${shipped} B (guard 79,000)`);
  assert.deepEqual(await page.evaluate(() => window.result), {
    challenges: [{ scheme: 'DPoP', token68: null, params: [['algs', 'ES256'], ['error', 'use_dpop_nonce']] }],
    texts: ['ok', 'ok', 'ok'],
    refreshes: 1,
  });
});
