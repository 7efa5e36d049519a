#!/usr/bin/env bash
# Decodes a 1,000,000-entry map[string]int from a core with gomemscope and with
# Delve (`dlv core` + `print` of the whole map), in the same run, on the same
# core, and prints a Markdown table of the figures (medians; ratios).
#
# usage: bench/decode_vs_delve.sh <gomemscope> [entries]
# Needs Debian's golang-1.19-go and delve (installed by `make bench`).
set -euo pipefail
GMS=$(realpath "$1")
N=${2:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PID=
cleanup() { if [ -n "$PID" ]; then kill -KILL "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi; rm -rf "$WORK"; }
trap cleanup EXIT

GO=/usr/lib/go-1.19/bin/go
(cd "$ROOT/bench/bigmap" && env GOTOOLCHAIN=local CGO_ENABLED=0 GOPROXY=off "$GO" build -o "$WORK/bigmap" .)
"$WORK/bigmap" "$N" str > "$WORK/out" &
PID=$!
for _ in $(seq 1 600); do grep -q GMS-READY "$WORK/out" 2>/dev/null && break; sleep 0.1; done
"$GMS" core -p "$PID" -o "$WORK/core" >/dev/null 2>&1

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_cmd() {  # runs "$@" 3 times, prints the median seconds
  for _ in 1 2 3; do
    s=$(now); "$@" >/dev/null 2>&1; e=$(now)
    echo "$e - $s" | bc -l
  done | median
}
json=$(time_cmd "$GMS" map -c "$WORK/core" -e "$WORK/bigmap" main.MStr --format json --limit 0)
text=$(time_cmd "$GMS" map -c "$WORK/core" -e "$WORK/bigmap" main.MStr --limit 0)
stopped=$("$GMS" map -p "$PID" main.MStr --format json --limit 0 -v 2>&1 >/dev/null |
          sed -n 's/.*stopped for \([0-9.]*\) ms.*/\1/p')
printf 'config max-array-values %d\nprint main.MStr\nexit\n' $((N * 2)) > "$WORK/dlv.init"
s=$(now)
dlv core "$WORK/bigmap" "$WORK/core" --allow-non-terminal-interactive=true --init "$WORK/dlv.init" \
  </dev/null >"$WORK/dlv.out" 2>&1
e=$(now)
dlv=$(echo "$e - $s" | bc -l)
dlvEntries=$(grep -c '^	"key-' "$WORK/dlv.out" || true)

printf '| %s-entry map[string]int, Go 1.19 core | seconds | entries/s | vs Delve |\n|---|---|---|---|\n' "$N"
printf '| gomemscope map --format json > /dev/null | %.3f | %.0f | %.0f× faster |\n' "$json" "$(echo "$N / $json" | bc -l)" "$(echo "$dlv / $json" | bc -l)"
printf '| gomemscope map (text) > /dev/null | %.3f | %.0f | %.0f× faster |\n' "$text" "$(echo "$N / $text" | bc -l)" "$(echo "$dlv / $text" | bc -l)"
printf '| Delve %s: dlv core + print (%s entries printed) | %.1f | %.0f | 1× |\n' \
  "$(dlv version 2>/dev/null | sed -n 's/^Version: //p')" "$dlvEntries" "$dlv" "$(echo "$N / $dlv" | bc -l)"
printf '\nLive, same process: target stopped for %s ms while all %s entries were decoded.\n' "$stopped" "$N"
