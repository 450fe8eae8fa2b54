#!/usr/bin/env bash
# Builds the npm package in pkg/: release wasm, wasm-bindgen glue, wasm-opt -Oz.
# Skips wasm-bindgen and wasm-opt when cargo's output has not changed since the last build.
# Prints the gzip -9 sizes of the .wasm and of the JS glue.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '[build] %s\n' "$*" >&2; }

cargo build --quiet --release --target wasm32-unknown-unknown --lib --features standalone
raw=target/wasm32-unknown-unknown/release/reauth.wasm
stamp=target/pkg.stamp
sum=$(sha256sum "$raw" | cut -d' ' -f1)
out=pkg/reauth_wasm_bg.wasm
if [ ! -f "$out" ] || [ ! -f pkg/reauth_wasm.js ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  say "wasm-bindgen + wasm-opt -Oz"
  wasm-bindgen "$raw" --target web --out-dir pkg --out-name reauth_wasm \
    --remove-name-section --remove-producers-section
  node_modules/.bin/wasm-opt -Oz "$out" -o "$out.opt" \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue
  mv "$out.opt" "$out"
  echo "$sum" > "$stamp"
fi

gz() { gzip -9 -c "$1" | wc -c; }
w=$(gz "$out"); j=$(gz pkg/reauth_wasm.js)
say "gzip -9: reauth_wasm_bg.wasm $w B ($(wc -c < "$out") B raw), JS glue reauth_wasm.js $j B, total $((w + j)) B"
