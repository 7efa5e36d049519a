#!/usr/bin/env bash
# Makes sure the three Go toolchains the tests build fixtures with are here:
#   go1.19  Debian's golang-1.19-go (scripts/install-deps.sh installs it)
#   go1.26  the machine's own `go` on PATH
#   go1.27  Go 1.27.3, which the go command fetches itself from the Go module
#           proxy when GOTOOLCHAIN asks for it (about 76 MB, once per machine,
#           into the module cache); only this script and the test harness
#           (tests/support/fixture.cc) set GOTOOLCHAIN, nothing else changes.
# A toolchain that is missing is reported and its tests skip with that
# message; this script never fails for it (exit 0), so that a machine without
# the proxy still runs the rest of the suite.
set -uo pipefail
for want in /usr/lib/go-1.19/bin/go; do
  if [ -x "$want" ]; then echo "go1.19: $("$want" version)"; else echo "go1.19: missing ($want)"; fi
done
if ! command -v go >/dev/null 2>&1; then
  echo "go1.26: missing (no go on PATH); go1.27.3 cannot be fetched without it"
  exit 0
fi
echo "go1.26: $(GOTOOLCHAIN=local go version)"
if out=$(GOTOOLCHAIN=go1.27.3 go version 2>&1); then
  echo "go1.27: $out ($(GOTOOLCHAIN=go1.27.3 go env GOROOT))"
else
  echo "go1.27: go1.27.3 could not be fetched from the Go module proxy; its tests will skip: $out"
fi
exit 0
