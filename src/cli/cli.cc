// gomemscope's command line. Each command (cmd_*.cc) parses its options into
// a Runner; cliMain runs it and maps errors to one "gomemscope: <message>"
// line. Exit codes: 0 ok, 1 decoded but problems found (corrupt or torn
// structure, breached rule), 2 error (bad input, unreadable target).
#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "common/mask_policy.h"
#include "control/freezer.h"

namespace gms {

namespace {

int runApp(int argc, char** argv) {
  CLI::App app{"gomemscope: see inside a Go program's maps, lists and heap, live or from a core"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gomemscope 0.1.0");
  app.footer(
      "Targets: -p PID (live; stopped only while read) or -c CORE [-e BINARY].\n"
      "Exit codes: 0 ok, 1 decoded but the structure has problems (listed) or a rule is breached\n"
      "(check), 2 error.\n"
      "Environment: GOMEMSCOPE_SNAPSHOT_MAX (bytes a live read may copy; 0: decode while "
      "stopped),\n"
      "GOMEMSCOPE_THREADS (threads rendering map entries; default: one per core).\n"
      "Types: from DWARF or, in a stripped binary (-ldflags='-s -w'), from the runtime's type\n"
      "descriptors; program globals then have no names: decode by address (0xADDR --type T).\n"
      "stats (and export, report, diagnose, check) and info need none: runtime globals are "
      "located.\n"
      "Examples:\n"
      "  gomemscope info -p 4242\n"
      "  gomemscope map -p 4242 main.sessions --limit 10\n"
      "  gomemscope map -c app.core -e ./app main.sessions --format json\n"
      "  gomemscope list -p 4242 main.cache.ll\n"
      "  gomemscope types -p 4242 Session\n"
      "  gomemscope core -p 4242 -o app.core\n"
      "  gomemscope heap -p 4242 -o heap.pb.gz\n"
      "  gomemscope diagnose -p 4242 --for 30s\n"
      "  gomemscope watch -p 4242 main.sessions --field len --count 20");
  Runner run;
  addInfoCommand(app, run);
  addMapCommand(app, run);
  addListCommand(app, run);
  addPrintCommand(app, run);
  addTypesCommand(app, run);
  addStatsCommand(app, run);
  addTopCommand(app, run);
  addHeapCommand(app, run);
  addAdviseCommand(app, run);
  addCoreCommand(app, run);
  addWatchCommand(app, run);
  addTraceCommand(app, run);
  addDiagnoseCommand(app, run);
  addCheckCommand(app, run);
  addExportCommand(app, run);
  addDiffCommand(app, run);
  addReportCommand(app, run);

  // Help and version text go where the command's output goes.
  auto helpExit = [&](const CLI::Error& e) {
    std::ostringstream out, err;
    int rc = app.exit(e, out, err);
    fmt::print(cliOut(), "{}", out.str());
    fmt::print(cliErr(), "{}", err.str());
    return rc;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return helpExit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return helpExit(e);
  } catch (const CLI::CallForVersion& e) {
    return helpExit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(cliErr(), "gomemscope: {}\n", e.what());
    fmt::print(cliErr(), "run 'gomemscope --help' for usage\n");
    return kExitError;
  }
  Freezer::installSignalHandlers();
  try {
    return run ? run() : 0;
  } catch (const Error& e) {
    fmt::print(cliErr(), "gomemscope: {}\n", e.what());
    return kExitError;
  } catch (const std::exception& e) {
    fmt::print(cliErr(), "gomemscope: internal error: {}\n", e.what());
    return kExitError;
  }
}

}  // namespace

int cliMain(int argc, char** argv) { return runApp(argc, argv); }

CliResult runCli(const std::vector<std::string>& args) {
  static std::mutex one;  // the output streams are the process's: one command at a time
  std::lock_guard lock(one);
  // What a fresh process starts with, and what the caller had back afterwards,
  // whatever the command throws: output streams, mask policy, no interrupt.
  struct Captured {
    char *outBuf = nullptr, *errBuf = nullptr;
    size_t outLen = 0, errLen = 0;
    std::FILE* out = open_memstream(&outBuf, &outLen);
    std::FILE* err = open_memstream(&errBuf, &errLen);
    MaskPolicy saved = activeMaskPolicy();
    Captured() {
      if (!out || !err) failErrno("open_memstream");
      setCliStreams(out, err);
      activeMaskPolicy() = MaskPolicy{};
      clearInterrupted();
    }
    ~Captured() {
      setCliStreams(nullptr, nullptr);
      activeMaskPolicy() = saved;
      if (out) std::fclose(out);
      if (err) std::fclose(err);
      std::free(outBuf);
      std::free(errBuf);
    }
  } c;
  std::vector<std::string> argvStore = {"gomemscope"};
  argvStore.insert(argvStore.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argvStore) argv.push_back(a.data());
  argv.push_back(nullptr);
  CliResult r;
  r.exit = runApp(int(argvStore.size()), argv.data());
  std::fflush(c.out);
  std::fflush(c.err);
  r.out.assign(c.outBuf, c.outLen);
  r.err.assign(c.errBuf, c.errLen);
  return r;
}

}  // namespace gms
