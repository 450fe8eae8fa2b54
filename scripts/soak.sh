#!/usr/bin/env bash
# The long soak (not part of the test suite): seeded plans of many calls against faulty
# servers, in Node and in a window of each engine (ENGINES narrows them), every invariant checked
# from what the servers saw (tests/soak/). SEEDS (space-separated) and CALLS per seed override
# the defaults; a failing seed is replayed with
# `node --expose-gc tests/soak/soak.mjs --seed N --calls N [--runtime window --engine E]`.
# Exits 1 if any run violated an invariant.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
./scripts/setup.sh && ./scripts/build.sh || exit 1
calls=${CALLS:-5000}
seeds=${SEEDS:-"$RANDOM $RANDOM $RANDOM $RANDOM"}
failed=0
total=0
printf '| runtime | seed | calls | retries | refreshes (failed) | aborted | hooks | heap warm → after | ms | violations |\n|---|---|---|---|---|---|---|---|---|---|\n'
engines=${ENGINES:-chromium,firefox,webkit}
for where in node ${engines//,/ }; do
  for seed in $seeds; do
    if [ "$where" = node ]; then args=(--runtime node); else args=(--runtime window --engine "$where"); fi
    out=$(node --expose-gc tests/soak/soak.mjs --seed "$seed" --calls "$calls" "${args[@]}" --json)
    [ $? = 0 ] || failed=$((failed + 1))
    total=$((total + calls))
    node -e '
      const r = JSON.parse(process.argv[1]);
      const s = r.stats;
      const v = Object.entries(r.violations).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
      const mb = (b) => (b / 1048576).toFixed(1);
      const heap = s.heap ? `${mb(s.heap.warm)} → ${mb(s.heap.after)} MB` : "not measurable";
      console.log(`| ${process.argv[2]} | ${r.seed} | ${s.calls} | ${s.retries} | ${s.refreshes} (${s.refreshesFailed}) | ${s.aborted} | ${s.hooks} | ${heap} | ${r.ms} | ${v} |`);
    ' "$out" "$where"
  done
done
echo "$total calls, $failed runs with violations"
[ "$failed" = 0 ]
