// The built package in Node, imported by name as an app would (the "node" export condition).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import diagnostics from 'node:diagnostics_channel';
import { Worker } from 'node:worker_threads';
import init, { createAuthFetch, parseChallenges } from 'reauth';
import { initSync as glueInitSync } from '../../pkg/reauth.js';
import { parseAll, vectorMismatches, vectors } from './helpers.mjs';
import { waitWithSignals } from './waiting.mjs';

test('init() resolves, twice', async () => {
  assert.equal(await init(), undefined);
  assert.equal(await init(), undefined);
});

test('parseChallenges agrees with the shared vectors', () => {
  const results = parseAll(parseChallenges, vectors.map((v) => v.header));
  assert.deepEqual(vectorMismatches(results), []);
});

test('parseChallenges returns the documented shape', () => {
  assert.deepEqual(parseChallenges('Bearer realm="a\\"b", Error=invalid_token, Negotiate abc=='), [
    { scheme: 'Bearer', token68: null, params: [['realm', 'a"b'], ['error', 'invalid_token']] },
    { scheme: 'Negotiate', token68: 'abc==', params: [] },
  ]);
});

test('a header off the grammar throws ChallengeParseError with the byte position', () => {
  assert.throws(() => parseChallenges('Basic realm="x", realm="y"'), {
    name: 'ChallengeParseError',
    message: 'parameter occurs twice in one challenge at byte 17',
  });
  assert.throws(() => parseChallenges('Basic realm="x'), (e) => e instanceof Error && /at byte 12$/.test(e.message));
});

test('the wasm instance survives errors and odd input', () => {
  for (const bad of ['\u0000', '"', 'a=b', 'Basic realm="\u00ff\\', '\ud800', ',,,=']) {
    try { parseChallenges(bad); } catch (e) { assert.equal(e.name, 'ChallengeParseError'); }
  }
  assert.throws(() => parseChallenges(), TypeError);
  assert.deepEqual(parseChallenges('Basic'), [{ scheme: 'Basic', token68: null, params: [] }]);
});

test('refreshes and requests leave nothing behind: wasm memory and the externref table stay as they were', async () => {
  // wasm-bindgen's own initSync hands back the already instantiated module's exports (their
  // names are minified: the memory and the externref table are found by what they are).
  const exports = Object.values(glueInitSync({ module: readFileSync(new URL('../../pkg/reauth_bg.wasm', import.meta.url)) }));
  const wasm = {
    memory: exports.find((e) => e instanceof WebAssembly.Memory),
    __wbindgen_externrefs: exports.find((e) => e instanceof WebAssembly.Table),
  };
  let n = 0;
  const stub = async (input, init) => new Response('x', { status: init?.headers?.authorization === `Bearer t${n}` ? 200 : 401 });
  const af = createAuthFetch({ origins: ['https://api.example.com'], fetch: stub, refresh: async () => ({ accessToken: `t${n}` }) });
  af.setTokens({ accessToken: 'start' });
  // Each call: a 401, a refresh (with its timeout timer), a retry.
  const calls = async (k) => {
    for (let i = 0; i < k; i++) {
      n += 1;
      assert.equal((await af('https://api.example.com/x')).status, 200);
    }
  };
  await calls(1000);
  const before = { memory: wasm.memory.buffer.byteLength, table: wasm.__wbindgen_externrefs.length };
  await calls(6000);
  // Anything kept per refresh would have grown them by now: a JS value the table, 11 bytes of
  // wasm memory per refresh more than the one page (64 KiB) the allocator may still take.
  assert.equal(wasm.__wbindgen_externrefs.length, before.table, 'externref table');
  assert.ok(wasm.memory.buffer.byteLength <= before.memory + 65536, `wasm memory ${before.memory} -> ${wasm.memory.buffer.byteLength}`);
});

test('calls that wait for a refresh with an AbortSignal leave nothing behind when the refresh ends first', async () => {
  const exports = Object.values(glueInitSync({ module: readFileSync(new URL('../../pkg/reauth_bg.wasm', import.meta.url)) }));
  const memory = exports.find((e) => e instanceof WebAssembly.Memory);
  const table = exports.find((e) => e instanceof WebAssembly.Table);
  const { warm, after } = await waitWithSignals(createAuthFetch, () => ({ memory: memory.buffer.byteLength, table: table.length }));
  assert.equal(after.table, warm.table, 'externref table');
  assert.ok(after.memory <= warm.memory + 65536, `wasm memory ${warm.memory} -> ${after.memory} over 24,000 waiting calls`);
});

