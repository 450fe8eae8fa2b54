// The demo's OIDC mode (`./scripts/demo.sh --oidc`): the same page, logged in through a real
// authorization server with DPoP-bound tokens. It runs the demo server (for the page) and
// oidc-provider (tests/oidc/provider.mjs: the `spa-dpop` client, nonces required, 20-second
// access tokens) with its protected resource, which checks every DPoP proof and serves the
// knobs. Arguments go to the demo server (`--port N`). Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProvider } from '../tests/oidc/provider.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const server = spawn(join(root, 'target/debug/reauth-demo'), ['--demo', '--root', root, ...process.argv.slice(2)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [first] = await Promise.race([once(server.stdout, 'data'), once(server, 'exit').then(() => process.exit(1))]);
const page = String(first).match(/http:\/\/[\d.:]+/)?.[0];
if (!page) {
  console.error(`the demo server said: ${first}`);
  process.exit(1);
}
server.stdout.pipe(process.stdout);
const op = await startProvider({ redirectUris: [`${page}/`], accessTtl: 20, control: true });
const url = `${page}/?oidc=${encodeURIComponent(op.issuer)}&api=${encodeURIComponent(op.api)}`;
console.log(`reauth demo, OIDC mode: ${url}`);
console.log(`  authorization server (oidc-provider): ${op.issuer}; API that checks DPoP proofs: ${op.api}`);
console.log('  log in with any name and password (its development login form)');
const stop = async () => {
  server.kill('SIGINT');
  await op.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.on('exit', () => op.close().then(() => process.exit(0)));
