// Thundering herd, late 401s and refresh failure: 1,000 concurrent requests with an expired
// token against the bench server (in a worker thread), for each contender. Prints a JSON line
// per contender and scenario and a table. Run: node bench/herd.mjs [runs, default 5] [names…]
import { Worker } from 'node:worker_threads';
import { peers } from './peers.mjs';

const runs = Number(process.argv[2] ?? 5);
/** Optional contender names after the run count: only those run. */
const only = process.argv.slice(3);
const N = 1000;
const worker = new Worker(new URL('./server-worker.mjs', import.meta.url));
const { port } = await new Promise((ok) => worker.once('message', ok));
const base = `http://127.0.0.1:${port}`;
const control = (path) => fetch(`${base}/control/${path}`, { method: 'POST' }).then((r) => r.json());

async function once(name, mode) {
  await control(`reset?mode=${mode}`);
  const plain = name === 'raw fetch';
  const tokens = { access: plain ? 'valid-0' : 'expired', refresh: 'rt-0' };
  let hookCalls = 0;
  const call = await peers[name]({ base, fetch: globalThis.fetch, tokens, onFailure: () => { hookCalls += 1; } });
  const outcomes = { ok: 0, own401: 0, otherStatus: 0, rejected: 0 };
  let settled = 0;
  const t0 = performance.now();
  let wall;
  const all = Promise.all(Array.from({ length: N }, (_, i) =>
    call(`${base}/api/items/${i}`).then(
      (status) => { outcomes[status === 200 ? 'ok' : status === 401 ? 'own401' : 'otherStatus'] += 1; },
      (e) => {
        // Libraries that reject on HTTP error statuses count here, as rejections.
        void e;
        outcomes.rejected += 1;
      },
    ).finally(() => { settled += 1; if (settled === N) wall = performance.now() - t0; })));
  await Promise.race([all, new Promise((r) => setTimeout(r, 5000))]);
  const server = await control('stats');
  return {
    wall: wall ?? NaN,
    pending: N - settled,
    hookCalls,
    refreshCalls: server.refreshCalls,
    apiRequests: server.apiRequests,
    ...outcomes,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
const ratios = [];
// MODES=ok,late (comma-separated) runs only those scenarios.
for (const mode of (process.env.MODES ?? 'ok,late,fail').split(',')) {
  const names = Object.keys(peers)
    .filter((name) => !(name === 'raw fetch' && mode !== 'ok'))
    .filter((name) => only.length === 0 || only.includes(name));
  // A warm-up run each (connections, JIT), not counted; then the runs interleaved, every
  // contender once per round and each round starting one contender later, so that the
  // machine's drift and whatever the previous contender left behind reach all of them alike.
  for (const name of names) await once(name, mode);
  const byName = new Map(names.map((name) => [name, []]));
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length];
      byName.get(name).push(await once(name, mode));
    }
  }
  for (const name of names) {
    const results = byName.get(name);
    const walls = results.map((r) => r.wall).filter((w) => !Number.isNaN(w));
    const last = results[results.length - 1];
    const row = {
      scenario: { ok: 'thundering herd', late: 'late 401s', fail: 'refresh failure' }[mode],
      contender: name,
      refreshCalls: median(results.map((r) => r.refreshCalls)),
      ok: median(results.map((r) => r.ok)),
      own401: median(results.map((r) => r.own401)),
      rejected: median(results.map((r) => r.rejected)),
      pending: median(results.map((r) => r.pending)),
      hookCalls: median(results.map((r) => r.hookCalls)),
      apiRequests: median(results.map((r) => r.apiRequests)),
      wallMs: walls.length ? Math.round(median(walls)) : null,
      wallMinMax: walls.length ? [Math.round(Math.min(...walls)), Math.round(Math.max(...walls))] : null,
      runs,
      lastRun: last,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  // reauth against the hand-written wrapper, round by round (the same round: the same drift).
  const ours = byName.get('reauth');
  const theirs = byName.get('hand-written wrapper');
  if (ours && theirs) {
    const r = ours.map((o, i) => o.wall / theirs[i].wall).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    if (r.length) ratios.push({ scenario: rows.at(-1).scenario, median: median(r), min: r[0], max: r.at(-1) });
  }
}
console.log('\n| scenario | contender | refresh calls | 200s | own 401s | rejected | pending after 5 s | failure-hook calls | API requests | wall ms (median, min–max) |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const wall = r.wallMs === null ? '—' : `${r.wallMs} (${r.wallMinMax[0]}–${r.wallMinMax[1]})`;
  console.log(`| ${r.scenario} | ${r.contender} | ${r.refreshCalls} | ${r.ok} | ${r.own401} | ${r.rejected} | ${r.pending} | ${r.hookCalls} | ${r.apiRequests} | ${wall} |`);
}
if (ratios.length) {
  console.log('\n| scenario | reauth / hand-written wall time, per round (median, min–max) |');
  console.log('|---|---|');
  for (const r of ratios) console.log(`| ${r.scenario} | ${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)}) |`);
}
await worker.terminate();
process.exit(0);
