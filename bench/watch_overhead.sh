#!/usr/bin/env bash
# Overhead of `gomemscope watch`: the watch fixture run with -fast inserts and
# deletes one key of a global map as fast as it can and prints its rate
# (GMS-RATE iterations/s) every 0.5 s. We measure the rate unwatched, then
# while `watch main.M --field count|used` traps every write (2 per
# iteration), and report the slowdown and the events/s the watcher sustained.
#
#   bench/watch_overhead.sh [build-dir] [go-binary]   (defaults: build, go)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
gobin=${2:-go}
gms=$build/gomemscope
work=$(mktemp -d)
trap 'kill $fx 2>/dev/null || true; rm -rf "$work"' EXIT
cp -r "$here/tests/fixtures/watch" "$work/src"
(cd "$work/src" && "$gobin" build -o "$work/fixture" .)
field=used
"$gobin" version | grep -q 'go1\.19' && field=count

"$work/fixture" -fast -every 500ms > "$work/rates" &
fx=$!
sleep 3
# Median of the samples in a window of the rate log.
median() { sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }
n0=$(wc -l < "$work/rates")
sleep 3
base=$(tail -n +$((n0 + 1)) "$work/rates" | grep GMS-RATE | awk '{print $2}' | median)

n1=$(wc -l < "$work/rates")
"$gms" watch -p "$fx" main.M --field "$field" --for 3s --format jsonl > "$work/events" 2> "$work/summary"
watched=$(tail -n +$((n1 + 1)) "$work/rates" | grep GMS-RATE | awk '{print $2}' | median)
events=$(wc -l < "$work/events")
eps=$(grep -o '([0-9.]*/s)' "$work/summary" | tr -d '()/s')
sleep 1
kill -0 "$fx" && alive=yes || alive=no

echo "toolchain:        $("$gobin" version | awk '{print $3}')"
echo "unwatched:        $base iterations/s"
echo "watched:          $watched iterations/s"
awk -v b="$base" -v w="$watched" 'BEGIN { if (w > 0) printf "slowdown:         %.1fx\n", b / w }'
echo "events:           $events in 3 s ($eps events/s sustained)"
echo "target alive:     $alive"
grep 'missed' "$work/summary" | sed 's/^ */summary:          /'
