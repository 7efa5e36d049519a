#!/usr/bin/env bash
# The whole heap from a core (bench/heapgraph: a map of N records of four
# objects each; N = 2,500,000 gives about 10^7 objects and 0.9 GiB):
#   - gomemscope heap --format json (every object attributed to its chain)
#     and -o heap.pb.gz (the pprof profile);
#   - gomemscope top (maps and lists from globals, stacks and typed heap
#     objects), and top --retained (the same, with each map's retained
#     bytes: a dominator tree over the whole heap);
#   - side by side, on the same core in the same run, the peers found on
#     PATH: goref (`grf core EXE CORE`, a pprof profile of the same kind) and
#     viewcore (`viewcore CORE --exe EXE histogram`, every object typed);
#     each is skipped with a note when absent or when it fails on the core.
# Wall seconds (median of $RUNS) and peak RSS (of the last run). Writes
# Markdown to $OUT (default bench/results-heap.md) and stdout.
#
# usage: bench/heap.sh <gomemscope> [records]
# env:   TOOLCHAINS ("go1.19 go1.26"), RUNS (3), OUT.
set -euo pipefail
GMS=$(realpath "$1")
N=${2:-2500000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLCHAINS=${TOOLCHAINS:-"go1.19 go1.26"}
RUNS=${RUNS:-3}
OUT=${OUT:-$ROOT/bench/results-heap.md}
WORK=$(mktemp -d /var/tmp/gms-heap.XXXXXX)
PID=
cleanup() { if [ -n "$PID" ]; then kill -KILL "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
calc() { echo "$*" | bc -l; }
# run NAME CMD...: median wall seconds of $RUNS runs and the last run's peak
# RSS in MiB ("S M"), or "" when the command fails (its stderr in $WORK/NAME.err).
run() {
  local name=$1; shift
  local times=()
  for _ in $(seq 1 "$RUNS"); do
    if ! (cd "$WORK" && /usr/bin/time -f '%e %M' -o "$WORK/$name.time" "$@" >/dev/null 2>"$WORK/$name.err"); then
      echo ""
      return
    fi
    times+=("$(cut -d' ' -f1 "$WORK/$name.time")")
  done
  local s m
  s=$(printf '%s\n' "${times[@]}" | median)
  m=$(calc "$(cut -d' ' -f2 "$WORK/$name.time") / 1024")
  echo "$s $m"
}
cell() { [ -z "$1" ] && echo "-" || printf '%.2f s, %.0f MiB' "${1% *}" "${1#* }"; }
ratio() { [ -z "$1" ] || [ -z "$2" ] && echo "-" || printf '%.1f×' "$(calc "${2% *} / ${1% *}")"; }
goFor() {
  case $1 in
    go1.19) echo "/usr/lib/go-1.19/bin/go" ;;
    go1.26) command -v go || true ;;
    go1.27) command -v go || true ;;
  esac
}
toolchainEnv() { [ "$1" = go1.27 ] && echo GOTOOLCHAIN=go1.27.3 || echo GOTOOLCHAIN=local; }

rows=()
notes=()
GRF=$(command -v grf || true)
VIEWCORE=$(command -v viewcore || true)
[ -n "$GRF" ] || notes+=("goref (grf) is not on PATH: its column is empty")
[ -n "$VIEWCORE" ] || notes+=("viewcore is not on PATH: its column is empty")
for tc in $TOOLCHAINS; do
  GO=$(goFor "$tc")
  if [ -z "$GO" ] || [ ! -x "$GO" ]; then notes+=("$tc: toolchain not installed; skipped"); continue; fi
  exe=$WORK/heapgraph-$tc
  (cd "$ROOT/bench/heapgraph" && env "$(toolchainEnv "$tc")" CGO_ENABLED=0 "$GO" build -o "$exe" .) ||
    { notes+=("$tc: heapgraph did not build; skipped"); continue; }
  "$exe" "$N" > "$WORK/out" &
  PID=$!
  for _ in $(seq 1 6000); do grep -q GMS-READY "$WORK/out" 2>/dev/null && break; sleep 0.1; done
  heapAlloc=$(sed -n 's/.*"HeapAlloc": \([0-9]*\).*/\1/p' "$WORK/out")
  objects=$(sed -n 's/.*"HeapObjects": \([0-9]*\).*/\1/p' "$WORK/out")
  core=$WORK/core-$tc
  "$GMS" core -p "$PID" -o "$core" >/dev/null 2>&1
  kill -KILL "$PID"; wait "$PID" 2>/dev/null || true; PID=
  # Our totals must be the program's own before any timing means anything.
  got=$("$GMS" heap -c "$core" -e "$exe" --format json --limit 1 |
          python3 -c 'import json,sys; h=json.load(sys.stdin); print(h["bytes"], h["objects"], h["reachedBytes"])')
  read -r gotBytes gotObjects reached <<<"$got"
  [ "$(calc "($gotBytes - $heapAlloc) / $heapAlloc < 0.05 && ($heapAlloc - $gotBytes) / $heapAlloc < 0.05")" = 1 ] ||
    { echo "$tc: heap says $gotBytes B, the program's HeapAlloc was $heapAlloc" >&2; exit 1; }
  heap=$(run heap "$GMS" heap -c "$core" -e "$exe" --format json --limit 0)
  pprof=$(run pprof "$GMS" heap -c "$core" -e "$exe" -o "$WORK/heap.pb.gz")
  top=$(run top "$GMS" top -c "$core" -e "$exe" --format json)
  retained=$(run retained "$GMS" top --retained -c "$core" -e "$exe" --format json)
  grf="" vc=""
  if [ -n "$GRF" ]; then
    grf=$(run grf "$GRF" core "$exe" "$core")
    [ -n "$grf" ] || notes+=("$tc: grf failed on the core: $(head -c 200 "$WORK/grf.err" | tr '\n' ' ')")
  fi
  if [ -n "$VIEWCORE" ]; then
    vc=$(run viewcore "$VIEWCORE" "$core" --exe "$exe" histogram)
    [ -n "$vc" ] || notes+=("$tc: viewcore failed on the core: $(head -c 200 "$WORK/viewcore.err" | tr '\n' ' ')")
  fi
  rows+=("| $tc | $(printf '%.0f' "$(calc "$heapAlloc / 1048576")") MiB, $objects objects ($(printf '%.1f' "$(calc "100 * $reached / $gotBytes")")% reached) | $(cell "$heap") | $(cell "$pprof") | $(cell "$top") | $(cell "$retained") | $(cell "$grf") | $(ratio "$pprof" "$grf") | $(cell "$vc") | $(ratio "$heap" "$vc") |")
  rm -f "$core"
done

{
  echo "# The whole heap from a core"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') by bench/heap.sh on $(nproc) cores (load average $(cut -d' ' -f1-3 /proc/loadavg)); wall seconds, medians of $RUNS runs, and the peak RSS of one run; output to /dev/null."
  echo
  echo "bench/heapgraph with $N records (a map of records, each with a name, two tags, a 128-byte payload and a link to the previous one), from a core written by \`gomemscope core\`. \`heap\`'s total was checked against the program's own HeapAlloc before timing."
  echo
  echo "| toolchain | heap | heap --format json | heap -o pprof | top | top --retained | goref (grf core) | grf ÷ heap -o | viewcore histogram | viewcore ÷ heap |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  if ((${#notes[@]})); then echo; echo "Notes:"; for n in "${notes[@]}"; do echo "- $n"; done; fi
} | tee "$OUT"
