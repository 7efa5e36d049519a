// discover(): every map and list reachable from globals, live (frozen) and
// from a core written by writeCore, under Go 1.19 (classic maps) and Go 1.26
// (Swiss maps). The discover fixture prints every map and list it holds with
// the path discover must report (notation of goruntime/discover.h) and len.
#include "goruntime/discover.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "binary/binary.h"
#include "control/core_writer.h"
#include "control/freezer.h"
#include "support/fixture.h"
#include "target/core_file.h"
#include "target/live_process.h"
#include "target/memory.h"

namespace gms::test {
namespace {

using nlohmann::json;

TEST(DiscoverPackages, PackageOfAndPatterns) {
  EXPECT_EQ(packageOf("main.srv"), "main");
  EXPECT_EQ(packageOf("net/http.DefaultServeMux"), "net/http");
  EXPECT_EQ(packageOf("gmsfixture/discover/internal/cache.Main"), "gmsfixture/discover/internal/cache");
  EXPECT_EQ(packageOf("gopkg.in/yaml%2ev3.x"), "gopkg.in/yaml.v3");
  EXPECT_EQ(packageOf("runtime.mheap_"), "runtime");
  EXPECT_EQ(packageOf("go:buildinfo"), "go:");
  EXPECT_TRUE(packageMatches("runtime", "runtime"));
  EXPECT_FALSE(packageMatches("runtime/pprof", "runtime"));
  EXPECT_TRUE(packageMatches("runtime/pprof", "runtime/..."));
  EXPECT_TRUE(packageMatches("runtime", "runtime/..."));
  EXPECT_FALSE(packageMatches("runtimes", "runtime/..."));
  EXPECT_TRUE(packageMatches("internal/abi", "internal/..."));
  // A module's own internal packages are not the standard library's.
  EXPECT_FALSE(packageMatches("gmsfixture/discover/internal/cache", "internal/..."));
  EXPECT_TRUE(packageMatches("go:", "go:..."));
  auto skip = defaultSkipPackages();
  auto skipped = [&](const std::string& pkg) {
    return std::any_of(skip.begin(), skip.end(), [&](auto& p) { return packageMatches(pkg, p); });
  };
  EXPECT_TRUE(skipped("runtime"));
  EXPECT_TRUE(skipped("internal/godebug"));
  EXPECT_TRUE(skipped("sync"));
  EXPECT_TRUE(skipped("unicode"));
  EXPECT_FALSE(skipped("main"));
  EXPECT_FALSE(skipped("net/http"));
  EXPECT_FALSE(skipped("gmsfixture/discover/internal/cache"));
}

// One running fixture, its binary and a core of it, per toolchain.
struct Subject {
  std::string exe;
  std::unique_ptr<RunningFixture> proc;
  std::unique_ptr<Binary> bin;
  std::string core;
};

Subject& subject(const Toolchain& tc) {
  static std::map<std::string, std::unique_ptr<Subject>> cache;
  auto& slot = cache[tc.name];
  if (!slot) {
    auto s = std::make_unique<Subject>();
    s->exe = buildFixture(tc, "discover");
    s->proc = RunningFixture::start(s->exe);
    s->bin = Binary::open(s->exe);
    s->core = tempDir() + "/discover-" + tc.name + ".core";
    auto lp = LiveProcess::open(s->proc->pid());
    Freezer f(s->proc->pid());
    lp->setFrozen(true);
    writeCore(*lp, f, s->core);
    slot = std::move(s);
  }
  return *slot;
}

class Discover : public ::testing::TestWithParam<Case> {
 protected:
  const Toolchain& tc() { return toolchain(GetParam().toolchain); }

  // discover() on the fixture, live (frozen for the call) or from its core.
  Discovery run(const DiscoverOptions& o = {}) {
    Subject& s = subject(tc());
    if (GetParam().live) {
      auto lp = LiveProcess::open(s.proc->pid());
      Program prog(*lp, *s.bin);
      Freezer f(s.proc->pid());
      lp->setFrozen(true);
      Discovery d = discover(prog, o);
      lp->setFrozen(false);
      f.release();
      EXPECT_TRUE(s.proc->alive());
      return d;
    }
    auto cf = CoreFile::open(s.core);
    cf->setUnderlay(&s.bin->fileMemory());
    Program prog(*cf, *s.bin);
    return discover(prog, o);
  }
  const json& truth() { return subject(tc()).proc->truth(); }
};

bool ours(const std::string& path) {
  return path.rfind("main.", 0) == 0 || path.rfind("gmsfixture/discover", 0) == 0;
}

std::string describe(const Discovery& d) {
  std::string s = fmt::format("{} items, {} objects, {} bytes, {} errors, budget hit {}\n", d.items.size(),
                              d.stats.objects, d.stats.bytesRead, d.stats.errors, d.stats.budgetHit);
  for (const auto& e : d.errors) s += "  error at " + e.path + ": " + e.message + "\n";
  return s;
}

TEST_P(Discover, FindsEveryMapAndListOfTheTruth) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  Discovery d = run();
  const json& t = truth();
  ASSERT_TRUE(t.contains("items")) << t.dump();
  SCOPED_TRACE(describe(d));

