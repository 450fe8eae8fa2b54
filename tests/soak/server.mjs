// The soak's servers, real HTTP on 127.0.0.1 (random ports):
// - the API origin: `/api/c/<call>` does to each attempt what the plan says (see plan.mjs) and
//   records what it received (token, body digest, form field) and what it answered; `/token`
//   issues tokens that expire on a schedule, rotates refresh tokens and fails as the plan's
//   cycle says; it also serves the repository's files for the browser page;
// - a foreign origin that records any `Authorization` it receives.
// Everything the checker needs comes from these records (check.mjs).
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { root, sendFile } from '../js/helpers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The value of multipart field `a`, or null. */
function formField(body, contentType) {
  const m = /boundary=([^;]+)/.exec(contentType ?? '');
  if (!m) return null;
  const text = body.toString('latin1');
  const part = text.split(`--${m[1]}`).find((p) => /name="a"/.test(p));
  if (!part) return null;
  const start = part.indexOf('\r\n\r\n');
  return start < 0 ? null : part.slice(start + 4).replace(/\r\n$/, '');
}

/** Answers with a response every engine refuses (a NUL in a header value), then closes: a
 * network error for the caller. (A connection closed with no bytes at all would be resent by
 * browsers on their own, as a keep-alive race, and the soak would count their resends as the
 * library's; bytes that are no HTTP at all are an HTTP/0.9 response to Firefox, and a status
 * line Firefox and WebKit refuse is read leniently by Chromium.) */
function broken(req) {
  req.socket.end('HTTP/1.1 200 OK\r\nX-Broken: a\0b\r\n\r\n');
  req.socket.destroySoon?.();
}

const CHALLENGE = {
  '401-expired': 'Bearer realm="soak", error="invalid_token"',
  '401-garbage': 'Bearer realm="unterminated',
  '401-scope': 'Bearer error="insufficient_scope", scope="admin"',
  '401-request': 'Bearer error="invalid_request"',
  '401-basic': 'Basic realm="soak"',
};

/**
 * Starts the servers. `switches` (for proving the checker can fail): `mislabel` (every 20th
 * 200 response, which ends its call, carries another id than the one recorded), `hang-api` (every 40th call hangs with
 * no abort to end it), `stale` (the token endpoint hands out the access token it issued
 * before). Resolves with { api, foreign, reset(plan), log(), close() }.
 */
