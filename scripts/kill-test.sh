#!/usr/bin/env bash
# Target-safety acceptance: kill gomemscope at random moments of every live
# command (SIGINT, SIGTERM, SIGKILL; Go 1.19, 1.26 and 1.27, every combination:
# make test attacks each command once per signal, rotating the toolchains),
# GMS_KILL_ITERATIONS
# times in a row against one running fixture per case, and report how many
# attacks each case survived (tests/cli/kill_test.cc, Live/KillAtRandom.*).
#
# usage: scripts/kill-test.sh [BUILD_DIR]        (default: build)
#   GMS_KILL_ITERATIONS  attacks per case (default 100)
#   GMS_KILL_SEED        fix the random delays (default: a fresh seed per case, printed)
#   KILL_FILTER          gtest filter (default: every KillAtRandom and AlreadyTraced case)
#   KILL_JOBS            test shards run in parallel (default 1; the machine's cores are shared)
#
# Exits 0 when every case survived every attack, 1 otherwise. The full log is
# BUILD_DIR/kill-test.log (BUILD_DIR/kill-test.N.log per shard).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export GMS_KILL_ITERATIONS=${GMS_KILL_ITERATIONS:-100}
export GMS_KILL_ALL=1  # commands x signals x toolchains
FILTER=${KILL_FILTER:-'Live/KillAtRandom.*:Toolchains/AlreadyTraced.*'}
JOBS=${KILL_JOBS:-1}

cmake -S "$ROOT" -B "$BUILD" -G Ninja >/dev/null || exit 2
nice ninja -C "$BUILD" gomemscope test_cli >/dev/null || { echo "kill-test: build failed" >&2; exit 2; }

echo "kill-test: $GMS_KILL_ITERATIONS attacks per case, filter $FILTER, $JOBS shard(s)"
start=$(date +%s)
pids=()
for ((i = 0; i < JOBS; i++)); do
  GTEST_TOTAL_SHARDS=$JOBS GTEST_SHARD_INDEX=$i \
    "$BUILD/tests/test_cli" --gtest_filter="$FILTER" >"$BUILD/kill-test.$i.log" 2>&1 &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
cat "$BUILD"/kill-test.[0-9]*.log >"$BUILD/kill-test.log"
end=$(date +%s)

# Per case: "<command> <signal> <toolchain>: N/M survived", then the verdict.
echo
printf '%-12s %-10s %-8s %s\n' command signal go survived
grep -h '^\[ kill     \] .* survived$' "$BUILD/kill-test.log" |
  sed -E 's/^\[ kill     \] ([^ ]+) (.+) (go[0-9.]+): ([0-9]+)\/([0-9]+) survived$/\1|\2|\3|\4\/\5/' |
  sort | awk -F'|' '{ printf "%-12s %-10s %-8s %s\n", $1, $2, $3, $4 }'
echo
echo "per command (all signals and toolchains):"
grep -h '^\[ kill     \] .* survived$' "$BUILD/kill-test.log" |
  sed -E 's/^\[ kill     \] ([^ ]+) .*: ([0-9]+)\/([0-9]+) survived$/\1 \2 \3/' |
  awk '{ p[$1] += $2; n[$1] += $3 } END { for (c in p) printf "  %-12s %d/%d\n", c, p[c], n[c] }' | sort
echo
ok=$(grep -c -h '^\[       OK \]' "$BUILD"/kill-test.[0-9]*.log | awk '{ n += $1 } END { print n + 0 }')
echo "cases passed: $ok"
grep -h -E '^\[  (FAILED|SKIPPED) +\] .* ms\)$' "$BUILD/kill-test.log" | sed 's/^/  /'
echo "kill-test: $((end - start)) s; log $BUILD/kill-test.log"
if grep -q '^\[  FAILED  \]' "$BUILD/kill-test.log"; then rc=1; fi
exit $rc