test('aborting a call that waits for a refresh rejects it at once, even after its Request was collected', () => {
  const out = execFileSync(process.execPath, ['--expose-gc', new URL('./fixtures/abort-after-gc.mjs', import.meta.url).pathname], { encoding: 'utf8' });
  assert.equal(out.trim(), 'AbortError');
});

test('reauth/inline in Node is the Node entry (the "node" condition); its own loader works in Node too', async () => {
  const inline = await import('reauth/inline');
  assert.equal(inline.createAuthFetch, createAuthFetch);
  assert.equal(await inline.default(), undefined);
  // pkg/inline.js itself, in a process of its own: the embedded module, unpacked and compiled.
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    import init, { parseChallenges } from ${JSON.stringify(new URL('../../pkg/inline.js', import.meta.url).href)};
    await init();
    await init();
    console.log(parseChallenges('Basic realm=x')[0].params[0][1]);`], { encoding: 'utf8' });
  assert.equal(out.trim(), 'x');
});

test('an aborted call rejects with the abort\'s reason even when its fetch rejects with a network error (as WebKit can)', async () => {
  // A fetch that, like WebKit when an abort and a dropped connection meet, rejects an aborted
  // request with a TypeError instead of the abort's reason. First attempts (the success path)
  // and retries (after a 401 and a refresh) alike.
  let attempt = 0;
  const fetch = (input, init) => {
    attempt += 1;
    if (attempt === 1 && String(input).includes('retry')) {
      return Promise.resolve(new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } }));
    }
    return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new TypeError('Load failed'))));
  };
  const af = createAuthFetch({ origins: ['https://api.example.com'], fetch, refresh: () => 'at-2' });
  af.setTokens('at-1');
  for (const path of ['first', 'retry']) {
    attempt = 0;
    const controller = new AbortController();
    const call = af(`https://api.example.com/${path}`, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await assert.rejects(call, (e) => e.name === 'AbortError', path);
  }
});

test('issue 29: a call that waited through a refresh and whose first attempt is refused refreshes once and retries once, and no retry_unauthorized is reported for it', async () => {
  // A server whose tokens rotate under the app: it accepts only `current`, and replaces at-1
  // right after taking it once (call a's retry), so b's first attempt with at-1 is refused.
  let current = 'at-0';
  const sent = [];
  const fetch = async (input, init) => {
    const auth = new Headers(init?.headers).get('authorization');
    const path = String(input).split('/').pop();
    sent.push([path, auth]);
    const ok = auth === `Bearer ${current}`;
    if (ok && current === 'at-1') current = 'at-2';
    return new Response('', ok ? { status: 200 } : { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
  };
  const refreshes = [];
  let release;
  const refresh = () => {
    refreshes.push(refreshes.length + 1);
    if (refreshes.length === 1) {
      // Held until call b has been admitted and waits; then a token the server replaces.
      return new Promise((ok) => { release = () => { current = 'at-1'; ok('at-1'); }; });
    }
    return 'at-2';
  };
  const failures = [];
  const af = createAuthFetch({ origins: ['https://api.example.com'], fetch, refresh, onAuthFailure: (f) => failures.push(f.reason) });
  af.setTokens('at-old');
  const a = af('https://api.example.com/a');
  while (!release) await new Promise((r) => setTimeout(r, 1));
  const b = af('https://api.example.com/b'); // admitted during the refresh: waits for it
  await new Promise((r) => setTimeout(r, 5));
  release();
  assert.deepEqual([(await a).status, (await b).status], [200, 200]);
  assert.deepEqual(failures, [], 'no hook: no retry was refused');
  assert.deepEqual(refreshes, [1, 2], 'b\'s refused first attempt refreshed once more');
  assert.deepEqual(sent.filter(([p]) => p === 'a'), [['a', 'Bearer at-old'], ['a', 'Bearer at-1']]);
  assert.deepEqual(sent.filter(([p]) => p === 'b'), [['b', 'Bearer at-1'], ['b', 'Bearer at-2']], 'b: its first attempt, then its one retry');
});

/**
 * A server on 127.0.0.1 in a thread of its own that can be starved: `starve()` blocks its
 * thread (as a starved CPU would) until `feed()`; the kernel still accepts connections and
 * takes their bytes meanwhile. `seen` lists each request its handler saw, with the wall clock
 * then. It answers 200 to `Bearer at-2`, else a Bearer 401.
 */
async function starvableServer() {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(`
    const { parentPort, workerData: flag } = require('node:worker_threads');
    const server = require('node:http').createServer((req, res) => {
      parentPort.postMessage({ seen: { t: Date.now(), method: req.method, path: req.url, auth: req.headers.authorization ?? null } });
      req.on('error', () => {});
      res.on('error', () => {});
      const ok = req.headers.authorization === 'Bearer at-2';
      res.writeHead(ok ? 200 : 401, ok ? {} : { 'www-authenticate': 'Bearer error="invalid_token"' });
      res.end();
    });
    server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
    parentPort.on('message', () => {
      parentPort.postMessage({ starved: true });
      Atomics.wait(flag, 0, 0);
      Atomics.store(flag, 0, 0);
    });`, { eval: true, workerData: flag });
  const seen = [];
  const waiting = [];
  worker.on('message', (m) => {
    if (m.seen) seen.push(m.seen);
    waiting.splice(0).forEach((w) => w(m));
  });
  const next = () => new Promise((r) => waiting.push(r));
  const { port } = await next();
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    starve: async () => { worker.postMessage('starve'); while (!(await next()).starved); },
    feed: () => { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); },
    /** Resolves once the handler has seen `n` requests in all. */
    until: async (n) => { while (seen.length < n) await next(); },
    close: () => worker.terminate(),
  };
}

