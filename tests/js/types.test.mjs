// The shipped types: a usage file (and a ky plug-in) type-checks with tsc --noEmit --strict; each
// build's generated types name its own layer and no other's.
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

test('the core\'s and the cookie-session build\'s types name nothing of OAuth or DPoP; the OAuth build\'s do', () => {
  const oauthOnly = /\b(oauth|dpop)\??:|OAuth(Options|Error)\b|LoginOptions|dpop_key_lost|use_dpop_nonce|authorizationUrl/g;
  const core = readFileSync(join(root, 'pkg/reauth.d.ts'), 'utf8');
  assert.deepEqual(core.match(oauthOnly), null);
  const full = readFileSync(join(root, 'pkg/reauth_oauth.d.ts'), 'utf8');
  assert.deepEqual([...new Set(full.match(oauthOnly))].sort(), [
    'LoginOptions', 'OAuthError', 'OAuthOptions', 'authorizationUrl', 'dpop?:', 'dpop_key_lost', 'oauth:', 'oauth?:', 'use_dpop_nonce',
  ]);
  const bff = readFileSync(join(root, 'pkg/reauth_bff.d.ts'), 'utf8');
  assert.deepEqual(bff.match(oauthOnly), null);
});

test('cookie sessions are in the cookie-session build\'s types only: BffOptions, the bff option and session() in reauth_bff.d.ts, none in the core\'s or the OAuth build\'s', () => {
  const bffOnly = /\bBffOptions\b|\bSessionRefreshHook\b|\bbff\??:|\bsession\(/g;
  for (const f of ['pkg/reauth.d.ts', 'pkg/reauth_oauth.d.ts']) {
    assert.deepEqual(readFileSync(join(root, f), 'utf8').match(bffOnly), null, f);
  }
  const bff = readFileSync(join(root, 'pkg/reauth_bff.d.ts'), 'utf8');
  assert.deepEqual([...new Set(bff.match(bffOnly))].sort(), ['BffOptions', 'SessionRefreshHook', 'bff:', 'bff?:', 'session(']);
  // The AuthFetch interface has the four members.
  const members = bff.match(/export interface AuthFetch \{[\s\S]*?\n\}/)?.[0] ?? '';
  for (const m of ['login(', 'completeLogin(', 'logout(', 'session(']) assert.ok(members.includes(`    ${m}`), `AuthFetch.${m}`);
  // The entries' own .d.ts re-export BffOptions from that build.
  assert.match(readFileSync(join(root, 'pkg/bff.d.ts'), 'utf8'), /\bBffOptions,[\s\S]*from '\.\/reauth_bff\.js'/);
});
