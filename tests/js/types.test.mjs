// The shipped types: a usage file (and a ky plug-in) type-checks with tsc --noEmit --strict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './helpers.mjs';

test('the .d.ts types a real usage file strictly, with no any', () => {
  const r = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tests/types/tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
});
