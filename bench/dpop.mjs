// DPoP (RFC 9449) against Bearer: what a proof per request costs on the success path (Node and
// Chromium) and in a thundering herd (Node). Run: node bench/dpop.mjs [node] [chromium] [herd]
// (default: all three; RUNS=5 herd rounds).
//
// 1. Success path over a stub fetch, as bench/overhead.mjs (Node, a process per contender) and
//    bench/pages/overhead.html (Chromium): alternating blocks of the raw stub and authFetch,
//    3 warm-up pairs, then pairs whose order alternates; the ratio is taken pair by pair. The
//    contenders get their token the way an app would, through the stub: `old` is refused with a
//    401, the built-in refresh grant answers `new` with `token_type` Bearer or DPoP.
// 2. Herd: 1,000 concurrent calls with a token the server no longer accepts (a DPoP-bound one,
//    or a Bearer one), against an HTTP server in a worker thread whose token endpoint takes
//    50 ms, as bench/herd.mjs. The server checks every request's scheme and proof and, after
//    the timed part, verifies every proof's signature and claims.
//
// Every request the stub or server sees is checked: `Authorization: DPoP new` and a `DPoP`
// header of three parts, never used twice (or, for Bearer, no proof), so that a run cannot
// silently measure Bearer.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { body, json } from './server.mjs';

const self = fileURLToPath(import.meta.url);
const RUNS = Number(process.env.RUNS ?? 5);
const N = 1000;

/**
 * The contenders. `bearer`: reauth as apps use it today (the built-in refresh grant, no `dpop`
 * option). `bearer-dpop-option`: the DPoP option on, but the server answers `token_type:
 * "Bearer"` (the token is not bound: no proof on API requests). `dpop`: a DPoP-bound token.
 */
const kinds = {
  bearer: { dpop: false, scheme: 'Bearer', label: 'Bearer token' },
  'bearer-dpop-option': { dpop: true, scheme: 'Bearer', label: 'Bearer token, `dpop: true`' },
  dpop: { dpop: true, scheme: 'DPoP', label: 'DPoP-bound token' },
};

/** Success-path sizes: calls per block, measured pairs (after 3 warm-up pairs). */
const sizes = {
  node: { bearer: { block: 20_000, pairs: 11 }, dpop: { block: 2_000, pairs: 11 } },
  chromium: { bearer: { block: 20_000, pairs: 21 }, dpop: { block: 2_000, pairs: 21 } },
};
const sizeOf = (where, kind) => sizes[where][kinds[kind].scheme === 'DPoP' ? 'dpop' : 'bearer'];

/**
 * The success-path measurement, self-contained (no outer names), so that it runs as it is in
 * Node and, serialized, in a page. Resolves with the pairs and what the stub saw.
 */
