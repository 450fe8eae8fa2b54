// Runs a soak: starts the servers, runs a seeded plan through authFetch in Node or in a Chromium
// window, and checks the invariants from what the servers recorded.
//
//   node --expose-gc tests/soak/soak.mjs [--seed N] [--calls N] [--runtime node|window]
//                                        [--engine E] [--load N] [--throttle R]
//                                        [--switch name,...] [--json]
//
// Load mode, for a starved CPU (a phone under load): --load N keeps N more threads of this
// machine busy while the soak runs (worker threads spinning; 3 on a 2-core machine starve it);
// --throttle R slows a Chromium window's CPU R times (CDP Emulation.setCPUThrottlingRate: 4 and
// 6 stand for mid-range phones).
//
// Without --seed a seed is drawn and printed; the same seed replays the same plan. Exits 1 when
// any invariant is violated. `--expose-gc` lets the heap be measured after a collection (in a
// browser, Chromium runs with --expose-gc for the same reason).
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { check, INVARIANTS } from './check.mjs';
import { describe, makePlan } from './plan.mjs';
import { runSoak } from './harness.mjs';

/** The servers (server.mjs) in a worker thread: their records stay out of this thread's heap. */
async function startServers(switches) {
  const worker = new Worker(new URL('./server-worker.mjs', import.meta.url));
  const ask = (message) => new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.postMessage(message);
  });
  const { api, foreign } = await ask({ start: switches });
  return {
    api,
    foreign,
    reset: (plan) => ask({ reset: plan }),
    log: () => ask({ log: true }),
    close: async () => {
      await ask({ close: true });
      await worker.terminate();
    },
  };
}

/** Switches the servers understand (the others are the caller's: harness.mjs). */
const SERVER_SWITCHES = ['mislabel', 'hang-api', 'stale'];

async function nodeHeap() {
  if (typeof gc !== 'function') return null;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return process.memoryUsage().heapUsed;
}

/**
 * One soak. `browser`: a browser of tests/js/engines.mjs (for runtime 'window'); Chromium
 * launched with --js-flags=--expose-gc and --enable-precise-memory-info measures the heap.
 */
export async function soak({ seed, calls = 1000, runtime = 'node', switches = [], browser, deadlineMs = 8000, load = 0, throttle = 1 }) {
  const servers = await startServers(switches.filter((s) => SERVER_SWITCHES.includes(s)));
  // Busy threads for the load mode: each spins until it is told to stop.
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const busy = Array.from({ length: load }, () => new Worker(
    'const { workerData } = require("node:worker_threads"); const s = new Int32Array(workerData); let x = 0; while (Atomics.load(s, 0) === 0) x++;',
    { eval: true, workerData: stop.buffer },
  ));
  // A slow machine stretches every step: the calls get the time it takes.
  const slow = Math.max(1, throttle, load);
  const clientSwitches = switches.filter((s) => !SERVER_SWITCHES.includes(s));
  const plan = makePlan(seed, calls, runtime);
  await servers.reset(plan);
  try {
    let run;
    if (runtime === 'node') {
      const { createAuthFetch } = await import('reauth');
      run = await runSoak({
        createAuthFetch, api: servers.api, foreign: servers.foreign, plan, switches: clientSwitches, heap: nodeHeap, deadlineMs, slow,
      });
    } else {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      try {
        await page.goto(`${servers.api}/tests/soak/page.html`);
        await page.waitForFunction(() => window.ready === true);
        if (throttle > 1) {
          const cdp = await page.context().newCDPSession(page);
          await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
        }
        run = await page.evaluate(([p, f, sw, d, sl]) => window.soak(p, f, sw, d, sl), [plan, servers.foreign, clientSwitches, deadlineMs, slow]);
      } finally {
        await page.close();
      }
      if (errors.length) run.pageErrors = errors;
    }
    const result = check(plan, run, await servers.log());
    return { plan, ...result };
  } finally {
    Atomics.store(stop, 0, 1);
    await Promise.all(busy.map((w) => w.terminate()));
    await servers.close();
  }
}

/** The violations of a result as lines (none when clean). */
export function report(result) {
  return Object.entries(result.violations)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} (${INVARIANTS[k]}): ${n}, e.g. ${JSON.stringify(result.examples[k]?.slice(0, 2))}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i < 0 ? fallback : process.argv[i + 1];
  };
  const seed = Number(arg('seed', process.env.SEED ?? Math.floor(Math.random() * 2 ** 31)));
  const calls = Number(arg('calls', 1000));
  const runtime = arg('runtime', 'node');
  const switches = (arg('switch', '') || '').split(',').filter(Boolean);
  const load = Number(arg('load', 0));
  const throttle = Number(arg('throttle', 1));
  let browser;
  if (runtime === 'window') {
    // --engine chromium (the default), firefox or webkit; only Chromium measures the heap.
    const { launch } = await import('../js/engines.mjs');
    browser = await launch(arg('engine', 'chromium'), { chromiumArgs: ['--js-flags=--expose-gc', '--enable-precise-memory-info'] });
  }
  const t0 = Date.now();
  try {
    const result = await soak({ seed, calls, runtime, switches, browser, load, throttle });
    const lines = report(result);
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify({ seed, runtime, load, throttle, ms: Date.now() - t0, violations: result.violations, examples: result.examples, stats: result.stats }));
    } else {
      console.log(`SEED=${seed} (${runtime}, load ${load}, throttle ${throttle}) ${describe(result.plan)}`);
      console.log(`${JSON.stringify(result.stats)} in ${Date.now() - t0} ms`);
      console.log(lines.length ? lines.join('\n') : 'no violations');
    }
    process.exitCode = lines.length ? 1 : 0;
  } finally {
    await browser?.close();
  }
  // Keep-alive sockets and the fetches the servers left hanging would hold the process open.
  process.exit();
}
