#!/usr/bin/env bash
# Checks that the shipped .wasm files are reproducible and carry no path of the machine that
# built them: builds the package again in two fresh copies of the sources, in other directories
# and with two other CARGO_HOMEs (the crates copied from this one's registry, so nothing is
# downloaded), and compares each .wasm with pkg/'s and with pkg/SHA256SUMS. Run after
# ./scripts/build.sh. Exits 1 on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
home=${CARGO_HOME:-$HOME/.cargo}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for copy in a b; do
  dir="$work/reauth-$copy/src-dir"
  mkdir -p "$dir" "$work/cargo-$copy"
  git ls-files -z | xargs -0 cp --parents -t "$dir"
  ln -s "$PWD/node_modules" "$dir/node_modules"
  cp -r "$home/registry" "$work/cargo-$copy/registry"
  (cd "$dir" && CARGO_HOME="$work/cargo-$copy" ./scripts/build.sh 2> "$work/build-$copy.log") \
    || { cat "$work/build-$copy.log"; exit 1; }
done
status=0
for f in reauth_bg.wasm reauth_bff_bg.wasm reauth_oauth_bg.wasm; do
  want=$(sha256sum "pkg/$f" | cut -d' ' -f1)
  for copy in a b; do
    got=$(sha256sum "$work/reauth-$copy/src-dir/pkg/$f" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then echo "$f differs in copy $copy: $got, not $want"; status=1; fi
  done
  grep -q "^$want  $f\$" pkg/SHA256SUMS || { echo "pkg/SHA256SUMS does not list $f as $want"; status=1; }
done
if grep -aqE "$HOME|$PWD|$work" pkg/*.wasm pkg/*.js; then
  echo "a path of this machine is in the package"; status=1
fi
[ "$status" = 0 ] && echo "the same bytes from two other directories and CARGO_HOMEs: $(cut -c1-16 pkg/SHA256SUMS | tr '\n' ' ')"
exit "$status"