async function successPath(createAuthFetch, { kind, dpop, scheme, block, pairs, warmups, checked }) {
  const base = 'https://api.example.com';
  let last; // the init of the last call, whoever made it
  let slow = null; // the set-up and checking stub; null while timing
  const stub = async (url, init) => {
    last = init;
    if (slow !== null) return slow(url, init);
    return new Response('ok');
  };
  const authFetch = createAuthFetch({
    oauth: { tokenEndpoint: `${base}/token`, clientId: 'bench' },
    ...(dpop ? { dpop: true } : {}),
    origins: [base],
    fetch: stub,
  });

  // The token: `old` is refused; the refresh grant (through the stub) answers `new`.
  const seen = { tokenRequests: 0, tokenProofs: 0, refused: 0, checked: 0, proofs: 0, verified: 0 };
  slow = async (url, init) => {
    const h = new Headers(init?.headers);
    if (url === `${base}/token`) {
      seen.tokenRequests += 1;
      if (h.get('dpop') !== null) seen.tokenProofs += 1;
      const form = new URLSearchParams(init.body);
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== 'r') {
        throw new Error(`${kind}: unexpected token request ${init.body}`);
      }
      const tokens = { access_token: 'new', token_type: scheme, refresh_token: 'r2', expires_in: 3600 };
      return new Response(JSON.stringify(tokens), { headers: { 'content-type': 'application/json' } });
    }
    if (h.get('authorization') !== `${scheme} new`) {
      seen.refused += 1;
      return new Response('', { status: 401, headers: { 'www-authenticate': `${scheme} error="invalid_token"` } });
    }
    return new Response('ok');
  };
  authFetch.setTokens({ accessToken: 'old', refreshToken: 'r' });
  const first = await authFetch(`${base}/items/0`);
  await first.arrayBuffer();
  if (first.status !== 200 || seen.tokenRequests !== 1 || seen.refused !== 1) {
    throw new Error(`${kind}: getting the token: ${first.status}, ${JSON.stringify(seen)}`);
  }

  // Every request checked: the scheme, and a proof of three parts never seen before (DPoP), or
  // none (Bearer). The first ones are verified in full: signature, typ, alg, htm, htu, ath.
  const proofs = new Set();
  const toVerify = [];
  const check = (url, init) => {
    const h = new Headers(init?.headers);
    if (h.get('authorization') !== `${scheme} new`) throw new Error(`${kind}: sent Authorization: ${h.get('authorization')}`);
    const proof = h.get('dpop');
    if (scheme === 'DPoP') {
      const parts = proof === null ? [] : proof.split('.');
      if (parts.length !== 3 || parts.some((p) => p === '')) throw new Error(`${kind}: a request without a proof (${proof})`);
      if (proofs.has(proof)) throw new Error(`${kind}: a proof sent twice`);
      proofs.add(proof);
      seen.proofs += 1;
      if (toVerify.length < 20) toVerify.push({ url, proof });
    } else if (proof !== null) {
      throw new Error(`${kind}: a Bearer request with a proof`);
    }
    seen.checked += 1;
  };
  slow = async (url, init) => {
    check(url, init);
    return new Response('ok');
  };
  for (let i = 0; i < checked; i++) {
    const r = await authFetch(`${base}/items/${i & 63}?page=${i}`);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error('not 200');
  }
  const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const json = (s) => JSON.parse(new TextDecoder().decode(bytes(s)));
  const b64url = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const ath = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('new')));
  for (const { url, proof } of toVerify) {
    const [h, c, s] = proof.split('.');
    const header = json(h);
    const claims = json(c);
    const key = await crypto.subtle.importKey('jwk', header.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const valid = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, bytes(s), new TextEncoder().encode(`${h}.${c}`));
    const htu = url.split('?')[0];
    if (!valid || header.typ !== 'dpop+jwt' || header.alg !== 'ES256' || claims.htm !== 'GET' || claims.htu !== htu
      || claims.ath !== ath || typeof claims.jti !== 'string' || Math.abs(claims.iat - Date.now() / 1000) > 60) {
      throw new Error(`${kind}: a proof that does not verify: ${JSON.stringify({ valid, header, claims })}`);
    }
    seen.verified += 1;
  }
  slow = null;

  // The measurement. The raw stub call is overhead.mjs's: the stub with a Bearer header.
  const raw = (url) => stub(url, { headers: { authorization: 'Bearer valid' } });
  const timed = async (f) => {
    // Each block from a collected heap where gc() is exposed (Chromium here; not Node, as in
    // overhead.mjs).
    globalThis.gc?.();
    const t0 = performance.now();
    for (let i = 0; i < block; i++) {
      const r = await f(`${base}/items/${i & 63}`);
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error('not 200');
    }
    return ((performance.now() - t0) / block) * 1000;
  };
  // After each authFetch block, its last request is checked as above.
  const ours = async () => {
    const us = await timed(authFetch);
    check(`${base}/items/${(block - 1) & 63}`, last);
    return us;
  };
  for (let i = 0; i < warmups; i++) {
    await timed(raw);
    await ours();
  }
  const result = [];
  for (let i = 0; i < pairs; i++) {
    const a = i % 2 === 0 ? await timed(raw) : undefined;
    const b = await ours();
    const r = a ?? await timed(raw);
    result.push({ raw: r, ours: b, ratio: b / r });
  }

  // For scale: crypto.subtle.sign alone (ES256, a proof-sized input), sequential, same count.
  let signUs = null;
  if (scheme === 'DPoP') {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const input = new TextEncoder().encode([...proofs][0].split('.').slice(0, 2).join('.'));
    const algorithm = { name: 'ECDSA', hash: 'SHA-256' };
    const signs = [];
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      for (let i = 0; i < block; i++) await crypto.subtle.sign(algorithm, pair.privateKey, input);
      signs.push(((performance.now() - t0) / block) * 1000);
    }
    signUs = signs.sort((x, y) => x - y)[1];
  }
  return { kind, block, pairs: result, seen, signUs };
}

