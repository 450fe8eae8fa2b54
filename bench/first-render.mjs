// First render with reauth, in Chromium: when a page's login form is first painted (first
// contentful paint) with the module awaited before rendering (`await init()` at the top), with
// the README's way (no init(): the app renders, the first authFetch call waits for the module),
// and with reauth left out; and when the first authFetch call resolved. Each page's script
// (bench/pages/render-*.js) is bundled by esbuild as an app's would be (one .js, the .wasm
// beside it). Each load in a fresh browser context (cold cache), files from 127.0.0.1, on the
// loopback as it is and on a link throttled to 9 Mbit/s with 60 ms latency; modes interleaved,
// medians of 7 (ROUNDS=…).
// Run: node bench/first-render.mjs
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium, root, run, serveStatic } from '../tests/js/helpers.mjs';

const rounds = Number(process.env.ROUNDS ?? 7);
const modes = ['blocking', 'lazy', 'none'];
const links = {
  loopback: null,
  '9 Mbit/s, 60 ms': { offline: false, latency: 60, downloadThroughput: 9e6 / 8, uploadThroughput: 9e6 / 8 },
};
const out = join(root, 'target', 'first-render');
for (const mode of modes) {
  const dir = join(out, mode);
  mkdirSync(dir, { recursive: true });
  run(join(root, 'node_modules', '.bin', 'esbuild'), [join(root, 'bench', 'pages', `render-${mode}.js`), '--bundle',
    '--format=esm', '--minify', '--log-level=error', `--outfile=${join(dir, 'app.js')}`], root);
  copyFileSync(join(root, 'pkg', 'reauth_bg.wasm'), join(dir, 'reauth_bg.wasm'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>app</title><script type="module" src="app.js"></script>');
}
const server = await serveStatic(out);
const browser = await launchChromium();
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `${med(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
try {
  console.log('| link | page | first contentful paint, ms | first authFetch call resolved, ms |');
  console.log('|---|---|---|---|');
  for (const [link, conditions] of Object.entries(links)) {
    const got = Object.fromEntries(modes.map((m) => [m, { paint: [], called: [] }]));
    for (let i = 0; i < rounds; i++) {
      for (const mode of modes) {
        const context = await browser.newContext();
        const page = await context.newPage();
        if (conditions) {
          const cdp = await context.newCDPSession(page);
          await cdp.send('Network.enable');
          await cdp.send('Network.emulateNetworkConditions', conditions);
        }
        await page.goto(`${server.url}/${mode}/`);
        await page.waitForFunction(() => window.called !== undefined
          && performance.getEntriesByName('first-contentful-paint').length > 0);
        const [paint, called] = await page.evaluate(() => [
          performance.getEntriesByName('first-contentful-paint')[0].startTime, window.called]);
        got[mode].paint.push(paint);
        got[mode].called.push(called);
        await context.close();
      }
    }
    const label = { blocking: '`await init()` first', lazy: 'no init() (the README\'s way)', none: 'reauth left out' };
    for (const mode of modes) console.log(`| ${link} | ${label[mode]} | ${fmt(got[mode].paint)} | ${fmt(got[mode].called)} |`);
  }
} finally {
  await browser.close();
  await server.close();
}
