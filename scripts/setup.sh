#!/usr/bin/env bash
# Installs what building and testing reauth needs, each step only when it is missing:
# the wasm32 Rust target, wasm-bindgen-cli at the exact version in Cargo.lock (it generates the
# package's glue, and its test runner runs the wasm tests), Debian's chromium and
# chromium-driver, and the npm dev dependencies from package-lock.json
# (which bring wasm-opt, playwright-core, typescript, and vite, webpack, esbuild and rollup
# for the bundler tests).
# Sources: crates.io, npm and Debian's packages only.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[setup] %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

[ -f Cargo.lock ] || cargo generate-lockfile
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$want" != "$have" ]; then
  say "installing wasm-bindgen-cli $want (found: ${have:-none}); this takes a few minutes once"
  # --locked can fail when the registry lacks a version its lockfile pins; then resolve afresh.
  cargo install wasm-bindgen-cli --version "$want" --locked \
    || cargo install wasm-bindgen-cli --version "$want"
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  say "installing Debian's chromium and chromium-driver"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# npm ci when node_modules does not match the lockfile.
if ! cmp -s package-lock.json node_modules/.reauth-lock 2>/dev/null; then
  say "installing npm dev dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.reauth-lock
fi
