#!/usr/bin/env bash
# Builds and runs the demo (demo/), writes its HTML report with gomemscope
# (MemStats sampled for a few seconds), and screenshots the page with headless
# Chromium: docs/report-screenshot.png by default.
#
# usage: scripts/report-screenshot.sh <path-to-gomemscope> [out.png]
# env:   GO=/usr/lib/go-1.19/bin/go  the toolchain for the demo (default: go on
#                                    PATH, else Go 1.19)
#        MAP=main.cache.items        the map of the heatmap (default: that one,
#                                    so the whole page fits the screenshot)
#        EVERY=1s FOR=6s             MemStats sampling
#        OUT=dir                     where the demo binary, report.html and logs go
#                                    (default: a new /tmp/gms-report.* directory)
set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 <path-to-gomemscope> [out.png]" >&2
  exit 2
fi
GMS=$1
case "$GMS" in
  */*) GMS=$(cd "$(dirname "$GMS")" && pwd)/$(basename "$GMS") ;;
esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PNG=${2:-$ROOT/docs/report-screenshot.png}
case "$PNG" in
  /*) ;;
  *) PNG=$PWD/$PNG ;;
esac
cd "$ROOT" || exit 2
OUT=${OUT:-$(mktemp -d /tmp/gms-report.XXXXXX)}  # demo binary, report.html, logs (kept)
mkdir -p "$OUT"

GO=${GO:-$(command -v go || echo /usr/lib/go-1.19/bin/go)}
[ -x "$GO" ] || { echo "report-screenshot: no Go toolchain at $GO" >&2; exit 2; }
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "report-screenshot: chromium not installed (apt-get install chromium)" >&2; exit 2; }

DEMO_PID=
PROFILE=$(mktemp -d)
stop_demo() {
  if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
    kill -TERM "$DEMO_PID" 2>/dev/null
    wait "$DEMO_PID" 2>/dev/null
  fi
  DEMO_PID=
}
cleanup() {
  stop_demo
  rm -rf "$PROFILE"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

echo "==> building demo/ with $("$GO" version)"
(cd demo && env GOTOOLCHAIN=local CGO_ENABLED=0 GOPROXY=off GOFLAGS=-mod=mod \
  "$GO" build -o "$OUT/demo-report" .) || { echo "report-screenshot: build failed" >&2; exit 1; }

"$OUT/demo-report" >"$OUT/demo-report.out" 2>"$OUT/demo-report.err" &
DEMO_PID=$!
for _ in $(seq 1 600); do
  grep -q ready "$OUT/demo-report.out" 2>/dev/null && break
  kill -0 "$DEMO_PID" 2>/dev/null || break
  sleep 0.1
done
grep -q ready "$OUT/demo-report.out" || { echo "report-screenshot: demo not ready" >&2; exit 1; }

HTML=$OUT/report.html
echo "==> gomemscope report -p $DEMO_PID -o $HTML --map ${MAP:-main.cache.items} --every ${EVERY:-1s} --for ${FOR:-6s}"
"$GMS" report -p "$DEMO_PID" -o "$HTML" --map "${MAP:-main.cache.items}" --every "${EVERY:-1s}" --for "${FOR:-6s}" ||
  { echo "report-screenshot: report failed" >&2; exit 1; }
stop_demo

echo "==> screenshot $PNG"
timeout 120 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
  --user-data-dir="$PROFILE/profile" --window-size=1280,2700 --screenshot="$PNG" "file://$HTML" \
  >/dev/null 2>"$OUT/chromium.log" || { echo "report-screenshot: chromium failed (see $OUT/chromium.log)" >&2; exit 1; }
ls -l "$PNG"
