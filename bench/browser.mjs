// reauth in Chromium: success-path overhead over a stub fetch (pairs of blocks, as in Node),
// start-up from import to the first authFetch resolved, and init() alone (compile and
// instantiate, the bytes already fetched; and reauth/inline's init() from the copy inside it):
// medians of 20 loads, each in a fresh browser context, so nothing is cached.
// Run: node bench/browser.mjs
import { launchChromium, root, serveStatic } from '../tests/js/helpers.mjs';

const server = await serveStatic(root);
// gc() in the page: each block of the success-path measurement starts from a collected heap.
const browser = await launchChromium(['--js-flags=--expose-gc']);
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/bench/pages/overhead.html`);
  await page.waitForFunction(() => window.ready === true);
  const pairs = await page.evaluate(() => window.run());
  const ratios = pairs.map((p) => p.ratio).sort((a, b) => a - b);
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`Chromium success path: ${med(ratios).toFixed(2)}x the raw stub (min ${ratios[0].toFixed(2)}, max ${ratios.at(-1).toFixed(2)}); µs per call: stub ${med(pairs.map((p) => p.raw)).toFixed(2)}, authFetch ${med(pairs.map((p) => p.ours)).toFixed(2)}`);

  const loads = [];
  for (let i = 0; i < 20; i++) {
    const context = await browser.newContext();
    const p = await context.newPage();
    await p.goto(`${server.url}/bench/pages/startup.html`);
    await p.waitForFunction(() => window.startup !== undefined);
    loads.push(await p.evaluate(() => window.startup));
    await context.close();
  }
  loads.sort((a, b) => a - b);
  console.log(`Chromium start-up, import to first authFetch resolved: median ${med(loads).toFixed(1)} ms (min ${loads[0].toFixed(1)}, max ${loads.at(-1).toFixed(1)}), 20 cold loads`);

  // init() alone: from the .wasm's bytes (main entry), and from inside reauth/inline.
  for (const [page, what] of [['init', 'init() alone (compile + instantiate, bytes fetched)'], ['init-inline', 'reauth/inline init() (base64 + gunzip + compile + instantiate)']]) {
    const inits = [];
    for (let i = 0; i < 20; i++) {
      const context = await browser.newContext();
      const p = await context.newPage();
      await p.goto(`${server.url}/bench/pages/${page}.html`);
      await p.waitForFunction(() => window.initMs !== undefined);
      inits.push(await p.evaluate(() => window.initMs));
      await context.close();
    }
    inits.sort((a, b) => a - b);
    console.log(`Chromium ${what}: median ${med(inits).toFixed(1)} ms (min ${inits[0].toFixed(1)}, max ${inits.at(-1).toFixed(1)}), 20 cold contexts`);
  }
} finally {
  await browser.close();
  await server.close();
}
