// Every command's registration function; cli.cc calls them in --help order.
// To add a command: write cmd_<name>.cc with an add<Name>Command, declare it
// here, call it from cliMain.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace gms {

void addInfoCommand(CLI::App& app, Runner& run);
void addMapCommand(CLI::App& app, Runner& run);
void addListCommand(CLI::App& app, Runner& run);
void addPrintCommand(CLI::App& app, Runner& run);
void addTypesCommand(CLI::App& app, Runner& run);
void addStatsCommand(CLI::App& app, Runner& run);
void addTopCommand(CLI::App& app, Runner& run);
void addHeapCommand(CLI::App& app, Runner& run);
void addAdviseCommand(CLI::App& app, Runner& run);
void addCoreCommand(CLI::App& app, Runner& run);
void addWatchCommand(CLI::App& app, Runner& run);
void addTraceCommand(CLI::App& app, Runner& run);
void addDiagnoseCommand(CLI::App& app, Runner& run);
void addCheckCommand(CLI::App& app, Runner& run);
void addExportCommand(CLI::App& app, Runner& run);
void addDiffCommand(CLI::App& app, Runner& run);
void addReportCommand(CLI::App& app, Runner& run);

}  // namespace gms
