#!/usr/bin/env bash
# The benchmark matrix: maps of 10^4..10^7 entries (string and integer keys)
# built by bench/bigmap with Go 1.19 (classic maps) and Go 1.26 (Swiss maps).
# For each, in the same run and on the same core file:
#   - the live process: how long `gomemscope map` stops it (snapshot, then
#     decode after it resumed), and `gomemscope core` vs `gcore` (time, size);
#   - from the core: gomemscope `map --format json`, `map` text, `top`,
#     `stats` (median of $RUNS; peak RSS; pages touched), the floor (just
#     reading the map's bytes out of the mmap'd core: bench/floor.cc; for
#     string maps also with the strings' bytes read in map order), Delve
#     (`dlv core` + `print` of the whole map) and GDB with runtime-gdb.py
#     (the first $GDB_ENTRIES entries: it is far too slow for all of them).
# Writes a Markdown report to $OUT (default bench/results.md) and stdout.
#
# usage: bench/matrix.sh <gomemscope> [bench build dir with gms_floor, gms_microbench]
# env:   SIZES ("10000 100000 1000000 10000000"), KINDS ("str int"),
#        TOOLCHAINS ("go1.19 go1.26"), RUNS (3), SLOW_MAX (largest map Delve
#        runs on, 1000000), GDB_SIZES (sizes GDB runs on, "1000000"),
#        GDB_ENTRIES (10000), GCORE_MAX (1000000), BUDGET (seconds after which
#        Delve/GDB are skipped, 2400), OUT.
set -euo pipefail
GMS=$(realpath "$1")
BENCHBIN=${2:-$(dirname "$GMS")/bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${SIZES:-"10000 100000 1000000 10000000"}
KINDS=${KINDS:-"str int"}
TOOLCHAINS=${TOOLCHAINS:-"go1.19 go1.26"}
RUNS=${RUNS:-3}
SLOW_MAX=${SLOW_MAX:-1000000}
GDB_SIZES=${GDB_SIZES:-"1000000"}
GDB_ENTRIES=${GDB_ENTRIES:-10000}
GCORE_MAX=${GCORE_MAX:-1000000}
BUDGET=${BUDGET:-2400}
OUT=${OUT:-$ROOT/bench/results.md}
WORK=$(mktemp -d /var/tmp/gms-bench.XXXXXX)
PID=
cleanup() { if [ -n "$PID" ]; then kill -KILL "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT
START=$(date +%s)
elapsed() { echo $(($(date +%s) - START)); }
notes=()
note() { notes+=("$*"); echo "note: $*" >&2; }

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
calc() { echo "$*" | bc -l; }
fmt3() { printf '%.3f' "$1"; }
mib() { printf '%.1f' "$(calc "$1 / 1048576")"; }

# measure NAME CMD...: runs CMD $RUNS times (stdout to /dev/null) under
# /usr/bin/time; sets M_SEC (median seconds), M_RSS (max peak RSS, KiB) and
# M_FAULTS (minor page faults of the last run).
measure() {
  local runs=$1; shift
  local secs=() rss=0
  for _ in $(seq 1 "$runs"); do
    local s e
    s=$(now)
    /usr/bin/time -f '%M %R' -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || true
    e=$(now)
    secs+=("$(calc "$e - $s")")
    read -r r f < "$WORK/time"
    ((r > rss)) && rss=$r
    M_FAULTS=$f
  done
  M_SEC=$(printf '%s\n' "${secs[@]}" | median)
  M_RSS=$rss
}

goFor() { [ "$1" = go1.19 ] && echo /usr/lib/go-1.19/bin/go || command -v go; }
gorootFor() { "$(goFor "$1")" env GOROOT; }

# Delve, taken from PATH (this script builds no peer): Debian's `dlv` for Go
# 1.19 cores; for newer cores $DLV_NEW, else a `dlv` on PATH whose version is
# 1.24 or later (Delve reads a release's cores only from about the same time).
dlvFor() {
  if [ "$1" = go1.19 ]; then command -v dlv || note "no dlv on PATH: Go 1.19 cores are not timed with Delve"; return; fi
  local d=${DLV_NEW:-$(command -v dlv || true)}
  local v
  v=$([ -n "$d" ] && "$d" version 2>/dev/null | sed -n 's/^Version: 1\.\([0-9]*\)\..*/\1/p' || true)
  if [ -n "$v" ] && [ "$v" -ge 24 ]; then echo "$d"; return; fi
  note "no Delve >= 1.24 on PATH (or \$DLV_NEW): $1 cores are not timed with Delve"
}

# The Markdown report of everything measured so far.
report() {
  echo "# gomemscope benchmark matrix"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') by bench/matrix.sh on $machine (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg));"
  echo "medians of $RUNS runs (1 run at 10^7 entries); Delve and GDB 1 run each. Ratios compare tools on the same core in the same run."
  echo
  echo "## Live process and core writing"
  echo
  echo "| toolchain | map | entries | target RSS MiB | stopped ms (snapshot) | stopped ms (decode while stopped) | core s: gomemscope / gcore | core MiB: gomemscope / gcore |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${live_rows[@]}"
  echo
  echo "## Decoding from the core (gomemscope)"
  echo
  echo "All commands write to /dev/null. *map MiB*: the map's own memory (footprint.total); *touched MiB*: pages the JSON decode faulted in (its reads plus its own allocations); *floor*: mmap the core and read the map's bytes once, on one thread (bench/floor.cc) — *arrays*: its own memory (footprint.total, read in order); *+ strings*: then also every key and value string's bytes, in the order the map's slots point to them (the only way a decoder can find them), with prefetching."
  echo
  echo "| toolchain | map | entries | map --format json s | entries/s | map (text) s | top s | stats s | peak RSS MiB: json / top | map MiB | touched MiB | floor s: arrays / + strings | json ÷ floor: arrays / + strings |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${decode_rows[@]}"
  echo
  echo "## Delve and GDB on the same cores"
  echo
  echo "Delve prints every entry (\`config max-array-values\`); GDB with the toolchain's runtime-gdb.py prints the first $GDB_ENTRIES (\`set print elements\`) and is compared per entry with gomemscope's full JSON decode."
  echo
  echo "| toolchain | map | entries | Delve | gomemscope JSON vs Delve | GDB (runtime-gdb.py) | gomemscope JSON vs GDB |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${tool_rows[@]}"
  if ((${#notes[@]})); then echo; echo "Notes:"; for n in "${notes[@]}"; do echo "- $n"; done; fi
  if [ -n "$micro" ]; then
    echo
    echo "## Micro-benchmarks (bench/micro.cc, Google Benchmark)"
    echo
    echo '```'
    echo "$micro"
    echo '```'
  fi
}

decode_rows=()
micro=""
tool_rows=()
live_rows=()
machine="$(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# Per toolchain: bigmap, GOROOT (runtime-gdb.py) and Delve.
declare -A BINS GOROOTS DLVS DLVVS
tcs=()
for tc in $TOOLCHAINS; do
  GO=$(goFor "$tc")
  if [ -z "$GO" ] || [ ! -x "$GO" ]; then note "$tc: toolchain not installed; skipped"; continue; fi
  BINS[$tc]=$WORK/bigmap-$tc
  (cd "$ROOT/bench/bigmap" && env GOTOOLCHAIN=local CGO_ENABLED=0 GOPROXY=off GOFLAGS=-mod=mod "$GO" build -o "${BINS[$tc]}" .)
  GOROOTS[$tc]=$(gorootFor "$tc")
  DLVS[$tc]=$(dlvFor "$tc")
  DLVVS[$tc]=$([ -n "${DLVS[$tc]}" ] && "${DLVS[$tc]}" version 2>/dev/null | sed -n 's/^Version: //p' || true)
  tcs+=("$tc")
done

# Sizes outermost: the slow 10^7 maps come last, and the report is rewritten
# after every map, so an interrupted run still leaves what it measured.
for N in $SIZES; do
  for tc in "${tcs[@]}"; do
    BIN=${BINS[$tc]}; GOROOT_TC=${GOROOTS[$tc]}; DLV=${DLVS[$tc]}; DLVV=${DLVVS[$tc]}
    for kind in $KINDS; do
      VAR=$([ "$kind" = str ] && echo main.MStr || echo main.MInt)
      KT=$([ "$kind" = str ] && echo 'map[string]int' || echo 'map[int64]int64')
      echo "== $tc $KT $N entries ($(elapsed) s)" >&2
      runs=$RUNS
      [ "$N" -ge 10000000 ] && runs=1
      "$BIN" "$N" "$kind" > "$WORK/out" &
      PID=$!
      for _ in $(seq 1 6000); do grep -q GMS-READY "$WORK/out" 2>/dev/null && break; sleep 0.1; done
      grep -q GMS-READY "$WORK/out" || { note "$tc $N $kind: bigmap never got ready"; kill -KILL $PID; PID=; continue; }

      # Live: the stop of a full JSON decode (snapshot; then decoded after the resume).
      stops=()
      for _ in $(seq 1 "$runs"); do
        stops+=("$("$GMS" map -p "$PID" "$VAR" --format json -v 2>&1 >/dev/null |
                  sed -n 's/.*stopped for \([0-9.]*\) ms.*/\1/p')")
      done
      stop=$(printf '%s\n' "${stops[@]}" | median)
      nosnap=-
      if [ "$N" -eq 1000000 ]; then
        nosnap=$(GOMEMSCOPE_SNAPSHOT_MAX=0 "$GMS" map -p "$PID" "$VAR" --format json -v 2>&1 >/dev/null |
                 sed -n 's/.*stopped for \([0-9.]*\) ms.*/\1/p')
      fi
      rss_target=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)

      # Cores: ours and gdb's, of the same process.
      s=$(now); "$GMS" core -p "$PID" -o "$WORK/core" >/dev/null 2>&1; e=$(now)
      ours_s=$(calc "$e - $s"); ours_b=$(stat -c %s "$WORK/core")
      g_s=-; g_b=-
      if [ "$N" -le "$GCORE_MAX" ] && command -v gcore >/dev/null; then
        s=$(now); gcore -o "$WORK/gcore" "$PID" >/dev/null 2>&1 || true; e=$(now)
        if [ -f "$WORK/gcore.$PID" ]; then
          g_s=$(calc "$e - $s"); g_b=$(stat -c %s "$WORK/gcore.$PID"); rm -f "$WORK/gcore.$PID"
        fi
      fi
      kill -KILL "$PID"; wait "$PID" 2>/dev/null || true; PID=
      live_rows+=("| $tc | $KT | $N | $(mib $((rss_target * 1024))) | $stop | $nosnap | $(fmt3 "$ours_s") / $([ "$g_s" = - ] && echo - || fmt3 "$g_s") | $(mib "$ours_b") / $([ "$g_b" = - ] && echo - || mib "$g_b") |")

      C=(-c "$WORK/core" -e "$BIN")
      foot=$("$GMS" map "${C[@]}" "$VAR" --format json --limit 1 |
             python3 -c 'import json,sys; print(json.load(sys.stdin)["footprint"]["total"])')
      measure "$runs" "$GMS" map "${C[@]}" "$VAR" --format json --limit 0
      json_s=$M_SEC; json_rss=$M_RSS; json_touch=$((M_FAULTS * 4096))
      measure "$runs" "$GMS" map "${C[@]}" "$VAR" --limit 0
      text_s=$M_SEC
      measure "$runs" "$GMS" top "${C[@]}"
      top_s=$M_SEC; top_rss=$M_RSS
      measure "$runs" "$GMS" stats "${C[@]}"
      stats_s=$M_SEC
      floor_s=nan; floor2_s=nan
      if [ -x "$BENCHBIN/gms_floor" ]; then
        fl=(); for _ in $(seq 1 "$runs"); do fl+=("$("$BENCHBIN/gms_floor" "$WORK/core" "$foot" | cut -d' ' -f1)"); done
        floor_s=$(printf '%s\n' "${fl[@]}" | median)
        if [ "$kind" = str ] && [ -x "$BENCHBIN/gms_map_strings" ] &&
           "$BENCHBIN/gms_map_strings" "$WORK/core" "$BIN" "$VAR" "$WORK/strings" >/dev/null; then
          fl=(); for _ in $(seq 1 "$runs"); do fl+=("$("$BENCHBIN/gms_floor" "$WORK/core" "$foot" "$WORK/strings" | cut -d' ' -f1)"); done
          floor2_s=$(printf '%s\n' "${fl[@]}" | median)
        fi
      fi
      floor_txt="- | -"
      if [ "$floor_s" != nan ]; then
        floor_txt="$(printf '%.4f' "$floor_s")"
        [ "$floor2_s" != nan ] && floor_txt+=" / $(printf '%.4f' "$floor2_s")"
        floor_txt+=" | $(printf '%.1f' "$(calc "$json_s / $floor_s")")×"
        [ "$floor2_s" != nan ] && floor_txt+=" / $(printf '%.1f' "$(calc "$json_s / $floor2_s")")×"
      fi
      decode_rows+=("| $tc | $KT | $N | $(fmt3 "$json_s") | $(printf '%.0f' "$(calc "$N / $json_s")") | $(fmt3 "$text_s") | $(fmt3 "$top_s") | $(fmt3 "$stats_s") | $(mib $((json_rss * 1024))) / $(mib $((top_rss * 1024))) | $(mib "$foot") | $(mib "$json_touch") | $floor_txt |")

      # Delve: all entries.
      dl="| $tc | $KT | $N | "
      if [ -z "$DLV" ]; then
        dl+="Delve unavailable | - | - |"
      elif [ "$N" -gt "$SLOW_MAX" ] || [ "$(elapsed)" -gt "$BUDGET" ]; then
        dl+="skipped (size or time budget) | - | - |"
      else
        printf 'config max-array-values %d\nprint %s\nexit\n' $((N * 2)) "$VAR" > "$WORK/dlv.init"
        s=$(now)
        "$DLV" core "$BIN" "$WORK/core" --allow-non-terminal-interactive=true --init "$WORK/dlv.init" \
          </dev/null >"$WORK/dlv.out" 2>&1 || true
        e=$(now)
        d_s=$(calc "$e - $s")
        d_n=$(grep -cE '^	("key-|-?[0-9]+: )' "$WORK/dlv.out" || true)
        ratio=-
        [ "$d_n" -eq "$N" ] && ratio="$(printf '%.0f' "$(calc "$d_s / $json_s")")× faster"
        dl+="$DLVV: $(printf '%.2f' "$d_s") s, $d_n entries printed ($(printf '%.0f' "$(calc "$d_n / $d_s")")/s) | $ratio |"
      fi
      # GDB + runtime-gdb.py: the first $GDB_ENTRIES entries (print elements
      # counts keys and values apart), per-entry rate.
      if [[ " $GDB_SIZES " == *" $N "* ]] && [ "$(elapsed)" -le "$BUDGET" ] && command -v gdb >/dev/null; then
        s=$(now)
        gdb -batch -nx -ex "set print elements $((GDB_ENTRIES * 2))" -ex "source $GOROOT_TC/src/runtime/runtime-gdb.py" \
          -ex "print '$VAR'" "$BIN" "$WORK/core" </dev/null >"$WORK/gdb.out" 2>&1 || true
        e=$(now)
        g_s=$(calc "$e - $s")
        g_n=$(grep -o '\] = ' "$WORK/gdb.out" | wc -l)
        if [ "$g_n" -gt 0 ]; then
          per=$(calc "$g_s / $g_n"); ours_per=$(calc "$json_s / $N")
          dl+=" $(printf '%.2f' "$g_s") s for $g_n entries ($(printf '%.0f' "$(calc "$g_n / $g_s")")/s) | $(printf '%.0f' "$(calc "$per / $ours_per")")× faster per entry |"
        else
          dl+=" failed: $(grep -m1 -iE 'error|python' "$WORK/gdb.out" | cut -c1-80) | - |"
        fi
      else
        dl+=" - | - |"
      fi
      tool_rows+=("$dl")
      rm -f "$WORK/core"
      report > "$OUT"
    done
  done
done

micro=""
if [ -x "$BENCHBIN/gms_microbench" ]; then
  micro=$(BIGMAP_GO119=$WORK/bigmap-go1.19 BIGMAP_GO126=$WORK/bigmap-go1.26 \
          "$BENCHBIN/gms_microbench" --benchmark_min_time=0.2 2>&1 | grep -vE '^\*\*\*|^$' || true)
fi
report | tee "$OUT"
