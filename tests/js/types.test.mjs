// The shipped types: a usage file (and a ky plug-in) type-checks with tsc --noEmit --strict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './helpers.mjs';

test('the .d.ts types a real usage file strictly, with no any', () => {
  const r = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tests/types/tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc reported:\n${r.stdout}${r.stderr}`);
});

test('the core build\'s types name nothing of OAuth or DPoP; the OAuth build\'s do', () => {
  const oauthOnly = /\b(oauth|dpop)\??:|OAuth(Options|Error)\b|LoginOptions|dpop_key_lost|use_dpop_nonce|authorizationUrl/g;
  const core = readFileSync(join(root, 'pkg/reauth.d.ts'), 'utf8');
  assert.deepEqual(core.match(oauthOnly), null);
  const full = readFileSync(join(root, 'pkg/reauth_oauth.d.ts'), 'utf8');
  assert.deepEqual([...new Set(full.match(oauthOnly))].sort(), [
    'LoginOptions', 'OAuthError', 'OAuthOptions', 'authorizationUrl', 'dpop?:', 'dpop_key_lost', 'oauth:', 'oauth?:', 'use_dpop_nonce',
  ]);
});