  std::map<std::string, const Found*> byPath;
  std::set<uint64_t> addrs;
  for (const Found& f : d.items) {
    EXPECT_TRUE(byPath.emplace(f.path.str(), &f).second) << "path reported twice: " << f.path.str();
    EXPECT_TRUE(addrs.insert(f.addr).second) << "address reported twice: " << f.path.str();
  }
  std::set<std::string> want;
  for (const auto& it : t["items"]) {
    std::string path = it["path"];
    want.insert(path);
    SCOPED_TRACE(path);
    auto f = byPath.find(path);
    if (f == byPath.end()) {
      ADD_FAILURE() << "not found: " << path;
      continue;
    }
    EXPECT_EQ(f->second->kind == FoundKind::Map ? "map" : "list", it["kind"].get<std::string>());
    EXPECT_EQ(f->second->len, it["len"].get<uint64_t>());
    EXPECT_EQ(f->second->found, it["len"].get<uint64_t>());
    EXPECT_EQ(f->second->problems, 0u) << f->second->firstProblem;
    EXPECT_GT(f->second->footprint, 0u);
    EXPECT_NE(f->second->addr, 0u);
    if (f->second->kind == FoundKind::Map) {
      EXPECT_EQ(f->second->shape.impl, tc().name == "go1.19" ? MapImpl::Classic : MapImpl::Swiss);
      EXPECT_EQ(f->second->typeName.rfind("map[", 0), 0u) << f->second->typeName;
    } else {
      EXPECT_EQ(f->second->typeName, "container/list.List");
    }
  }
  // Nothing of the fixture's own that the truth does not list.
  for (const Found& f : d.items) {
    if (ours(f.path.str())) {
      EXPECT_TRUE(want.count(f.path.str())) << "unexpected: " << f.path.str() << " len " << f.len;
    }
  }
  // The shared map: once, under its first path, with the other references counted.
  auto shared = byPath.find(t["shared"]["path"].get<std::string>());
  ASSERT_NE(shared, byPath.end());
  EXPECT_EQ(shared->second->otherRefs + 1, t["shared"]["refs"].get<uint64_t>());
  for (const auto& a : t["absent"]) EXPECT_FALSE(byPath.count(a.get<std::string>())) << a;
  // Ranked by footprint; the fixture's 100k-entry map leads.
  EXPECT_TRUE(std::is_sorted(d.items.begin(), d.items.end(),
                             [](const Found& a, const Found& b) { return a.footprint > b.footprint; }));
  ASSERT_FALSE(d.items.empty());
  EXPECT_EQ(d.items.front().path.str(), "main.big");
  // Walking every fixture object reads nothing it cannot; no budget was hit.
  for (const auto& e : d.errors) {
    EXPECT_FALSE(ours(e.path)) << e.path << ": " << e.message;
  }
  EXPECT_FALSE(d.stats.budgetHit);
  EXPECT_EQ(d.stats.maps + d.stats.lists, d.items.size());
  EXPECT_GT(d.stats.globals, 20u);
  EXPECT_GT(d.stats.globalsSkipped, 0u);
  std::printf("[%s %s] %zu maps+lists, %llu objects, %llu bytes in %.1f ms: %.0f objects/s\n",
              tc().name.c_str(), GetParam().live ? "live" : "core", d.items.size(),
              (unsigned long long)d.stats.objects, (unsigned long long)d.stats.bytesRead,
              std::chrono::duration<double, std::milli>(d.stats.elapsed).count(),
              d.stats.objectsPerSecond());
}

TEST_P(Discover, EntriesThatCannotLeadToMapsAreNotVisited) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  Discovery d = run();
  // main.big has 100000 entries whose *Plain values hold no map: its buckets
  // are read for the summary but no entry is visited. What is visited is
  // dominated by main.many's 2000 sessions.
  EXPECT_LT(d.stats.objects, 30000u) << describe(d);
  auto big = std::find_if(d.items.begin(), d.items.end(),
                          [](const Found& f) { return f.path.str() == "main.big"; });
  ASSERT_NE(big, d.items.end());
  EXPECT_EQ(big->found, 100000u);
}

