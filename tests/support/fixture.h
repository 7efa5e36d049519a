// Test support: Go fixtures built by the harness with each installed Go
// toolchain, run to a known state, printing their own ground truth.
//
// Protocol of a fixture program (tests/fixtures/<name>/main.go): it builds its
// data, prints exactly one line `GMS-TRUTH <json>` to stdout, then one line
// `GMS-READY`, then blocks forever (until killed). The JSON is the program's
// own account of its maps/lists/stats in the shape the tests compare against.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

namespace gms::test {

// The three Go toolchains the project tests against:
//  - go1.19: Debian's golang-1.19-go (/usr/lib/go-1.19/bin/go), classic maps;
//  - go1.26: the machine's own `go` on PATH, Swiss maps;
//  - go1.27: Go 1.27.3, which the go command fetches itself from the Go module
//    proxy (GOTOOLCHAIN=go1.27.3, once per machine, into the module cache);
//    the harness resolves it to that toolchain's own bin/go once, and sets the
//    variable nowhere else.
struct Toolchain {
  std::string name;      // "go1.19", "go1.26" or "go1.27"
  std::string goBinary;  // the go command that builds with exactly this toolchain
  int minor = 0;         // 19, 26, 27
  bool available = false;
  std::string missing;                        // why not available (names the toolchain)
  bool swiss() const { return minor >= 24; }  // Swiss maps are the default from Go 1.24
};

// Every toolchain the project supports, available or not, oldest first.
const std::vector<Toolchain>& toolchains();
const Toolchain& toolchain(const std::string& name);
// Their names, for INSTANTIATE_TEST_SUITE_P(..., ::testing::ValuesIn(toolchainNames())).
const std::vector<std::string>& toolchainNames();

// How a fixture is built. Each combination is memoised per toolchain.
struct BuildFlags {
  bool noOpt = false;      // -gcflags=all=-N -l
  bool pie = false;        // -buildmode=pie
  bool stripped = false;   // -ldflags=-s -w (no DWARF, no symbol table)
  std::string experiment;  // GOEXPERIMENT, e.g. "mapsplitgroup" (Go 1.27)
  std::string key() const;
};
// The named variants tests ask for.
inline BuildFlags strippedBuild() { return {.stripped = true}; }
inline BuildFlags noOptBuild() { return {.noOpt = true}; }
inline BuildFlags pieBuild() { return {.pie = true}; }
inline BuildFlags experimentBuild(std::string e) { return {.experiment = std::move(e)}; }

// Builds tests/fixtures/<name> with the toolchain (memoized in the build tree
// per toolchain, flags and a hash of the sources) and returns the binary path.
// Throws std::runtime_error with the compiler output on failure.
std::string buildFixture(const Toolchain& tc, const std::string& name, BuildFlags flags = {});
// The bundled demo (demo/: the LRU cache under load that `make demo` runs), built the same way.
std::string buildDemo(const Toolchain& tc, BuildFlags flags = {});
// Any Go main package at src, cached under name.
std::string buildProgram(const Toolchain& tc, const std::filesystem::path& src,
                         const std::string& name, BuildFlags flags = {});

// A started fixture: waits (bounded) for GMS-READY, parses GMS-TRUTH, and kills
// the process (SIGKILL + waitpid) when destroyed.
class RunningFixture {
 public:
  // readyMarker: what the program prints when ready ("demo: pid N ready" for demo/).
  static std::unique_ptr<RunningFixture> start(const std::string& binary,
                                               const std::vector<std::string>& args = {},
                                               int readyTimeoutSec = 60,
                                               const std::string& readyMarker = "GMS-READY");
  ~RunningFixture();
  int pid() const { return pid_; }
  const nlohmann::json& truth() const { return truth_; }
  bool alive() const;  // still running (not exited/zombie)

  // For fixtures with phases (e.g. diffgrow): writes one line to the
  // fixture's stdin, waits (bounded) for its next GMS-READY and replaces
  // truth() with the GMS-TRUTH printed before it. Throws std::runtime_error
  // on timeout or exit. A fixture's stdin stays open (and empty) until it is
  // advanced or killed.
  void advance(int timeoutSec = 60);

 private:
  // Reads stdout until a GMS-READY after consumed_; parses the last
  // GMS-TRUTH before it.
  void waitReady(int timeoutSec, const std::string& what);

  int pid_ = -1;
  int outFd_ = -1, inFd_ = -1;
  std::string out_;
  size_t consumed_ = 0;
  std::string binary_;
  std::string readyMarker_ = "GMS-READY";
  nlohmann::json truth_;
};

struct CommandResult {
  int exitCode = -1;  // exit status, or 128+signal
  std::string out, err;
};
// Runs a command (argv[0] resolved on PATH) with a timeout, capturing output.
CommandResult runCommand(const std::vector<std::string>& argv, int timeoutSec = 120);
// Runs build/gomemscope with the given arguments.
CommandResult runGomemscope(const std::vector<std::string>& args, int timeoutSec = 120);

// A fresh temporary directory removed at exit of the test binary.
std::string tempDir();

// How a command reaches a running fixture: -p PID (live), or -c CORE -e BIN
// with a core of it that `gomemscope core` writes into tempDir() as
// coreName (throws std::runtime_error when that fails).
struct TargetArgs {
  std::vector<std::string> args;
  // The command with the target after its first word:
  // with({"map", "main.m"}) is {"map", "-p", "42", "main.m"}.
  std::vector<std::string> with(std::vector<std::string> cmd) const;
};
TargetArgs targetArgs(const RunningFixture& f, const std::string& binary, bool live,
                      const std::string& coreName);

// A test case of (toolchain, stripped, live): the fixture built that way and
// started, and the target arguments that reach it (a core written of it when
// not live). Tests skip (GMS_REQUIRE_TOOLCHAIN) before calling it.
using BuildCase = std::tuple<std::string, bool, bool>;
struct StartedFixture {
  std::string binary;
  std::unique_ptr<RunningFixture> proc;
  TargetArgs target;
};
StartedFixture startFixture(const Toolchain& tc, const std::string& fixture, bool stripped,
                            bool live);
// Every toolchain x {DWARF, stripped} x {core, live}, and their gtest names
// ("go1_26_stripped_live").
::testing::internal::ParamGenerator<BuildCase> buildCases();
std::string buildCaseName(const ::testing::TestParamInfo<BuildCase>& i);

// A test case: one toolchain, read live (-p) or from a core (-c/-e).
struct Case {
  std::string toolchain;
  bool live = true;
  BuildFlags flags = {};  // the fixture's build variant
};
// Every toolchain, live then core, default builds.
std::vector<Case> liveAndCoreCases();
std::string caseName(const ::testing::TestParamInfo<Case>& i);

// A gtest parameter name part: '.', '-' and other non-identifier characters
// become '_' ("go1.27" -> "go1_27").
std::string paramName(std::string s);

}  // namespace gms::test

// Skips the current test with a message when the toolchain is not installed.
#define GMS_REQUIRE_TOOLCHAIN(tc) \
  if (!(tc).available)            \
  GTEST_SKIP() << "toolchain " << (tc).name << " not installed: " << (tc).missing
