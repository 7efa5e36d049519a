// The command-line edge: parses arguments, opens the target, runs a command,
// and turns any gms::Error into one "gomemscope: <message>" line and an exit
// code. Callable in-process (tests) as cliMain.
#pragma once

namespace gms {
int cliMain(int argc, char** argv);
}
