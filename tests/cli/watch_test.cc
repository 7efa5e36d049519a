// `gomemscope watch` against the watch fixture (insertOne adds one key to the
// global map main.M every 20 ms), under Go 1.19 (classic: count) and Go 1.26
// (Swiss: used): consecutive counts, the fixture's own function and line as
// the write site; SIGKILL or SIGINT of the watcher leaves the fixture running,
// untraced and still inserting; refusals are one line with exit 2.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "support/background.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

class Watch : public ::testing::TestWithParam<std::string> {};

std::string countField(const std::string& tc) { return tc == "go1.19" ? "count" : "used"; }

std::set<int> tasksOf(int pid) {
  std::set<int> out;
  if (DIR* d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.insert(std::atoi(e->d_name));
    closedir(d);
  }
  return out;
}

std::string statusField(int pid, int tid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0) {
      auto v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

// The fixture is alive and no thread of it is traced.
void expectFreeAndAlive(const RunningFixture& fx) {
  ASSERT_TRUE(fx.alive());
  for (int t : tasksOf(fx.pid()))
    EXPECT_EQ(statusField(fx.pid(), t, "TracerPid"), "0") << "thread " << t;
}

uint64_t mapLen(const RunningFixture& fx) {
  auto r = runGomemscope(
      {"map", "-p", std::to_string(fx.pid()), "main.M", "--format", "json", "--limit", "1"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  return nlohmann::json::parse(r.out)["len"].get<uint64_t>();
}

// The map keeps growing: at least one insert within a bounded wait (inserts
// come every 20 ms; the bound only limits how long a failure takes).
void expectProgress(const RunningFixture& fx) {
  uint64_t before = mapLen(fx);
  uint64_t after = before;
  for (int i = 0; i < 50 && after == before; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = mapLen(fx);
  }
  EXPECT_GT(after, before) << "the fixture stopped inserting";
  expectFreeAndAlive(fx);
}

// --field len (and count, used) is the map's length on either implementation:
// the README's `watch main.sessions --field count` works on Swiss maps too.
TEST_P(Watch, LenFieldIsTheLengthOnEveryImplementation) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto fx = RunningFixture::start(buildFixture(tc, "watch"));
  for (const char* name : {"len", "count", "used"}) {
    SCOPED_TRACE(name);
    auto r = runGomemscope({"watch", "-p", std::to_string(fx->pid()), "main.M", "--field", name,
                            "--count", "3", "--format", "jsonl"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::istringstream is(r.out);
    std::string line;
    int n = 0;
    while (std::getline(is, line)) {
      auto e = nlohmann::json::parse(line);
      EXPECT_EQ(e["field"], "main.M." + countField(GetParam()));
      EXPECT_EQ(e["new"].get<uint64_t>(), e["old"].get<uint64_t>() + 1);
      n++;
    }
    EXPECT_EQ(n, 3) << r.out;
  }
  expectFreeAndAlive(*fx);
}

// main.M by name, or on a stripped build by its header's address typed from
// the type descriptors: the same twenty events with the same sites.
void expectTwentyCounts(const Toolchain& tc, BuildFlags flags) {
  auto fx = RunningFixture::start(buildFixture(tc, "watch", flags));
  const auto& truth = fx->truth();
  std::string expr = flags.stripped ? truth["header"].get<std::string>() : "main.M";
  std::vector<std::string> args = {"watch",   "-p",      std::to_string(fx->pid()),
                                   expr,      "--field", countField(tc.name),
                                   "--count", "20",      "--format",
                                   "jsonl"};
  if (flags.stripped) args.insert(args.end(), {"--type", "map[int]int"});
  auto r = runGomemscope(args, 120);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::istringstream is(r.out);
  std::string line;
  std::vector<nlohmann::json> ev;
  while (std::getline(is, line)) ev.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(ev.size(), 20u) << r.out;
  std::set<int> tasks = tasksOf(fx->pid());
  for (size_t i = 0; i < ev.size(); i++) {
    SCOPED_TRACE("event " + std::to_string(i));
    const auto& e = ev[i];
    EXPECT_EQ(e["field"], expr + "." + countField(tc.name));
    EXPECT_EQ(e["new"].get<uint64_t>(), e["old"].get<uint64_t>() + 1);
    if (i) {
      EXPECT_EQ(e["old"], ev[i - 1]["new"]);
    }
    EXPECT_GT(e["goid"].get<int64_t>(), 0);
    EXPECT_TRUE(tasks.count(e["tid"].get<int>())) << e["tid"];
    EXPECT_TRUE(e["time"].is_string());
    const auto& frames = e["frames"];
    ASSERT_GE(frames.size(), 2u);
    // Innermost first: the runtime's map assignment, then the user's write site.
    size_t site = 0;
    while (site < frames.size() &&
           (frames[site]["function"].get<std::string>().rfind("runtime.", 0) == 0 ||
            frames[site]["function"].get<std::string>().rfind("internal/runtime/", 0) == 0))
      site++;
    ASSERT_GT(site, 0u) << "innermost frame should be the runtime's map code";
    ASSERT_LT(site, frames.size());
    EXPECT_EQ(frames[site]["function"], truth["function"]);
    EXPECT_EQ(frames[site]["file"], truth["file"]);
    EXPECT_EQ(frames[site]["line"], truth["line"]);
    for (const char* k : {"function", "file", "line"})
      EXPECT_EQ(e["writeSite"][k], frames[site][k]) << k;
    EXPECT_EQ(frames[site + 1]["function"], "main.main.func1");
  }
  EXPECT_NE(r.err.find("20 events"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 distinct"), std::string::npos) << r.err;
  expectFreeAndAlive(*fx);
  if (!flags.stripped) expectProgress(*fx);  // it reads main.M by name
}

TEST_P(Watch, TwentyConsecutiveCountsFromInsertOne) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  expectTwentyCounts(tc, {});
}

TEST_P(Watch, TwentyConsecutiveCountsOnAStrippedBinary) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  expectTwentyCounts(tc, strippedBuild());
}

TEST_P(Watch, DefaultHeaderFieldsInText) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto fx = RunningFixture::start(buildFixture(tc, "watch"));
  auto r =
      runGomemscope({"watch", "-p", std::to_string(fx->pid()), "main.M", "--count", "3", "-v"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find(" tid "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("at main.insertOne ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("> main.insertOne"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("watch summary: 3 events"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find(GetParam() == "go1.19"
                           ? "main.M.count, main.M.B, main.M.buckets, main.M.oldbuckets"
                           : "main.M.used, main.M.dirPtr, main.M.dirLen"),
            std::string::npos)
      << r.err;
  // A list: its len and root.next.
  auto l = runGomemscope(
      {"watch", "-p", std::to_string(fx->pid()), "main.Q", "--count", "2", "--format", "jsonl"});
  ASSERT_EQ(l.exitCode, 0) << l.err;
  EXPECT_NE(l.out.find("\"field\":\"main.Q.len\""), std::string::npos) << l.out;
  expectFreeAndAlive(*fx);
}

TEST_P(Watch, SigkillOfWatcherLeavesTargetRunning) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto fx = RunningFixture::start(buildFixture(tc, "watch"));
  {
    Background w({"watch", "-p", std::to_string(fx->pid()), "main.M", "--field",
                  countField(GetParam()), "--format", "jsonl"});
    auto ls = w.lines(3);
    ASSERT_GE(ls.size(), 3u) << "no events from the watcher";
    kill(w.pid, SIGKILL);
    EXPECT_EQ(w.wait(), 128 + SIGKILL);
  }
  // The keeper notices its parent is gone and disarms; give it up to 2 s.
  bool untraced = false;
  for (int i = 0; i < 40 && !untraced; i++) {
    untraced = true;
    for (int t : tasksOf(fx->pid()))
      untraced = untraced && statusField(fx->pid(), t, "TracerPid") == "0";
    if (!untraced) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(untraced);
  expectFreeAndAlive(*fx);
  // Still inserting (and still alive: an armed debug register would kill it with SIGTRAP).
  expectProgress(*fx);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  expectProgress(*fx);
}

TEST_P(Watch, SigintPrintsSummaryAndDetaches) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto fx = RunningFixture::start(buildFixture(tc, "watch"));
  Background w(
      {"watch", "-p", std::to_string(fx->pid()), "main.M", "--field", countField(GetParam())});
  auto ls = w.lines(2);
  ASSERT_GE(ls.size(), 2u);
  kill(w.pid, SIGINT);
  auto all = w.lines(1000);  // until EOF
  EXPECT_EQ(w.wait(), 0);
  bool summary = false;
  for (const auto& l : all) summary = summary || l.rfind("watch summary: ", 0) == 0;
  EXPECT_TRUE(summary) << w.buf;
  expectFreeAndAlive(*fx);
  expectProgress(*fx);
}

// A watchpoint trap whose DR6 the hypervisor lost arrives as SIGTRAP with
// si_code TRAP_BRKPT (Linux takes it for an ICEBP); passed on, it kills the Go
// program. The fixture produces exactly that: a store the watchpoint does not
// see (the kernel writes W) followed by ICEBP. The watcher must swallow each
// trap and name the changed field by value.
TEST_P(Watch, TrapWithAnEmptyDr6IsOursAndFoundByValue) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto fx = RunningFixture::start(buildFixture(tc, "dr6lost"));
  Background w({"watch", "-p", std::to_string(fx->pid()), "main.W"});
  ASSERT_GE(w.lines(3).size(), 3u) << "no ordinary events: the watch is not armed";
  fx->advance();  // ten kernel stores, each followed by an ICEBP
  const auto& truth = fx->truth();
  uint64_t first = truth["first"].get<uint64_t>(), last = truth["last"].get<uint64_t>();
  int rounds = truth["rounds"].get<int>();
  ASSERT_EQ(last, first + uint64_t(rounds));
  kill(w.pid, SIGINT);
  auto all = w.lines(100000);  // until EOF
  EXPECT_EQ(w.wait(), 0) << w.buf;
  for (uint64_t v = first; v < last; v++) {
    std::string ev = "main.W " + std::to_string(v) + " \u2192 " + std::to_string(v + 1) + " ";
    size_t n = 0;
    for (const auto& l : all)
      if (l.find(ev) != std::string::npos && l.find(" at main.icebp (") != std::string::npos) n++;
    EXPECT_EQ(n, 1u) << ev << " in:\n" << w.buf;
  }
  EXPECT_NE(w.buf.find("traps with an empty DR6: " + std::to_string(rounds) + " "),
            std::string::npos)
      << w.buf;
  expectFreeAndAlive(*fx);
}

TEST_P(Watch, Refusals) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = buildFixture(tc, "watch");
  auto fx = RunningFixture::start(bin);
  std::string pid = std::to_string(fx->pid());
  auto oneLine = [](const CommandResult& r, const std::string& want) {
    EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("gomemscope: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
  };
  oneLine(runGomemscope({"watch", "-c", "/nonexistent.core", "-e", bin, "main.M"}), "live process");
  oneLine(runGomemscope({"watch", "-p", pid, "main.M", "--field", "count", "--field", "B",
                         "--field", "buckets", "--field", "oldbuckets", "--field", "flags"}),
          GetParam() == "go1.19" ? "4 debug registers" : "has no field");
  if (GetParam() == "go1.19")
    oneLine(runGomemscope({"watch", "-p", pid, "main.M", "--field", "count", "--field", "B",
                           "--field", "buckets", "--field", "oldbuckets", "--field", "flags"}),
            "5 fields");
  else
    oneLine(runGomemscope({"watch", "-p", pid, "main.M", "--field", "used", "--field", "seed",
                           "--field", "dirPtr", "--field", "dirLen", "--field", "globalDepth"}),
            "5 fields");
  oneLine(runGomemscope({"watch", "-p", "999999999", "main.M"}), "999999999");
  oneLine(runGomemscope({"watch", "-p", pid, "main.siteFile"}), "1/2/4/8-byte word");
  {
    // Already traced: a second watch on the same process.
    Background first({"watch", "-p", pid, "main.M", "--format", "jsonl"});
    ASSERT_GE(first.lines(1).size(), 1u);
    oneLine(runGomemscope({"watch", "-p", pid, "main.M"}), "already traced by pid");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  expectFreeAndAlive(*fx);
  expectProgress(*fx);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, Watch, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
