// Success-path overhead: cost per call over a stub fetch that resolves at once with a
// Response, body read. Each contender runs in a process of its own (loading them all in one
// process slows Node's Request/Response for everyone), alternating its blocks with raw-stub
// blocks so the ratio is taken pair by pair. Run: node bench/overhead.mjs
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { peers } from './peers.mjs';

const BLOCK = 20_000;
const PAIRS = 11;
const base = 'https://api.example.com';

async function child(name) {
  const stub = async () => new Response('ok');
  globalThis.fetch = stub; // for contenders without a fetch option (OAuth2Fetch)
  const env = { base, fetch: stub, tokens: { access: 'valid', refresh: 'r' }, onFailure() {} };
  const call = await peers[name](env);
  const raw = (url) => stub(url, { headers: { authorization: 'Bearer valid' } }).then(async (r) => { await r.arrayBuffer(); return r.status; });
  const block = async (f) => {
    const t0 = performance.now();
    for (let i = 0; i < BLOCK; i++) {
      if ((await f(`${base}/items/${i & 63}`)) !== 200) throw new Error('not 200');
    }
    return ((performance.now() - t0) / BLOCK) * 1000;
  };
  for (let i = 0; i < 3; i++) {
    await block(raw);
    await block(call);
  }
  const pairs = [];
  for (let i = 0; i < PAIRS; i++) {
    const first = i % 2 === 0;
    const a = first ? await block(raw) : undefined;
    const b = await block(call);
    const r = first ? a : await block(raw);
    pairs.push({ raw: r, peer: b, ratio: b / r });
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const ratios = pairs.map((p) => p.ratio);
  console.log(JSON.stringify({
    contender: name,
    ratio: med(ratios),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    rawUs: med(pairs.map((p) => p.raw)),
    peerUs: med(pairs.map((p) => p.peer)),
  }));
}

const which = process.argv[2];
if (which) {
  await child(which);
} else {
  const rows = [];
  for (const name of Object.keys(peers)) {
    if (name === 'raw fetch') continue;
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(`${name}: ${r.stderr}`);
      continue;
    }
    const row = JSON.parse(r.stdout.trim().split('\n').pop());
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  console.log('\n| contender | × raw stub (median, min–max) | µs per call: stub / contender |');
  console.log('|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.contender} | ${r.ratio.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)}) | ${r.rawUs.toFixed(1)} / ${r.peerUs.toFixed(1)} |`);
  }
}