/** Resolves when Node's fetch has written the body of a request for `path` to its socket. */
function bodyWritten(path) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m.request.path !== path) return;
      diagnostics.unsubscribe('undici:request:bodySent', on);
      resolve();
    };
    diagnostics.subscribe('undici:request:bodySent', on);
  });
}

test('issue 29, break 2 as the soak saw it: a write aborted after fetch sent it reaches a starved server after the call rejected, with fetch alone too; reauth hands it to fetch once', { timeout: 20000 }, async () => {
  const server = await starvableServer();
  try {
    const handed = [];
    const af = createAuthFetch({
      origins: [server.origin],
      fetch: (input, init) => { handed.push(String(input)); return globalThis.fetch(input, init); },
      refresh: () => 'at-2',
    });
    af.setTokens('at-2');
    for (const [who, send] of [['reauth', af], ['fetch', globalThis.fetch]]) {
      await server.starve();
      const before = server.seen.length;
      const path = `/orders/${who}`;
      const controller = new AbortController();
      const written = bodyWritten(path);
      const call = send(`${server.origin}${path}`, { method: 'POST', body: 'order 1', signal: controller.signal });
      await written; // the request is on the wire: its bytes are the server's kernel's now
      controller.abort();
      await assert.rejects(call, { name: 'AbortError' }, who);
      const settledAt = Date.now();
      assert.equal(server.seen.length, before, `${who}: nothing seen before the call settled`);
      await new Promise((r) => setTimeout(r, 20));
      server.feed();
      await server.until(before + 1);
      const late = server.seen.slice(before);
      assert.deepEqual(late.map((s) => [s.method, s.path]), [['POST', path]], `${who}: the server saw the write once`);
      assert.ok(late[0].t > settledAt, `${who}: seen ${late[0].t - settledAt} ms after the call settled`);
    }
    assert.deepEqual(handed, [`${server.origin}/orders/reauth`], 'reauth handed the write to fetch once, before the abort');
  } finally {
    await server.close();
  }
});

test('issue 29: a call aborted while it waits for a refresh is never sent again: the server sees its first attempt only, before the call settled', { timeout: 20000 }, async () => {
  const server = await starvableServer();
  try {
    let release;
    const refreshed = new Promise((r) => { release = r; });
    let refreshes = 0;
    const af = createAuthFetch({ origins: [server.origin], refresh: () => { refreshes += 1; return refreshed; } });
    af.setTokens('at-1');
    const controller = new AbortController();
    const call = af(`${server.origin}/orders`, { method: 'POST', body: 'order 1', signal: controller.signal });
    await server.until(1); // its first attempt, answered 401: the refresh starts
    while (refreshes === 0) await new Promise((r) => setTimeout(r, 1));
    controller.abort();
    await assert.rejects(call, { name: 'AbortError' });
    const settledAt = Date.now();
    release('at-2');
    // A retry would be sent at once with at-2; another call shows the refresh has ended.
    assert.equal((await af(`${server.origin}/ping`)).status, 200);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(server.seen.map((s) => [s.method, s.path, s.auth]), [['POST', '/orders', 'Bearer at-1'], ['GET', '/ping', 'Bearer at-2']]);
    assert.ok(server.seen[0].t <= settledAt);
    assert.equal(refreshes, 1);
  } finally {
    await server.close();
  }
});
