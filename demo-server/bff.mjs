// The demo's BFF mode (`./scripts/demo.sh --bff`): the same page as a cookie-session app behind a
// backend-for-frontend. The BFF (tests/bff/duende.mjs: Express with express-openid-connect, a
// confidential client of oidc-provider, Duende's endpoints) serves the page itself, keeps the
// tokens on the server (20-second access tokens) and hands the page an HttpOnly session cookie;
// its API answers 401 once the session's access token has expired, and the page refreshes the
// session with `POST /bff/refresh`. The knobs: `POST /demo/expire` (the access token stops
// being accepted), `/demo/revoke` (the session can no longer be refreshed), `GET /demo/stats`.
// `--port N` picks the port (default 8080; 0: any). Ctrl-C stops it.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendFile } from '../tests/js/helpers.mjs';
import { startDuendeBff } from '../tests/bff/duende.mjs';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const i = process.argv.indexOf('--port');
const port = Number(i > 0 ? process.argv[i + 1] : process.env.PORT ?? 8080);

/** The page (www/), the package (pkg/) and the demo's knobs. */
async function fallback(req, res) {
  const path = new URL(req.url, 'http://x').pathname;
  if (path.startsWith('/demo/')) return knobs(req, res, path);
  if (path.startsWith('/pkg/')) return sendFile(root, path, res);
  return sendFile(join(root, 'www'), path, res);
}

async function knobs(req, res, path) {
  if (req.method === 'POST' && path === '/demo/expire') await bff.expireAccess();
  else if (req.method === 'POST' && path === '/demo/revoke') await bff.endSession();
  else if (req.method !== 'GET' || path !== '/demo/stats') return res.writeHead(404).end();
  const s = bff.stats;
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({
    stats: { api_requests: s.apiRequests, unauthorized: s.unauthorized, refreshes: s.serverRefreshes, logins: s.logins },
  }));
}

const bff = await startDuendeBff({ accessTtl: 20, refreshEndpoint: true, fallback, port });
const url = `${bff.origin}/?bff=1`;
console.log(`reauth demo, BFF mode: ${url}`);
console.log(`  the BFF (express-openid-connect, Duende's endpoints) serves the page; authorization server (oidc-provider): ${bff.provider.issuer}`);
console.log('  log in with any name and password (its development login form)');
const stop = async () => {
  await bff.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
