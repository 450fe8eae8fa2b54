#!/usr/bin/env bash
# Runs the demo: set-up and builds when needed, then the demo server with its knobs on
# 127.0.0.1 (PORT or --port, default 8080). Ctrl-C stops it.
# With --oidc: the same page logs in through a real authorization server (oidc-provider) with
# DPoP-bound tokens (demo-server/oidc.mjs starts both). With --bff: the same page as a
# cookie-session app behind a backend-for-frontend (express-openid-connect in front of
# oidc-provider; demo-server/bff.mjs), which serves it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
./scripts/setup.sh
./scripts/build.sh
cargo build --quiet -p reauth-demo
if [ "${1:-}" = "--oidc" ]; then
  shift
  exec node demo-server/oidc.mjs "$@"
fi
if [ "${1:-}" = "--bff" ]; then
  shift
  exec node demo-server/bff.mjs "$@"
fi
exec target/debug/reauth-demo --demo --root "$PWD" "$@"
