#!/usr/bin/env bash
# Installs the Debian packages gomemscope needs to build, test and run its demo.
# Idempotent: does nothing when everything is already installed.
# usage: scripts/install-deps.sh [extra Debian packages...]
set -euo pipefail
pkgs=(cmake ninja-build g++ pkg-config make
      libdw-dev libelf-dev libcli11-dev libfmt-dev nlohmann-json3-dev
      libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev
      libyaml-cpp-dev zlib1g-dev golang-1.19-go gdb
      binutils  # objcopy/strip make the --debug-file tests' split debug files
      prometheus chromium fonts-dejavu-core  # exporter and HTML report end-to-end tests
      clang libfuzzer-14-dev libclang-rt-14-dev  # make fuzz (libFuzzer targets)
      clang-format  # make format
      "$@")  # extra packages (e.g. for make bench) as arguments
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v go >/dev/null 2>&1; then
  echo "note: no 'go' on PATH; Go 1.26 (Swiss map) tests will be skipped" >&2
fi
