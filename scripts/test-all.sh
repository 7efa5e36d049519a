#!/usr/bin/env bash
# `make test`: every stage CI runs, each timed, then a timing summary.
#
#   deps        the Debian packages (scripts/install-deps.sh, idempotent)
#   toolchains  Go 1.27.3 fetched by the go command (scripts/go-toolchains.sh)
#   build       gomemscope and the test suite (RelWithDebInfo, gcc)
#   suite       every test (ctest), fixtures built by all three toolchains
#   asan        the parser/decoder tests again under ASan+UBSan (clang; the
#               same tree builds the libFuzzer targets)
#   fuzz        every libFuzzer target for 60 s on its committed corpus
#
# Stops at the first stage that fails, and prints the summary either way.
# The ten slowest tests of each ctest stage are listed with it, so that the
# suite's growth is visible where it happens (CI allows 90 minutes; make
# test should stay within 50).
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
stages=(deps toolchains build suite asan fuzz)
declare -A took status
start_all=$(date +%s)

summary() {
  local total=$(($(date +%s) - start_all))
  echo
  echo "== make test: timing summary =="
  for s in "${stages[@]}"; do
    [ -n "${status[$s]:-}" ] || continue
    printf '  %-11s %6ss  %s\n' "$s" "${took[$s]}" "${status[$s]}"
  done
  printf '  %-11s %6ss  (%d min %d s)\n' total "$total" $((total / 60)) $((total % 60))
  for d in "$BUILD" "$ASAN_BUILD"; do
    local log=$d/Testing/Temporary/LastTest.log
    [ -f "$log" ] || continue
    echo "  slowest tests in $d:"
    grep -E '^[0-9]+/[0-9]+ Test: |^"[^"]*" end time|^Test time = ' "$log" |
      awk '/ Test: / { sub(/^[0-9]+\/[0-9]+ Test: /, ""); sub(/  # GetParam.*/, ""); name = $0 }
           /^Test time = / { printf "%10.1f s  %s\n", $4, name }' |
      sort -rn | head -10 | sed 's/^/  /'
  done
}
trap summary EXIT

run() {  # run STAGE COMMAND...
  local s=$1
  shift
  local t0
  t0=$(date +%s)
  echo "== $s: $*"
  "$@"
  local rc=$?
  took[$s]=$(($(date +%s) - t0))
  if [ $rc -eq 0 ]; then status[$s]=ok; else status[$s]="FAILED (exit $rc)"; fi
  return $rc
}

run deps scripts/install-deps.sh || exit 1
run toolchains scripts/go-toolchains.sh || exit 1
run build make --no-print-directory build-only || exit 1
run suite make --no-print-directory test-suite || exit 1
run asan make --no-print-directory test-asan-only || exit 1
run fuzz make --no-print-directory fuzz-ci-only || exit 1
