// Shared test helpers: a static file server on 127.0.0.1 (random port), Debian's Chromium via
// playwright-core (engines.mjs has the three engines), the packed package and scratch projects that install it, and the shared
// WWW-Authenticate vectors.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
};

/** Answers a GET for `pathname` with the file under `base`, refusing paths that leave it. */
export async function sendFile(base, pathname, res) {
  const path = normalize(decodeURIComponent(pathname));
  let file = join(base, path);
  if (file !== base && !file.startsWith(base + sep)) {
    res.writeHead(403).end();
    return;
  }
  if (path.endsWith('/')) file = join(file, 'index.html');
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
}

/** Serves the files under `dir` on 127.0.0.1 at a random port. Resolves with { url, close }.
 * `route(req, res, url)` may answer a request first (it returns true when it did; it may also
 * just set headers for the file). */
export async function serveStatic(dir, route = () => false) {
  const base = resolve(dir);
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (!await route(req, res, url)) await sendFile(base, url.pathname, res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

export { launchChromium } from './engines.mjs';

/** Starts one of the demo's launchers (`demo-server/<script>`, on any free port) and resolves
 * with `{ url, launcher }` once it prints the line `<mode> mode: <url>`. */
export async function startLauncher(script, mode) {
  const launcher = spawn(process.execPath, [join(root, 'demo-server', script), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise((ok, fail) => {
    launcher.stdout.on('data', (d) => {
      out += d;
      const m = new RegExp(`${mode} mode: (\\S+)`).exec(out);
      if (m) ok(m[1]);
    });
    launcher.on('exit', (code) => fail(new Error(`the launcher exited (${code}): ${out}`)));
  });
  return { url, launcher };
}

/** Runs a command; returns its stdout (throws with its stderr when it fails). */
export const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Empties `dir` and packs pkg/ into it with `npm pack`; returns the tarball's path. */
export function packPkg(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const name = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], join(root, 'pkg')))[0].filename;
  return join(dir, name);
}

/** A scratch project in `dir` with `files` ({ path: text }) and the tarball installed offline. */
export function scratchProject(dir, tarball, files) {
  mkdirSync(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--no-save', tarball], dir);
  // Installed from the tarball, not found through the repository's own link to pkg/.
  if (lstatSync(join(dir, 'node_modules', 'reauth')).isSymbolicLink()) throw new Error(`${dir}: reauth is a link`);
  return dir;
}

/** The shared WWW-Authenticate vectors. */
export const vectors = JSON.parse(
  readFileSync(join(root, 'tests/vectors/www-authenticate-sample.json'), 'utf8'),
).cases;

/** Runs `parse` over every vector header: a result list, or { error: name } where it threw. */
export function parseAll(parse, headers) {
  return headers.map((h) => {
    try {
      return parse(h);
    } catch (e) {
      return { error: e.name, message: e.message };
    }
  });
}

/** Compares parse results with the vectors' expectations; returns the list of mismatches. */
export function vectorMismatches(results) {
  const norm = (list) =>
    list.map((c) => ({
      scheme: c.scheme.toLowerCase(),
      token68: c.token68,
      params: c.params.map(([k, v]) => [k.toLowerCase(), v]).sort((a, b) =>
        a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1),
    }));
  const out = [];
  vectors.forEach((v, i) => {
    const got = results[i];
    if (v.expect === 'error') {
      if (!got || got.error !== 'ChallengeParseError' || !/ at byte \d+$/.test(got.message)) {
        out.push({ header: v.header, expect: 'error', got });
      }
    } else if (JSON.stringify(norm(v.expect)) !== JSON.stringify(Array.isArray(got) ? norm(got) : got)) {
      out.push({ header: v.header, expect: v.expect, got });
    }
  });
  return out;
}
