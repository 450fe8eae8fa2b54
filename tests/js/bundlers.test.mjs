// The bundlers SPA developers use, each at its default production setup, on the packed tarball:
// a scratch app per bundler calls createAuthFetch, its build is served beside a real API and
// token endpoint and run in Chromium, where three concurrent calls with an expired token must
// take one refresh and end in three 200s, with no console error but the three 401s; the Vite
// and esbuild builds run in Firefox and WebKit too.
// Vite and webpack build the main entry (they emit the .wasm that
// `new URL('…', import.meta.url)` names); esbuild and Rollup build `reauth/inline`; each for
// the three builds (`reauth`, `reauth/bff`, `reauth/oauth`).
// Prints what each build ships (gzip -9 of the .js and .wasm files the page fetched: a chunk a
// build emits but the app never loads, such as the main entry's fallback, is not shipped), the figures in
// BENCHMARKS.md: `node --test tests/js/bundlers.test.mjs`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium, packPkg, root, run, scratchProject, sendFile } from './helpers.mjs';
import { engineName, engines, launch } from './engines.mjs';

const work = join(root, 'target', 'bundlers-test');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const version = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

/** The app: the same few lines for every bundler, only the entry it imports differs. The
 * README's way: no init(), the calls wait for the module. */
const app = (entry) => `import init, { createAuthFetch, initSync, parseChallenges } from '${entry}';

try {
  const authFetch = createAuthFetch({
    async refresh({ fetch, signal }) {
      const r = await fetch('/token', { method: 'POST', signal });
      if (!r.ok) throw new Error('refresh failed: ' + r.status);
      const t = await r.json();
      return { accessToken: t.access_token, expiresIn: t.expires_in };
    },
    onAuthFailure: (info) => console.error('auth failure: ' + info.reason),
  });
  authFetch.setTokens({ accessToken: 'expired' });
  const responses = await Promise.all(['a', 'b', 'c'].map((id) => authFetch('/api/items/' + id)));
  window.result = {
    statuses: responses.map((r) => r.status),
    items: await Promise.all(responses.map((r) => r.json())),
    exports: [typeof init, typeof initSync, parseChallenges('Bearer error="invalid_token"')[0].params[0][1]],
  };
} catch (e) {
  window.result = { error: String(e) };
}
`;

const html = (script) =>
  `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>app</title>${script}`;

/**
 * Each bundler: its entry, the config a user writes (none beyond the defaults), its build, and
 * guards against growth of what it ships, for the core, the cookie-session build and the OAuth
 * build (about 0.5 KB over the sizes measured with the .wasm from the pinned nightly built for
 * size, once each build had only its own layer, and the stored records' readers were trimmed:
 * issue 30).
 */
const bundlers = [
  {
    name: 'Vite', pkg: 'vite', entry: 'reauth', config: 'none (`vite build`)', guard: { core: 79000, bff: 91300, oauth: 103500 },
    files: { 'index.html': html('<script type="module" src="/src/index.js"></script>') },
    build: (dir) => run(bin('vite'), ['build', '--logLevel', 'error'], dir),
  },
  {
    name: 'webpack', pkg: 'webpack', entry: 'reauth', config: "`mode: 'production'`", guard: { core: 79600, bff: 91900, oauth: 104100 },
    files: { 'webpack.config.js': "export default { mode: 'production' };\n" },
    html: html('<script src="/main.js"></script>'),
    // What the webpack CLI does with that config (in the app's directory), through webpack's API.
    build: (dir) => run(process.execPath, ['--input-type=module', '-e', `
      import webpack from ${JSON.stringify(pathToFileURL(join(root, 'node_modules/webpack/lib/index.js')).href)};
      import config from './webpack.config.js';
      webpack({ ...config, context: process.cwd() }, (e, stats) => {
        if (e || stats.hasErrors()) { console.error(e ?? stats.toString('errors-only')); process.exit(1); }
      });`], dir),
  },
  {
    name: 'esbuild', pkg: 'esbuild', entry: 'reauth/inline', config: 'none (`--bundle --format=esm --minify`)', guard: { core: 79800, bff: 92500, oauth: 104400 },
    files: {},
    html: html('<script type="module" src="/index.js"></script>'),
    build: (dir) => run(bin('esbuild'), ['src/index.js', '--bundle', '--format=esm', '--minify', '--outdir=dist', '--log-level=error'], dir),
  },
  {
    name: 'Rollup', pkg: 'rollup', entry: 'reauth/inline', config: '`@rollup/plugin-node-resolve` only', guard: { core: 83700, bff: 96500, oauth: 108500 },
    files: {
      'rollup.config.mjs': `import { nodeResolve } from '@rollup/plugin-node-resolve';
export default { input: 'src/index.js', output: { dir: 'dist', format: 'es' }, plugins: [nodeResolve()] };
`,
    },
    html: html('<script type="module" src="/index.js"></script>'),
    build: (dir) => run(bin('rollup'), ['-c', '--silent'], dir),
  },
];

