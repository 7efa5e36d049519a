// readMemStats against runtime.ReadMemStats: the memstats fixture reads its
// own statistics, prints them and then blocks without allocating; we rebuild
// them from its memory, live (frozen) and from a core we write of it.
//
// Tolerances. The fixture allocates nothing after ReadMemStats except what it
// declares in the truth's "After" (the -after mode: 2 tiny + 3 class-57
// objects left unflushed in its mcache, which exercises the flush emulation),
// and it waits out the runtime's own background work and thread starts before
// reading (see its header). So every counter must equal truth + After exactly:
//   exact: Alloc, TotalAlloc, Mallocs, Frees, HeapAlloc, HeapObjects, BySize,
//          Sys, HeapSys, StackInuse, StackSys, MSpanSys, MCacheInuse,
//          MCacheSys, BuckHashSys, GCSys, OtherSys, LastGC, PauseTotalNs,
//          PauseNs, PauseEnd, NumGC, NumForcedGC, GCCPUFraction, EnableGC,
//          DebugGC, Lookups; NextGC when it comes from GOGC.
// Only what the -after batch may legitimately move is given room:
//   HeapInuse   +[0, 88 KiB]: a new class-57 span (5 pages), maybe a new
//               tiny-block span (1 page), and room for one more span of up
//               to 5 pages: a loaded clean-clone run (go1.26, -limit, stripped)
//               saw 10 pages where the batch explains 6, with the batch's own
//               counts exact;  HeapIdle = HeapSys - HeapInuse.
//   HeapReleased -[0, 88 KiB]: those spans may come from released pages
//               (the -freeos run releases everything before the read, so
//               the background scavenger has nothing left to release).
//   MSpanInuse  +[0, 64 mspans]: a P refills its mspan cache 64 at a time.
//   NextGC      when it is the memory-limit goal, it drops by the bytes the
//               new spans take beyond the objects in them (less the 3%
//               headroom on 1.21+), ±4 for rounding; computed from HeapInuse.
// Anything else is a bug in the reconstruction — or a fixture that was not
// quiet after all (the trace says if the runtime started a thread since).
#include "goruntime/memstats.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

#include "binary/binary.h"
#include "control/core_writer.h"
#include "control/freezer.h"
#include "goruntime/program.h"
#include "goruntime/runtime_globals.h"
#include "support/fixture.h"
#include "target/core_file.h"
#include "target/live_process.h"

namespace gms::test {
namespace {

using nlohmann::json;

struct Mode {
  std::string name;
  std::vector<std::string> args;
  bool after = false;      // declared allocations after ReadMemStats
  bool limitGoal = false;  // NextGC is the memory-limit goal
};

const Mode kModes[] = {
    // GOGC=150, a large memory limit, FreeOSMemory before reading: the quiet case.
    {"gogc", {"-gogc", "150", "-limit", "4294967296", "-freeos"}, false, false},
    // GC off, 64 MiB limit (NextGC from the limit), unflushed allocations.
    {"limit", {"-gogc", "-1", "-limit", "67108864", "-after"}, true, true},
};

// Field-by-field comparison; collects a line per field that differs from the
// truth (for the log) and fails the test on any out-of-tolerance value.
class Checker {
 public:
  Checker(std::string where, const json& truth) : where_(std::move(where)), t_(truth["MemStats"]) {}

  uint64_t want(const char* f) const { return t_[f].get<uint64_t>(); }

  void exact(const char* f, uint64_t got, uint64_t expect) {
    note(f, got, expect);
    EXPECT_EQ(got, expect) << where_ << ": " << f << " (truth " << want(f) << ")";
  }
  // expect+lo <= got <= expect+hi
  void range(const char* f, uint64_t got, uint64_t expect, int64_t lo, int64_t hi) {
    note(f, got, expect);
    int64_t d = static_cast<int64_t>(got - expect);
    EXPECT_TRUE(d >= lo && d <= hi) << where_ << ": " << f << " = " << got << ", truth " << expect << " (delta "
                                    << d << " outside [" << lo << ", " << hi << "])";
  }
  std::string summary() const {
    return where_ + ": " + std::to_string(checked_) + " fields checked, " +
           (diffs_.empty() ? std::string("all equal to truth+After") : "differ: " + diffs_);
  }

