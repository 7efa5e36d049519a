// `gomemscope trace growth|writers|removed` against fixtures that wait for
// the tracer (stdin line) and then do what is traced, under Go 1.19 (classic
// maps: hashGrow) and Go 1.26 (Swiss maps: growToTable, table grow/split):
//   - growth: per map, exactly the growths the fixture counted on its own
//     header, from the fixture's fill function, each with a measured end; the
//     untouched map is not reported; SIGKILL of the tracer leaves the fixture
//     alive, untraced and able to grow its maps (no armed breakpoint left);
//   - removed: the planted use of a removed list element, with the remove and
//     use sites the fixture printed (function and line); exit 1;
//   - writers: the planted concurrent write, two distinct goroutines in the
//     fixture's two writer functions; exit 1 (the fixture then usually dies
//     of Go's own "concurrent map writes": its bug, asserted after our report).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "support/background.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

class Trace : public ::testing::TestWithParam<std::string> {};

std::set<int> tasksOf(int pid) {
  std::set<int> out;
  if (DIR* d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.insert(std::atoi(e->d_name));
    closedir(d);
  }
  return out;
}

std::string tracerOf(int pid, int tid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("TracerPid:", 0) == 0) {
      auto v = line.substr(10);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

bool anyTraced(int pid) {
  for (int t : tasksOf(pid))
    if (tracerOf(pid, t) != "0" && !tracerOf(pid, t).empty()) return true;
  return false;
}

void expectFreeAndAlive(const RunningFixture& fx) {
  ASSERT_TRUE(fx.alive());
  for (int t : tasksOf(fx.pid())) EXPECT_EQ(tracerOf(fx.pid(), t), "0") << "thread " << t;
}

std::vector<nlohmann::json> events(const Background& bg, const std::string& kind) {
  std::vector<nlohmann::json> out;
  for (const auto& l : bg.split()) {
    auto j = nlohmann::json::parse(l);
    if (j["event"] == kind) out.push_back(j);
  }
  return out;
}

// Starts the tracer and waits for its "ready" line (every thread armed).
std::unique_ptr<Background> startTracer(const RunningFixture& fx,
                                        const std::vector<std::string>& what) {
  std::vector<std::string> args = {"trace"};
  args.insert(args.end(), what.begin(), what.end());
  args.insert(args.end(), {"-p", std::to_string(fx.pid()), "--format", "jsonl"});
  auto bg = std::make_unique<Background>(args);
  auto ls = bg->lines(1);
  EXPECT_FALSE(ls.empty()) << "the tracer printed nothing";
  if (!ls.empty()) {
    EXPECT_EQ(nlohmann::json::parse(ls[0])["event"], "ready") << ls[0];
  }
  return bg;
}

// Growths seen against the fixture's own count, per map; `flags` picks the
// build (stripped: functions from the pclntab, types from the descriptors).
void expectExactGrowths(const Toolchain& tc, BuildFlags flags) {
  auto fx = RunningFixture::start(buildFixture(tc, "growth", flags));
  std::string idle = fx->truth()["maps"]["main.Idle"];
  auto bg = startTracer(*fx, {"growth"});
  fx->advance();
  const auto& truth = fx->truth();
  ASSERT_EQ(truth["phase"], "done");
  EXPECT_EQ(bg->interruptAndWait(), 0);

  std::map<std::string, int> growths;  // map address -> growths seen
  std::map<std::string, std::set<std::string>> sites;
  std::map<int64_t, std::string> idToMap;
  for (const auto& g : events(*bg, "grow")) {
    std::string m = g["map"];
    growths[m]++;
    idToMap[g["id"].get<int64_t>()] = m;
    sites[m].insert(g["site"].is_null() ? "?" : g["site"]["function"].get<std::string>());
    EXPECT_EQ(g["kind"], tc.name == "go1.19" ? "hashGrow" : g["kind"]) << g.dump();
  }
  std::map<std::string, int> ended;
  for (const auto& e : events(*bg, "growEnd")) {
    EXPECT_GT(e["durationNs"].get<int64_t>(), 0);
    ended[e["map"]]++;
  }
  for (const auto& [name, m] : truth["maps"].items()) {
    std::string hdr = m["header"];
    EXPECT_EQ(growths[hdr], m["growths"].get<int>()) << name << " at " << hdr;
    EXPECT_EQ(sites[hdr], std::set<std::string>{m["site"].get<std::string>()}) << name;
    EXPECT_EQ(ended[hdr], m["growths"].get<int>()) << name << ": every growth's end measured";
  }
  EXPECT_EQ(growths.count(idle), 0u) << "main.Idle never grows";
  expectFreeAndAlive(*fx);
}

TEST_P(Trace, GrowthReportsExactlyTheFixturesGrowths) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  expectExactGrowths(tc, {});
}

