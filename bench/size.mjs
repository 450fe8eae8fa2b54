// What a bundler ships: each contender bundled with esbuild (--bundle --minify, browser, ESM,
// its own dependencies included), gzip -9 and brotli (quality 11). reauth is its bundled JS
// plus the .wasm it fetches. Run: node bench/size.mjs
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const here = fileURLToPath(new URL('.', import.meta.url));
const entries = {
  reauth: "export { default, createAuthFetch } from '../pkg/index.js';",
  'axios + axios-auth-refresh': "import axios from 'axios'; import refresh from 'axios-auth-refresh'; export { axios, refresh };",
  'ky 1.x': "export { default } from 'ky';",
  ofetch: "export { ofetch, createFetch } from 'ofetch';",
  'OAuth2Fetch (@badgateway/oauth2-client)': "export { OAuth2Client, OAuth2Fetch } from '@badgateway/oauth2-client';",
};
const gz = (b) => gzipSync(b, { level: 9 }).length;
const br = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const kb = (n) => (n / 1000).toFixed(1);

const rows = [];
for (const [name, contents] of Object.entries(entries)) {
  const out = await build({
    stdin: { contents, resolveDir: here, loader: 'js' },
    bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent',
  });
  const js = Buffer.from(out.outputFiles[0].contents);
  const parts = [js];
  if (name === 'reauth') parts.push(readFileSync(new URL('../pkg/reauth_bg.wasm', import.meta.url)));
  const row = { contender: name, raw: parts.reduce((n, p) => n + p.length, 0), gzip: parts.reduce((n, p) => n + gz(p), 0), brotli: parts.reduce((n, p) => n + br(p), 0) };
  if (name === 'reauth') Object.assign(row, { jsGzip: gz(js), wasmGzip: gz(parts[1]) });
  rows.push(row);
  console.log(JSON.stringify(row));
}
console.log('\n| contender | raw KB | gzip -9 KB | brotli KB |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.contender} | ${kb(r.raw)} | ${kb(r.gzip)} | ${kb(r.brotli)} |`);
