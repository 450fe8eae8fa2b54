#!/usr/bin/env bash
# Installs what building and testing reauth needs, each step only when it is missing:
# the wasm32 Rust target, wasm-bindgen-cli at the exact version in Cargo.lock (it generates the
# package's glue, and its test runner runs the wasm tests), Debian's chromium and
# chromium-driver, firefox-esr, webkit2gtk-driver (WebKitGTK's MiniBrowser and its WebDriver
# server) and xvfb, geckodriver from crates.io, and the npm dev dependencies from
# package-lock.json (which bring wasm-opt, playwright-core, the webdriver client, typescript,
# and vite, webpack, esbuild and rollup for the bundler tests).
# Sources: crates.io, npm and Debian's packages only.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[setup] %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The pinned nightly the shipped .wasm is built with (scripts/toolchain.sh), with the sources
# of std (built with the crate) and the wasm32 target.
. scripts/toolchain.sh
if ! rustup toolchain list | grep -q "^$SHIP_TOOLCHAIN"; then
  say "installing the Rust toolchain $SHIP_TOOLCHAIN (the shipped .wasm's)"
  rustup toolchain install "$SHIP_TOOLCHAIN" --profile minimal
fi
rustup component list --installed --toolchain "$SHIP_TOOLCHAIN" | grep -q '^rust-src' \
  || rustup component add rust-src --toolchain "$SHIP_TOOLCHAIN"
rustup target list --installed --toolchain "$SHIP_TOOLCHAIN" | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown --toolchain "$SHIP_TOOLCHAIN"

[ -f Cargo.lock ] || cargo generate-lockfile
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$want" != "$have" ]; then
  say "installing wasm-bindgen-cli $want (found: ${have:-none}); this takes a few minutes once"
  # --locked can fail when the registry lacks a version its lockfile pins; then resolve afresh.
  cargo install wasm-bindgen-cli --version "$want" --locked \
    || cargo install wasm-bindgen-cli --version "$want"
fi

# The three browser engines the browser tiers run in: Chromium (with its driver, for the
# wasm-bindgen tests), Firefox ESR, and WebKitGTK's MiniBrowser with WebKitWebDriver, which
# runs under Xvfb.
debs=()
command -v chromium >/dev/null || debs+=(chromium)
command -v chromedriver >/dev/null || debs+=(chromium-driver)
command -v firefox-esr >/dev/null || debs+=(firefox-esr)
command -v WebKitWebDriver >/dev/null || debs+=(webkit2gtk-driver)
command -v Xvfb >/dev/null || debs+=(xvfb)
if [ ${#debs[@]} -gt 0 ]; then
  say "installing Debian's ${debs[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${debs[@]}" >/dev/null
fi

# geckodriver (Firefox's WebDriver server) from crates.io, pinned like wasm-bindgen-cli.
gecko=0.37.1
if [ "$(geckodriver --version 2>/dev/null | awk 'NR == 1 {print $2}')" != "$gecko" ]; then
  say "installing geckodriver $gecko; this takes a few minutes once"
  cargo install geckodriver --version "$gecko" --locked || cargo install geckodriver --version "$gecko"
fi

# npm ci when node_modules does not match the lockfile.
if ! cmp -s package-lock.json node_modules/.reauth-lock 2>/dev/null; then
  say "installing npm dev dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.reauth-lock
fi
