// The last step of ./scripts/build.sh: wasm-opt has renamed the module's imports and exports to
// short names (`--minify-imports-and-exports-and-modules`, its mapping on stdin); this renames
// them the same way in wasm-bindgen's glue. wasm-bindgen names each import after its binding
// plus a 16-digit hash, and both files carry every name, about 5 KB of gzip between them.
// Usage: node scripts/minify-names.mjs <minified .wasm> <glue in> <glue out> < mapping.json
import { readFileSync, writeFileSync } from 'node:fs';

const [wasmFile, glueIn, glueOut] = process.argv.slice(2);
const map = JSON.parse(readFileSync(0, 'utf8'));
let glue = readFileSync(glueIn, 'utf8');
const escape = (s) => s.replace(/[$]/g, '\\$');
const fail = (what) => {
  throw new Error(`minify-names: ${what}; the glue is not as this script expects (wasm-bindgen changed?)`);
};

// The one import module: its key in the glue's import object.
const modules = new Set(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmFile))).map((i) => i.module));
const olds = new Set(map.imports.map(([module]) => module));
if (modules.size !== 1 || olds.size !== 1) fail(`expected one import module, found ${[...olds]} -> ${[...modules]}`);
const [oldModule] = olds;
const [newModule] = modules;
const moduleKey = `${JSON.stringify(oldModule)}: import0`;
if (glue.split(moduleKey).length !== 2) fail(`no ${moduleKey}`);
glue = glue.replace(moduleKey, `${JSON.stringify(newModule)}: import0`);

// Imports: each is one key of the import object, `name: function(…) {…}`.
for (const [, from, to] of map.imports) {
  const key = new RegExp(`(^|[^\\w$])${escape(from)}(: function)`, 'gm');
  const n = glue.match(key)?.length ?? 0;
  if (n !== 1) fail(`import ${from} found ${n} times`);
  glue = glue.replace(key, `$1${JSON.stringify(to)}$2`);
}

// Exports: the glue reads them as `wasm.name`.
for (const [from, to] of map.exports) {
  glue = glue.replace(new RegExp(`\\bwasm\\.${escape(from)}\\b`, 'g'), `wasm.${to}`);
}
const left = glue.match(/\bwasm\.(__wbindgen_\w+|__externref_\w+|wasm_bindgen__\w+|memory)\b/);
if (left) fail(`${left[0]} was not renamed`);
writeFileSync(glueOut, glue);
