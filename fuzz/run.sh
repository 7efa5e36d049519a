#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DGMS_FUZZ=ON, into $FUZZ_BUILD) and runs
# each for a set time on a copy of its committed corpus. Used by `make fuzz`
# (600 s each), `make fuzz-ci` / `make test-fuzz` (60 s each). See docs/fuzzing.md.
#
#   fuzz/run.sh [--seconds N] [--jobs N] [--seeds] [TARGET...]
#
# --seeds regenerates the map/list seeds from real fixture cores (needs both Go
# toolchains) and the descriptors seeds from the stripped maps fixture of each
# toolchain into fuzz/corpus/. A crash leaves its input in
# $FUZZ_BUILD/artifacts/<target>/; copy it to fuzz/regressions/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
SECONDS_PER_TARGET=600
JOBS=1
SEEDS=0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_TARGET=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --seeds) SEEDS=1; shift ;;
    -*) echo "fuzz/run.sh: unknown option $1" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(elf core buildinfo pclntab descriptors classic_map swiss_map list heap sync_map sync_map_19)

GO19=/usr/lib/go-1.19/bin/go
GO26=$(command -v go || true)

# make test builds the fuzz targets in its ASan test tree (FUZZ_BUILD=build-asan,
# FUZZ_BUILD_TESTS=ON): one clang build serves both.
CC=clang CXX=clang++ cmake -S . -B "$FUZZ_BUILD" -G Ninja -DCMAKE_BUILD_TYPE="${FUZZ_BUILD_TYPE:-RelWithDebInfo}" \
  -DGMS_FUZZ=ON -DGMS_BUILD_TESTS="${FUZZ_BUILD_TESTS:-OFF}" >/dev/null
ninja -C "$FUZZ_BUILD" $(printf 'fuzz_%s ' "${TARGETS[@]}") gms_fuzz_seeds gomemscope

# The fixture executables whose DWARF the map/list corpora use.
FIX="$ROOT/$FUZZ_BUILD/fuzz-fixtures"
mkdir -p "$FIX"
fixture() {  # fixture NAME GO -> path
  local out="$FIX/$1-$(basename "$(dirname "$(dirname "$2")")")"
  if [ ! -x "$out" ]; then
    (cd "tests/fixtures/$1" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOCACHE="$FIX/gocache" \
      "$2" build -o "$out" . >&2)
  fi
  echo "$out"
}
exe_for() {
  case "$1" in
    classic_map) fixture maps "$GO19" ;;
    swiss_map) fixture maps "$GO26" ;;
    list) fixture lists "$GO26" ;;
    heap) fixture hello "$GO26" ;;
    sync_map) fixture syncmap "$GO26" ;;
    sync_map_19) fixture syncmap "$GO19" ;;
    *) echo "" ;;
  esac
}

# Seeds: run the fixture, write its core with gomemscope, extract images.
make_seeds() {  # make_seeds TARGET FIXTURE GLOBALS...
  local target=$1 exe=$2; shift 2
  local dir="$ROOT/$FUZZ_BUILD/seedwork/$target"
  rm -rf "$dir"; mkdir -p "$dir" "fuzz/corpus/$target"
  "$exe" >"$dir/out" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do grep -q GMS-READY "$dir/out" && break; sleep 0.2; done
  "$FUZZ_BUILD/gomemscope" core -p "$pid" -o "$dir/core" 2>/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true
  "$FUZZ_BUILD/fuzz/gms_fuzz_seeds" "$dir/core" "$exe" "fuzz/corpus/$target" "$@"
}
if [ $SEEDS = 1 ]; then
  MAPS="main.MStrInt main.MIntStr main.MEmpty main.MSmall8 main.MStructKey main.MArrayKey
        main.MPtrVal main.MSet main.MBigKey main.MBigVal main.MNested main.MFloat main.MIface
        main.MDeleted main.MGrowing main.MSwissDir main.Cfg.ByName"
  # shellcheck disable=SC2086
  make_seeds classic_map "$(exe_for classic_map)" $MAPS
  # shellcheck disable=SC2086
  make_seeds swiss_map "$(exe_for swiss_map)" $MAPS
  make_seeds list "$(exe_for list)" main.LMixed main.LEmpty main.LZero main.LLong main.LRemoved main.LOfMaps
  make_seeds sync_map "$(exe_for sync_map)" main.SOps main.SMixed main.SEmptied main.SZero
  make_seeds sync_map_19 "$(exe_for sync_map_19)" main.SOps main.SMixed main.SEmptied main.SZero
  # The heap walk: what it reads of the hello fixture's core.
  hello=$(exe_for heap)
  dir="$ROOT/$FUZZ_BUILD/seedwork/heap"
  rm -rf "$dir"; mkdir -p "$dir" fuzz/corpus/heap
  "$hello" >"$dir/out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q GMS-READY "$dir/out" && break; sleep 0.2; done
  "$FUZZ_BUILD/gomemscope" core -p "$pid" -o "$dir/core" 2>/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true
  "$FUZZ_BUILD/fuzz/gms_fuzz_seeds" --heap "$dir/core" "$hello" fuzz/corpus/heap/hello-go1.26.img
  # Type descriptors: the maps fixture of each toolchain, stripped as in production.
  mkdir -p fuzz/corpus/descriptors
  for tc in go1.19 go1.26 go1.27; do
    exe="$FIX/maps-stripped-$tc"
    case $tc in
      go1.19) gobin=$GO19; tcenv=local ;;
      go1.26) gobin=$GO26; tcenv=local ;;
      go1.27) gobin=$GO26; tcenv=go1.27.3 ;;
    esac
    (cd tests/fixtures/maps && GOTOOLCHAIN=$tcenv GOFLAGS=-mod=mod GOCACHE="$FIX/gocache" \
      "$gobin" build -ldflags='-s -w' -o "$exe" . >&2) || { echo "skip $tc: no toolchain" >&2; continue; }
    "$FUZZ_BUILD/fuzz/gms_fuzz_seeds" --descriptors "$exe" "fuzz/corpus/descriptors/maps-stripped-$tc.img"
  done
fi

run_one() {
  local t=$1 exe rc=0
  exe=$(exe_for "$t")
  local work="$FUZZ_BUILD/corpus-work/$t" art="$FUZZ_BUILD/artifacts/$t"
  mkdir -p "$work" "$art"
  echo "== fuzz_$t: ${SECONDS_PER_TARGET}s"
  GMS_FUZZ_EXE="$exe" ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    nice "$FUZZ_BUILD/fuzz/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" \
    "$work" "fuzz/corpus/$t" >"$FUZZ_BUILD/fuzz-$t.log" 2>&1 || rc=$?
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$FUZZ_BUILD/fuzz-$t.log" || true
  echo "corpus: $(ls "$work" | wc -l) files; log: $FUZZ_BUILD/fuzz-$t.log"
  if [ $rc != 0 ]; then
    echo "fuzz_$t FAILED (exit $rc); input in $art/:" >&2
    grep -E 'ERROR|SUMMARY|Test unit written' "$FUZZ_BUILD/fuzz-$t.log" | head -5 >&2
  fi
  return $rc
}

fail=0
running=0
for t in "${TARGETS[@]}"; do
  exe_for "$t" >/dev/null  # builds the fixture now, not in parallel
  run_one "$t" &
  running=$((running + 1))
  if [ $running -ge "$JOBS" ]; then
    wait -n || fail=1
    running=$((running - 1))
  fi
done
while [ $running -gt 0 ]; do
  wait -n || fail=1
  running=$((running - 1))
done
exit $fail
