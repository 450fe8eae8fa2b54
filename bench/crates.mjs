// What each crate costs in the shipped .wasm: twiggy's shallow size of every function and data
// item, attributed to the crate whose path it carries (`core::…`, `serde_json::…`; generic code
// counts for the crate that defines it). Measured on the release build passed through
// wasm-bindgen with its names kept and without wasm-opt (twiggy needs the names), then scaled
// to the shipped module: `shipped` is each crate's share of pkg/NAME_bg.wasm, gzip -9.
// Run: node bench/crates.mjs [core|bff|oauth] (the core by default; after ./scripts/build.sh,
// which keeps each build's cargo output as target/reauth.wasm, target/reauth_bff.wasm and
// target/reauth_oauth.wasm; needs twiggy: `cargo install twiggy`; ./scripts/bench.sh does it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const builds = { core: 'reauth', bff: 'reauth_bff', oauth: 'reauth_oauth' };
const name = builds[process.argv[2] ?? 'core'];
if (!name) throw new Error(`bench/crates.mjs: no build ${process.argv[2]}; one of ${Object.keys(builds).join(', ')}`);
const dir = mkdtempSync(join(tmpdir(), 'reauth-crates-'));
execFileSync('wasm-bindgen', [join(root, `target/${name}.wasm`),
  '--out-dir', dir, '--out-name', 'reauth', '--target', 'web']);
const csv = execFileSync('twiggy', ['top', '-n', '1000000', '--format', 'csv', join(dir, 'reauth_bg.wasm')], {
  encoding: 'utf8', maxBuffer: 1 << 28,
});

/** The crate an item belongs to, from its (demangled) name. */
function crateOf(name) {
  if (name.startsWith('data segment')) return 'data (strings, tables)';
  if (/^(import|export|type\[|elem|table|global|code\[|custom section|"function names")/.test(name)) return 'wasm sections (imports, exports, types)';
  if (/^(__wbindgen|__externref|__wbg|wasm_bindgen)/.test(name) || /shim$|^Closure\(|-> Externref$/.test(name)) return 'wasm_bindgen';
  // The first path in the name: `<f64 as core::fmt::Display>::fmt` is core's.
  const m = name.match(/([a-z_][a-z0-9_]*)(\[[0-9a-f]+\])?::/);
  if (m) return m[1];
  if (/^<(char|str|u8|u16|u32|u64|usize|i32|i64|f64)>::/.test(name)) return 'core';
  if (/^__/.test(name)) return 'compiler_builtins';
  if (/^[a-z][A-Za-z]+$/.test(name)) return 'wasm_bindgen';
  return 'other';
}

const totals = new Map();
let sum = 0;
for (const line of csv.trim().split('\n').slice(1)) {
  const fields = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g).map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"'));
  const [name, size] = fields;
  if (name.includes('function names')) continue;
  const bytes = Number(size);
  const crate = crateOf(name);
  totals.set(crate, (totals.get(crate) ?? 0) + bytes);
  sum += bytes;
}
const shipped = gzipSync(readFileSync(join(root, `pkg/${name}_bg.wasm`)), { level: 9 }).length;
const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]);
console.log(`| crate | bytes before wasm-opt | share | ≈ KB of the shipped .wasm (gzip -9, ${(shipped / 1000).toFixed(1)} KB) |`);
console.log('|---|---|---|---|');
for (const [crate, bytes] of rows) {
  const share = bytes / sum;
  if (share < 0.003) continue;
  console.log(`| ${crate} | ${bytes.toLocaleString('en')} | ${(share * 100).toFixed(1)}% | ${((share * shipped) / 1000).toFixed(1)} |`);
}
const small = rows.filter(([, b]) => b / sum < 0.003);
if (small.length) {
  const b = small.reduce((n, [, x]) => n + x, 0);
  console.log(`| ${small.length} others (${small.map(([c]) => c).join(', ')}) | ${b.toLocaleString('en')} | ${((b / sum) * 100).toFixed(1)}% | ${((b / sum) * shipped / 1000).toFixed(1)} |`);
}
console.log(`| **total** | ${sum.toLocaleString('en')} | 100% | ${(shipped / 1000).toFixed(1)} |`);
