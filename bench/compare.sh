#!/usr/bin/env bash
# Compares the service at a git ref ("before") with the working tree ("after"), alternating
# before/after runs of the chosen scenarios so that both see the same machine load, and prints
# each run's figures and the median CPU time per request of each side; with the "startup"
# scenario, also each run's median time from spawn to the first /healthz 200, and their median.
#
# Usage: bench/compare.sh <git ref> [scenarios, default start,callback,callback-web,exchange] [rounds, default 3]
# The usual BENCH_* settings apply (e.g. BENCH_SECONDS=5).
set -euo pipefail
cd "$(dirname "$0")/.."
ref=$1
scenarios=${2:-start,callback,callback-web,exchange}
rounds=${3:-3}
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
for round in $(seq "$rounds"); do
  for side in before after; do
    server=$PWD/dist/main.js
    [ "$side" = before ] && server=$before/dist/main.js
    if ! BENCH_SERVER=$server BENCH_ONLY=$scenarios node build/bench/run.js >"$results.run" 2>&1; then
      echo "$side round $round failed:"; tail -5 "$results.run"
    fi
    { grep 'µs CPU' "$results.run" || true; } | sed "s/^ */$side round $round: /" | tee -a "$results"
    { grep 'process start to /healthz' "$results.run" || true; } |
      sed -E "s/.*\| ([0-9]+) ms \(max.*/$side round $round: start-up median \1 ms/" | tee -a "$results"
  done
done
echo "medians (req/s, CPU per request; start-up):"
for side in before after; do
  { grep "^$side round [0-9]*: .*µs CPU" "$results" || true; } |
    sed -E 's/^[a-z]+ round [0-9]+: (.*): ([0-9]+) req\/s.* ([0-9]+) µs CPU.*/\1\t\2\t\3/' |
    awk -F'\t' -v side="$side" '
      { rps[$1] = rps[$1] " " $2; cpu[$1] = cpu[$1] " " $3 }
      function median(list,   v, n, i, j, t) {
        n = split(substr(list, 2), v, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
        return v[int((n + 1) / 2)]
      }
      END { for (name in rps) printf "  %-6s %s: %s req/s, %s µs CPU per request\n", side, name, median(rps[name]), median(cpu[name]) }'
  { grep "^$side round [0-9]*: start-up" "$results" || true; } | sed -E 's/.* ([0-9]+) ms$/\1/' |
    sort -n | awk -v side="$side" '{ v[NR] = $1 }
      END { if (NR) printf "  %-6s start-up: %s ms (median of the runs)\n", side, v[int((NR + 1) / 2)] }'
done
rm -f "$results" "$results.run"
