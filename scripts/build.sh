#!/usr/bin/env bash
# Builds the npm package in pkg/: the release wasm (no imports, no generated glue: pkg/wasm.js
# loads it), shrunk with wasm-opt -Oz. Skips wasm-opt when cargo's output has not changed.
# Prints the gzip -9 sizes of the .wasm and of the package's JS.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '[build] %s\n' "$*" >&2; }

cargo build --quiet --release --target wasm32-unknown-unknown --lib --features standalone
raw=target/wasm32-unknown-unknown/release/reauth.wasm
stamp=target/pkg.stamp
sum=$(sha256sum "$raw" | cut -d' ' -f1)
out=pkg/reauth.wasm
if [ ! -f "$out" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  say "wasm-opt -Oz"
  node_modules/.bin/wasm-opt -Oz "$raw" -o "$out.tmp" \
    --strip-debug --strip-producers --strip-target-features \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-multivalue
  mv "$out.tmp" "$out"
  echo "$sum" > "$stamp"
fi

gz() { cat "$@" | gzip -9 | wc -c; }
w=$(gz "$out"); j=$(gz pkg/wasm.js pkg/auth-fetch.js pkg/env.js pkg/challenges.js pkg/index.js)
say "gzip -9: reauth.wasm $w B ($(wc -c < "$out") B raw); the JS, unminified: $j B (bench/size.mjs measures a bundle)"
