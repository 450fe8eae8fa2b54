#!/usr/bin/env bash
# Runs the demo: set-up and build when needed, then the demo server on 127.0.0.1 (PORT, default 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
exec node scripts/serve.mjs "$@"
