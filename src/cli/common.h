// What every command shares: target and output options, the freeze-read-
// resume pattern, durations, and the exit-code convention. Each command lives
// in its own cmd_*.cc and registers itself in cli.cc through commands.h.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>

#include "cli/session.h"
#include "goruntime/expr.h"
#include "goruntime/memstats.h"
#include "report/out.h"
#include "report/reports.h"

namespace gms {

// Exit codes: 0 ok, 1 decoded but problems found / a rule breached, 2 error.
constexpr int kExitOk = 0;
constexpr int kExitProblems = 1;
constexpr int kExitError = 2;

// Set by a command's callback; cliMain runs it after parsing.
using Runner = std::function<int()>;

void addTargetOptions(CLI::App* c, TargetOptions& t);

// --reveal and --secret-pattern: every command that prints strings from the
// target (values, or map keys in paths) takes them.
struct MaskOptions {
  bool reveal = false;                      // --reveal: show secrets unmasked
  std::vector<std::string> secretPatterns;  // --secret-pattern REGEX (repeatable)
};
void addMaskOptions(CLI::App* c, MaskOptions& m);
// Makes them the process-wide policy (report/masking.h); throws Error(Usage)
// for a bad pattern.
void applyMaskOptions(const MaskOptions& m);

// Entry/value rendering options of map, list and print.
struct OutputOptions {
  std::string format = "text";
  int64_t limit = -1;  // -1: the format's default
  int64_t maxString = -1;
  int depth = -1;
  bool buckets = false;
  MaskOptions mask;
};
void addOutputOptions(CLI::App* c, OutputOptions& o, bool entries);
ReportOptions reportOptions(const OutputOptions& o);

// A name (main.x.y[2]) or an address with --type; typeExample is the hint
// when --type is missing ("--type 'map[string]int'"), in this command's terms.
Located locate(const Program& p, const std::string& expr, const std::string& type,
               std::string_view typeExample = "--type 'map[string]int'");

void printWarnings(Session& s);

// Where commands write: the process's stdout and stderr, or, while runCli
// (cli/cli.h) runs a command in-process, the buffers it returns.
std::FILE* cliOut();
std::FILE* cliErr();
// Redirects cliOut/cliErr (nullptr: back to stdout/stderr).
void setCliStreams(std::FILE* out, std::FILE* err);

// Runs `body` over one consistent moment of the target. By default
// (FreezeMode::Snapshot) a live target is stopped only while its memory is
// copied, and `body` decodes the copy while the target runs again; when the
// copy would exceed the budget, the target stays stopped for `body` instead.
// FreezeMode::Stop always keeps it stopped for `body` (cheapest for reads of a
// few pages). Output is held in memory while the target is stopped, so a slow
// consumer never keeps it stopped.
template <typename F>
void frozenRun(Session& s, Out& out, F&& body, FreezeMode mode = FreezeMode::Snapshot) {
  Frozen fz(s, mode);
  out.hold(fz.stopped());
  body();
  auto stopped = fz.release();
  out.hold(false);
  out.flush();
  if (s.options().verbose && s.live() && !s.options().noStop) {
    double ms = std::chrono::duration<double, std::milli>(stopped).count();
    if (fz.snapshotBytes())
      fmt::print(cliErr(),
                 "gomemscope: pid {} was stopped for {:.1f} ms (copied {:.1f} MiB of its memory; "
                 "decoded after it resumed)\n",
                 s.live()->pid(), ms, double(fz.snapshotBytes()) / (1 << 20));
    else if (!fz.noSnapshotReason().empty())
      fmt::print(cliErr(),
                 "gomemscope: pid {} was stopped for {:.1f} ms (decoded while stopped: {})\n",
                 s.live()->pid(), ms, fz.noSnapshotReason());
    else
      fmt::print(cliErr(), "gomemscope: pid {} was stopped for {:.1f} ms\n", s.live()->pid(), ms);
  }
}

// One MemStats read with the target frozen for exactly the read.
MemStats sampleMemStats(Session& s);

// "500ms", "2s", "1.5m", "1h" -> seconds; `what` names the option in errors.
double parseDuration(const std::string& s, const char* what);

// For the long-running commands that keep a helper process (watch, trace):
// from the first call on, SIGINT, SIGTERM and SIGHUP only set interrupted(),
// so the command ends cleanly (the helper disarms first), and SIGPIPE is
// ignored (a closed pipe must not kill us before the target is released).
// This holds until the process exits: a Ctrl-C that arrives while a command
// that ended on its own winds up (its summary, the sanitizers' exit checks)
// must not turn its exit code into a death by SIGINT.
void catchInterrupts();
bool interrupted();
// Forgets an interrupt (runCli: each command starts as a fresh process does).
void clearInterrupted();

// Prints "<expr>: N problems found" to stderr; returns the exit code.
int reportProblems(const std::string& expr, size_t problems);

// Writes bytes to path (created or truncated); Error(Os) naming the path and
// why when it cannot.
void writeFile(const std::string& path, std::string_view bytes);

}  // namespace gms
