#!/usr/bin/env bash
# The layers, enforced: data flows one way, target -> binary -> goruntime ->
# analysis -> report -> cli, with control (ptrace) beside target and common
# under everything. Each file under src/LAYER/ may include only headers of
# its own layer and the layers below it; each test under tests/LAYER/ the
# same, plus the harness (support/, control/ to stop and snapshot fixtures,
# binary/ to open them, fuzz/ for the fuzz regressions). Prints every
# violation as FILE:LINE: what it includes; exit 1 if there is one.
# Run by ctest (LayerCheck), so by make test.
set -euo pipefail
ROOT=${GMS_LAYER_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}  # GMS_LAYER_ROOT: a tree to check instead (its self-test)
declare -A below=(
  [common]="common"
  [target]="common target"
  [control]="common target control"
  [binary]="common target binary"
  [goruntime]="common target binary goruntime"
  [analysis]="common target binary goruntime analysis"
  [report]="common target binary goruntime analysis report"
  [cli]="common target binary goruntime analysis report control cli"
)
harness="support control binary fuzz"
bad=0
check() {  # check DIR ALLOWED...
  local dir=$1; shift
  local allowed=" $* "
  [ -d "$dir" ] || return 0
  while IFS=: read -r file line inc; do
    local layer=${inc#*\"}
    layer=${layer%%/*}
    if [[ "$allowed" != *" $layer "* ]]; then
      echo "${file#"$ROOT"/}:$line: includes $layer/ (${inc//[[:space:]]/ }), above or beside its layer"
      bad=1
    fi
  done < <(grep -Hn '^#include "[a-z_]*/' "$dir"/*.cc "$dir"/*.h 2>/dev/null || true)
}
for layer in "${!below[@]}"; do
  check "$ROOT/src/$layer" ${below[$layer]}
  check "$ROOT/tests/$layer" ${below[$layer]} $harness
done
# Every folder under src/ is a layer this script knows.
for d in "$ROOT"/src/*/; do
  name=$(basename "$d")
  [ -n "${below[$name]:-}" ] || { echo "src/$name/: a layer scripts/check-layers.sh does not know"; bad=1; }
done
if [ "$bad" -ne 0 ]; then exit 1; fi
echo "layers: every include of src/ and tests/ respects target -> binary -> goruntime -> analysis -> report -> cli"
