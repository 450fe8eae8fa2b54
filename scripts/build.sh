#!/usr/bin/env bash
# Builds the npm package in pkg/: the release wasm, wasm-bindgen's glue for it (--target web:
# pkg/reauth.js, pkg/reauth.d.ts, pkg/reauth_bg.wasm), then wasm-opt -Oz. Skips wasm-bindgen
# and wasm-opt when cargo's output has not changed. Prints the gzip -9 sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '[build] %s\n' "$*" >&2; }

cargo build --quiet --release --target wasm32-unknown-unknown --lib
raw=target/wasm32-unknown-unknown/release/reauth.wasm
stamp=target/pkg.stamp
sum=$( (sha256sum "$raw" scripts/build.sh; wasm-bindgen --version) | sha256sum | cut -d' ' -f1)
out=pkg/reauth_bg.wasm
if [ ! -f "$out" ] || [ ! -f pkg/reauth.js ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  say "wasm-bindgen --target web"
  gen=target/bindgen
  rm -rf "$gen"
  wasm-bindgen "$raw" --out-dir "$gen" --out-name reauth --target web \
    --remove-name-section --remove-producers-section
  say "wasm-opt -Oz"
  node_modules/.bin/wasm-opt -Oz "$gen/reauth_bg.wasm" -o "$gen/reauth_bg.opt.wasm" \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue
  cp "$gen/reauth.js" "$gen/reauth.d.ts" pkg/
  mv "$gen/reauth_bg.opt.wasm" "$out"
  echo "$sum" > "$stamp"
fi

gz() { cat "$@" | gzip -9 | wc -c; }
say "gzip -9: reauth_bg.wasm $(gz "$out") B ($(wc -c < "$out") B raw); glue reauth.js $(gz pkg/reauth.js) B unminified; entries $(gz pkg/index.js pkg/node.js) B"
