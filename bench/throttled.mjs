// The success path and the herd on a slow CPU, reauth beside the hand-written wrapper
// (bench/peers.mjs's kind): Chromium with its CPU slowed 1×, 4× and 6× (CDP
// Emulation.setCPUThrottlingRate; 4× and 6× stand for mid-range phones), stub fetches, medians.
// Run: node bench/throttled.mjs [rates, default 1,4,6]
import { launchChromium, root, serveStatic } from '../tests/js/helpers.mjs';

const rates = (process.argv[2] ?? '1,4,6').split(',').map(Number);
const server = await serveStatic(root);
const browser = await launchChromium(['--js-flags=--expose-gc']);
const rows = [];
try {
  for (const rate of rates) {
    const page = await browser.newPage();
    await page.goto(`${server.url}/bench/pages/throttled.html`);
    await page.waitForFunction(() => window.ready === true);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate });
    const r = await page.evaluate(() => window.run());
    await page.close();
    rows.push({ rate, ...r });
    console.log(JSON.stringify({ rate, ...r }));
  }
  const f = (x) => x.toFixed(1);
  console.log('| CPU | success path, µs per call: stub / hand-written / reauth (reauth ÷ hand-written) | 1,000-call herd, ms: hand-written / reauth |');
  console.log('|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.rate}× | ${f(r.path.raw)} / ${f(r.path.hand)} / ${f(r.path.ours)} (${(r.path.ours / r.path.hand).toFixed(2)}×) | ${f(r.herd.hand)} / ${f(r.herd.ours)} |`);
  }
} finally {
  await browser.close();
  await server.close();
}
