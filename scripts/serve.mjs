// Serves the demo page (www/) and the built package (/pkg/) on 127.0.0.1.
// Usage: node scripts/serve.mjs [--port N]   (or PORT=N; default 8080)
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const flag = process.argv.indexOf('--port');
const port = Number(flag > 0 ? process.argv[flag + 1] : process.env.PORT ?? 8080);
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json' };

function fileFor(pathname) {
  const path = normalize(decodeURIComponent(pathname));
  const [base, rest] = path.startsWith('/pkg/') ? [join(root, 'pkg'), path.slice(4)] : [join(root, 'www'), path];
  const file = join(base, rest.endsWith('/') ? rest + 'index.html' : rest);
  return file.startsWith(base + sep) ? file : null;
}

const server = createServer(async (req, res) => {
  const file = fileFor(new URL(req.url, 'http://x').pathname);
  try {
    if (!file) throw new Error('outside');
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    res.end(body);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
});
server.listen(port, '127.0.0.1', () => console.log(`reauth demo: http://127.0.0.1:${server.address().port}/  (Ctrl-C stops)`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
