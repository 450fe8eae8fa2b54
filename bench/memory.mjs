// Memory over 100,000 calls through one authFetch: wasm linear memory and the JS heap after the
// first 1,000 calls and after all of them. Run: node --expose-gc bench/memory.mjs
// The stub fetch answers at once; a token rotation every 100 calls sends part of a batch down
// the 401, refresh, wait and retry paths too, not only the success path.
import { readFileSync } from 'node:fs';
import { createAuthFetch } from 'reauth';
// wasm-bindgen's own initSync hands back the instance's exports (the module is already
// instantiated by the package's Node entry, so this only returns them): its memory is measured.
import { initSync } from '../pkg/reauth.js';

if (typeof gc !== 'function') {
  console.error('run with: node --expose-gc bench/memory.mjs');
  process.exit(2);
}
const exports = Object.values(initSync({ module: readFileSync(new URL('../pkg/reauth_bg.wasm', import.meta.url)) }));
// The export names are minified: the memory is found by what it is.
const wasm = { memory: exports.find((e) => e instanceof WebAssembly.Memory) };

// The stub server accepts only the newest token; at every 100th URL it rotates that token, so
// the requests of that batch still carrying the old one get 401s and share one refresh.
let valid = 'at-0';
let rotations = 0;
let refreshes = 0;
const stubFetch = async (input, init) => {
  const index = Number(String(input).split('/').pop());
  if (index % 100 === 0 && valid === `at-${rotations}` && rotations === index / 100) {
    rotations += 1;
    valid = `at-${rotations}`;
  }
  if (init?.headers?.authorization !== `Bearer ${valid}`) {
    return new Response('expired', { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
  }
  return new Response('ok');
};
const authFetch = createAuthFetch({
  origins: ['https://api.example.com'],
  fetch: stubFetch,
  refresh: async () => {
    refreshes += 1;
    return { accessToken: valid, refreshToken: 'r' };
  },
});
authFetch.setTokens({ accessToken: valid, refreshToken: 'r' });

async function run(count, batch = 100) {
  for (let done = 0; done < count; done += batch) {
    const rs = await Promise.all(Array.from({ length: batch }, (_, i) => authFetch(`https://api.example.com/items/${done + i}`)));
    for (const r of rs) {
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      await r.text();
    }
  }
}

function snapshot() {
  gc();
  gc();
  return { wasm: wasm.memory.buffer.byteLength, heap: process.memoryUsage().heapUsed };
}

await run(1_000);
await new Promise((r) => setTimeout(r, 50));
const after1k = snapshot();
await run(Number(process.env.CALLS ?? 100_000) - 1_000);
await new Promise((r) => setTimeout(r, 50));
const after100k = snapshot();
const kib = (b) => (b / 1024).toFixed(0);
console.log(`calls: ${process.env.CALLS ?? 100000}, refreshes: ${refreshes}`);
console.log(`wasm memory  after 1k: ${kib(after1k.wasm)} KiB   after all: ${kib(after100k.wasm)} KiB`);
console.log(`JS heap used after 1k: ${kib(after1k.heap)} KiB   after all: ${kib(after100k.heap)} KiB   (${((after100k.heap / after1k.heap - 1) * 100).toFixed(1)}%)`);
