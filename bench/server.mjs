// The benchmarks' API and token server, meant to run in a worker thread (server-worker.mjs) so
// that its work does not share the clients' event loop. Accepts only the newest access token;
// the token endpoint takes 50 ms and rotates refresh tokens (each may be used once).
// Modes: 'ok'; 'late' (every 10th refused request gets its 401 only after the refresh has
// finished); 'fail' (the token endpoint answers 400 invalid_grant).
import { createServer } from 'node:http';

/** A request's body, as text. */
export const body = (req) => new Promise((ok) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => ok(Buffer.concat(chunks).toString()));
});

/** Answers `value` as JSON. */
export const json = (res, status, value, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

export function startBenchServer() {
  let s;
  const reset = (mode = 'ok') => {
    s = { mode, n: 0, access: 'valid-0', refresh: 'rt-0', refreshCalls: 0, apiRequests: 0, ok: 0, unauthorized: 0, refused: 0 };
  };
  reset();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/token') {
      const text = await body(req);
      s.refreshCalls += 1;
      let presented;
      try {
        presented = JSON.parse(text).refreshToken;
      } catch {
        presented = new URLSearchParams(text).get('refresh_token');
      }
      await new Promise((r) => setTimeout(r, 50));
      if (s.mode === 'fail' || presented !== s.refresh) return json(res, 400, { error: 'invalid_grant' });
      s.n += 1;
      s.access = `valid-${s.n}`;
      s.refresh = `rt-${s.n}`;
      return json(res, 200, { access_token: s.access, refresh_token: s.refresh, token_type: 'Bearer', expires_in: 3600 });
    }
    if (url.pathname.startsWith('/control/')) {
      await body(req);
      if (url.pathname === '/control/reset') reset(url.searchParams.get('mode') ?? 'ok');
      return json(res, 200, s);
    }
    await body(req);
    s.apiRequests += 1;
    if (req.headers.authorization === `Bearer ${s.access}`) {
      s.ok += 1;
      return json(res, 200, { ok: true });
    }
    s.unauthorized += 1;
    s.refused += 1;
    const late = s.mode === 'late' && s.refused % 10 === 0;
    const send = () => json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    if (late) setTimeout(send, 300);
    else send();
  });
  server.keepAliveTimeout = 5000;
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ port: server.address().port, close: () => server.close() })));
}