// -ldflags='-s -w': no symbols, no DWARF; the same growths, sites and ends.
TEST_P(Trace, GrowthOnAStrippedBinary) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  expectExactGrowths(tc, strippedBuild());
}

TEST_P(Trace, SigkillOfTracerLeavesGrowthFixtureAlive) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto fx = RunningFixture::start(buildFixture(tc, "growth"));
  auto bg = startTracer(*fx, {"growth"});
  kill(bg->pid, SIGKILL);
  waitpid(bg->pid, nullptr, 0);
  bg->pid = -1;
  // The keeper disarms and detaches once it sees gomemscope gone (bounded
  // wait: it only limits how long a failure takes).
  for (int i = 0; i < 100 && anyTraced(fx->pid()); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  expectFreeAndAlive(*fx);
  // Growing now runs through every breakpointed runtime function: an armed
  // breakpoint left behind would kill the fixture with SIGTRAP.
  fx->advance();
  EXPECT_EQ(fx->truth()["phase"], "done");
  EXPECT_GT(fx->truth()["maps"]["main.A"]["growths"].get<int>(), 5);
  expectFreeAndAlive(*fx);
}

// list.Remove is inlined into the caller; with the inline tree expanded the
// site is the caller's own line (the container/list frames come before it).
void expectRemoveLine(const nlohmann::json& site, const nlohmann::json& truth) {
  EXPECT_EQ(site["file"], truth["useFile"]) << site.dump();
  EXPECT_EQ(site["line"], truth["removeLine"]) << site.dump();
}

// The list by name, or on a stripped build (no names) by the address the
// fixture prints, typed from the type descriptors.
void expectRemovedUse(const Toolchain& tc, BuildFlags flags) {
  auto fx = RunningFixture::start(buildFixture(tc, "removed", flags));
  std::vector<std::string> what = {"removed", "main.L"};
  if (flags.stripped) what = {"removed", fx->truth()["addr"], "--type", "container/list.List"};
  auto bg = startTracer(*fx, what);
  fx->advance();
  const auto& truth = fx->truth();
  ASSERT_EQ(truth["phase"], "done");
  EXPECT_EQ(bg->interruptAndWait(), 1) << "a use after removal is a fault: exit 1";

  auto removes = events(*bg, "remove");
  ASSERT_EQ(removes.size(), truth["removals"].get<size_t>());
  for (const auto& r : removes) {
    ASSERT_FALSE(r["removeSite"].is_null()) << r.dump();
    EXPECT_EQ(r["removeSite"]["function"], truth["removeFunction"]);
    expectRemoveLine(r["removeSite"], truth);
  }
  EXPECT_EQ(removes.back()["element"], truth["element"]);
  auto uses = events(*bg, "useAfterRemove");
  ASSERT_EQ(uses.size(), 1u) << bg->buf;
  const auto& u = uses[0];
  EXPECT_EQ(u["element"], truth["element"]);
  EXPECT_EQ(u["id"], removes.back()["id"]);
  EXPECT_EQ(u["useSite"]["function"], truth["useFunction"]);
  EXPECT_EQ(u["useSite"]["file"], truth["useFile"]);
  EXPECT_EQ(u["useSite"]["line"], truth["useLine"]);
  EXPECT_EQ(u["removeSite"]["function"], truth["removeFunction"]);
  expectRemoveLine(u["removeSite"], truth);
  expectFreeAndAlive(*fx);
}

TEST_P(Trace, RemovedElementUseIsReportedWithBothSites) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  expectRemovedUse(tc, {});
}

TEST_P(Trace, RemovedElementUseOnAStrippedBinary) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  expectRemovedUse(tc, strippedBuild());
}