TEST_P(Discover, CyclesTerminateAndDepthIsBounded) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  DiscoverOptions o;
  o.onlyPackages = {"main"};
  o.maxDepth = 1000000;  // only the visited set can stop the cycles (clamped to 1000)
  Discovery d = run(o);
  std::set<std::string> paths;
  for (const Found& f : d.items) paths.insert(f.path.str());
  EXPECT_TRUE(paths.count("main.self.m"));
  EXPECT_TRUE(paths.count("main.ring.m"));
  EXPECT_TRUE(paths.count("main.ring.peer.m"));
  for (const Found& f : d.items) EXPECT_EQ(f.path.str().rfind("main.", 0), 0u) << f.path.str();
  EXPECT_FALSE(d.stats.budgetHit);
  // main.chain is 3000 links long: 1000 deep is followed (without running
  // out of stack), the rest is cut.
  EXPECT_EQ(d.stats.depthLimited, 1u);
  EXPECT_GT(d.stats.objects, 1000u);

  // main.ring's node is 1 indirection away and its map 2; the peer's map 3.
  o.maxDepth = 2;
  d = run(o);
  paths.clear();
  for (const Found& f : d.items) paths.insert(f.path.str());
  EXPECT_TRUE(paths.count("main.ring.m"));
  EXPECT_FALSE(paths.count("main.ring.peer.m"));
  EXPECT_GT(d.stats.depthLimited, 0u);
}

TEST_P(Discover, PackageSelection) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  DiscoverOptions o;
  o.onlyPackages = {"gmsfixture/discover/..."};
  Discovery d = run(o);
  ASSERT_FALSE(d.items.empty());
  bool store = false, cache = false;
  for (const Found& f : d.items) {
    EXPECT_EQ(f.path.str().rfind("gmsfixture/discover/", 0), 0u) << f.path.str();
    store |= f.path.str().rfind("gmsfixture/discover/store.", 0) == 0;
    cache |= f.path.str().rfind("gmsfixture/discover/internal/cache.", 0) == 0;
  }
  EXPECT_TRUE(store);
  EXPECT_TRUE(cache);
  // The default skip list keeps the runtime's own globals out.
  d = run();
  for (const Found& f : d.items) {
    std::string pkg = packageOf(f.path.str().substr(0, f.path.str().find_first_of("[{(")));
    EXPECT_FALSE(pkg == "runtime" || pkg.rfind("internal/", 0) == 0 || pkg == "sync")
        << f.path.str();
  }
  // Without a skip list the runtime is walked too (and still terminates).
  o = {};
  o.skipPackages.clear();
  Discovery all = run(o);
  EXPECT_GT(all.stats.globals, d.stats.globals);
  EXPECT_GE(all.items.size(), d.items.size());
}

TEST_P(Discover, TinyBudgetStopsCleanly) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  DiscoverOptions o;
  o.maxObjects = 10;
  Discovery d = run(o);
  EXPECT_TRUE(d.stats.budgetHit);
  EXPECT_EQ(d.stats.budgetReason, "objects");
  EXPECT_LE(d.stats.objects, 11u);
  EXPECT_LE(d.items.size(), 10u);

  o = {};
  o.maxBytes = 4096;
  d = run(o);
  EXPECT_TRUE(d.stats.budgetHit);
  EXPECT_EQ(d.stats.budgetReason, "bytes");
  Discovery full = run();
  EXPECT_LT(d.items.size(), full.items.size());
}

TEST_P(Discover, KeysCanBeLeftOutOfPaths) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  DiscoverOptions o;
  o.onlyPackages = {"main"};
  o.keysInPaths = false;
  Discovery d = run(o);
  size_t many = 0;
  for (const Found& f : d.items) {
    if (f.path.str() == "main.many[*].Prefs") many++;
  }
  EXPECT_EQ(many, 2000u);
}

// A core with holes punched in it: reads overlapping a hole fault.
class HoleyTarget : public Target {
 public:
  explicit HoleyTarget(const Target& base) : base_(base), mem_(base.memory(), holes) {}
  std::vector<std::pair<uint64_t, uint64_t>> holes;
  const Memory& memory() const override { return mem_; }
  bool isLive() const override { return false; }
  int pid() const override { return base_.pid(); }
  std::string exePath() const override { return base_.exePath(); }
  std::vector<ThreadState> threads() const override { return base_.threads(); }
  std::string describe() const override { return "holey " + base_.describe(); }