const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One row of the success-path table from a successPath() result. */
function summarize(where, r) {
  const ratios = r.pairs.map((p) => p.ratio);
  return {
    where,
    kind: r.kind,
    block: r.block,
    pairs: r.pairs.length,
    ratio: med(ratios),
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    rawUs: med(r.pairs.map((p) => p.raw)),
    oursUs: med(r.pairs.map((p) => p.ours)),
    signUs: r.signUs,
    seen: r.seen,
  };
}

/** Node, one contender in this process. */
async function nodeChild(kind) {
  const { createAuthFetch } = await import(process.env.REAUTH_PKG ?? '../pkg/oauth-node.js');
  const r = await successPath(createAuthFetch, { kind, ...kinds[kind], ...sizeOf('node', kind), warmups: 3, checked: 200 });
  console.log(JSON.stringify(summarize('node', r)));
}

/** Chromium, each contender in a fresh context (bench/browser.mjs's launch and static server). */
async function chromiumChild() {
  const { launchChromium, root, serveStatic } = await import('../tests/js/helpers.mjs');
  const server = await serveStatic(root);
  const browser = await launchChromium(['--js-flags=--expose-gc']);
  try {
    for (const kind of ['bearer', 'dpop']) {
      const context = await browser.newContext();
      const page = await context.newPage();
      // A blank page on the server's origin (127.0.0.1: a secure context, so crypto.subtle).
      const url = `${server.url}/bench/dpop.html`;
      await page.route(url, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>reauth bench: DPoP</title>' }));
      await page.goto(url);
      const options = { kind, ...kinds[kind], ...sizeOf('chromium', kind), warmups: 3, checked: 200 };
      const r = await page.evaluate(`(async () => {
        const { default: init, createAuthFetch } = await import('/pkg/oauth.js');
        await init();
        return (${successPath})(createAuthFetch, ${JSON.stringify(options)});
      })()`);
      console.log(JSON.stringify(summarize('chromium', r)));
      await context.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

/**
 * The herd's server (a worker thread): accepts only the newest access token, with the scheme of
 * the current `type` and, for DPoP, a proof; the token endpoint (the refresh grant, form-encoded)
 * takes 50 ms and rotates refresh tokens. `/control/stats` verifies the proofs it received
 * (signature, typ, alg, htm, htu, ath) after the timed part.
 */
async function serverThread() {
  const { webcrypto } = await import('node:crypto');
  let s;
  const reset = (type = 'Bearer') => {
    s = {
      type, n: 0, access: 'valid-0', refresh: 'rt-0', refreshCalls: 0, tokenProofs: 0, apiRequests: 0,
      ok: 0, refused: 0, withProof: 0, withoutProof: 0, otherScheme: 0, proofOnBearer: 0,
      distinctProofs: 0, verified: 0, badProofs: 0, seen: [], proofs: new Set(),
    };
  };
  reset();
  const wellFormed = (proof) => typeof proof === 'string' && proof.split('.').length === 3 && !proof.split('.').includes('');
  const keys = new Map();
  const athOf = new Map();
  async function verify({ proof, url, token }) {
    try {
      const [h, c, sig] = proof.split('.');
      const header = JSON.parse(Buffer.from(h, 'base64url'));
      const claims = JSON.parse(Buffer.from(c, 'base64url'));
      const jwk = JSON.stringify(header.jwk);
      if (!keys.has(jwk)) keys.set(jwk, await webcrypto.subtle.importKey('jwk', header.jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']));
      if (!athOf.has(token)) athOf.set(token, Buffer.from(await webcrypto.subtle.digest('SHA-256', Buffer.from(token))).toString('base64url'));
      const valid = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, keys.get(jwk), Buffer.from(sig, 'base64url'), Buffer.from(`${h}.${c}`));
      return valid && header.typ === 'dpop+jwt' && header.alg === 'ES256' && claims.htm === 'GET' && claims.htu === url
        && claims.ath === athOf.get(token) && typeof claims.jti === 'string';
    } catch {
      return false;
    }
  }
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname === '/token') {
      const form = new URLSearchParams(await body(req));
      s.refreshCalls += 1;
      if (wellFormed(req.headers.dpop)) s.tokenProofs += 1;
      await new Promise((r) => setTimeout(r, 50));
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== s.refresh) return json(res, 400, { error: 'invalid_grant' });
      s.n += 1;
      s.access = `valid-${s.n}`;
      s.refresh = `rt-${s.n}`;
      return json(res, 200, { access_token: s.access, refresh_token: s.refresh, token_type: s.type, expires_in: 3600 });
    }
    if (url.pathname.startsWith('/control/')) {
      await body(req);
      if (url.pathname === '/control/reset') reset(url.searchParams.get('type') ?? 'Bearer');
      if (url.pathname === '/control/expire') {
        // The current token is no longer accepted; counters start again.
        const { type, n, refresh } = s;
        reset(type);
        Object.assign(s, { n, refresh, access: `revoked-${n}` });
      }
      if (url.pathname === '/control/stats') {
        s.distinctProofs = s.proofs.size;
        for (const seen of s.seen) {
          if (await verify(seen)) s.verified += 1;
          else s.badProofs += 1;
        }
      }
      const { seen: _seen, proofs: _proofs, ...stats } = s;
      return json(res, 200, stats);
    }
    await body(req);
    s.apiRequests += 1;
    const auth = req.headers.authorization ?? '';
    const proof = req.headers.dpop;
    const [scheme, token] = auth.split(' ');
    if (scheme === 'DPoP') {
      if (wellFormed(proof)) {
        s.withProof += 1;
        s.proofs.add(proof);
        s.seen.push({ proof, url: `${url.origin}${url.pathname}`, token });
      } else {
        s.withoutProof += 1;
      }
    } else if (proof !== undefined) {
      s.proofOnBearer += 1;
    }
    if (scheme !== s.type) s.otherScheme += 1;
    if (scheme === s.type && token === s.access && (s.type !== 'DPoP' || wellFormed(proof))) {
      s.ok += 1;
      return json(res, 200, { ok: true });
    }
    s.refused += 1;
    json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': `${s.type} error="invalid_token"` });
  });
  server.keepAliveTimeout = 5000;
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  parentPort.postMessage({ port: server.address().port });
}

/** The herd in Node: Bearer and DPoP, RUNS rounds after a warm-up each, alternating order. */
async function herdChild() {
  const { createAuthFetch } = await import(process.env.REAUTH_PKG ?? '../pkg/oauth-node.js');
  const worker = new Worker(self, { workerData: { role: 'server' } });
  const { port } = await new Promise((ok) => worker.once('message', ok));
  const base = `http://127.0.0.1:${port}`;
  const control = (path) => fetch(`${base}/control/${path}`, { method: 'POST' }).then((r) => r.json());

  async function once(kind) {
    const { dpop, scheme } = kinds[kind];
    await control(`reset?type=${scheme}`);
    const authFetch = createAuthFetch({
      oauth: { tokenEndpoint: `${base}/token`, clientId: 'bench' },
      ...(dpop ? { dpop: true } : {}),
      origins: [base],
      fetch: globalThis.fetch,
    });
    // The token (DPoP-bound or Bearer) from a refresh, then revoked by the server: the herd
    // starts with a token the client believes good.
    authFetch.setTokens({ accessToken: 'old', refreshToken: 'rt-0' });
    const first = await authFetch(`${base}/api/setup`);
    await first.arrayBuffer();
    if (first.status !== 200) throw new Error(`${kind}: getting the token: ${first.status}`);
    const before = await control('expire');
    if (before.n !== 1) throw new Error(`${kind}: ${before.n} refreshes to get the token`);

    const outcomes = { ok: 0, own401: 0, otherStatus: 0, rejected: 0 };
    let settled = 0;
    let wall;
    const t0 = performance.now();
    const all = Promise.all(Array.from({ length: N }, (_, i) =>
      authFetch(`${base}/api/items/${i}`).then(async (r) => {
        await r.arrayBuffer();
        outcomes[r.status === 200 ? 'ok' : r.status === 401 ? 'own401' : 'otherStatus'] += 1;
      }, () => { outcomes.rejected += 1; })
        .finally(() => { settled += 1; if (settled === N) wall = performance.now() - t0; })));
    await Promise.race([all, new Promise((r) => setTimeout(r, 5000))]);
    const server = await control('stats');
    return { kind, wall: wall ?? NaN, pending: N - settled, ...outcomes, ...server };
  }

  const names = ['bearer', 'dpop'];
  for (const name of names) await once(name);
  const byName = new Map(names.map((n) => [n, []]));
  for (let i = 0; i < RUNS; i++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length];
      byName.get(name).push(await once(name));
    }
  }
  const problems = [];
  for (const name of names) {
    const rs = byName.get(name);
    const walls = rs.map((r) => r.wall).filter((w) => !Number.isNaN(w));
    const dpop = kinds[name].scheme === 'DPoP';
    for (const r of rs) {
      const want = {
        refreshCalls: 1, ok: N, own401: 0, rejected: 0, otherStatus: 0, pending: 0, apiRequests: 2 * N,
        otherScheme: 0, proofOnBearer: 0, withoutProof: 0, badProofs: 0,
        withProof: dpop ? 2 * N : 0, distinctProofs: dpop ? 2 * N : 0, verified: dpop ? 2 * N : 0, tokenProofs: dpop ? 1 : 0,
      };
      for (const [k, v] of Object.entries(want)) if (r[k] !== v) problems.push(`${name}: ${k} = ${r[k]}, expected ${v}`);
    }
    const row = {
      kind: name,
      runs: rs.length,
      ...Object.fromEntries(['refreshCalls', 'tokenProofs', 'ok', 'own401', 'rejected', 'pending', 'apiRequests', 'withProof', 'withoutProof', 'distinctProofs', 'verified']
        .map((k) => [k, med(rs.map((r) => r[k]))])),
      wallMs: walls.length ? med(walls) : null,
      wallMin: Math.min(...walls),
      wallMax: Math.max(...walls),
    };
    console.log(JSON.stringify({ herd: row }));
  }
  const ratios = byName.get('dpop').map((d, i) => d.wall / byName.get('bearer')[i].wall).filter((x) => !Number.isNaN(x));
  console.log(JSON.stringify({ herdRatio: { median: med(ratios), min: Math.min(...ratios), max: Math.max(...ratios) }, problems }));
  await worker.terminate();
  process.exit(problems.length ? 1 : 0);
}

