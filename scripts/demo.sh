#!/usr/bin/env bash
# gomemscope demo: build demo/ (an LRU cache + a session table under load),
# start it, and look inside it live and through a core dump.
#
# usage: scripts/demo.sh <path-to-gomemscope>
#
# Builds with `go` from PATH (falling back to /usr/lib/go-1.19/bin/go) into
# build/demo/, runs every step below even if an earlier one fails, and exits
# non-zero if anything failed. The demo process is killed on every exit path.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 <path-to-gomemscope>" >&2
  exit 2
fi

GMS=$1
case "$GMS" in
  */*) GMS=$(cd "$(dirname "$GMS")" && pwd)/$(basename "$GMS") ;;
esac
if ! command -v "$GMS" >/dev/null 2>&1; then
  echo "demo: gomemscope not found or not executable: $1" >&2
  exit 2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
OUT=build/demo
mkdir -p "$OUT"

GO=$(command -v go || true)
if [ -z "$GO" ]; then
  GO=/usr/lib/go-1.19/bin/go
fi
if [ ! -x "$GO" ]; then
  echo "demo: no Go toolchain (neither go on PATH nor /usr/lib/go-1.19/bin/go)" >&2
  exit 2
fi

DEMO_PID=
cleanup() {
  if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
    kill -TERM "$DEMO_PID" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$DEMO_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$DEMO_PID" 2>/dev/null
    wait "$DEMO_PID" 2>/dev/null
  fi
  DEMO_PID=
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

echo "==> building demo/ with $("$GO" version)"
if ! (cd demo && env GOTOOLCHAIN=local CGO_ENABLED=0 GOPROXY=off GOFLAGS=-mod=mod \
      "$GO" build -o "$ROOT/$OUT/demo" .); then
  echo "demo: build failed" >&2
  exit 1
fi

LOG=$OUT/demo.out
rm -f "$LOG" "$OUT/demo.core"
"$OUT/demo" >"$LOG" 2>"$OUT/demo.err" &
DEMO_PID=$!

ready=0
for _ in $(seq 1 600); do
  if grep -q "ready" "$LOG" 2>/dev/null; then
    ready=1
    break
  fi
  if ! kill -0 "$DEMO_PID" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
if [ $ready -ne 1 ]; then
  echo "demo: the demo did not become ready within 60s" >&2
  cat "$OUT/demo.err" >&2
  exit 1
fi
cat "$LOG"
PID=$DEMO_PID

cat <<EOF

The demo is a user-profile service: main.cache is an LRU (a container/list
main.cache.ll plus a map main.cache.items from key to *list.Element), under
load from 3 goroutines. Two faults are planted: main.sessions was grown from
an unsized map to ~200k entries, and main.lastEvicted is a removed
*list.Element that later code still moves to the front and reads.
EOF

failures=0
step() {
  echo
  echo "==> gomemscope $*"
  "$GMS" "$@"
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "demo: step failed (exit $rc): gomemscope $*" >&2
    failures=$((failures + 1))
  fi
}

step info -p "$PID"
step map -p "$PID" main.cache.items --limit 10
step list -p "$PID" main.cache.ll --limit 10
# The planted faults: an element removed from the list but still used, and a
# map grown without a size hint (watch its B / directory grow between runs).
step list -p "$PID" main.lastEvicted
step map -p "$PID" main.sessions --limit 3
step top -p "$PID" --limit 8
step stats -p "$PID"
step advise -p "$PID" main.sessions
# The unsized map's rehash storm, judged by the built-in rules over 3 seconds.
step diagnose -p "$PID" --for 3s --every 500ms
step report -p "$PID" -o "$OUT/demo-report.html" --map main.cache.items
step core -p "$PID" -o "$OUT/demo.core"
step diff "$OUT/demo.core" "$PID"
step map -c "$OUT/demo.core" -e "$OUT/demo" main.cache.items --limit 5
step list -c "$OUT/demo.core" -e "$OUT/demo" main.cache.ll --limit 5
step heap -c "$OUT/demo.core" -e "$OUT/demo" --limit 8 -o "$OUT/demo-heap.pb.gz"

cleanup
echo
if [ $failures -ne 0 ]; then
  echo "demo: $failures step(s) failed" >&2
  exit 1
fi
echo "demo: all steps passed (core dump kept in $OUT/demo.core, HTML report in $OUT/demo-report.html, heap profile in $OUT/demo-heap.pb.gz for go tool pprof)"
