// The built package in Node, imported by name as an app would (the "node" export condition).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import init, { parseChallenges } from 'reauth';
import { parseAll, vectorMismatches, vectors } from './helpers.mjs';

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