/** Runs `args` in a child process; its stdout's JSON lines, or the child's failure. */
function child(args) {
  const r = spawnSync(process.execPath, [self, '--child', ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const lines = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  for (const l of lines) console.log(JSON.stringify(l));
  if (r.status !== 0) {
    console.error(`${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
    process.exitCode = 1;
  }
  return lines;
}

const f = (x, d = 2) => x.toFixed(d);

function successTable(where, rows) {
  console.log(`\n| ${where} success path | calls per block × pairs | × raw stub (median, min–max) | µs per call: stub / authFetch |`);
  console.log('|---|---|---|---|');
  for (const r of rows) {
    const label = kinds[r.kind].scheme === 'DPoP' ? '**DPoP-bound token**' : kinds[r.kind].label;
    const strong = (x) => (kinds[r.kind].scheme === 'DPoP' ? `**${x}**` : x);
    console.log(`| ${label} | ${r.block.toLocaleString('en')} × ${r.pairs} | ${strong(`${f(r.ratio)} (${f(r.min)}–${f(r.max)})`)} | ${f(r.rawUs, 1)} / ${strong(f(r.oursUs, 1))} |`);
  }
  const dpop = rows.find((r) => r.signUs !== null);
  if (dpop) console.log(`| *\`crypto.subtle.sign\` alone, sequential* | | | *${f(dpop.signUs, 1)}* |`);
  console.log(`\nRequests checked (proofs verified in full): ${rows.map((r) => `${r.kind} ${r.seen.checked} (${r.seen.verified})`).join(', ')}.`);
  const bearer = rows.find((r) => r.kind === 'bearer');
  if (bearer && dpop) {
    console.log(`DPoP-bound over Bearer, medians of their own runs: ${f(dpop.oursUs / bearer.oursUs, 1)}× the time per call (+${f(dpop.oursUs - bearer.oursUs, 1)} µs).`);
  }
}

async function main() {
  const parts = process.argv.slice(2).length ? process.argv.slice(2) : ['node', 'chromium', 'herd'];
  if (parts.includes('node')) {
    const rows = [];
    for (const kind of Object.keys(kinds)) rows.push(...child(['node', kind]));
    successTable('Node', rows);
  }
  if (parts.includes('chromium')) {
    const rows = child(['chromium']);
    successTable('Chromium', rows);
  }
  if (parts.includes('herd')) {
    const lines = child(['herd']);
    const rows = lines.filter((l) => l.herd).map((l) => l.herd);
    const end = lines.find((l) => l.herdRatio);
    console.log(`\nHerd in Node: 1,000 concurrent calls with a token the server no longer accepts, ${RUNS} rounds after a warm-up.`);
    console.log('\n| herd (Node), token | token-endpoint requests (with a proof) | 200s | own 401s | rejected | pending after 5 s | API requests | with a proof (distinct, verified) | wall ms (median, min–max) |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const dpop = kinds[r.kind].scheme === 'DPoP';
      const label = dpop ? '**DPoP-bound token**' : kinds[r.kind].label;
      const proofs = r.withProof === 0 && r.distinctProofs === 0 ? '0' : `${r.withProof} (${r.distinctProofs}, ${r.verified})`;
      const wall = `${Math.round(r.wallMs)} (${Math.round(r.wallMin)}–${Math.round(r.wallMax)})`;
      console.log(`| ${label} | ${r.refreshCalls} (${r.tokenProofs}) | ${r.ok} | ${r.own401} | ${r.rejected} | ${r.pending} | ${r.apiRequests} | ${proofs} | ${dpop ? `**${wall}**` : wall} |`);
    }
    if (end) {
      console.log(`\nDPoP over Bearer wall time, round by round: **${f(end.herdRatio.median)}** (${f(end.herdRatio.min)}–${f(end.herdRatio.max)}).`);
      if (end.problems.length) console.log(`PROBLEMS:\n${end.problems.join('\n')}`);
    }
  }
}

if (!isMainThread && workerData?.role === 'server') {
  await serverThread();
} else if (process.argv[2] === '--child') {
  const [what, kind] = process.argv.slice(3);
  if (what === 'node') await nodeChild(kind);
  else if (what === 'chromium') await chromiumChild();
  else if (what === 'herd') await herdChild();
} else {
  await main();
}
