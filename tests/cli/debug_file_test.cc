// --debug-file end to end: a stripped fixture (strip of the plain build, as a
// release pipeline makes it) runs, and every map decodes by name with the
// DWARF of its objcopy --only-keep-debug file, as exactly as with DWARF in
// the binary; stats and info work; a debug file of another build is refused
// with one line and exit 2. Each toolchain.
#include <filesystem>

#include "support/fixture.h"
#include "support/json_compare.h"

namespace gms::test {
namespace {

namespace fs = std::filesystem;

class CliDebugFile : public ::testing::TestWithParam<std::string> {};

TEST_P(CliDebugFile, StrippedLiveProcessDecodesByNameWithTheSplitDebugInfo) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string dir = tempDir() + "/cli-" + GetParam();
  fs::create_directories(dir);
  std::string plain = dir + "/maps", debug = dir + "/maps.debug", stripped = dir + "/maps.stripped";
  fs::copy_file(buildFixture(tc, "maps"), plain, fs::copy_options::overwrite_existing);
  ASSERT_EQ(runCommand({"objcopy", "--only-keep-debug", plain, debug}).exitCode, 0);
  ASSERT_EQ(runCommand({"strip", "-o", stripped, plain}).exitCode, 0);
  auto p = RunningFixture::start(stripped);
  std::string pid = std::to_string(p->pid());

  auto info = runGomemscope({"info", "-p", pid, "--debug-file", debug, "--format", "json"});
  ASSERT_EQ(info.exitCode, 0) << info.err;
  auto ij = nlohmann::json::parse(info.out);
  EXPECT_EQ(ij["dwarf"], true);
  EXPECT_EQ(ij["typeSource"], "DWARF");
  EXPECT_EQ(ij["debugFile"], debug);
  EXPECT_GT(ij["goroutines"]["total"].get<int>(), 0) << info.out;

  const auto& truth = p->truth();
  ASSERT_TRUE(truth.contains("maps"));
  for (auto it = truth["maps"].begin(); it != truth["maps"].end(); ++it) {
    SCOPED_TRACE(it.key());
    auto r = runGomemscope({"map", "-p", pid, it.key(), "--debug-file", debug, "--format", "json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    auto got = nlohmann::json::parse(r.out);
    if (it.value().value("nil", false)) {
      EXPECT_TRUE(got["nil"].get<bool>());
      continue;
    }
    EXPECT_EQ(got["len"], it.value()["len"]);
    std::string d = jsonDiff(got["entries"], it.value()["entries"], it.key());
    EXPECT_TRUE(d.empty()) << d;
  }
  auto stats = runGomemscope({"stats", "-p", pid, "--debug-file", debug, "--format", "json"});
  ASSERT_EQ(stats.exitCode, 0) << stats.err;
  EXPECT_GT(nlohmann::json::parse(stats.out)["HeapAlloc"].get<uint64_t>(), 0u);

  // Without it, by name is refused; with another build's, too.
  auto bare = runGomemscope({"map", "-p", pid, "main.MStrInt"});
  EXPECT_EQ(bare.exitCode, 2);
  auto other =
      runGomemscope({"map", "-p", pid, "main.MStrInt", "--debug-file", buildFixture(tc, "lists")});
  EXPECT_EQ(other.exitCode, 2);
  EXPECT_NE(other.err.find("does not match"), std::string::npos) << other.err;
  EXPECT_EQ(std::count(other.err.begin(), other.err.end(), '\n'), 1) << other.err;
}

INSTANTIATE_TEST_SUITE_P(Toolchains, CliDebugFile, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
