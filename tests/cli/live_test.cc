// Live targets: info reports what the process itself says; reads stop the
// target only for the read and leave every thread running afterwards;
// --no-stop reads without stopping and says so.
#include <dirent.h>

#include <fstream>
#include <sstream>

#include "support/fixture.h"

namespace gms::test {
namespace {

std::vector<int> tids(int pid) {
  std::vector<int> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') out.push_back(std::stoi(e->d_name));
  closedir(d);
  return out;
}

// The state letter of a thread (R, S, t for traced-stopped, T stopped...).
char threadState(int pid, int tid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  auto p = s.rfind(')');
  return p == std::string::npos || p + 2 >= s.size() ? '?' : s[p + 2];
}

void expectRunning(int pid) {
  for (int t : tids(pid)) {
    char st = threadState(pid, t);
    EXPECT_TRUE(st == 'S' || st == 'R' || st == 'D') << "thread " << t << " state " << st;
  }
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("TracerPid:", 0) == 0) {
      EXPECT_EQ(std::stoi(line.substr(10)), 0) << "still traced";
    }
}

class Live : public ::testing::TestWithParam<std::string> {};

TEST_P(Live, InfoMatchesTheProcess) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  auto r = runGomemscope({"info", "-p", std::to_string(proc->pid()), "--format", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["goVersion"], proc->truth()["go"]);
  EXPECT_EQ(j["mapImpl"], tc.name == "go1.19" ? "classic" : "swiss");
  EXPECT_EQ(j["threads"].get<size_t>(), tids(proc->pid()).size());
  EXPECT_GE(j["goroutines"]["live"].get<int>(), 1);
  EXPECT_TRUE(j["dwarf"].get<bool>());
  EXPECT_EQ(j["mainModule"], "gmsfixture/maps");
  expectRunning(proc->pid());
}

TEST_P(Live, ReadsLeaveTheTargetRunning) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  std::string pid = std::to_string(proc->pid());
  for (auto args : std::vector<std::vector<std::string>>{
           {"map", "-p", pid, "main.MLarge", "--format", "json", "-v"},
           {"print", "-p", pid, "main.Cfg"},
           {"info", "-p", pid}}) {
    auto r = runGomemscope(args);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    expectRunning(proc->pid());
  }
  auto v = runGomemscope({"map", "-p", pid, "main.MStrInt", "-v", "--limit", "1"});
  EXPECT_NE(v.err.find("was stopped for"), std::string::npos) << v.err;
  EXPECT_TRUE(proc->alive());
}

TEST_P(Live, NoStopReadsWithoutStoppingAndWarns) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  auto r = runGomemscope({"map", "-p", std::to_string(proc->pid()), "main.MStrInt", "--no-stop", "--format", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.err.find("may be torn"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["len"], proc->truth()["maps"]["main.MStrInt"]["len"]);
  expectRunning(proc->pid());
}

TEST_P(Live, BucketsViewShowsEveryBucketOrGroup) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  std::string pid = std::to_string(proc->pid());
  auto r = runGomemscope({"map", "-p", pid, "main.MDeleted", "--buckets", "--format", "json", "--limit", "0"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  bool classic = tc.name == "go1.19";
  const auto& recs = j[classic ? "buckets" : "groups"];
  ASSERT_FALSE(recs.empty());
  uint64_t used = 0, empty = 0;
  for (const auto& b : recs) {
    used += b["used"].get<uint64_t>();
    for (const auto& s : b["slots"]) empty += s != "full";
  }
  EXPECT_EQ(used, j["len"].get<uint64_t>());
  EXPECT_GT(empty, 0u);
  if (classic) {
    EXPECT_EQ(recs.size(), j["growth"]["buckets"].get<uint64_t>() + j["growth"]["overflowBuckets"].get<uint64_t>());
  } else {
    EXPECT_EQ(recs.size(), j["growth"]["groups"].get<uint64_t>());
    EXPECT_GT(j["growth"]["tombstones"].get<uint64_t>(), 0u) << "4000 deletes leave tombstones";
  }
  auto text = runGomemscope({"map", "-p", pid, "main.MSmall8", "--buckets"});
  EXPECT_EQ(text.exitCode, 0) << text.err;
  EXPECT_NE(text.out.find(classic ? "buckets (tophash" : "groups (ctrl"), std::string::npos) << text.out;
}

INSTANTIATE_TEST_SUITE_P(Toolchains, Live, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
