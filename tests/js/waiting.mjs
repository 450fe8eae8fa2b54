// Calls that wait for a refresh with an AbortSignal of their own, round after round, and what
// they leave in wasm memory: runtime-neutral (tests/js/node.test.mjs runs it in Node,
// tests/js/hardening-browser.test.mjs in a Chromium page).

/**
 * 140 rounds of 200 calls through one authFetch over a stub fetch: in each, a token that has
 * just expired, and every call waits with a signal for the one proactive refresh the first
 * starts, which ends before any aborts. Resolves with what `measure()` says after 20 rounds
 * (warm) and after the other 120 (24,000 waiting calls).
 */
export async function waitWithSignals(createAuthFetch, measure) {
  let n = 0;
  const stub = async (input, init) => new Response('x', { status: init?.headers?.authorization === `Bearer t${n}` ? 200 : 401 });
  const af = createAuthFetch({
    origins: ['https://api.example.com'],
    fetch: stub,
    refresh: () => new Promise((ok) => setTimeout(() => ok({ accessToken: `t${n}` }), 0)),
  });
  const round = async () => {
    n += 1;
    af.setTokens({ accessToken: 'stale', expiresIn: 0 });
    const rs = await Promise.all(Array.from({ length: 200 }, () =>
      af('https://api.example.com/x', { signal: new AbortController().signal })));
    if (rs.some((r) => r.status !== 200)) throw new Error('a call failed');
  };
  for (let i = 0; i < 20; i++) await round();
  const warm = measure();
  for (let i = 0; i < 120; i++) await round();
  return { warm, after: measure() };
}
