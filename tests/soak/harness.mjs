// The soak's caller: runs a plan's calls through one authFetch with bounded concurrency, as an
// app would (bodies of every kind, reused right after each call; random aborts; some calls to
// another origin), and records what each call got. Runtime-neutral: Node and a browser page.
//
// `switches` stand in for a broken library, to prove the checker catches each kind of violation
// (see check.mjs and tests/js/soak.test.mjs): `resend` (every retry sent twice),
// `mutate-retry` (a retry's body bytes changed), `leak-foreign` (the foreign origin allowed),
// `auth-token-request` (the token request carries the access token), `double-refresh` (a
// second, overlapping token request), `refresh-everything` (403, 500 and pass-through 401s
// refreshed and retried), `strip-signal` (the caller's signal reaches neither authFetch nor fetch),
// `fake-response` (network errors turned into responses), `no-hook` (hook calls not seen),
// `hook-twice` (each hook call seen twice), `leak` (the caller keeps every response),
// `late-send` (each retry sent once more after its call settled), `retry-hook-anyway` (a
// refused refresh also reported as a refused retry).

const text = new TextEncoder();

async function sha(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  let s = '';
  for (const b of d) s += String.fromCharCode(b);
  return btoa(s);
}

/** Bytes for call `i`: known, different per call. */
function bytesFor(i, n = 64 + (i % 200)) {
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) b[k] = (i * 31 + k * 7) & 0xff;
  return b;
}

const stringBody = (i) => `call ${i} ${'x'.repeat(i % 50)}`;

/** What every attempt of a call must carry, as it is at call time: the body's digest, or for a
 * form the value of its field `a`. Worked out before the run (so the run allocates nothing that
 * lasts). */
async function expectationOf(c) {
  switch (c.body) {
    case 'none':
      return { sha: null, form: null };
    case 'string':
      return { sha: await sha(text.encode(stringBody(c.i))), form: null };
    case 'urlsearchparams':
      return { sha: await sha(text.encode(`a=before-${c.i}`)), form: null };
    case 'formdata':
      return { sha: null, form: `before-${c.i}` };
    default:
      return { sha: await sha(bytesFor(c.i)), form: null };
  }
}

/** The body of a call, and how the caller reuses it right after the call. */
function bodyFor(c) {
  const bytes = bytesFor(c.i);
  switch (c.body) {
    case 'none':
      return {};
    case 'string':
      return { body: stringBody(c.i) };
    case 'uint8array': {
      const body = bytes.slice();
      return { body, reuse: () => body.fill(0xee) };
    }
    case 'arraybuffer': {
      const body = bytes.slice().buffer;
      return { body, reuse: () => new Uint8Array(body).fill(0xee) };
    }
    case 'blob':
      return { body: new Blob([bytes], { type: 'application/octet-stream' }) };
    case 'formdata': {
      const body = new FormData();
      body.append('a', `before-${c.i}`);
      body.append('file', new Blob([bytes]), 'f.bin');
      return { body, reuse: () => body.set('a', `after-${c.i}`) };
    }
    case 'urlsearchparams': {
      const body = new URLSearchParams({ a: `before-${c.i}` });
      return { body, reuse: () => body.set('a', `after-${c.i}`) };
    }
    case 'stream': {
      const body = new ReadableStream({
        start(ctl) {
          ctl.enqueue(bytes.slice(0, 10));
          ctl.enqueue(bytes.slice(10));
          ctl.close();
        },
      });
      return { body, duplex: 'half' };
    }
  }
  throw new Error(`body ${c.body}`);
}

const ERRORS = ['', 'AbortError', 'TypeError', 'other'];
const REASONS = ['refresh_failed', 'refresh_timeout', 'retry_unauthorized', 'logout'];

/**
 * Runs `plan` against the servers at `api` and `foreign` with `createAuthFetch`. Resolves with
 * { calls, hooks, events, refreshAbortMs, heap } where calls[i] = { start, end, status, rid, error, aborted },
 * and `start`, `end` and each hook's `at` are positions on one counter of this caller's own
 * steps (so "the hook ran while this call was pending" is an order, not a timing).
 */