void expectConcurrentWriters(const Toolchain& tc, BuildFlags flags) {
  // The Go runtime detects the same race itself (a writer that reads
  // hashWriting set throws "concurrent map writes"): a read the debug
  // registers do not trap on, so it can win, and the fixture dies before
  // the tracer has seen both writers. Then the run says so (processExited,
  // no report) and is repeated, at most three times in all.
  std::unique_ptr<RunningFixture> fx;
  std::unique_ptr<Background> bg;
  for (int attempt = 0; attempt < 3; attempt++) {
    fx = RunningFixture::start(buildFixture(tc, "writers", flags));
    std::vector<std::string> what = {"writers", "main.W"};
    if (flags.stripped) what = {"writers", fx->truth()["addr"], "--type", "map[int]int"};
    bg = startTracer(*fx, what);
    fx->advance();
    ASSERT_EQ(fx->truth()["phase"], "done");
    // The racing writers start after the truth: wait (bounded) for a report.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (events(*bg, "concurrentWrite").empty() && std::chrono::steady_clock::now() < deadline)
      bg->lines(bg->split().size() + 1);
    if (!events(*bg, "concurrentWrite").empty()) break;
    int rc = bg->interruptAndWait();
    auto ends = events(*bg, "end");
    bool goWon = !ends.empty() && ends.back().value("processExited", false);
    ASSERT_TRUE(goWon) << "no report, and the fixture did not die of Go's own check (exit " << rc
                       << "):\n"
                       << bg->buf;
    std::cerr << "attempt " << attempt + 1 << ": Go's own check threw first; again\n";
  }
  ASSERT_FALSE(events(*bg, "concurrentWrite").empty())
      << "Go's own check threw first in every attempt:\n"
      << bg->buf;
  const auto& truth = fx->truth();
  EXPECT_EQ(bg->interruptAndWait(), 1) << "a concurrent write is a fault: exit 1";
  auto ov = events(*bg, "concurrentWrite");
  ASSERT_FALSE(ov.empty()) << bg->buf;
  std::set<std::string> fns(truth["functions"].begin(), truth["functions"].end());
  const auto& o = ov[0];
  EXPECT_EQ(o["map"], truth["header"]);
  EXPECT_GE(o["goid"].get<int64_t>(), 1);
  EXPECT_GE(o["otherGoid"].get<int64_t>(), 1);
  EXPECT_NE(o["goid"], o["otherGoid"]);
  ASSERT_FALSE(o["site"].is_null());
  ASSERT_FALSE(o["otherSite"].is_null());
  std::set<std::string> seen = {o["site"]["function"], o["otherSite"]["function"]};
  EXPECT_EQ(seen, fns) << o.dump();
  // The fixture is then free of us: alive, or dead (or dying) by Go's own
  // fatal error — a thread that vanished between the listing and the read of
  // its status (empty) is traced by nobody.
  for (int t : tasksOf(fx->pid())) {
    std::string tp = tracerOf(fx->pid(), t);
    EXPECT_TRUE(tp == "0" || tp.empty()) << "thread " << t << " traced by " << tp;
  }
}

TEST_P(Trace, ConcurrentWritersAreCaughtWithBothGoroutines) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  expectConcurrentWriters(tc, {});
}

TEST_P(Trace, ConcurrentWritersOnAStrippedBinary) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  expectConcurrentWriters(tc, strippedBuild());
}

// The same two writers under a mutex, and two readers ranging over the map
// at once under its read lock: a correct program, in which the tracer sees
// thousands of writes of the flag (and, Go <= 1.23, both readers setting the
// iterator bits at the same moment) and reports nothing.
TEST_P(Trace, LockedWritersAndConcurrentReadersAreNotReported) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto fx = RunningFixture::start(buildFixture(tc, "writers"), {"-locked"});
  std::string pid = std::to_string(fx->pid());
  auto bg = startTracer(*fx, {"writers", "main.W"});
  fx->advance();
  ASSERT_EQ(fx->truth()["phase"], "done");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(bg->interruptAndWait(), 0) << bg->buf;
  EXPECT_TRUE(events(*bg, "concurrentWrite").empty()) << bg->buf;
  auto ends = events(*bg, "end");
  ASSERT_EQ(ends.size(), 1u) << bg->buf;
  EXPECT_GT(ends[0]["writes"].get<int64_t>(), 10) << ends[0].dump();
  EXPECT_TRUE(fx->alive());
  expectFreeAndAlive(*fx);
}

TEST_P(Trace, Refusals) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto fx = RunningFixture::start(buildFixture(tc, "removed"));
  std::string pid = std::to_string(fx->pid());
  for (auto args :
       std::vector<std::vector<std::string>>{{"trace", "removed", "-p", pid, "main.sink"},
                                             {"trace", "writers", "-p", pid, "main.L"},
                                             {"trace", "growth", "-p", pid, "main.L"},
                                             {"trace", "removed", "-p", pid, "main.nosuch"},
                                             {"trace", "growth", "--core", "/nonexistent"}}) {
    auto r = runGomemscope(args);
    EXPECT_EQ(r.exitCode, 2) << args[1] << " " << args.back() << ": " << r.err;
    EXPECT_EQ(r.err.rfind("gomemscope: ", 0), 0u) << r.err;
    // One message line (a command-line syntax error adds a --help hint).
    EXPECT_EQ(r.err.find("gomemscope: ", 1), std::string::npos) << r.err;
  }
  expectFreeAndAlive(*fx);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, Trace, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
