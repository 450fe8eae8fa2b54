// The built package in Node, imported by name as an app would (the "node" export condition).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