export async function runSoak({ createAuthFetch, api, foreign, plan, switches = [], concurrency = 12, deadlineMs = 8000, heap, slow = 1 }) {
  const on = (s) => switches.includes(s);
  const n = plan.calls.length;
  // The records, made before the run: what the heap measures is the library's, not theirs.
  let step = 0;
  const r = {
    start: new Int32Array(n),
    end: new Int32Array(n), // 0: not settled
    status: new Int16Array(n), // 0: rejected (or not settled)
    ridCall: new Int32Array(n).fill(-1),
    ridAttempt: new Int8Array(n), // 0: the foreign origin's answer; -1: an id off the pattern
    error: new Int8Array(n),
    aborted: new Uint8Array(n),
  };
  const hookAt = new Int32Array(n + 16);
  const hookReason = new Int8Array(n + 16);
  const hookCall = new Int32Array(n + 16); // -1: not a call of the plan (a logout, say)
  // When each call's requests were handed to fetch, on the same counter (at most 4 kept).
  const sentAt = new Int32Array(n * 4);
  const sentCount = new Uint8Array(n);
  const endMs = new Float64Array(n); // the wall clock at settling, beside the servers' records
  let lastSettledMs = 0;
  let hookCount = 0;
  // When (the wall clock, beside the servers' records) the app's refresh hook saw its signal
  // abort, by refresh: the token request it aborts ends for this client then, whenever the
  // token server hears of it.
  const refreshAbortMs = new Float64Array(n + 16);
  let refreshCount = 0;
  const eventCounts = { 'refresh-start': 0, 'refresh-success': 0, 'refresh-failure': 0, retry: 0, 'auth-failure': 0, late: 0 };
  const expected = await Promise.all(plan.calls.map(expectationOf));
  const hook = (reason, url) => {
    if (hookCount < hookAt.length) {
      hookAt[hookCount] = ++step;
      hookReason[hookCount] = Math.max(0, REASONS.indexOf(reason));
      const m = /\/api\/c\/(\d+)$/.exec(url ?? '');
      hookCall[hookCount] = m ? Number(m[1]) : -1;
      hookCount += 1;
    }
  };
  const kept = [];
  const raw = globalThis.fetch.bind(globalThis);
  const seen = new Set();
  let fetchOption;
  if (on('resend') || on('mutate-retry') || on('auth-token-request') || on('fake-response')) {
    fetchOption = async (input, init = {}) => {
      const url = typeof input === 'string' ? input : input.url;
      const call = init.headers ? new Headers(init.headers).get('x-call') ?? undefined : undefined;
      if (on('auth-token-request') && url.endsWith('/token')) {
        const headers = new Headers(init.headers);
        headers.set('authorization', 'Bearer leaked');
        init = { ...init, headers };
      }
      const again = call !== undefined && seen.has(call);
      if (call !== undefined) seen.add(call);
      if (on('mutate-retry') && again) {
        const b = init.body;
        if (b instanceof ArrayBuffer || ArrayBuffer.isView(b)) {
          const changed = new Uint8Array(b instanceof ArrayBuffer ? b : b.buffer, b.byteOffset ?? 0, b.byteLength).slice();
          changed[0] ^= 0xff;
          init = { ...init, body: changed };
        }
      }
      if (on('resend') && again) raw(input, init).catch(() => {});
      try {
        return await raw(input, init);
      } catch (e) {
        if (on('fake-response') && e.name !== 'AbortError') return new Response('{}', { status: 599 });
        throw e;
      }
    };
  }
  // Every request is seen as it is handed to fetch: which call it is for (its x-call header),
  // when (the caller's counter). `late-send` stands in for a library that sends a call's retry
  // after the call settled.
  const inner = fetchOption ?? raw;
  const lateSend = on('late-send');
  const recorded = (input, init) => {
    const h = init?.headers ?? (input instanceof Request ? input.headers : undefined);
    const call = h ? Number(new Headers(h).get('x-call') ?? NaN) : NaN;
    if (call >= 0 && call < n && sentCount[call] < 4) {
      sentAt[call * 4 + sentCount[call]] = ++step;
      sentCount[call] += 1;
      if (lateSend && sentCount[call] === 2) {
        // The retry sent once more, after the call settled (its caller has its answer).
        const again = () => (r.end[call] ? recorded(input, init).catch(() => {}) : setTimeout(again, 5));
        setTimeout(again, 5);
      }
    }
    return inner(input, init);
  };
  const refresh = async (ctx) => {
    const k = refreshCount < refreshAbortMs.length ? refreshCount++ : refreshCount;
    ctx.signal.addEventListener('abort', () => { if (k < refreshAbortMs.length) refreshAbortMs[k] = Date.now(); });
    const request = () => ctx.fetch(`${api}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-refresh': String(k) },
      body: JSON.stringify({ refreshToken: ctx.refreshToken }),
      signal: ctx.signal,
    });
    if (on('double-refresh')) request().catch(() => {});
    const r = await request();
    if (!r.ok) throw new Error(`token endpoint answered ${r.status}`);
    const t = await r.json();
    return { accessToken: t.access_token, refreshToken: t.refresh_token, expiresIn: t.expires_in };
  };
  const af = createAuthFetch({
    origins: on('leak-foreign') ? [api, foreign] : [api],
    refresh,
    refreshTimeoutMs: 300,
    fetch: recorded,
    shouldRefresh: on('refresh-everything') ? (r) => r.status >= 400 : undefined,
    onAuthFailure: (info) => {
      if (on('no-hook')) return;
      hook(info.reason, info.url);
      if (on('hook-twice')) hook(info.reason, info.url);
      if (on('retry-hook-anyway') && info.reason === 'refresh_failed') hook('retry_unauthorized', info.url);
    },
    onEvent: (e) => {
      eventCounts[e.type] += 1;
      // A refresh that timed out here but whose token request was answered, late, with tokens.
      if (e.type === 'refresh-success' && e.reason === 'late') eventCounts.late += 1;
    },
  });
  af.setTokens({ accessToken: 'a-0', refreshToken: 'r-0' });

  async function one(c) {
    const i = c.i;
    const { body, reuse, duplex } = bodyFor(c);
    const controller = c.abortAfter === null ? null : new AbortController();
    const init = { method: c.method, headers: { 'x-call': String(i) } };
    if (body !== undefined) init.body = body;
    if (duplex) init.duplex = duplex;
    // strip-signal: a library that ignores the caller's signal (it never sees it).
    if (controller && !on('strip-signal')) init.signal = controller.signal;
    const url = c.foreign ? `${foreign}/f/${i}` : `${api}/api/c/${i}`;
    r.start[i] = ++step;
    const pending = af(url, init);
    reuse?.(); // the caller reuses its buffer right away
    let timer;
    if (controller) {
      timer = setTimeout(() => {
        if (r.end[i] === 0) r.aborted[i] = 1;
        controller.abort();
      }, c.abortAfter);
    }
    let response;
    try {
      response = await pending;
      r.status[i] = response.status;
      const rid = response.headers.get('x-rid') ?? '';
      const dot = rid.indexOf('.');
      if (rid.startsWith('f')) {
        r.ridCall[i] = Number(rid.slice(1));
        r.ridAttempt[i] = 0;
      } else if (dot > 0 && /^\d+$/.test(rid.slice(dot + 1))) {
        r.ridCall[i] = Number(rid.slice(0, dot));
        r.ridAttempt[i] = Number(rid.slice(dot + 1));
      } else {
        r.ridAttempt[i] = -1;
      }
    } catch (e) {
      r.error[i] = Math.max(2, ERRORS.indexOf(e?.name));
      if (e?.name === 'AbortError') r.error[i] = 1;
    }
    // Settled: an abort from now on is not this call's concern.
    r.end[i] = ++step;
    lastSettledMs = Date.now();
    endMs[i] = Date.now();
    clearTimeout(timer);
    // (64 KB of JS heap per call: typed arrays' bytes live outside the heap the check reads.)
    if (response && on('leak')) kept.push(response, Array.from({ length: 8192 }, (_, k) => k + i));
    else if (response) await response.arrayBuffer().catch(() => {});
  }

  // Two phases: a warm-up, after which the heap is measured, then the rest; the heap again at
  // the end. Every call must settle: a phase ends when its calls have, or when none has settled
  // for `deadlineMs` (a call that never settles holds up its worker while the others go on;
  // once only such calls are left, nothing settles any more). What is still pending then stays
  // so in the records. A busy machine makes the run longer, not a call unsettled.
  // (`slow`: how much a load mode slows every step; twice that, as a margin.)
  const idleMs = deadlineMs * (slow > 1 ? 2 * slow : 1);
  async function phase(list) {
    const queue = list.slice();
    const worker = async () => {
      while (queue.length) await one(queue.shift());
    };
    let finished = false;
    const done = Promise.all(Array.from({ length: concurrency }, worker)).then(() => { finished = true; });
    lastSettledMs = Date.now();
    while (!finished && Date.now() - lastSettledMs < idleMs) {
      await Promise.race([done, new Promise((r) => setTimeout(r, 50))]);
    }
  }
  const warmup = Math.min(200, Math.floor(plan.calls.length / 5));
  await phase(plan.calls.slice(0, warmup));
  const heapWarm = heap ? await heap() : null;
  await phase(plan.calls.slice(warmup));
  const heapAfter = heap ? await heap() : null;
  const ridOf = (i) => {
    if (r.ridAttempt[i] === -1) return 'unknown';
    if (r.ridAttempt[i] === 0) return `f${r.ridCall[i]}`;
    return r.ridCall[i] < 0 ? null : `${r.ridCall[i]}.${r.ridAttempt[i]}`;
  };
  return {
    calls: plan.calls.map((c) => ({
      i: c.i,
      start: r.start[c.i] || null,
      end: r.end[c.i] || null,
      status: r.status[c.i] || null,
      rid: r.status[c.i] ? ridOf(c.i) : null,
      error: r.error[c.i] ? ERRORS[r.error[c.i]] : null,
      aborted: r.aborted[c.i] === 1,
      sha: expected[c.i].sha,
      form: expected[c.i].form,
      sent: Array.from(sentAt.subarray(c.i * 4, c.i * 4 + sentCount[c.i])),
      endMs: endMs[c.i] || null,
    })),
    hooks: Array.from({ length: hookCount }, (_, k) => ({ at: hookAt[k], reason: REASONS[hookReason[k]], call: hookCall[k] })),
    events: eventCounts,
    refreshAbortMs: Array.from(refreshAbortMs.subarray(0, refreshCount)),
    heap: heap ? { warm: heapWarm, after: heapAfter } : null,
    kept: kept.length,
  };
}