 private:
  void note(const char* f, uint64_t got, uint64_t expect) {
    ++checked_;
    if (got != expect) diffs_ += fmt::format("{}{:+} ", f, static_cast<int64_t>(got - expect));
  }
  std::string where_;
  const json& t_;
  std::string diffs_;
  int checked_ = 0;
};

std::string pauseDiff(const std::array<uint64_t, 256>& got, const json& want) {
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i].get<uint64_t>())
      return fmt::format("[{}] {} vs {}", i, got[i], want[i].get<uint64_t>());
  return "";
}

void compare(const MemStats& m, const json& truth, const Mode& mode, const std::string& where) {
  SCOPED_TRACE(where);
  const json& t = truth["MemStats"];
  const json& a = truth["After"];
  uint64_t aMallocs = a["Mallocs"].get<uint64_t>(), aFrees = a["Frees"].get<uint64_t>();
  uint64_t aBytes = a["TotalAlloc"].get<uint64_t>();
  Checker c(where, truth);
  auto w = [&](const char* f) { return c.want(f); };

  // Allocation counters: exact, with the declared post-read batch.
  c.exact("Alloc", m.Alloc, w("Alloc") + aBytes);
  c.exact("TotalAlloc", m.TotalAlloc, w("TotalAlloc") + aBytes);
  c.exact("HeapAlloc", m.HeapAlloc, w("HeapAlloc") + aBytes);
  c.exact("Mallocs", m.Mallocs, w("Mallocs") + aMallocs);
  c.exact("Frees", m.Frees, w("Frees") + aFrees);
  c.exact("HeapObjects", m.HeapObjects, w("HeapObjects") + aMallocs - aFrees);
  c.exact("Lookups", m.Lookups, w("Lookups"));
  // Mapped memory: nothing maps more after the read.
  c.exact("Sys", m.Sys, w("Sys"));
  c.exact("HeapSys", m.HeapSys, w("HeapSys"));
  c.exact("StackInuse", m.StackInuse, w("StackInuse"));
  c.exact("StackSys", m.StackSys, w("StackSys"));
  c.exact("MSpanSys", m.MSpanSys, w("MSpanSys"));
  c.exact("MCacheInuse", m.MCacheInuse, w("MCacheInuse"));
  c.exact("MCacheSys", m.MCacheSys, w("MCacheSys"));
  c.exact("BuckHashSys", m.BuckHashSys, w("BuckHashSys"));
  c.exact("GCSys", m.GCSys, w("GCSys"));
  c.exact("OtherSys", m.OtherSys, w("OtherSys"));
  // Span-level state the post-read batch may move (see the file comment).
  int64_t spanRoom = mode.after ? 88 << 10 : 0;
  c.range("HeapInuse", m.HeapInuse, w("HeapInuse"), 0, spanRoom);
  c.range("HeapIdle", m.HeapIdle, w("HeapIdle"), -spanRoom, 0);
  c.range("HeapReleased", m.HeapReleased, w("HeapReleased"), -spanRoom, 0);
  EXPECT_EQ(m.HeapIdle + m.HeapInuse, m.HeapSys);
  c.range("MSpanInuse", m.MSpanInuse, w("MSpanInuse"), 0, mode.after ? 64 * 256 : 0);
  if (mode.limitGoal && mode.after) {
    // memoryLimitHeapGoal = limit - nonHeap - headroom, with nonHeap =
    // mappedReady - heapFree - heapAlloc: a new span of n bytes holding the
    // batch's b bytes raises nonHeap by n - b (whether its pages were free or
    // released), and the goal drops by that, less the 3% headroom (1.21+).
    int64_t grew = static_cast<int64_t>(m.HeapInuse - w("HeapInuse")) - static_cast<int64_t>(aBytes);
    int64_t a1 = -grew, a2 = -(grew - grew * 3 / 100);
    c.range("NextGC", m.NextGC, w("NextGC"), std::min(a1, a2) - 4, std::max(a1, a2) + 4);
  } else {
    c.exact("NextGC", m.NextGC, w("NextGC"));
  }
  // GC history: exact.
  c.exact("NumGC", m.NumGC, w("NumGC"));
  c.exact("NumForcedGC", m.NumForcedGC, w("NumForcedGC"));
  c.exact("LastGC", m.LastGC, w("LastGC"));
  c.exact("PauseTotalNs", m.PauseTotalNs, w("PauseTotalNs"));
  EXPECT_EQ(pauseDiff(m.PauseNs, t["PauseNs"]), "");
  EXPECT_EQ(pauseDiff(m.PauseEnd, t["PauseEnd"]), "");
  EXPECT_EQ(m.GCCPUFraction, t["GCCPUFraction"].get<double>());
  EXPECT_EQ(m.EnableGC, t["EnableGC"].get<bool>());
  EXPECT_EQ(m.DebugGC, t["DebugGC"].get<bool>());
  // BySize: exact, plus the batch's classes.
  ASSERT_EQ(t["BySize"].size(), m.BySize.size());
  for (size_t i = 0; i < m.BySize.size(); ++i) {
    const json& b = t["BySize"][i];
    uint64_t extra = a["SmallAllocs"].value(std::to_string(i), uint64_t{0});
    EXPECT_EQ(m.BySize[i].Size, b["Size"].get<uint32_t>()) << "class " << i;
    EXPECT_EQ(m.BySize[i].Mallocs, b["Mallocs"].get<uint64_t>() + extra) << "class " << i;
    EXPECT_EQ(m.BySize[i].Frees, b["Frees"].get<uint64_t>()) << "class " << i;
  }

  // Extras.
  const auto& x = m.extras;
  EXPECT_EQ(x.gcPercent, truth["GOGC"].get<int32_t>());
  EXPECT_EQ(x.memoryLimit, truth["MemoryLimit"].get<int64_t>());
  EXPECT_EQ(x.tinyAllocs + x.smallAllocs + x.largeAllocs, m.Mallocs);
  EXPECT_EQ(x.smallAllocBytes + x.largeAllocBytes, m.TotalAlloc);
  EXPECT_EQ(x.sizeClasses.size(), 68u);
  // 10000 8-byte objects (2 per 16-byte block) and 5000 4-byte ones (4 per
  // block): 5000 + 3750 objects beyond the first of each block.
  EXPECT_GE(x.tinyAllocs, 8750u);
  EXPECT_GE(x.largeAllocs, 40u + 400u) << "40 kept + 2x200 garbage large objects";
  EXPECT_GE(x.largeFrees, 400u);
  EXPECT_EQ(x.goalFromMemoryLimit, mode.limitGoal);
  EXPECT_GE(x.procs, 1u);
  // The flush emulation: exactly what the fixture left in its mcache.
  uint64_t aSmall = 0;
  for (auto& [k, v] : a["SmallAllocs"].items()) aSmall += v.get<uint64_t>();
  EXPECT_EQ(x.unflushedTinyAllocs, a["TinyAllocs"].get<uint64_t>());
  EXPECT_EQ(x.unflushedSmallAllocs, aSmall);
  EXPECT_TRUE(x.notes.empty()) << where << ": " << fmt::format("{}", fmt::join(x.notes, "; "));
  if (mode.after) {
    EXPECT_GE(x.cachedSpans, 2u);
  }
  std::printf("[memstats] %s | unflushed tiny %llu small %llu (%llu B) in %llu cached spans, %u Ps | NextGC %llu (%s)\n",
              c.summary().c_str(), (unsigned long long)x.unflushedTinyAllocs,
              (unsigned long long)x.unflushedSmallAllocs, (unsigned long long)x.unflushedSmallBytes,
              (unsigned long long)x.cachedSpans, x.procs, (unsigned long long)m.NextGC,
              x.goalFromMemoryLimit ? "memory limit" : "GOGC");
}

