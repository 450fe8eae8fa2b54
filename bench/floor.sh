#!/usr/bin/env bash
# How much of the shipped .wasm is Rust's panic and formatting machinery, which a stable
# toolchain always links (std's panic handler formats the message; every bounds check, unwrap
# and slice carries a source location). Measurement only: it builds each build of the module
# (the core and the OAuth build) four ways and prints gzip -9 of what scripts/build.sh would ship
# (wasm-bindgen, wasm-opt -Oz):
#   stable           the shipped toolchain, as scripts/build.sh builds it;
#   nightly std      nightly, std rebuilt with our profile (-Zbuild-std: opt-level z, LTO over std);
#   + immediate-abort  and panics abort at once, formatting nothing (-Cpanic=immediate-abort);
#   + no locations   and no source locations or Debug formatting (-Zlocation-detail=none
#                    -Zfmt-debug=none).
# None of these is shipped (they need nightly). Needs rustup's nightly with rust-src and the
# wasm32 target; installs them when missing. Run: ./bench/floor.sh (after ./scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup +nightly target list --installed | grep -q wasm32-unknown-unknown || rustup +nightly target add wasm32-unknown-unknown
rustup +nightly component list --installed | grep -q rust-src || rustup +nightly component add rust-src
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
features_wasm=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)

# shipped SIZE of one build: $1 label, $2 features, $3 toolchain, $4 RUSTFLAGS, rest cargo flags.
measure() {
  local label=$1 features=$2 toolchain=$3 flags=$4
  shift 4
  local target="$work/target-$toolchain"
  RUSTFLAGS="$flags" CARGO_TARGET_DIR="$target" cargo "+$toolchain" build --quiet --release \
    --target wasm32-unknown-unknown --lib ${features:+--features "$features"} "$@"
  local out="$work/out"
  rm -rf "$out"
  wasm-bindgen "$target/wasm32-unknown-unknown/release/reauth.wasm" --out-dir "$out" --out-name m \
    --target web --remove-name-section --remove-producers-section
  node_modules/.bin/wasm-opt -Oz "$out/m_bg.wasm" -o "$out/o.wasm" "${features_wasm[@]}"
  node_modules/.bin/wasm-opt "$out/o.wasm" -o "$out/min.wasm" "${features_wasm[@]}" \
    --minify-imports-and-exports-and-modules > /dev/null
  printf '| %s | %s | %s |\n' "${features:-core}" "$label" "$(gzip -9 -n -c "$out/min.wasm" | wc -c)"
}

echo '| build | toolchain and flags | .wasm, gzip -9 (bytes) |'
echo '|---|---|---|'
for features in "" oauth; do
  measure stable "$features" stable ""
  measure "nightly std" "$features" nightly "" -Zbuild-std=std,panic_abort
  measure "+ immediate-abort" "$features" nightly "-Zunstable-options -Cpanic=immediate-abort" \
    -Zbuild-std=std,panic_abort
  measure "+ no locations" "$features" nightly \
    "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
    -Zbuild-std=std,panic_abort
done
