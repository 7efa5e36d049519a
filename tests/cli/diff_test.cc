// `gomemscope diff` on the diffgrow fixture: cores taken before and after it
// grows main.growing (1000 -> 50000) and deletes 4000 keys from
// main.shrinking name exactly those two maps with the fixture's own deltas,
// under Go 1.19 (classic maps) and Go 1.26 (Swiss maps); the same against
// the live process; and bad input fails with one line and exit 2.
#include <algorithm>
#include <set>

#include "cli/session.h"
#include "goruntime/discover.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

class Diff : public ::testing::TestWithParam<std::string> {};

int64_t lenOf(const nlohmann::json& truth, const std::string& what, const std::string& name) {
  return truth[what][name]["len"].get<int64_t>();
}

const nlohmann::json* item(const nlohmann::json& d, const std::string& path) {
  for (const auto& m : d["maps"])
    if (m["path"] == path) return &m;
  return nullptr;
}

// Checks a diff of phase 1 (before) against phase 2 (after).
void expectGrowShrink(const nlohmann::json& d, const nlohmann::json& t1, const nlohmann::json& t2,
                      const std::string& where) {
  SCOPED_TRACE(where);
  // Exactly the two maps the fixture changed, among the program's own.
  std::set<std::string> changed;
  for (const auto& m : d["maps"]) {
    std::string path = m["path"];
    if (path.rfind("main.", 0) == 0 && m["status"] != "unchanged") changed.insert(path);
  }
  EXPECT_EQ(changed, (std::set<std::string>{"main.growing", "main.shrinking"}));
  for (const char* name : {"main.growing", "main.shrinking", "main.steady"}) {
    const auto* m = item(d, name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_EQ((*m)["kind"], "map");
    EXPECT_EQ((*m)["matchedBy"], "path");
    EXPECT_EQ((*m)["len"]["before"].get<int64_t>(), lenOf(t1, "maps", name)) << name;
    EXPECT_EQ((*m)["len"]["after"].get<int64_t>(), lenOf(t2, "maps", name)) << name;
    EXPECT_EQ((*m)["len"]["delta"].get<int64_t>(),
              lenOf(t2, "maps", name) - lenOf(t1, "maps", name))
        << name;
  }
  const auto& g = *item(d, "main.growing");
  EXPECT_EQ(g["status"], "grown");
  EXPECT_EQ(g["len"]["delta"], 49000);
  EXPECT_EQ(g["type"], "map[int]string");
  EXPECT_GT(g["footprint"]["delta"].get<int64_t>(), 0);
  EXPECT_GT(g["pagesChanged"].get<int64_t>(), 0);
  const auto& s = *item(d, "main.shrinking");
  EXPECT_EQ(s["status"], "shrunk");
  EXPECT_EQ(s["len"]["delta"], -4000);
  // Deleting frees no buckets: the footprint stays, and the map's own pages
  // (emptied slots, tombstones) changed while it kept them.
  EXPECT_EQ(s["footprint"]["delta"], 0);
  EXPECT_GT(s["pagesRetainedChanged"].get<int64_t>(), 0);
  EXPECT_EQ((*item(d, "main.steady"))["status"], "unchanged");
  const auto* q = item(d, "main.queue");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ((*q)["kind"], "list");
  EXPECT_EQ((*q)["status"], "unchanged");
  EXPECT_EQ((*q)["len"]["after"].get<int64_t>(), lenOf(t2, "lists", "main.queue"));
  // MemStats: the fixture allocated between the snapshots.
  ASSERT_TRUE(d["memstats"].is_object()) << d.value("memstatsError", "");
  EXPECT_GT(d["memstats"]["Mallocs"]["delta"].get<int64_t>(), 0);
  // Near the fixture's own ReadMemStats delta: each snapshot also counts the
  // few allocations the fixture made printing its truth after reading.
  int64_t want =
      t2["MemStats"]["Mallocs"].get<int64_t>() - t1["MemStats"]["Mallocs"].get<int64_t>();
  EXPECT_NEAR(double(d["memstats"]["Mallocs"]["delta"].get<int64_t>()), double(want), 1000.0);
  EXPECT_GT(d["memstats"]["TotalAlloc"]["delta"].get<int64_t>(), 0);
  // Pages: compared, some changed, and the maps own a share of them.
  ASSERT_TRUE(d["pages"].is_object());
  EXPECT_GT(d["pages"]["compared"].get<int64_t>(), 0);
  EXPECT_GT(d["pages"]["changed"].get<int64_t>() + d["pages"]["added"].get<int64_t>(), 0);
  EXPECT_GT(d["pages"]["attributed"]["maps"].get<int64_t>(), 0);
  const auto& a = d["pages"]["attributed"];
  EXPECT_EQ(a["maps"].get<int64_t>() + a["lists"].get<int64_t>() + a["stacks"].get<int64_t>() +
                a["globals"].get<int64_t>() + a["otherHeap"].get<int64_t>() +
                a["other"].get<int64_t>(),
            d["pages"]["changed"].get<int64_t>() + d["pages"]["added"].get<int64_t>() +
                d["pages"]["removed"].get<int64_t>());
}

TEST_P(Diff, TwoCoresNameTheGrownAndTheShrunkMap) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "diffgrow"));
  std::string pid = std::to_string(proc->pid());
  nlohmann::json t1 = proc->truth();
  ASSERT_EQ(t1["phase"], 1);
  std::string a = tempDir() + "/diff-a-" + tc.name + ".core",
              b = tempDir() + "/diff-b-" + tc.name + ".core";
  auto ca = runGomemscope({"core", "-p", pid, "-o", a});
  ASSERT_EQ(ca.exitCode, 0) << ca.err;
  proc->advance();
  nlohmann::json t2 = proc->truth();
  ASSERT_EQ(t2["phase"], 2);
  ASSERT_EQ(lenOf(t2, "maps", "main.growing"), 50000);
  auto cb = runGomemscope({"core", "-p", pid, "-o", b});
  ASSERT_EQ(cb.exitCode, 0) << cb.err;

  auto j = runGomemscope({"diff", a, b, "--format", "json"});
  ASSERT_EQ(j.exitCode, 0) << j.err;
  expectGrowShrink(nlohmann::json::parse(j.out), t1, t2, "core vs core");

  // Text: the changed maps in a table, biggest footprint change first;
  // unchanged ones only with --all.
  auto t = runGomemscope({"diff", a, b});
  ASSERT_EQ(t.exitCode, 0) << t.err;
  auto g = t.out.find("main.growing"), s = t.out.find("main.shrinking");
  ASSERT_NE(g, std::string::npos) << t.out;
  ASSERT_NE(s, std::string::npos) << t.out;
  EXPECT_LT(g, s) << t.out;
  EXPECT_NE(t.out.find("(+49000)"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("(-4000)"), std::string::npos) << t.out;
  EXPECT_EQ(t.out.find("main.steady"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("Mallocs"), std::string::npos) << t.out;
  auto all = runGomemscope({"diff", a, b, "--all", "-e", buildFixture(tc, "diffgrow")});
  ASSERT_EQ(all.exitCode, 0) << all.err;
  EXPECT_NE(all.out.find("main.steady"), std::string::npos) << all.out;

  // Reversed: the same maps, opposite deltas.
  auto r = runGomemscope({"diff", b, a, "--format", "json", "--no-pages"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto rj = nlohmann::json::parse(r.out);
  EXPECT_EQ((*item(rj, "main.growing"))["status"], "shrunk");
  EXPECT_EQ((*item(rj, "main.shrinking"))["len"]["delta"], 4000);
  EXPECT_TRUE(rj["pages"].is_null());

  // A core against the live process (phase 2 now): the live side is read
  // frozen and keeps running.
  auto l = runGomemscope({"diff", a, "pid:" + pid, "--format", "json"});
  ASSERT_EQ(l.exitCode, 0) << l.err;
  expectGrowShrink(nlohmann::json::parse(l.out), t1, t2, "core vs live");
  auto l2 = runGomemscope({"diff", b, pid, "--format", "json", "--no-pages"});
  ASSERT_EQ(l2.exitCode, 0) << l2.err;
  auto l2j = nlohmann::json::parse(l2.out);  // named: a range-for over a temporary's member dangles
  for (const auto& m : l2j["maps"])
    if (m["path"].get<std::string>().rfind("main.", 0) == 0) {
      EXPECT_EQ(m["status"], "unchanged") << m.dump();
    }
  EXPECT_TRUE(proc->alive());
}

TEST_P(Diff, BadInputFailsWithOneLine) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "diffgrow"));
  auto other = RunningFixture::start(buildFixture(tc, "hello"));
  std::string a = tempDir() + "/diff-bad-a-" + tc.name + ".core";
  std::string h = tempDir() + "/diff-bad-hello-" + tc.name + ".core";
  ASSERT_EQ(runGomemscope({"core", "-p", std::to_string(proc->pid()), "-o", a}).exitCode, 0);
  ASSERT_EQ(runGomemscope({"core", "-p", std::to_string(other->pid()), "-o", h}).exitCode, 0);
  auto oneLine = [](const CommandResult& r) {
    EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
    EXPECT_EQ(r.err.rfind("gomemscope: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  };
  // Cores of two different programs.
  auto mism = runGomemscope({"diff", a, h});
  oneLine(mism);
  EXPECT_NE(mism.err.find("not the same binary"), std::string::npos) << mism.err;
  // A live process of another program.
  oneLine(runGomemscope({"diff", a, std::to_string(other->pid())}));
  // A missing core.
  auto missing = runGomemscope({"diff", a, tempDir() + "/no-such.core"});
  oneLine(missing);
  EXPECT_NE(missing.err.find("no-such.core"), std::string::npos) << missing.err;
  oneLine(runGomemscope({"diff", a, "pid:x"}));
  EXPECT_TRUE(proc->alive());
  EXPECT_TRUE(other->alive());
}

// The regions a map walk reports (what diff attributes pages with) are the
// map's footprint, allocation by allocation, and do not overlap.
TEST_P(Diff, MapRegionsAddUpToTheFootprint) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "diffgrow"));
  proc->advance();
  TargetOptions t;
  t.pid = proc->pid();
  auto s = Session::open(t);
  DiscoverOptions o;
  o.keepRegions = true;
  Discovery d;
  {
    Frozen fz(*s);
    d = discover(s->program(), o);
  }
  int maps = 0;
  for (const auto& f : d.items) {
    if (f.kind != FoundKind::Map || f.path.str().rfind("main.", 0) != 0) continue;
    SCOPED_TRACE(f.path.str());
    maps++;
    uint64_t sum = 0;
    auto r = f.regions;
    std::sort(r.begin(), r.end(), [](const Region& a, const Region& b) { return a.addr < b.addr; });
    for (size_t i = 0; i < r.size(); i++) {
      sum += r[i].size;
      if (i) {
        EXPECT_GE(r[i].addr, r[i - 1].addr + r[i - 1].size)
            << r[i].what << " overlaps " << r[i - 1].what;
      }
    }
    EXPECT_EQ(sum, f.footprint);
    EXPECT_GE(r.size(), 2u);  // header and buckets/groups at least
  }
  EXPECT_EQ(maps, 3);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, Diff, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
