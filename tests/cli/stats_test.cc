// `gomemscope stats` agrees with what the program's own runtime.ReadMemStats
// said (plus the known allocations it made after reading), live and from a
// core, under Go 1.19 and Go 1.26; time series come out as JSON lines and CSV.
#include <sstream>

#include "support/fixture.h"

namespace gms::test {
namespace {

class Stats : public ::testing::TestWithParam<std::string> {};

void expectMatchesTruth(const nlohmann::json& got, const nlohmann::json& truth, const std::string& where) {
  SCOPED_TRACE(where);
  const auto& want = truth["MemStats"];
  const auto& after = truth["After"];
  // Exact: nothing after ReadMemStats changes the GC history.
  for (const char* f : {"NumGC", "NumForcedGC", "PauseTotalNs", "LastGC", "EnableGC"}) {
    EXPECT_EQ(got[f], want[f]) << f;
  }
  // Counters: the truth plus the fixture's declared post-read allocations,
  // with a small allowance for runtime-internal allocations after the read.
  auto near = [&](const char* f, uint64_t extra, uint64_t slack) {
    uint64_t g = got[f].get<uint64_t>(), w = want[f].get<uint64_t>() + extra;
    EXPECT_LE(g, w + slack) << f << " got " << g << " want " << w;
    EXPECT_GE(g + slack, w) << f << " got " << g << " want " << w;
  };
  near("Mallocs", after["Mallocs"].get<uint64_t>(), 64);
  near("Frees", after["Frees"].get<uint64_t>(), 64);
  near("TotalAlloc", after["TotalAlloc"].get<uint64_t>(), 64 << 10);
  near("HeapAlloc", after["TotalAlloc"].get<uint64_t>(), 64 << 10);
  near("Sys", 0, 4 << 20);
  near("HeapSys", 0, 4 << 20);
  ASSERT_EQ(got["BySize"].size(), 61u);
  for (size_t i = 0; i < 61; i++) EXPECT_EQ(got["BySize"][i]["Size"], want["BySize"][i]["Size"]) << i;
  EXPECT_TRUE(got.contains("extras"));
}

TEST_P(Stats, LiveAndCoreAgreeWithReadMemStats) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "memstats"), {"-after"});
  std::string pid = std::to_string(proc->pid());
  auto live = runGomemscope({"stats", "-p", pid, "--format", "json"});
  ASSERT_EQ(live.exitCode, 0) << live.err;
  expectMatchesTruth(nlohmann::json::parse(live.out), proc->truth(), "live");
  std::string core = tempDir() + "/stats-" + tc.name + ".core";
  ASSERT_EQ(runGomemscope({"core", "-p", pid, "-o", core}).exitCode, 0);
  auto fromCore = runGomemscope({"stats", "-c", core, "--format", "json"});
  ASSERT_EQ(fromCore.exitCode, 0) << fromCore.err;
  expectMatchesTruth(nlohmann::json::parse(fromCore.out), proc->truth(), "core");
  auto text = runGomemscope({"stats", "-p", pid});
  EXPECT_EQ(text.exitCode, 0) << text.err;
  EXPECT_NE(text.out.find("NumGC " + std::to_string(proc->truth()["MemStats"]["NumGC"].get<int>())),
            std::string::npos)
      << text.out;
  EXPECT_TRUE(proc->alive());
}

TEST_P(Stats, TimeSeriesAsJsonLinesAndCsv) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "memstats"));
  std::string pid = std::to_string(proc->pid());
  auto j = runGomemscope({"stats", "-p", pid, "--every", "200ms", "--for", "600ms", "--format", "json"});
  ASSERT_EQ(j.exitCode, 0) << j.err;
  std::istringstream lines(j.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto o = nlohmann::json::parse(line);
    EXPECT_EQ(o["memstats"]["NumGC"], proc->truth()["MemStats"]["NumGC"]);
    EXPECT_TRUE(o["rates"].contains("allocsPerSecond"));
    n++;
  }
  EXPECT_EQ(n, 4);  // t = 0, 0.2, 0.4, 0.6 s
  auto c = runGomemscope({"stats", "-p", pid, "--every", "100ms", "--for", "100ms", "--format", "csv"});
  ASSERT_EQ(c.exitCode, 0) << c.err;
  EXPECT_EQ(c.out.rfind("time_s,HeapAlloc,", 0), 0u) << c.out;
  EXPECT_EQ(std::count(c.out.begin(), c.out.end(), '\n'), 3);
}

TEST_P(Stats, SeriesNeedALiveProcess) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "memstats"));
  std::string core = tempDir() + "/stats-series-" + tc.name + ".core";
  ASSERT_EQ(runGomemscope({"core", "-p", std::to_string(proc->pid()), "-o", core}).exitCode, 0);
  auto r = runGomemscope({"stats", "-c", core, "--every", "1s"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("live process"), std::string::npos) << r.err;
  auto bad = runGomemscope({"stats", "-p", std::to_string(proc->pid()), "--every", "soon"});
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_NE(bad.err.find("not a duration"), std::string::npos) << bad.err;
}

INSTANTIATE_TEST_SUITE_P(Toolchains, Stats, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
