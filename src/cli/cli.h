// The command-line edge: parses arguments, opens the target, runs a command,
// and turns any gms::Error into one "gomemscope: <message>" line and an exit
// code.
#pragma once

#include <string>
#include <vector>

namespace gms {

// The program: output on stdout and stderr.
int cliMain(int argc, char** argv);

// One command line run in this process (args without the program name),
// its output captured: what main prints, returned instead. Tests call it
// rather than spawning the binary. One at a time (serialised): commands
// write to the process's one pair of output streams.
struct CliResult {
  int exit = 0;
  std::string out, err;
};
CliResult runCli(const std::vector<std::string>& args);

}  // namespace gms
