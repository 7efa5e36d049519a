// `gomemscope core` writes a core that gdb, Delve and gomemscope read, with
// mode 0600, smaller than gdb's gcore for the same process.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/fixture.h"

namespace gms::test {
namespace {

namespace fs = std::filesystem;

bool onPath(const std::string& exe) { return runCommand({"sh", "-c", "command -v " + exe}).exitCode == 0; }

class CoreWriting : public ::testing::TestWithParam<std::string> {};

TEST_P(CoreWriting, ReadableByGdbDelveAndUsAndSmallerThanGcore) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = buildFixture(tc, "maps");
  auto proc = RunningFixture::start(bin);
  std::string pid = std::to_string(proc->pid());
  std::string core = tempDir() + "/cw-" + tc.name + ".core";
  auto r = runGomemscope({"core", "-p", pid, "-o", core, "--format", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.err.find("secrets"), std::string::npos) << r.err;
  auto stats = nlohmann::json::parse(r.out);
  struct stat st;
  ASSERT_EQ(stat(core.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(stats["fileBytes"].get<uint64_t>(), uint64_t(st.st_size));
  EXPECT_TRUE(proc->alive());

  // gomemscope reads it (and finds the executable through the core's notes).
  auto m = runGomemscope({"map", "-c", core, "main.MStrInt", "--format", "json", "--limit", "1"});
  ASSERT_EQ(m.exitCode, 0) << m.err;
  EXPECT_EQ(nlohmann::json::parse(m.out)["len"], proc->truth()["maps"]["main.MStrInt"]["len"]);

  // gdb reads it: every thread, and the same bytes at a global's address.
  if (!onPath("gdb")) GTEST_SKIP() << "gdb not installed";
  auto p = runGomemscope({"print", "-c", core, "main.MIntStr", "--format", "json"});
  ASSERT_EQ(p.exitCode, 0) << p.err;
  std::string addr = nlohmann::json::parse(p.out)["address"];
  auto g = runCommand({"gdb", "-nx", "-batch", "-ex", "info threads", "-ex", "x/1gx " + addr, bin, core}, 120);
  EXPECT_EQ(g.exitCode, 0) << g.err;
  EXPECT_NE(g.out.find("LWP"), std::string::npos) << g.out;
  EXPECT_EQ(g.err.find("Cannot access memory"), std::string::npos) << g.err;
  // The same word gomemscope sees as the map pointer.
  auto mm = nlohmann::json::parse(runGomemscope({"map", "-c", core, "main.MIntStr", "--format", "json"}).out);
  std::string hdr = mm["address"];
  auto colon = g.out.find(">:");
  ASSERT_NE(colon, std::string::npos) << g.out;
  EXPECT_EQ(std::stoull(g.out.substr(colon + 2), nullptr, 16), std::stoull(hdr, nullptr, 16)) << g.out;

  // Smaller than gcore's core of the same process.
  if (onPath("gcore")) {
    std::string gc = tempDir() + "/gcore-" + tc.name;
    auto gr = runCommand({"gcore", "-o", gc, pid}, 300);
    ASSERT_EQ(gr.exitCode, 0) << gr.err;
    uint64_t gsize = fs::file_size(gc + "." + pid);
    EXPECT_LT(uint64_t(st.st_size), gsize);
    fs::remove(gc + "." + pid);
  }
  EXPECT_TRUE(proc->alive());
}

// Every `dlv` there is (on PATH, then Debian's /usr/bin/dlv), each once.
std::vector<std::string> delves() {
  std::vector<std::string> out;
  auto r = runCommand({"sh", "-c", "which -a dlv; ls /usr/bin/dlv 2>/dev/null"});
  std::istringstream is(r.out);
  for (std::string line; std::getline(is, line);) {
    std::error_code ec;
    std::string real = fs::canonical(line, ec).string();
    if (!line.empty() && !ec && std::find(out.begin(), out.end(), real) == out.end())
      out.push_back(real);
  }
  return out;
}

// Delve reads it: with the first Delve here that supports the fixture's Go
// version (a newer Delve refuses Go < 1.25, Debian's knows Go up to 1.20);
// skipped, saying so, when none does.
TEST_P(CoreWriting, ReadableByDelve) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto candidates = delves();
  if (candidates.empty()) GTEST_SKIP() << "no dlv installed (make bench installs Debian's delve)";
  std::string bin = buildFixture(tc, "maps");
  auto proc = RunningFixture::start(bin);
  std::string core = tempDir() + "/dlv-" + tc.name + ".core";
  auto r = runGomemscope({"core", "-p", std::to_string(proc->pid()), "-o", core});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::string init = tempDir() + "/dlv-init";
  std::ofstream(init) << "print len(main.MStrInt)\nexit\n";
  std::string want = std::to_string(proc->truth()["maps"]["main.MStrInt"]["len"].get<int>());
  std::string refused;
  for (const auto& dlv : candidates) {
    auto d = runCommand(
        {dlv, "core", bin, core, "--allow-non-terminal-interactive=true", "--init", init}, 120);
    std::string all = d.out + d.err;
    if (all.find("Go version") != std::string::npos &&
        (all.find("too old") != std::string::npos || all.find("too new") != std::string::npos ||
         all.find("not supported") != std::string::npos)) {
      size_t at = all.rfind('\n', all.find("Go version"));
      at = at == std::string::npos ? 0 : at + 1;
      refused += "\n  " + dlv + ": " + all.substr(at, all.find('\n', at) - at);
      continue;  // this Delve does not know this Go: try the next one
    }
    EXPECT_NE(d.out.find(want), std::string::npos) << dlv << ": " << d.out << d.err;
    return;
  }
  GTEST_SKIP() << "no Delve here supports " << tc.name << ":" << refused;
}

INSTANTIATE_TEST_SUITE_P(Toolchains, CoreWriting, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
