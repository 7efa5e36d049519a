#!/usr/bin/env bash
# scripts/check-layers.sh catches a violation: a goruntime header that
# includes report/ fails the check, naming the file, line and layer.
set -uo pipefail
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/src/goruntime" "$d/src/report" "$d/tests/goruntime"
echo '#include "report/out.h"' > "$d/src/goruntime/a.h"
echo '#include "support/fixture.h"' > "$d/tests/goruntime/ok_test.cc"
out=$(GMS_LAYER_ROOT=$d "$(dirname "$0")/../scripts/check-layers.sh")
status=$?
echo "$out"
[ "$status" -eq 1 ] || { echo "expected exit 1, got $status"; exit 1; }
grep -q '^src/goruntime/a.h:1: includes report/' <<<"$out" || { echo "violation not named"; exit 1; }
! grep -q 'ok_test.cc' <<<"$out" || { echo "the harness include was flagged"; exit 1; }
