#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>

namespace gms {
int cliMain(int argc, char** argv) {
  CLI::App app{"gomemscope: see inside a Go program's maps, lists and heap"};
  CLI11_PARSE(app, argc, argv);
  return 0;
}
}  // namespace gms
