#!/usr/bin/env bash
# Compares the service at a git ref ("baseline") with the working tree ("this build").
#
# Request scenarios: one benchmark run measures both builds' services in the same rounds, a slice
# of one beside the same slice of the other (BENCH_BASELINE), and prints the CPU time per request
# of both, the change, and the median and spread of the rounds' own ratios: on a shared machine
# two slices measured one after the other see the same load, where separate runs do not.
# "startup": alternates runs of both builds, each timing fifteen starts, and prints each run's
# median time from spawn to the first /healthz 200 and the median of those per build.
#
# Usage: bench/compare.sh <git ref> [scenarios, default start,callback,callback-web,exchange] [rounds, default 6]
# The usual BENCH_* settings apply (e.g. BENCH_SECONDS=12, BENCH_SERVICE_CPU=1 with `taskset -c 0`).
set -euo pipefail
cd "$(dirname "$0")/.."
ref=$1
scenarios=${2:-start,callback,callback-web,exchange}
rounds=${3:-6}
before=$(mktemp -d)
trap 'rm -rf "$before"' EXIT
git archive "$ref" | tar -x -C "$before"
# The ref's own dependencies when they differ from the working tree's.
if cmp -s package-lock.json "$before/package-lock.json"; then
  ln -s "$PWD/node_modules" "$before/node_modules"
else
  (cd "$before" && npm ci --no-audit --no-fund --silent)
fi
# A ref from before the build became plain tsc (its bundle step needs esbuild, gone since) is
# compiled with tsc alone: dist/main.js is the service either way.
(cd "$before" && { npm run build --silent 2>/dev/null || npx tsc -p tsconfig.build.json; })
npm run build --silent
npm run --silent build:bench
results=$(mktemp)
if [ "$scenarios" != startup ]; then
  if ! BENCH_BASELINE=$before/dist/main.js BENCH_ROUNDS=$rounds BENCH_ONLY=$scenarios \
    node build/bench/run.js >"$results.run" 2>&1; then
    echo "the paired run failed:"; tail -5 "$results.run"; rm -f "$results" "$results.run"; exit 1
  fi
  sed -n '/µs CPU per request$/p; /^CPU per request against the baseline/,$p' "$results.run"
  rm -f "$results" "$results.run"
  exit
fi
for round in $(seq "$rounds"); do
  for side in before after; do
    server=$PWD/dist/main.js
    [ "$side" = before ] && server=$before/dist/main.js
    if ! BENCH_SERVER=$server BENCH_ONLY=startup node build/bench/run.js >"$results.run" 2>&1; then
      echo "$side round $round failed:"; tail -5 "$results.run"
    fi
    { grep 'process start to /healthz' "$results.run" || true; } |
      sed -E "s/.*\| ([0-9]+) ms \(max.*/$side round $round: start-up median \1 ms/" | tee -a "$results"
  done
done
echo "medians of the runs:"
for side in before after; do
  { grep "^$side round [0-9]*: start-up" "$results" || true; } | sed -E 's/.* ([0-9]+) ms$/\1/' |
    sort -n | awk -v side="$side" '{ v[NR] = $1 }
      END { if (NR) printf "  %-6s start-up: %s ms\n", side, v[int((NR + 1) / 2)] }'
done
rm -f "$results" "$results.run"