// Toolchain, mode, stripped (-s -w: type descriptors, built-in layouts and
// runtime globals located without symbols; the same exact assertions).
class MemStatsVsRuntime : public ::testing::TestWithParam<std::tuple<std::string, int, bool>> {};

TEST_P(MemStatsVsRuntime, LiveAndCoreMatchReadMemStats) {
  const Toolchain& tc = toolchain(std::get<0>(GetParam()));
  GMS_REQUIRE_TOOLCHAIN(tc);
  const Mode& mode = kModes[std::get<1>(GetParam())];
  const bool stripped = std::get<2>(GetParam());
  std::string exe = buildFixture(tc, "memstats", BuildFlags{.stripped = stripped});
  auto proc = RunningFixture::start(exe, mode.args);
  const json& truth = proc->truth();
  ASSERT_TRUE(truth.contains("MemStats")) << truth.dump();
  ASSERT_GE(truth["MemStats"]["NumGC"].get<uint32_t>(), 2u);
  std::string tag = tc.name + " " + mode.name + (stripped ? " stripped" : "");

  // If the runtime started an OS thread after ReadMemStats, it allocated
  // (m, g0, gsignal and stacks) after the truth was taken: say so, since
  // that, not the reconstruction, would explain differences.
  size_t threadsNow = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(proc->pid()) + "/task"))
    ++threadsNow;
  SCOPED_TRACE(fmt::format("OS threads: {} at ReadMemStats, {} now", truth["Threads"].get<int>(), threadsNow));

  auto bin = Binary::open(exe);
  MemStats live;
  {
    auto lp = LiveProcess::open(proc->pid());
    Program prog(*lp, *bin);
    Freezer f(proc->pid());
    lp->setFrozen(true);
    live = readMemStats(prog);
    lp->setFrozen(false);
  }
  compare(live, truth, mode, tag + " live");
  if (stripped) {
    EXPECT_NE(live.extras.layout.find("located by the runtime's own invariants"), std::string::npos)
        << live.extras.layout;
  } else {
    EXPECT_EQ(live.extras.layout, "DWARF");
  }

  std::string core = tempDir() + "/memstats-" + tc.name + "-" + mode.name + ".core";
  {
    auto lp = LiveProcess::open(proc->pid());
    Freezer f(proc->pid());
    lp->setFrozen(true);
    writeCore(*lp, f, core);
  }
  auto cf = CoreFile::open(core);
  cf->setUnderlay(&bin->fileMemory());
  Program cprog(*cf, *bin);
  MemStats fromCore = readMemStats(cprog);
  compare(fromCore, truth, mode, tag + " core");
  // Nothing ran in between that could change a counter.
  EXPECT_EQ(fromCore.Mallocs, live.Mallocs);
  EXPECT_EQ(fromCore.TotalAlloc, live.TotalAlloc);
  EXPECT_EQ(fromCore.NumGC, live.NumGC);
  EXPECT_EQ(fromCore.Sys, live.Sys);
  EXPECT_EQ(fromCore.NextGC, live.NextGC);
  EXPECT_TRUE(proc->alive());
  unlink(core.c_str());
}

