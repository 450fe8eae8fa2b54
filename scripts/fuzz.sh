#!/usr/bin/env bash
# Fuzzes the WWW-Authenticate parser (never panics, round-trips, agrees with http-auth except
# the intended differences). Usage: ./scripts/fuzz.sh [seconds, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd fuzz
# No sanitizer: the code is safe Rust and this builds on the stable toolchain.
exec cargo fuzz run parse_challenges -s none -- -max_total_time="${1:-60}"
