// A real HTTP server on 127.0.0.1 (random port) for the authFetch tests: a token endpoint with
// rotating refresh tokens, a protected API that accepts only the newest access token and
// records every request it receives (headers and body bytes), knobs to make refreshes slow,
// failing or hanging, and the repository's files for the browser pages.
import { createServer } from 'node:http';
import { root, sendFile } from './helpers.mjs';

function freshState() {
  return {
    n: 0,
    expired: 0,
    accessToken: 'at-0',
    refreshToken: 'rt-0',
    refreshCalls: 0,
    refreshBodies: [],
    usedRefreshTokens: [],
    reuseDetected: 0,
    /** 'ok' | 'fail' | 'hang' | 'broken' (issues tokens the API then refuses) */
    refreshMode: 'ok',
    refreshDelay: 0,
    requests: [],
    hanging: [],
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

function jsonOut(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Starts the server. Resolves with { url, state, close }. `cors` adds CORS headers (for a
 * server that plays a foreign origin). `routes` ({ '/api/…': async (body, req) => value })
 * answers more protected API paths: an authorized request gets 200 with the JSON of what its
 * handler returns (a GraphQL endpoint, say); any other is refused and recorded like the rest. */
export async function startServer({ cors = false, routes = {} } = {}) {
  let state = freshState();
  const corsHeaders = cors
    ? {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': '*',
        'access-control-allow-methods': '*',
        'access-control-expose-headers': 'WWW-Authenticate',
      }
    : {};

  const json = jsonOut;
  const current = () => state;

  async function api(req, res, url) {
    const body = await readBody(req);
    const auth = req.headers.authorization ?? null;
    const ok = auth === `Bearer ${state.accessToken}`;
    state.requests.push({
      method: req.method,
      path: url.pathname,
      auth,
      ok,
      contentType: req.headers['content-type'] ?? null,
      body: body.toString('base64'),
      tag: req.headers['x-tag'] ?? null,
      cookie: req.headers.cookie ?? null,
    });
    const delay = Number(url.searchParams.get('delay') ?? 0);
    if (delay) await sleep(delay);
    const h = corsHeaders;
    switch (url.pathname) {
      case '/api/forbidden':
        return json(res, 403, { error: 'forbidden' }, { ...h, 'www-authenticate': 'Bearer error="insufficient_scope", scope="admin"' });
      case '/api/scope':
        return json(res, 401, { error: 'insufficient_scope' }, { ...h, 'www-authenticate': 'Bearer realm="test", error="insufficient_scope", scope="admin"' });
      case '/api/invalid-request':
        return json(res, 401, { error: 'invalid_request' }, { ...h, 'www-authenticate': 'Bearer error="invalid_request"' });
      case '/api/basic':
        return json(res, 401, { error: 'basic' }, { ...h, 'www-authenticate': 'Basic realm="intranet"' });
      case '/api/set-cookie':
        return json(res, 200, {}, { ...h, 'set-cookie': 'session=s1; Path=/; SameSite=Lax' });
      case '/api/newauth':
        return json(res, 401, { error: 'newauth' }, { ...h, 'www-authenticate': 'Newauth realm="apps", type=1' });
      case '/api/teapot':
        return json(res, 418, { error: 'teapot' }, h);
    }
    if (ok && Object.hasOwn(routes, url.pathname)) return json(res, 200, await routes[url.pathname](body, req), h);
    if (ok) return json(res, 200, { ok: true, path: url.pathname, bytes: body.length }, h);
    const challenge = url.pathname === '/api/noheader' ? {} : { 'www-authenticate': 'Bearer realm="test", error="invalid_token", error_description="expired"' };
    return json(res, 401, { error: 'invalid_token', sent: auth }, { ...h, ...challenge });
  }

  async function token(req, res) {
    // The state of the test that sent it: a request still running when the next test resets
    // the server changes nothing of the next test's.
    const state = current();
    const body = await readBody(req);
    state.refreshCalls += 1;
    let presented = null;
    try {
      presented = JSON.parse(body.toString() || '{}').refreshToken ?? null;
    } catch {}
    state.refreshBodies.push(presented);
    if (state.refreshDelay) await sleep(state.refreshDelay);
    if (state.refreshMode === 'hang') {
      state.hanging.push(res);
      return;
    }
    if (state.refreshMode === 'fail') return json(res, 400, { error: 'invalid_grant' });
    if (presented !== null && state.usedRefreshTokens.includes(presented)) {
      // Reuse of a rotated refresh token: revoke the whole family, as OAuth servers do.
      state.reuseDetected += 1;
      state.refreshToken = null;
      return json(res, 400, { error: 'invalid_grant', error_description: 'refresh token reused' });
    }
    if (presented !== state.refreshToken) return json(res, 400, { error: 'invalid_grant' });
    state.usedRefreshTokens.push(presented);
    state.n += 1;
    state.refreshToken = `rt-${state.n}`;
    const issued = `at-${state.n}`;
    state.accessToken = state.refreshMode === 'broken' ? `never-${state.n}` : issued;
    return json(res, 200, { access_token: issued, refresh_token: state.refreshToken, expires_in: 60 });
  }

  async function control(req, res, url) {
    const body = await readBody(req);
    const json = (r, status, b) => jsonOut(r, status, b, corsHeaders);
    switch (url.pathname) {
      case '/__control/reset':
        for (const r of state.hanging) r.destroy();
        state = freshState();
        return json(res, 200, {});
      case '/__control/config':
        Object.assign(state, JSON.parse(body.toString() || '{}'));
        return json(res, 200, {});
      case '/__control/expire':
        state.expired += 1;
        state.accessToken = `server-only-${state.expired}`;
        return json(res, 200, {});
      case '/__control/state': {
        const { hanging, ...rest } = state;
        return json(res, 200, rest);
      }
    }
    return json(res, 404, {});
  }

  const files = (req, res, url) => sendFile(root, url.pathname, res);

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (req.method === 'OPTIONS') return res.writeHead(204, corsHeaders).end();
    const route = url.pathname.startsWith('/api/') ? api
      : url.pathname === '/token' ? token
      : url.pathname.startsWith('/__control/') ? control
      : files;
    route(req, res, url).catch((e) => {
      res.writeHead(500).end(String(e));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    get state() { return state; },
    close: () => new Promise((ok) => {
      for (const r of state.hanging) r.destroy();
      server.closeAllConnections?.();
      server.close(ok);
    }),
  };
}
