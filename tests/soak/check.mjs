// The soak's invariants, checked from what the servers recorded (and, for what only the caller
// can see, from the caller's own records: how each call settled, and the order of its own
// steps). Each kind of violation is counted; a clean run has none.

/** Refreshable first-attempt answers: a refresh can help. */
const REFRESHABLE = new Set(['401-expired', '401-noheader', '401-garbage']);
/** Answers that must come back as they are, never retried. */
const PASS = new Set(['403', '500', '401-scope', '401-request', '401-basic']);

export const INVARIANTS = {
  unsettled: 'every call settles',
  wrongResponse: "each resolved call has the server's real response for that request",
  sentMoreThanTwice: 'no request is sent more than twice',
  retryNotNewer: 'a retry carries a newer token',
  bodyChanged: 'every attempt carries the body as it was at call time, byte for byte',
  tokenToForeign: 'no token to the foreign origin',
  tokenRequestWithAuth: 'the token request never carries Authorization',
  refreshOverlap: 'refreshes never overlap',
  passThroughRetried: 'a 403, a 500 or a pass-through 401 is never retried',
  abortNotRejected: 'an aborted call rejects with an AbortError',
  networkErrorResolved: 'a network error rejects (never a made-up response)',
  hookTooOften: 'onAuthFailure runs no more often than refreshes fail',
  uncovered401: 'every 401 handed back after a failed refresh is covered by a hook call',
  sentAfterSettled: 'no request of a call is handed to fetch after the call settled',
  seenAfterSettled: 'the server sees no request of a call after the call settled, unless the caller aborted it (fetch cannot recall a request it has sent)',
  retryHookWithoutRefusedRetry: 'retry_unauthorized only for a call whose retry, with a newer token, was refused',
  retryHookTwicePerToken: 'at most one retry_unauthorized per token set',
  heapGrowth: 'the heap after the soak and a GC stays near the heap after warm-up',
};

/**
 * Checks a run: `plan` (plan.mjs), `run` (harness.mjs's result), `log` (the servers' records).
 * Resolves with { violations: { kind: count }, examples: { kind: [details] }, stats }.
 */