INSTANTIATE_TEST_SUITE_P(Toolchains, MemStatsVsRuntime,
                         ::testing::Combine(::testing::ValuesIn(toolchainNames()),
                                            ::testing::Values(0, 1), ::testing::Bool()),
                         [](const auto& info) {
                           std::string n = std::get<0>(info.param) + "_" +
                                           kModes[std::get<1>(info.param)].name +
                                           (std::get<2>(info.param) ? "_stripped" : "");
                           for (auto& ch : n)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// Layout failures are errors that name what is missing, never crashes.
TEST(MemStatsErrors, UnreadableMemoryIsAnErrorNamingTheStructure) {
  const Toolchain& tc = toolchain("go1.26");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto bin = Binary::open(buildFixture(tc, "memstats"));
  FakeTarget t;  // no memory at all
  Program prog(t, *bin);
  try {
    readMemStats(prog);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Fault);
    EXPECT_NE(std::string(e.what()).find("runtime.memstats"), std::string::npos) << e.what();
  }
}

// Without symbols, a runtime global the invariants cannot single out is
// refused with its name, never guessed: here static data that is all zeros.
TEST(MemStatsErrors, StrippedBinaryWithoutTheRuntimesSignaturesIsRefused) {
  const Toolchain& tc = toolchain("go1.19");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto bin = Binary::open(buildFixture(tc, "memstats", BuildFlags{.stripped = true}));
  FakeTarget t;
  for (const char* name : {".noptrdata", ".data", ".bss", ".noptrbss"})
    if (const Section* s = bin->section(name)) t.mem.add(s->addr, std::vector<uint8_t>(s->size));
  Program prog(t, *bin);
  try {
    readMemStats(prog);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::MissingDebugInfo) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot locate runtime.mheap_ without symbols"),
              std::string::npos)
        << e.what();
  }
}

