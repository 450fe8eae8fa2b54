#!/usr/bin/env bash
# The long soak (not part of the test suite): seeded plans of many calls against faulty
# servers, in Node and in a window of each engine (ENGINES narrows them), every invariant checked
# from what the servers saw and from the caller's own records (tests/soak/). SEEDS
# (space-separated) and CALLS per seed override the defaults. Load mode: each Node run at every
# level of LOADS (busy threads beside the soak; default "0 2 3": 3 starve a 2-core machine) and
# each Chromium run at every CPU throttling rate of THROTTLES (default "1 4 6": 4× and 6× stand
# for mid-range phones). A failing run is replayed with
# `node --expose-gc tests/soak/soak.mjs --seed N --calls N [--load L] [--runtime window --engine E --throttle R]`.
# Exits 1 if any run violated an invariant.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
./scripts/setup.sh && ./scripts/build.sh || exit 1
calls=${CALLS:-5000}
seeds=${SEEDS:-"$RANDOM $RANDOM $RANDOM $RANDOM"}
loads=${LOADS:-"0 2 3"}
throttles=${THROTTLES:-"1 4 6"}
failed=0
total=0
printf '| runtime | load | seed | calls | retries | refreshes (failed) | aborted (seen after) | hooks | heap warm → after | ms | violations |\n|---|---|---|---|---|---|---|---|---|---|---|\n'
engines=${ENGINES:-chromium,firefox,webkit}
for where in node ${engines//,/ }; do
  case $where in
    node) levels=$loads ;;
    chromium) levels=$throttles ;;
    *) levels=1 ;;
  esac
  for level in $levels; do
    for seed in $seeds; do
      case $where in
        node) args=(--runtime node --load "$level"); label="$level busy threads" ;;
        chromium) args=(--runtime window --engine chromium --throttle "$level"); label="${level}× CPU" ;;
        *) args=(--runtime window --engine "$where"); label="-" ;;
      esac
      out=$(node --expose-gc tests/soak/soak.mjs --seed "$seed" --calls "$calls" "${args[@]}" --json)
      [ $? = 0 ] || failed=$((failed + 1))
      total=$((total + calls))
      node -e '
        const r = JSON.parse(process.argv[1]);
        const s = r.stats;
        const v = Object.entries(r.violations).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
        const mb = (b) => (b / 1048576).toFixed(1);
        const heap = s.heap ? `${mb(s.heap.warm)} → ${mb(s.heap.after)} MB` : "not measurable";
        console.log(`| ${process.argv[2]} | ${process.argv[3]} | ${r.seed} | ${s.calls} | ${s.retries} | ${s.refreshes} (${s.refreshesFailed}) | ${s.aborted} (${s.seenAfterAbort}) | ${s.hooks} | ${heap} | ${r.ms} | ${v} |`);
      ' "$out" "$where" "$label"
    done
  done
done
echo "$total calls, $failed runs with violations"
[ "$failed" = 0 ]