export async function startSoakServers({ switches = [] } = {}) {
  const on = (s) => switches.includes(s);
  let plan;
  let s;
  const reset = (p) => {
    plan = p;
    s = {
      issued: ['a-0'], // access tokens in the order they were issued
      issuedAt: [Date.now()],
      refresh: 'r-0',
      ttlMs: 300,
      api: [], // one record per attempt
      attempts: new Map(), // call → attempts so far
      token: [], // one record per token request
      foreign: [],
      hanging: new Set(),
      ok: 0, // 200 responses so far
    };
  };
  reset({ calls: [], token: ['ok'] });

  const cors = {
    'access-control-allow-origin': '*',
    'access-control-allow-headers': '*',
    'access-control-allow-methods': '*',
    'access-control-expose-headers': 'WWW-Authenticate, x-rid',
  };

  function valid(auth) {
    const n = s.issued.length - 1;
    return auth === `Bearer ${s.issued[n]}` && Date.now() - s.issuedAt[n] < s.ttlMs;
  }

  async function api(req, res, url) {
    const call = Number(url.pathname.split('/').pop());
    const body = await readBody(req);
    const attempt = (s.attempts.get(call) ?? 0) + 1;
    s.attempts.set(call, attempt);
    const spec = plan.calls[call] ?? { fault: 'ok', retry: 'ok', delay: 0 };
    const auth = req.headers.authorization ?? null;
    const rec = {
      call,
      attempt,
      method: req.method,
      auth,
      sha: body.length ? createHash('sha256').update(body).digest('base64') : null,
      form: formField(body, req.headers['content-type']),
      kind: null,
      rid: `${call}.${attempt}`,
      t: Date.now(), // when this server's handler saw it (late when its thread is starved)
    };
    s.api.push(rec);
    let fault = attempt === 1 ? spec.fault : spec.retry;
    if (on('hang-api') && call % 40 === 7 && spec.abortAfter === null) fault = 'hang';
    if (fault === 'hang') {
      rec.kind = 'hang';
      s.hanging.add(res);
      req.socket.on('close', () => s.hanging.delete(res));
      return;
    }
    if (fault === 'drop') {
      rec.kind = 'drop';
      broken(req);
      return;
    }
    await sleep(fault === 'slow' ? 30 + (call % 50) : spec.delay);
    let status = 200;
    let challenge;
    if (fault === 'ok' || fault === 'slow') {
      if (valid(auth)) rec.kind = 'ok';
      else {
        rec.kind = '401-expired';
        status = 401;
        challenge = CHALLENGE['401-expired'];
      }
    } else {
      rec.kind = fault;
      status = Number(fault.slice(0, 3));
      challenge = CHALLENGE[fault] ?? (fault === '403' ? CHALLENGE['401-scope'] : undefined);
    }
    // A 200 ends its call (a 401 may be retried, and then its answer is not the one checked).
    const mislabel = on('mislabel') && status === 200 && s.ok++ % 20 === 0;
    const rid = mislabel ? `${rec.rid}-other` : rec.rid;
    const headers = { ...cors, 'content-type': 'application/json', 'x-rid': rid };
    if (challenge) headers['www-authenticate'] = challenge;
    res.writeHead(status, headers);
    res.end(JSON.stringify({ rid, kind: rec.kind }));
  }

  async function token(req, res) {
    const body = await readBody(req);
    const n = s.token.length;
    const fault = plan.token[n % plan.token.length];
    let presented = null;
    try {
      presented = JSON.parse(body.toString()).refreshToken ?? null;
    } catch {}
    const k = Number(req.headers['x-refresh'] ?? NaN);
    const rec = { n, k: Number.isInteger(k) ? k : null, auth: req.headers.authorization ?? null, presented, fault, t0: Date.now(), t1: null, outcome: null };
    s.token.push(rec);
    const end = (outcome) => {
      rec.t1 ??= Date.now();
      rec.outcome ??= outcome;
    };
    res.on('finish', () => end(rec.outcome ?? 'answered'));
    res.on('close', () => {
      // The client gave up (an abort): it did so a moment before this server hears of it.
      if (!res.writableFinished) rec.closedByClient = true;
      end('closed by the client');
    });
    const json = (status, value) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (fault === 'hang') {
      rec.outcome = 'failed';
      s.hanging.add(res);
      return;
    }
    if (fault === 'drop') {
      rec.outcome = 'failed';
      end('failed');
      broken(req);
      return;
    }
    await sleep(fault === 'slow' ? 100 : 2);
    if (fault === '500') {
      rec.outcome = 'failed';
      return json(500, { error: 'server_error' });
    }
    if (fault === '400' || presented !== s.refresh) {
      rec.outcome = 'failed';
      return json(400, { error: 'invalid_grant' });
    }
    if (fault === 'garbage') {
      rec.outcome = 'failed';
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"access_token": "a-');
    }
    // Issued: a new access token (unless `stale`), a rotated refresh token.
    if (!on('stale') || s.issued.length === 1) {
      s.issued.push(`a-${s.issued.length}`);
      s.issuedAt.push(Date.now());
    } else {
      s.issuedAt[s.issuedAt.length - 1] = Date.now();
    }
    s.refresh = `r-${n + 1}`;
    rec.outcome = 'issued';
    const t = { access_token: s.issued.at(-1), refresh_token: s.refresh };
    // Some token responses say when they expire (the proactive refresh then runs too).
    if (n % 3 === 1) t.expires_in = 1;
    return json(200, t);
  }

  const apiServer = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const route = url.pathname.startsWith('/api/c/') ? api
      : url.pathname === '/token' ? token
      : (rq, rs, u) => sendFile(root, u.pathname, rs);
    Promise.resolve(route(req, res, url)).catch((e) => res.writeHead(500).end(String(e)));
  });
  const foreignServer = createServer(async (req, res) => {
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    await readBody(req);
    const call = Number(new URL(req.url, 'http://x').pathname.split('/').pop());
    const rid = `f${call}`;
    s.foreign.push({ call, auth: req.headers.authorization ?? null, rid });
    res.writeHead(200, { ...cors, 'content-type': 'application/json', 'x-rid': rid });
    res.end(JSON.stringify({ rid }));
  });
  for (const server of [apiServer, foreignServer]) {
    server.keepAliveTimeout = 1000;
    await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  }
  const urlOf = (server) => `http://127.0.0.1:${server.address().port}`;
  return {
    api: urlOf(apiServer),
    foreign: urlOf(foreignServer),
    reset,
    log: () => ({ api: s.api, token: s.token, foreign: s.foreign, issued: s.issued }),
    close: () => Promise.all([apiServer, foreignServer].map((server) => new Promise((ok) => {
      for (const r of s.hanging) r.destroy();
      server.closeAllConnections?.();
      server.close(ok);
    }))),
  };
}