// The invariants single out the very globals the symbol table names (run on
// the build with symbols, where both answers exist).
class RuntimeGlobals : public ::testing::TestWithParam<std::string> {};

TEST_P(RuntimeGlobals, LocatedWithoutSymbolsWhereTheSymbolTableSaysTheyAre) {
  {
    const Toolchain& tc = toolchain(GetParam());
    GMS_REQUIRE_TOOLCHAIN(tc);
    std::string exe = buildFixture(tc, "memstats");
    auto proc = RunningFixture::start(exe, {"-gogc", "150"});
    auto bin = Binary::open(exe);
    auto lp = LiveProcess::open(proc->pid());
    Program prog(*lp, *bin);
    Freezer f(proc->pid());
    lp->setFrozen(true);
    StaticData data(prog);
    uint64_t mheap = locateMheap(prog, data);
    EXPECT_EQ(mheap, bin->symbol("runtime.mheap_")->addr) << tc.name;
    EXPECT_EQ(locateMemstats(prog, mheap), bin->symbol("runtime.memstats")->addr) << tc.name;
    EXPECT_EQ(locateAllp(prog, data), bin->symbol("runtime.allp")->addr) << tc.name;
    EXPECT_TRUE(data.contains(bin->symbol("runtime.emptymspan")->addr)) << tc.name;
    EXPECT_EQ(locateAllgs(prog, data), bin->symbol("runtime.allgs")->addr) << tc.name;
    lp->setFrozen(false);
  }
}

INSTANTIATE_TEST_SUITE_P(Toolchains, RuntimeGlobals, ::testing::ValuesIn(toolchainNames()),
                         [](const auto& i) { return paramName(i.param); });

