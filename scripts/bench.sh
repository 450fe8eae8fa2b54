#!/usr/bin/env bash
# The benchmarks (not part of the tests): reauth against the interceptors apps would pick
# instead, on the same work in one run. Results print as tables; BENCHMARKS.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
./scripts/setup.sh
./scripts/build.sh
if ! cmp -s bench/package-lock.json bench/node_modules/.reauth-lock 2>/dev/null; then
  (cd bench && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.reauth-lock)
fi
command -v twiggy >/dev/null || cargo install twiggy --locked
echo "== parser: headers per second, reauth vs http-auth (native)"
cargo bench --quiet --bench parse
node bench/parser-wasm.mjs
echo "== success-path overhead over a stub fetch (a process per contender)"
node bench/overhead.mjs
echo "== Chromium: success-path overhead, start-up and init() alone"
node bench/browser.mjs
echo "== thundering herd, late 401s, refresh failure (1,000 concurrent requests)"
node bench/herd.mjs "${RUNS:-5}"
echo "== DPoP: success path and herd, against Bearer"
node bench/dpop.mjs
echo "== what a bundler ships (esbuild --bundle --minify; gzip -9, brotli)"
node bench/size.mjs
echo "== what each crate costs in the .wasm (twiggy)"
node bench/crates.mjs core
node bench/crates.mjs bff
node bench/crates.mjs oauth
echo "== memory over 100,000 calls"
node --expose-gc bench/memory.mjs
