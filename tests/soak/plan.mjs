// The soak's plan: a seeded, replayable list of calls and of what the servers do to them.
// Runtime-neutral (Node and the browser page import it).
//
// Each call: where it goes (the API, or the foreign origin), its method and body kind, what the
// API does to its first attempt (and to a retry), and whether the caller aborts it. The token
// endpoint's behaviour is a cycle of faults the plan draws as well. The same seed gives the same
// plan; what happens in time (which refresh meets which call) depends on scheduling, and the
// invariants hold whatever it is.

/** A small deterministic PRNG (xorshift32) from a seed. */
export function rng(seed) {
  let x = (seed >>> 0) || 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (weighted) => {
      const total = weighted.reduce((n, [, w]) => n + w, 0);
      let r = next() * total;
      for (const [v, w] of weighted) {
        if ((r -= w) < 0) return v;
      }
      return weighted[weighted.length - 1][0];
    },
  };
}

/** What the API does to a call's first attempt. `ok`: 200 for the current token, else a
 * refreshable 401. The others happen whatever the token. */
export const FIRST_ATTEMPT = [
  ['ok', 62],
  ['401-expired', 6], // invalid_token: refreshes
  ['401-noheader', 3], // no challenge: refreshes
  ['401-garbage', 2], // a header off the grammar: refreshes
  ['401-scope', 3], // insufficient_scope: handed back
  ['401-request', 2], // invalid_request: handed back
  ['401-basic', 2], // Basic: handed back (Node only: browsers show their own dialog)
  ['403', 4],
  ['500', 4],
  ['drop', 3], // the connection is destroyed: a network error
  ['slow', 5], // answers after 30–80 ms
  ['hang', 4], // never answers: only for calls the caller aborts
];

/** What the API does to a retry. */
export const RETRY = [
  ['ok', 90],
  ['500', 4],
  ['drop', 3],
  ['slow', 3],
];

/** What the token endpoint does, by refresh. */
export const TOKEN = [
  ['ok', 70],
  ['500', 6],
  ['400', 5], // invalid_grant
  ['garbage', 4], // 200 with a body that is not JSON
  ['slow', 8], // answers after 100 ms
  ['hang', 4], // never answers: the refresh times out
  ['drop', 3],
];

export const BODIES = ['none', 'string', 'uint8array', 'arraybuffer', 'blob', 'formdata', 'urlsearchparams', 'stream'];

/**
 * The plan for `seed`: `calls` calls; `runtime` 'node' or 'window' (no Basic 401s in a browser).
 */
export function makePlan(seed, calls, runtime = 'node') {
  const r = rng(seed);
  const first = FIRST_ATTEMPT.filter(([k]) => runtime === 'node' || k !== '401-basic');
  const list = [];
  for (let i = 0; i < calls; i++) {
    const foreign = r.next() < 0.05;
    const body = BODIES[r.int(BODIES.length)];
    let fault = foreign ? 'ok' : r.pick(first);
    // Aborts: some calls at random, and every call whose first attempt hangs.
    let abortAfter = r.next() < 0.06 ? r.int(60) : null;
    if (fault === 'hang') abortAfter = 20 + r.int(60);
    list.push({
      i,
      foreign,
      method: body === 'none' ? 'GET' : 'POST',
      body,
      fault,
      retry: r.pick(RETRY),
      abortAfter,
      delay: r.int(8), // ms the API waits before answering (besides 'slow')
    });
  }
  const token = Array.from({ length: 64 }, () => r.pick(TOKEN));
  return { seed, runtime, calls: list, token };
}

/** A one-line summary of a plan (printed with the seed so a run can be replayed). */
export function describe(plan) {
  const count = (key) => {
    const m = new Map();
    for (const c of plan.calls) m.set(c[key], (m.get(c[key]) ?? 0) + 1);
    return [...m].map(([k, v]) => `${k} ${v}`).join(', ');
  };
  return `seed ${plan.seed}: ${plan.calls.length} calls (${plan.calls.filter((c) => c.foreign).length} foreign, ` +
    `${plan.calls.filter((c) => c.abortAfter !== null).length} aborted); first attempts: ${count('fault')}; ` +
    `bodies: ${count('body')}; token endpoint cycle: ${plan.token.join(' ')}`;
}