TEST(MemStatsErrors, ImplausibleAllpAndGomaxprocsAreCorrupt) {
  const Toolchain& tc = toolchain("go1.19");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto bin = Binary::open(buildFixture(tc, "memstats"));
  FakeTarget t;
  Program prog(t, *bin);
  // Zeroed runtime globals, then a wild allp length.
  for (const char* name : {"runtime.memstats", "runtime.emptymspan", "runtime.mheap_", "runtime.gcController"}) {
    auto g = prog.findGlobal(name);
    ASSERT_TRUE(g && g->type) << name;
    t.mem.add(g->addr, std::vector<uint8_t>(g->type->size));
  }
  auto allp = prog.findGlobal("runtime.allp");
  auto procs = prog.findGlobal("runtime.gomaxprocs");
  ASSERT_TRUE(allp && procs);
  uint64_t hdr[3] = {0x1000, uint64_t(1) << 40, uint64_t(1) << 40};
  std::vector<uint8_t> hb(24);
  std::memcpy(hb.data(), hdr, 24);
  t.mem.add(allp->addr, hb);
  t.mem.add(procs->addr, std::vector<uint8_t>{4, 0, 0, 0});
  try {
    readMemStats(prog);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Corrupt) << e.what();
    EXPECT_NE(std::string(e.what()).find("runtime.allp"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gms::test

namespace gms::test {
namespace {

// A stripped process's memory as a core of it holds it, copied into a
// FakeTarget so that one invariant at a time can be broken: a global whose
// invariant then singles out nothing (or two candidates) is refused with its
// name, never guessed; random damage to the static data gives an Error or a
// result, never a crash or a hang.
class StrippedImage : public ::testing::Test {
 protected:
  using Segments = std::vector<std::pair<uint64_t, std::vector<uint8_t>>>;
  static void SetUpTestSuite() {
    const Toolchain& tc = toolchain("go1.26");
    if (!tc.available) return;
    exe_ = buildFixture(tc, "memstats", BuildFlags{.stripped = true});
    auto proc = RunningFixture::start(exe_, {"-gogc", "150"});
    std::string core = tempDir() + "/memstats-stripped-image.core";
    {
      auto lp = LiveProcess::open(proc->pid());
      Freezer f(proc->pid());
      lp->setFrozen(true);
      writeCore(*lp, f, core);
    }
    bin_ = Binary::open(exe_).release();
    auto cf = CoreFile::open(core);
    base_ = new Segments;
    // The file's images first, the core's over them (as CoreFile's underlay).
    for (const Memory* m : {static_cast<const Memory*>(&bin_->fileMemory()), &cf->memory()})
      for (const Mapping& mp : m->mappings()) {
        std::vector<uint8_t> b(mp.size());
        try {
          m->read(mp.start, b.data(), b.size());
        } catch (const Error&) {
          continue;  // a mapping the core holds no bytes of
        }
        base_->emplace_back(mp.start, std::move(b));
      }
    unlink(core.c_str());
  }
  void SetUp() override {
    GMS_REQUIRE_TOOLCHAIN(toolchain("go1.26"));
    ASSERT_NE(base_, nullptr);
    segs_ = *base_;
    Program p(target(), *bin_);
    StaticData d(p);
    mheap_ = locateMheap(p, d);
    memstats_ = locateMemstats(p, mheap_);
    allp_ = locateAllp(p, d);
  }
  // The image as a target (rebuilt after put()).
  const FakeTarget& target() {
    if (!t_) {
      t_ = std::make_unique<FakeTarget>();
      for (const auto& [a, b] : segs_) t_->mem.add(a, b);
    }
    return *t_;
  }
  uint64_t u64(uint64_t addr) { return target().memory().readPtr(addr); }
  // Writes bytes into the image, in every segment that holds them.
  void write(uint64_t addr, const uint8_t* b, size_t n) {
    for (auto& [a, bytes] : segs_)
      for (size_t i = 0; i < n; ++i)
        if (addr + i >= a && addr + i - a < bytes.size()) bytes[addr + i - a] = b[i];
    t_.reset();
  }
  void put(uint64_t addr, uint64_t v) {
    uint8_t b[8];
    std::memcpy(b, &v, 8);
    write(addr, b, 8);
  }
  // The offset of type.path[0].path[1]... (the Program, and with it the
  // built-in types, lives only in here).
  uint64_t off(const char* type, std::initializer_list<const char*> path) {
    Program p(target(), *bin_);
    const Type* t = p.runtimeType(type);
    uint64_t o = 0;
    for (const char* name : path) {
      const Field* f = t ? t->field(name) : nullptr;
      if (!f) {
        ADD_FAILURE() << type << " has no " << name;
        return 0;
      }
      o += f->offset;
      t = f->type;
    }
    return o;
  }
  uint64_t elemSize(const char* type, const char* field) {
    Program p(target(), *bin_);
    return p.runtimeType(type)->field(field)->type->elem->size;
  }
  // readMemStats must fail with MissingDebugInfo and `words` in its message.
  void expectRefused(const std::string& words) {
    Program p(target(), *bin_);
    try {
      readMemStats(p);
      ADD_FAILURE() << "accepted; expected: " << words;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::MissingDebugInfo) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }

  static inline std::string exe_;
  static inline Binary* bin_ = nullptr;
  static inline Segments* base_ = nullptr;
  Segments segs_;
  std::unique_ptr<FakeTarget> t_;
  uint64_t mheap_ = 0, memstats_ = 0, allp_ = 0;
};

TEST_F(StrippedImage, IntactImageDecodes) {
  Program p(target(), *bin_);
  MemStats m = readMemStats(p);
  EXPECT_GT(m.Mallocs, 10000u);
  EXPECT_GT(m.HeapAlloc, 0u);
  EXPECT_TRUE(m.extras.notes.empty()) << fmt::format("{}", fmt::join(m.extras.notes, "; "));
}

TEST_F(StrippedImage, MheapWithoutItsSelfPointerIsRefused) {
  put(mheap_ + off("runtime.mheap", {"spanalloc", "arg"}), 0);
  expectRefused("cannot locate runtime.mheap_ without symbols");
}

TEST_F(StrippedImage, MheapWithAWrongSpanClassIsRefused) {
  uint64_t at = mheap_ + off("runtime.mheap", {"central"}) +
                5 * elemSize("runtime.mheap", "central");  // central[5].spanclass
  put(at, u64(at) & ~uint64_t(0xff));
  expectRefused("cannot locate runtime.mheap_ without symbols");
}

TEST_F(StrippedImage, SpanallocStatNotIntoMemstatsIsRefused) {
  uint64_t at = mheap_ + off("runtime.mheap", {"spanalloc", "stat"});
  put(at, u64(at) + 8);
  expectRefused("cannot locate runtime.memstats without symbols");
}

TEST_F(StrippedImage, AllpWithAWrongIdIsRefused) {
  uint64_t p0 = u64(u64(allp_));  // allp[0]
  put(p0 + off("runtime.p", {"id"}), u64(p0) + 7);
  expectRefused("cannot locate runtime.allp without symbols: no single slice header");
}

TEST_F(StrippedImage, TwoCopiesOfAllpAreRefused) {
  // A second header like allp's in a zeroed stretch of .bss.
  const Section* bss = bin_->section(".bss");
  ASSERT_NE(bss, nullptr);
  uint64_t spot = 0;
  for (uint64_t a = (bss->addr + bss->size - 4096) & ~uint64_t(7); a > bss->addr && !spot; a -= 8)
    if (!u64(a) && !u64(a + 8) && !u64(a + 16) && !u64(a + 24) && !u64(a - 8)) spot = a;
  ASSERT_NE(spot, 0u);
  for (int i = 0; i < 3; ++i) put(spot + 8 * i, u64(allp_ + 8 * i));
  expectRefused("2 found");
}

// What Debian's prometheus (go1.19) had in its heap on a CI machine: a slice
// of one struct with 0 where a P's id and status are and a pointer where its
// mcache is, to memory holding one pointer into static data. It is not taken
// for a second allp: a P's mcache holds a span of class i, or emptymspan, in
// every alloc[i].
TEST_F(StrippedImage, ASliceOfStructsThatOnlyLookLikePsIsNotAllp) {
  const Section* bss = bin_->section(".bss");
  ASSERT_NE(bss, nullptr);
  const uint64_t pSize = off("runtime.p", {"mcache"}) + 8,
                 cSize = off("runtime.mcache", {"alloc"}) + 136 * 8, need = 24 + 8 + pSize + cSize;
  uint64_t spot = 0;  // a zeroed stretch of .bss that long
  for (uint64_t a = bss->addr & ~uint64_t(7), run = 0; a + 8 <= bss->addr + bss->size && !spot;
       a += 8) {
    run = u64(a) ? 0 : run + 8;
    if (run >= need + 64) spot = a + 8 - run + 32;
  }
  ASSERT_NE(spot, 0u) << "no zeroed stretch of " << need << " bytes in .bss";
  const uint64_t arr = spot + 24, fakeP = arr + 8, fakeCache = fakeP + pSize;
  uint64_t realCache = u64(u64(u64(allp_)) + off("runtime.p", {"mcache"}));
  uint64_t empty = u64(realCache + off("runtime.mcache", {"alloc"}));  // alloc[0]: emptymspan
  put(spot, arr);
  put(spot + 8, 1);
  put(spot + 16, 1);
  put(arr, fakeP);
  put(fakeP + off("runtime.p", {"mcache"}), fakeCache);
  put(fakeCache + off("runtime.mcache", {"alloc"}), empty);
  Program p(target(), *bin_);
  StaticData d(p);
  EXPECT_EQ(locateAllp(p, d), allp_);
  // The same struct with every class at emptymspan is a P (an idle one
  // looks just so): two candidates, refused.
  for (uint64_t i = 1; i < 136; ++i)
    put(fakeCache + off("runtime.mcache", {"alloc"}) + 8 * i, empty);
  expectRefused("2 found");
}

TEST_F(StrippedImage, GcControllerThatAgreesWithNothingIsRefused) {
  // Three of the five counters the located gcController is checked by.
  Program p(target(), *bin_);
  MemStats m = readMemStats(p);
  ASSERT_GT(m.HeapInuse, 0u);
  const Type* ctl = p.runtimeType("runtime.gcControllerState");
  // Find it as readMemStats did: the only struct whose heapInUse is HeapInuse.
  StaticData d(p);
  uint64_t at = 0;
  for (const auto& part : d.parts())
    for (uint64_t q = 0; q + ctl->size <= part.bytes.size(); q += 8) {
      uint64_t v;
      std::memcpy(&v, part.bytes.data() + q + ctl->field("heapInUse")->offset, 8);
      uint64_t r;
      std::memcpy(&r, part.bytes.data() + q + ctl->field("heapReleased")->offset, 8);
      if (v == m.HeapInuse && r == m.HeapReleased) at = part.addr + q;
    }
  ASSERT_NE(at, 0u);
  for (const char* f : {"heapInUse", "heapFree", "totalAlloc"})
    put(at + ctl->field(f)->offset, u64(at + ctl->field(f)->offset) + 4096);
  expectRefused("cannot locate runtime.gcController without symbols");
}

TEST_F(StrippedImage, RandomDamageToStaticDataIsAnErrorOrAResult) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const char* s : {".data", ".bss", ".noptrbss"})
    if (const Section* sec = bin_->section(s)) ranges.emplace_back(sec->addr, sec->size);
  std::mt19937_64 rng(20261204);
  int errors = 0, results = 0;
  for (int i = 0; i < 300; ++i) {
    segs_ = *base_;
    // Damage near the structures the locator reads (most of the time) or anywhere.
    for (int k = 0, n = 1 + int(rng() % 8); k < n; ++k) {
      uint64_t addr;
      switch (rng() % 4) {
        case 0:
          addr = mheap_ + rng() % 93464;
          break;
        case 1:
          addr = memstats_ + rng() % 10440;
          break;
        case 2:
          addr = allp_ + rng() % 24;
          break;
        default: {
          auto [a, sz] = ranges[rng() % ranges.size()];
          addr = a + rng() % sz;
        }
      }
      std::vector<uint8_t> b(1 + rng() % 8);
      for (auto& c : b) c = static_cast<uint8_t>(rng());
      write(addr, b.data(), b.size());
    }
    Program p(target(), *bin_);
    try {
      readMemStats(p);
      ++results;
    } catch (const Error&) {
      ++errors;
    }
  }
  std::printf("[stripped-image] 300 damaged images: %d results, %d errors\n", results, errors);
  EXPECT_GT(errors, 0);
  EXPECT_GT(results, 0);
}

}  // namespace
}  // namespace gms::test
