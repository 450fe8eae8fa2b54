// The soak tier: a seeded plan of 1,000 calls against faulty servers, in Node and in a window of
// each engine, every invariant checked from what the servers saw (tests/soak/). SEED=… replays a
// plan (the default is fixed, so that the suite is the same on every run; ./scripts/soak.sh
// runs long soaks over several seeds). Then, for each invariant, a run with a switch that
// breaks it, to show the check can fail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { engineName, engines, launch } from './engines.mjs';
import { report, soak } from '../soak/soak.mjs';

const SEED = Number(process.env.SEED ?? 20261201);
const script = fileURLToPath(new URL('../soak/soak.mjs', import.meta.url));

/** A soak in a child Node process with --expose-gc (the heap is measured after a GC). */
function nodeSoak(args) {
  let out;
  try {
    out = execFileSync(process.execPath, ['--expose-gc', script, '--json', ...args], { encoding: 'utf8' });
  } catch (e) {
    out = e.stdout; // exit code 1: violations, reported below
  }
  return JSON.parse(out.trim().split('\n').pop());
}

const clean = (result) => assert.deepEqual(report(result), [], `SEED=${result.seed ?? SEED} ${JSON.stringify(result.stats)}`);

test(`1,000 calls in Node against faulty servers: no invariant violated (SEED=${SEED})`, () => {
  const r = nodeSoak(['--seed', String(SEED), '--calls', '1000']);
  clean({ ...r, examples: r.examples });
  assert.ok(r.stats.retries > 50 && r.stats.refreshesFailed > 3 && r.stats.aborted > 10, `the plan exercised the paths: ${JSON.stringify(r.stats)}`);
  assert.ok(r.stats.heap?.warm > 0 && r.stats.heap?.after > 0, 'the heap was measured');
});

for (const engine of engines) {
  describe(`in a ${engineName[engine]} window`, () => {
    let browser;
    before(async () => {
      browser = await launch(engine, { chromiumArgs: ['--js-flags=--expose-gc', '--enable-precise-memory-info'] });
    });
    after(() => browser?.close());
    test(`1,000 calls in a window: no invariant violated (SEED=${SEED})`, async () => {
      const r = await soak({ seed: SEED, calls: 1000, runtime: 'window', browser });
      clean(r);
      assert.ok(r.stats.retries > 50 && r.stats.refreshesFailed > 3, `the plan exercised the paths: ${JSON.stringify(r.stats)}`);
      // Only Chromium lets a page collect garbage and read its heap.
      if (engine === 'chromium') assert.ok(r.stats.heap?.warm > 0, 'the heap was measured');
    });
  });
}

// Each invariant, made to fail: a switch in the servers or in the caller (standing in for a
// broken library, see tests/soak/harness.mjs) and the violation it must produce.
const PROOFS = [
  ['hang-api', 'unsettled'],
  ['mislabel', 'wrongResponse'],
  ['resend', 'sentMoreThanTwice'],
  ['stale', 'retryNotNewer'],
  ['mutate-retry', 'bodyChanged'],
  ['leak-foreign', 'tokenToForeign'],
  ['auth-token-request', 'tokenRequestWithAuth'],
  ['double-refresh', 'refreshOverlap'],
  ['refresh-everything', 'passThroughRetried'],
  ['strip-signal', 'abortNotRejected'],
  ['fake-response', 'networkErrorResolved'],
  ['hook-twice', 'hookTooOften'],
  ['no-hook', 'uncovered401'],
  ['late-send', 'sentAfterSettled'],
  ['late-send', 'seenAfterSettled'],
  ['retry-hook-anyway', 'retryHookWithoutRefusedRetry'],
  ['hook-twice', 'retryHookTwicePerToken'],
];

describe('each invariant can fail', () => {
  for (const [sw, kind] of PROOFS) {
    test(`${sw} → ${kind}`, async () => {
      // (Time enough for the 300 calls to settle on a busy machine: a check counted over a run
      // cut short by the deadline proves less; only hang-api's calls wait for it.)
      const r = await soak({ seed: SEED, calls: 300, switches: [sw], deadlineMs: 6000 });
      assert.ok(r.violations[kind] > 0, `${kind} did not fire: ${JSON.stringify(r.violations)}`);
    });
  }
  test('leak → heapGrowth', () => {
    const r = nodeSoak(['--seed', String(SEED), '--calls', '300', '--switch', 'leak']);
    assert.ok(r.violations.heapGrowth > 0, `heapGrowth did not fire: ${JSON.stringify(r.stats.heap)}`);
  });
});