 private:
  class Mem : public Memory {
   public:
    Mem(const Memory& base, const std::vector<std::pair<uint64_t, uint64_t>>& holes)
        : base_(base), holes_(holes) {}
    void read(uint64_t addr, void* out, size_t n) const override {
      for (auto [lo, hi] : holes_)
        if (addr < hi && addr + n > lo) throw Fault(std::max(addr, lo), "hole punched by the test");
      base_.read(addr, out, n);
    }
    const uint8_t* view(uint64_t addr, size_t n) const override {
      for (auto [lo, hi] : holes_)
        if (addr < hi && addr + n > lo) return nullptr;
      return base_.view(addr, n);
    }
    std::vector<Mapping> mappings() const override { return base_.mappings(); }

   private:
    const Memory& base_;
    const std::vector<std::pair<uint64_t, uint64_t>>& holes_;
  };
  const Target& base_;
  Mem mem_;
};

TEST(DiscoverCorrupt, UnreadableObjectsAreRecordedAndTheWalkGoesOn) {
  for (const char* name : {"go1.19", "go1.26"}) {
    const Toolchain& tc = toolchain(name);
    if (!tc.available) continue;
    SCOPED_TRACE(name);
    Subject& s = subject(tc);
    auto cf = CoreFile::open(s.core);
    cf->setUnderlay(&s.bin->fileMemory());
    HoleyTarget target(*cf);
    Program prog(target, *s.bin);
    DiscoverOptions o;
    o.onlyPackages = {"main"};
    Discovery clean = discover(prog, o);
    auto item = [](const Discovery& d, const std::string& path) -> const Found* {
      for (const Found& f : d.items)
        if (f.path.str() == path) return &f;
      return nullptr;
    };
    ASSERT_TRUE(item(clean, "main.nested"));
    // The node main.ring points at, main.nested's map header, and one
    // session of main.many become unreadable.
    uint64_t node = prog.mem().readPtr(prog.global("main.ring").addr);
    uint64_t nested = item(clean, "main.nested")->addr;
    const Found* prefs = item(clean, "main.many[7].Prefs");
    ASSERT_TRUE(prefs);
    target.holes = {{node, node + 8}, {nested, nested + 8}};
    // The *Session holding that Prefs map: find it through main.many's value.
    uint64_t sessionPtr = 0;
    {
      const Found* many = item(clean, "main.many");
      ASSERT_TRUE(many);
      walkMap(prog, many->type, many->addr, {}, [&](uint64_t k, uint64_t v) {
        if (prog.mem().readT<int64_t>(k) == 7) sessionPtr = prog.mem().readPtr(v);
        return true;
      });
    }
    ASSERT_NE(sessionPtr, 0u);
    target.holes.push_back({sessionPtr, sessionPtr + 8});

    Discovery d = discover(prog, o);
    EXPECT_FALSE(item(d, "main.ring.m"));
    EXPECT_FALSE(item(d, "main.ring.peer.m"));
    EXPECT_FALSE(item(d, "main.many[7].Prefs"));
    EXPECT_FALSE(item(d, "main.nested[\"x\"]"));
    const Found* n = item(d, "main.nested");
    ASSERT_TRUE(n);
    EXPECT_GT(n->problems, 0u);
    EXPECT_NE(n->firstProblem.find("unreadable"), std::string::npos) << n->firstProblem;
    // Everything else is still there.
    EXPECT_EQ(d.items.size(), clean.items.size() - 2 - 1 - 3);
    EXPECT_TRUE(item(d, "main.self.m"));
    EXPECT_TRUE(item(d, "main.many[8].Prefs"));
    EXPECT_TRUE(item(d, "main.sharedA"));
    std::set<std::string> errPaths;
    for (const auto& e : d.errors) errPaths.insert(e.path);
    EXPECT_TRUE(errPaths.count("main.ring")) << describe(d);
    EXPECT_TRUE(errPaths.count("main.many[7]")) << describe(d);
    EXPECT_EQ(d.stats.errors, d.errors.size());
    EXPECT_FALSE(d.stats.budgetHit);
  }
}

INSTANTIATE_TEST_SUITE_P(Toolchains, Discover, ::testing::ValuesIn(liveAndCoreCases()), caseName);

}  // namespace
}  // namespace gms::test
