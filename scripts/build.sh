#!/usr/bin/env bash
# Builds the npm package in pkg/: the release wasm, wasm-bindgen's glue for it (--target web:
# pkg/reauth.js, pkg/reauth.d.ts, pkg/reauth_bg.wasm), then wasm-opt -Oz, and short names for the
# module's imports and exports in both the .wasm and the glue (wasm-opt's mapping applied to the
# glue by scripts/minify-names.mjs). Skips all but cargo when cargo's output has not changed.
# Prints the gzip -9 sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '[build] %s\n' "$*" >&2; }

cargo build --quiet --release --target wasm32-unknown-unknown --lib
raw=target/wasm32-unknown-unknown/release/reauth.wasm
stamp=target/pkg.stamp
sum=$( (sha256sum "$raw" scripts/build.sh scripts/minify-names.mjs; wasm-bindgen --version) | sha256sum | cut -d' ' -f1)
out=pkg/reauth_bg.wasm
if [ ! -f "$out" ] || [ ! -f pkg/reauth.js ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  say "wasm-bindgen --target web"
  gen=target/bindgen
  rm -rf "$gen"
  wasm-bindgen "$raw" --out-dir "$gen" --out-name reauth --target web \
    --remove-name-section --remove-producers-section
  say "wasm-opt -Oz, short import and export names"
  features=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
    --enable-mutable-globals --enable-reference-types --enable-multivalue)
  node_modules/.bin/wasm-opt -Oz "$gen/reauth_bg.wasm" -o "$gen/opt.wasm" "${features[@]}"
  node_modules/.bin/wasm-opt "$gen/opt.wasm" -o "$gen/min.wasm" "${features[@]}" \
    --minify-imports-and-exports-and-modules > "$gen/names.json"
  node scripts/minify-names.mjs "$gen/min.wasm" "$gen/reauth.js" "$gen/min.js" < "$gen/names.json"
  cp "$gen/min.js" pkg/reauth.js
  cp "$gen/reauth.d.ts" pkg/
  mv "$gen/min.wasm" "$out"
  echo "$sum" > "$stamp"
fi

gz() { cat "$@" | gzip -9 | wc -c; }
say "gzip -9: reauth_bg.wasm $(gz "$out") B ($(wc -c < "$out") B raw); glue reauth.js $(gz pkg/reauth.js) B unminified; entries $(gz pkg/index.js pkg/node.js) B"
