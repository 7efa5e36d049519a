#!/usr/bin/env bash
# Stripped binaries against builds with DWARF, in the same run:
#   - a 10^6-entry map[string]int decoded from a core (map --format json
#     --limit 0): the -ldflags='-s -w' build (by address, --type from the
#     runtime's type descriptors) against the plain build (by name, DWARF
#     types), per toolchain; the ratio is the figure (goal <= 1.2x);
#   - stats from the same cores (built-in layouts and globals located by the
#     runtime's invariants, against DWARF);
#   - loading the type descriptors of a large real binary (Debian's stripped
#     prometheus: `types -e`, which loads and names every type), against
#     reading that file once (cat > /dev/null).
# Medians of $RUNS runs. Writes Markdown to $OUT (default bench/results-stripped.md) and stdout.
#
# usage: bench/stripped.sh <gomemscope> [entries]
# env:   TOOLCHAINS ("go1.19 go1.26 go1.27"), RUNS (5), OUT.
set -euo pipefail
GMS=$(realpath "$1")
N=${2:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLCHAINS=${TOOLCHAINS:-"go1.19 go1.26 go1.27"}
RUNS=${RUNS:-5}
OUT=${OUT:-$ROOT/bench/results-stripped.md}
WORK=$(mktemp -d /var/tmp/gms-stripped.XXXXXX)
PID=
cleanup() { if [ -n "$PID" ]; then kill -KILL "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
calc() { echo "$*" | bc -l; }
# secs CMD...: median wall seconds of $RUNS runs, stdout to /dev/null; fails
# the script when the command fails (a ratio of a failed run means nothing).
secs() {
  for _ in $(seq 1 "$RUNS"); do
    local s e
    s=$(now)
    "$@" >/dev/null 2>"$WORK/err" || { echo "failed: $* ($(head -c 300 "$WORK/err"))" >&2; exit 1; }
    e=$(now)
    calc "$e - $s"
  done | median
}
# Go 1.27.3 is fetched by the go command itself (GOTOOLCHAIN), as for the fixtures.
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
for tc in $TOOLCHAINS; do
  GO=$(goFor "$tc")
  if [ -z "$GO" ] || [ ! -x "$GO" ]; then notes+=("$tc: toolchain not installed; skipped"); continue; fi
  plain=$WORK/bigmap-$tc stripped=$WORK/bigmap-$tc-stripped
  (cd "$ROOT/bench/bigmap" && env "$(toolchainEnv "$tc")" CGO_ENABLED=0 "$GO" build -o "$plain" . &&
     env "$(toolchainEnv "$tc")" CGO_ENABLED=0 "$GO" build -ldflags='-s -w' -o "$stripped" .) ||
    { notes+=("$tc: bigmap did not build; skipped"); continue; }
  declare -A CORE ADDR
  for b in "$plain" "$stripped"; do
    "$b" "$N" str > "$WORK/out" &
    PID=$!
    for _ in $(seq 1 6000); do grep -q GMS-READY "$WORK/out" 2>/dev/null && break; sleep 0.1; done
    ADDR[$b]=$(sed -n 's/.*"MStr": "\(0x[0-9a-f]*\)".*/\1/p' "$WORK/out")
    CORE[$b]=$WORK/core-$(basename "$b")
    "$GMS" core -p "$PID" -o "${CORE[$b]}" >/dev/null
    kill -KILL "$PID"; wait "$PID" 2>/dev/null || true; PID=
  done
  dwarf_s=$(secs "$GMS" map -c "${CORE[$plain]}" -e "$plain" main.MStr --format json --limit 0)
  desc_s=$(secs "$GMS" map -c "${CORE[$stripped]}" -e "$stripped" "${ADDR[$stripped]}" \
             --type 'map[string]int' --format json --limit 0)
  got=$("$GMS" map -c "${CORE[$stripped]}" -e "$stripped" "${ADDR[$stripped]}" --type 'map[string]int' \
          --format json --limit 0 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["entries"]))')
  [ "$got" -eq "$N" ] || { echo "$tc: the stripped decode gave $got entries, not $N" >&2; exit 1; }
  sd_s=$(secs "$GMS" stats -c "${CORE[$plain]}" -e "$plain")
  ss_s=$(secs "$GMS" stats -c "${CORE[$stripped]}" -e "$stripped")
  rows+=("| $tc | $N | $(printf '%.3f' "$dwarf_s") | $(printf '%.3f' "$desc_s") | $(printf '%.2f' "$(calc "$desc_s / $dwarf_s")")× | $(printf '%.3f' "$sd_s") | $(printf '%.3f' "$ss_s") | $(printf '%.2f' "$(calc "$ss_s / $sd_s")")× |")
  rm -f "${CORE[$plain]}" "${CORE[$stripped]}"
done

prom_row="| /usr/bin/prometheus not installed (Debian package prometheus) | - | - | - | - |"
if [ -x /usr/bin/prometheus ]; then
  types=$("$GMS" types -e /usr/bin/prometheus | wc -l)
  t_s=$(secs "$GMS" types -e /usr/bin/prometheus)
  cat /usr/bin/prometheus > /dev/null  # warm the page cache for both
  c_s=$(secs cat /usr/bin/prometheus)
  size=$(stat -c %s /usr/bin/prometheus)
  prom_row="| prometheus $(/usr/bin/prometheus --version 2>&1 | sed -n 's/^prometheus, version \([^ ]*\).*/\1/p') ($(printf '%.0f' "$(calc "$size / 1048576")") MiB, $(go version /usr/bin/prometheus 2>/dev/null | cut -d' ' -f2)) | $types | $(printf '%.3f' "$t_s") | $(printf '%.0f' "$(calc "$types / $t_s")") | $(printf '%.1f' "$(calc "$t_s / $c_s")")× |"
fi

{
  echo "# Stripped binaries (-ldflags='-s -w') against DWARF"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') by bench/stripped.sh on $(nproc) cores (load average $(cut -d' ' -f1-3 /proc/loadavg)); medians of $RUNS runs, all output to /dev/null."
  echo
  echo "A $N-entry \`map[string]int\` from a core: the plain build decoded by name with DWARF types, the stripped build by address with the type from the runtime's descriptors (all $N entries checked); \`stats\` from the same cores (stripped: built-in layouts, runtime globals located by the runtime's invariants)."
  echo
  echo "| toolchain | entries | map --format json, DWARF s | stripped s | stripped ÷ DWARF | stats, DWARF s | stripped s | stripped ÷ DWARF |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Loading every type descriptor of a large stripped binary (\`types -e\`: open, find moduledata, read and name every type), against reading the file once:"
  echo
  echo "| binary | types | seconds | types/s | ÷ cat of the file |"
  echo "|---|---|---|---|---|"
  echo "$prom_row"
  if ((${#notes[@]})); then echo; echo "Notes:"; for n in "${notes[@]}"; do echo "- $n"; done; fi
} | tee "$OUT"