/**
 * Serves `dist` on 127.0.0.1 (random port) with an API that accepts only the newest access
 * token (401 with `Bearer error="invalid_token"` otherwise) and a token endpoint that issues a
 * new one. `html` answers `/` when the bundler writes no index.html.
 */
async function serveApp(dist, html) {
  const state = { token: 'current', refreshes: 0, unauthorized: 0, ok: 0, wasm: 0, served: new Set() };
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    if (pathname === '/token' && req.method === 'POST') {
      state.refreshes += 1;
      state.token = `token-${state.refreshes}`;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ access_token: state.token, token_type: 'Bearer', expires_in: 3600 }));
    } else if (pathname.startsWith('/api/')) {
      if (req.headers.authorization === `Bearer ${state.token}`) {
        state.ok += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: pathname }));
      } else {
        state.unauthorized += 1;
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      }
    } else if (pathname === '/' && html) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else {
      if (pathname.endsWith('.wasm')) state.wasm += 1;
      if (/\.(js|wasm)$/.test(pathname)) state.served.add(pathname.slice(1));
      sendFile(dist, pathname, res);
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

/** The .js and .wasm files a build wrote (or, with `only`, those of them the page fetched),
 * with their gzip -9 sizes (and, for the figures, brotli's at quality 11, as a server that
 * compresses static files ahead would send them). */
function shipped(dist, only) {
  const files = readdirSync(dist, { recursive: true }).filter((f) => /\.(js|wasm)$/.test(f) && (!only || only.has(f)));
  const size = (re, pack) => files.filter((f) => re.test(f))
    .reduce((n, f) => n + pack(readFileSync(join(dist, f))).length, 0);
  const gz = (b) => gzipSync(b, { level: 9 });
  const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  // (Brotli at quality 11 is slow: only for what the page fetched, the figures' own.)
  return { files, js: size(/\.js$/, gz), wasm: size(/\.wasm$/, gz), brotli: only ? size(/\.(js|wasm)$/, br) : null };
}

let tarball, browser;
const figures = [];
/** Each bundler's build, once made: { dist, html, inline }. */
const built = new Map();
before(async () => {
  tarball = packPkg(work);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  if (figures.length === 0) return;
  const kb = (b) => (b / 1000).toFixed(1);
  const rows = figures.map((f) => `| ${f.name} | ${f.version} | \`${f.entry}\` | ${f.config} | ${kb(f.js + f.wasm)} KB (JS ${kb(f.js)} + wasm ${kb(f.wasm)}) | ${kb(f.brotli)} KB |`);
  console.log(['| bundler | version | entry | config | shipped, gzip -9 (.js + .wasm) | brotli 11 |', '|---|---|---|---|---|---|', ...rows].join('\n'));
});

// Each bundler builds the app three times: on the core (`reauth`, `reauth/inline`), on the
// cookie-session build (`reauth/bff`, `reauth/bff/inline`) and on the OAuth build
// (`reauth/oauth`, `reauth/oauth/inline`), which both take the same refresh hook.
for (const b of bundlers) for (const layer of ['core', 'bff', 'oauth']) {
  const entry = layer === 'core' ? b.entry : b.entry.replace('reauth', `reauth/${layer}`);
  test(`${b.name}: a production build of an app on \`${entry}\` refreshes once for three 401s in Chromium`, async () => {
    const dir = scratchProject(join(work, `${b.pkg}-${layer}`), tarball, {
      'package.json': JSON.stringify({ name: `${b.pkg}-${layer}-app`, private: true, type: 'module' }),
      'src/index.js': app(entry),
      ...b.files,
    });
    await b.build(dir);
    const dist = join(dir, 'dist');
    if (b.html) writeFileSync(join(dist, 'index.html'), b.html);
    const wrote = shipped(dist);
    const inline = entry.endsWith('/inline');
    built.set(`${b.name} ${layer}`, { dist, html: b.html, inline });
    assert.equal(wrote.files.some((f) => f.endsWith('.wasm')), !inline, `the build wrote ${wrote.files}`);
    const served = await runApp(browser, 'chromium', built.get(`${b.name} ${layer}`));
    const ships = shipped(dist, served);
    // The page ran this build's module: the .wasm it fetched is the package's, byte for byte, or
    // (inline) the script it fetched carries the package's inline copy.
    const name = { core: 'reauth', bff: 'reauth_bff', oauth: 'reauth_oauth' }[layer];
    if (inline) {
      const copy = readFileSync(join(root, 'pkg', `${name}_wasm.js`), 'utf8').match(/'([A-Za-z0-9+/=]+)'/)[1];
      assert.ok(ships.files.some((f) => readFileSync(join(dist, f), 'utf8').includes(copy)), `${name}_wasm.js in ${ships.files}`);
    } else {
      const wasm = ships.files.filter((f) => f.endsWith('.wasm'));
      assert.equal(wasm.length, 1, `${ships.files}`);
      assert.ok(readFileSync(join(dist, wasm[0])).equals(readFileSync(join(root, 'pkg', `${name}_bg.wasm`))), `${wasm[0]} is ${name}_bg.wasm`);
    }
    figures.push({ name: b.name, version: version(b.pkg), entry, config: b.config, js: ships.js, wasm: ships.wasm, brotli: ships.brotli });
    const guard = b.guard[layer];
    assert.ok(ships.js + ships.wasm <= guard, `gzip -9 of the .js and .wasm the page fetched (${ships.files}): ${ships.js + ships.wasm} B (guard ${guard} B)`);
  });
}

/** Serves a build and runs its app in a fresh context of `browser`: one refresh, three 200s, no
 * errors (in Chromium, no console error but the three 401s it logs). Resolves with the paths of
 * the .js and .wasm files the page fetched. */
async function runApp(browser, engine, { dist, html, inline }) {
  const server = await serveApp(dist, html);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    const unauthorized = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // The console is Playwright's (Chromium) only; over WebDriver, uncaught errors are seen.
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      // Chromium logs every 401 a fetch receives.
      if (/status of 401/.test(m.text())) unauthorized.push(m.text());
      else errors.push(m.text());
    });
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 15000 });
    assert.deepEqual(await page.evaluate(() => window.result), {
      statuses: [200, 200, 200],
      items: ['a', 'b', 'c'].map((id) => ({ path: `/api/items/${id}` })),
      exports: ['function', 'function', 'invalid_token'],
    });
    assert.deepEqual(
      { refreshes: server.state.refreshes, unauthorized: server.state.unauthorized, ok: server.state.ok },
      { refreshes: 1, unauthorized: 3, ok: 3 },
    );
    // The .wasm is fetched once from the build's own assets, or, inline, not at all.
    assert.equal(server.state.wasm, inline ? 0 : 1);
    assert.deepEqual(errors, []);
    if (engine === 'chromium') assert.equal(unauthorized.length, 3, unauthorized.join('\n'));
    return server.state.served;
  } finally {
    await context.close();
    await server.close();
  }
}

// The other engines run one build of each kind: Vite's (the .wasm as an asset) and esbuild's
// (reauth/inline, the module unpacked with DecompressionStream).
for (const engine of engines.filter((e) => e !== 'chromium')) {
  describe(`in ${engineName[engine]}`, () => {
    let other;
    before(async () => {
      other = await launch(engine);
    });
    after(() => other?.close());
    for (const name of ['Vite', 'esbuild']) {
      test(`${name}'s build runs in ${engineName[engine]}: one refresh for three 401s`, async (t) => {
        if (!built.has(`${name} core`)) return t.skip(`the ${name} build did not run`);
        await runApp(other, engine, built.get(`${name} core`));
      });
    }
  });
}
