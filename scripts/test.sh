#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), lints, native tests, the package build, wasm-bindgen
# tests in Node and in headless Chromium, and the JS tests against the built package in Node and
# in three browser engines (Chromium, Firefox, WebKit; ENGINES narrows them). Every tier runs
# even when an earlier one fails; the last line is `N passed, N failed, N skipped`.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
logs=target/test-logs
mkdir -p "$logs"
passed=0
failed=0
skipped=0
t0=$SECONDS

tier() { printf '\n=== %s\n' "$*"; }
# A check that counts as one test: the command's exit status.
check() {
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok: $name"; else failed=$((failed + 1)); echo "FAILED: $name"; fi
}
# A cargo test run: adds up its "test result:" lines; a run that fails without one counts 1 failure.
cargo_tests() {
  local name=$1; shift
  local log="$logs/$name.log"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then failed=$((failed + 1)); echo "FAILED: $name (exit $rc)"; fi
}

tier "set-up"
if ! ./scripts/setup.sh; then
  echo "set-up failed"; echo "0 passed, 1 failed"; exit 1
fi

tier "format and lints"
check "cargo fmt --check" cargo fmt --all -- --check
check "cargo clippy (host)" cargo clippy --quiet --workspace --all-targets -- -D warnings
check "cargo clippy (wasm32)" cargo clippy --quiet -p reauth --all-targets --target wasm32-unknown-unknown -- -D warnings
check "cargo clippy (wasm32, the cookie-session build)" cargo clippy --quiet -p reauth --all-targets --target wasm32-unknown-unknown --features bff -- -D warnings
check "cargo clippy (wasm32, the OAuth build)" cargo clippy --quiet -p reauth --all-targets --target wasm32-unknown-unknown --features oauth -- -D warnings

check "fuzz target builds" cargo check --quiet --manifest-path fuzz/Cargo.toml
# The package is built on its stack: the seven crates, plus serde_json (DPoP's JSON, which
# gloo-storage brings anyway), base64ct and the allocator; nothing else (no dead weight); the
# core build, the cookie-session build and the OAuth build alike (`$1`: the cargo features).
stack() {
  local deps want
  deps=$(cargo tree -q -p reauth --target wasm32-unknown-unknown -e normal --depth 1 --prefix none ${1:+--features "$1"} | awk 'NR > 1 {print $1}' | sort -u)
  want=$(printf '%s\n' wasm-bindgen web-sys js-sys wasm-bindgen-futures serde serde-wasm-bindgen gloo-storage \
    serde_json base64ct talc | sort)
  [ "$deps" = "$want" ] || { diff <(echo "$want") <(echo "$deps"); return 1; }
}
check "cargo tree (wasm32, the core build): the seven crates and serde_json, base64ct, talc, nothing else" stack ""
check "cargo tree (wasm32, the cookie-session build): the same" stack bff
check "cargo tree (wasm32, the OAuth build): the same" stack oauth

tier "native tests (cargo test)"
cargo_tests native cargo test --quiet --workspace

tier "package build"
check "build pkg/" ./scripts/build.sh
# The shipped bytes depend on the sources and the pinned toolchain only (no path of this machine).
check "the shipped .wasm is reproducible: the same bytes built in two other directories with two other CARGO_HOMEs" ./scripts/reproduce.sh
# Pages with a Content-Security-Policy without 'unsafe-eval' can use the package: nothing in
# the glue (each build's) makes code from strings. (grep's 1: nothing found in files it read; 2,
# a missing file, fails.)
check "the glue never evaluates strings (new Function, eval)" bash -c 'grep -nE "new Function|[^.a-zA-Z_]eval\(" pkg/reauth.js pkg/reauth_bff.js pkg/reauth_oauth.js; [ $? = 1 ]'
check "build the demo server" cargo build --quiet -p reauth-demo

tier "wasm-bindgen-test in Node"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
cargo_tests wasm-node cargo test -p reauth --target wasm32-unknown-unknown --test wasm_node
tier "wasm-bindgen-test in headless Chromium"
cargo_tests wasm-browser cargo test -p reauth --target wasm32-unknown-unknown --test wasm_browser

tier "JS tests against the package (node --test; Chromium via Playwright, Firefox and WebKit via WebDriver)"
tap="$logs/js.tap"
# A file that hangs fails after 10 minutes (the slowest takes about two) instead of stalling CI.
# Two files at a time: the browser tiers wait on timers and servers much of the time, so two
# engines' worth of them share the two cores.
node --test --test-concurrency=2 --test-timeout=600000 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" tests/js/*.test.mjs
rc=$?
p=$(awk '/^# pass /{print $3}' "$tap" | tail -1); f=$(awk '/^# fail /{print $3}' "$tap" | tail -1)
k=$(awk '/^# skipped /{print $3}' "$tap" | tail -1)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${k:-0}))
if [ "$rc" != 0 ] && [ "${f:-0}" = 0 ]; then failed=$((failed + 1)); echo "FAILED: node --test (exit $rc)"; fi

printf '\n=== done in %ss\n' $((SECONDS - t0))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