export function check(plan, run, log) {
  const violations = Object.fromEntries(Object.keys(INVARIANTS).map((k) => [k, 0]));
  const examples = {};
  const bad = (kind, detail) => {
    violations[kind] += 1;
    (examples[kind] ??= []).length < 5 && examples[kind].push(detail);
  };
  const attempts = new Map();
  for (const a of log.api) {
    if (!attempts.has(a.call)) attempts.set(a.call, []);
    attempts.get(a.call).push(a);
  }
  const foreign = new Map(log.foreign.map((f) => [f.call, f]));
  const issued = new Map(log.issued.map((t, n) => [`Bearer ${t}`, n]));

  for (const c of plan.calls) {
    const rec = run.calls[c.i];
    const got = attempts.get(c.i) ?? [];
    if (!rec || rec.start === null || rec.end === null) {
      bad('unsettled', { call: c.i });
      continue;
    }
    if (c.foreign) {
      const f = foreign.get(c.i);
      if (f?.auth) bad('tokenToForeign', { call: c.i, auth: f.auth });
      if (rec.status !== null && f && rec.rid !== f.rid) bad('wrongResponse', { call: c.i, got: rec.rid, sent: f.rid });
      continue;
    }
    if (got.length > 2) bad('sentMoreThanTwice', { call: c.i, attempts: got.length });
    const last = got.at(-1);
    if (rec.status !== null) {
      if (!last || rec.rid !== last.rid) bad('wrongResponse', { call: c.i, got: rec.rid, sent: last?.rid });
      if (last && (last.kind === 'drop' || last.kind === 'hang')) bad('networkErrorResolved', { call: c.i, status: rec.status });
    }
    if (rec.aborted && rec.error !== 'AbortError') {
      bad('abortNotRejected', { call: c.i, status: rec.status, error: rec.error });
    }
    if (got.length >= 2) {
      const [a1, a2] = got;
      if (PASS.has(a1.kind)) bad('passThroughRetried', { call: c.i, first: a1.kind });
      const t1 = issued.get(a1.auth) ?? -1;
      const t2 = issued.get(a2.auth) ?? -1;
      if (!(t2 > t1)) bad('retryNotNewer', { call: c.i, first: a1.auth, retry: a2.auth });
    }
    for (const a of got) {
      if (rec.sha !== null && a.sha !== rec.sha) bad('bodyChanged', { call: c.i, attempt: a.attempt, body: c.body });
      if (rec.form !== null && a.form !== rec.form) bad('bodyChanged', { call: c.i, attempt: a.attempt, form: a.form });
    }
    // A refreshable 401 handed back: a refresh failed while the call was pending, and the app
    // heard of it. The hook runs before any 401 it answers is handed back, so it comes between
    // the call's start and its end on the caller's own counter.
    if (rec.status === 401 && last && REFRESHABLE.has(last.kind)) {
      if (!run.hooks.some((h) => h.at > rec.start && h.at < rec.end)) {
        bad('uncovered401', { call: c.i, attempts: got.length });
      }
    }
  }

  // Requests go out while their call is pending: never after the caller was told it is over
  // (a write sent then is a duplicate side effect). Judged on the caller's own counter.
  for (const c of plan.calls) {
    const rec = run.calls[c.i];
    if (!rec?.end) continue;
    const late = (rec.sent ?? []).filter((at) => at > rec.end);
    if (late.length) bad('sentAfterSettled', { call: c.i, end: rec.end, sent: rec.sent });
  }
  // The same, as the server sees it, on the wall clock its handler and the caller share: a
  // request seen after its call settled. Every answer the caller got came after the server saw
  // its request, and a network error after the server dropped it, so only an aborted call may
  // have one: its request, handed to fetch before the abort, reaches a starved server after
  // fetch rejected (as with fetch itself; sentAfterSettled says it was handed before).
  const seenLate = log.api.filter((a) => run.calls[a.call]?.endMs && a.t > run.calls[a.call].endMs);
  const afterAbort = seenLate.filter((a) => run.calls[a.call].aborted);
  for (const a of seenLate) {
    const rec = run.calls[a.call];
    if (!rec.aborted) bad('seenAfterSettled', { call: a.call, attempt: a.attempt, status: rec.status, error: rec.error, lateMs: a.t - rec.endMs });
  }
  // retry_unauthorized: for a call whose retry carried a newer token and was refused, once per
  // token set (the token that retry carried).
  const retryHookTokens = new Map();
  for (const h of run.hooks.filter((x) => x.reason === 'retry_unauthorized')) {
    const got = attempts.get(h.call) ?? [];
    const [a1, a2] = got;
    const refusedRetry = a1 && a2 && (issued.get(a2.auth) ?? -1) > (issued.get(a1.auth) ?? -1)
      && REFRESHABLE.has(a2.kind);
    if (!refusedRetry) {
      bad('retryHookWithoutRefusedRetry', { call: h.call, attempts: got.map((a) => [a.auth, a.kind]) });
      continue;
    }
    const n = (retryHookTokens.get(a2.auth) ?? 0) + 1;
    retryHookTokens.set(a2.auth, n);
    if (n === 2) bad('retryHookTwicePerToken', { token: a2.auth, call: h.call });
  }
  for (const t of log.token) {
    if (t.auth) bad('tokenRequestWithAuth', { refresh: t.n, auth: t.auth });
  }
  // A token request the client aborted (its refresh timed out) ends for the client when its
  // refresh hook's signal aborts (the client's record, on the same wall clock); the server
  // hears of the closed connection later (on a starved machine, much later) and may see the
  // next refresh's request, on another connection, first. Where the client's record is
  // missing, that moment is taken as up to CLOSE_MS.
  const CLOSE_MS = 10;
  const windows = [...log.token].sort((a, b) => a.t0 - b.t0);
  for (let k = 1; k < windows.length; k++) {
    const [prev, next] = [windows[k - 1], windows[k]];
    const abortedAt = prev.k === null ? 0 : (run.refreshAbortMs?.[prev.k] ?? 0);
    const end = !prev.closedByClient ? (prev.t1 ?? Infinity)
      : abortedAt > 0 ? Math.min(prev.t1 ?? Infinity, abortedAt)
        : (prev.t1 ?? Infinity) - CLOSE_MS;
    if (next.t0 < end) {
      bad('refreshOverlap', { refresh: next.n, during: prev.n, fault: prev.fault, closedByClient: !!prev.closedByClient, startedBeforeEndMs: (prev.t1 ?? Infinity) - next.t0 });
    }
  }
  const failed = log.token.filter((t) => t.outcome === 'failed' || t.outcome === 'closed by the client').length;
  const succeeded = log.token.filter((t) => t.outcome === 'issued').length;
  const failureHooks = run.hooks.filter((h) => h.reason === 'refresh_failed' || h.reason === 'refresh_timeout').length;
  const retryHooks = run.hooks.filter((h) => h.reason === 'retry_unauthorized').length;
  // Once per failed refresh. A refresh that timed out here (a starved CPU) may have its token
  // request answered later with tokens, which the server counts as issued: whether the client
  // then gets them (a late answer) or not (its abort came first: the answer is lost, though
  // the server wrote it), the client's refresh failed. So the failed refreshes are the
  // client's own count (its 'refresh-failure' events, one per failed refresh), which may not
  // exceed the refreshes it started.
  const late = run.events?.late ?? 0;
  const failures = run.events?.['refresh-failure'] ?? failed + late;
  const started = run.events?.['refresh-start'] ?? Infinity;
  if (failureHooks > failures) bad('hookTooOften', { hooks: failureHooks, failedRefreshes: failures, serverFailed: failed, late });
  if (failures > started) bad('hookTooOften', { failedRefreshes: failures, started });
  if (retryHooks > succeeded) bad('hookTooOften', { retryHooks, refreshes: succeeded });

  if (run.heap?.warm != null && run.heap.after != null) {
    // Near: within a quarter of the warm heap, or 4 MB, whichever is more.
    const allowed = Math.max(run.heap.warm * 0.25, 4 * 1024 * 1024);
    if (run.heap.after - run.heap.warm > allowed) bad('heapGrowth', run.heap);
  }

  const count = (f) => run.calls.filter(f).length;
  const stats = {
    calls: plan.calls.length,
    resolved: count((r) => r.status !== null && r.status !== undefined),
    rejected: count((r) => r.error),
    aborted: count((r) => r.aborted),
    attempts: log.api.length,
    retries: [...attempts.values()].filter((a) => a.length > 1).length,
    refreshes: log.token.length,
    refreshesFailed: failed,
    hooks: run.hooks.length,
    heap: run.heap,
    // Requests the server's handler saw only after their aborted call had rejected (by the wall
    // clock): on a starved CPU the server's thread runs late too.
    seenAfterAbort: afterAbort.length,
  };
  examples.seenAfterAbort = afterAbort.slice(0, 5).map((a) => {
    const c = run.calls[a.call];
    return { call: a.call, attempt: a.attempt, sent: c.sent, end: c.end, aborted: c.aborted, error: c.error, lateMs: a.t - c.endMs };
  });
  return { violations, examples, stats };
}
