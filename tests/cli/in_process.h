// A gomemscope command run inside the test process (cli/cli.h runCli), with
// the result runGomemscope gives for the spawned binary: the same exit code
// and output, without a fork and exec per command.
#pragma once

#include "cli/cli.h"
#include "support/fixture.h"

namespace gms::test {

inline CommandResult runInProcess(const std::vector<std::string>& args) {
  CliResult r = runCli(args);
  return {r.exit, std::move(r.out), std::move(r.err)};
}

}  // namespace gms::test
