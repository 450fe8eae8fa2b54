#!/usr/bin/env bash
# Runs the demo: set-up and builds when needed, then the demo server with its knobs on
# 127.0.0.1 (PORT or --port, default 8080). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
./scripts/setup.sh
./scripts/build.sh
cargo build --quiet -p reauth-demo
exec target/debug/reauth-demo --demo --root "$PWD" "$@"
