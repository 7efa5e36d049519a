// walkSyncMap: the syncmap fixture's sync.Maps, live (frozen) and from a core
// written by writeCore, with DWARF and stripped, under every toolchain: Go
// 1.19 (read/dirty, readOnly in an atomic.Value), Go 1.26 and 1.27
// (HashTrieMap). The fixture prints, per map, its address and what Range
// visits; the walk must list exactly that. Then corrupt structures in
// synthetic memory laid out with the fixture's own types: problems, never a
// hang, a crash or an exception.
#include "goruntime/sync_map.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <random>

#include "binary/binary.h"
#include "control/core_writer.h"
#include "control/freezer.h"
#include "goruntime/value.h"
#include "support/fixture.h"
#include "support/json_compare.h"
#include "target/core_file.h"
#include "target/live_process.h"
#include "target/memory.h"

namespace gms::test {
namespace {

using nlohmann::json;

// Builds the fixture's JSON value format (gmsfixture/truth) from a ValueRenderer.
class JsonSink : public ValueSink {
 public:
  json result;

  void nil() override { put(nullptr); }
  void boolean(bool v) override { put(v); }
  void integer(int64_t v) override { put(v); }
  void uinteger(uint64_t v) override { put(v); }
  void floating(double v, bool) override { put(v); }
  void complex(double re, double im, bool) override { put(json{{"real", re}, {"imag", im}}); }
  void string(std::string_view s, uint64_t) override { put(std::string(s)); }
  void address(std::string_view what, uint64_t a) override {
    put(fmt::format("<{} {:#x}>", what, a));
  }
  void beginStruct(const Type*) override { open(json::object()); }
  void field(std::string_view name) override { keys_.back() = name; }
  void endStruct() override { close(); }
  void beginArray(uint64_t) override { open(json::array()); }
  void endArray(uint64_t) override { close(); }
  void beginMap(uint64_t) override { open(json::array()); }
  void entryKey() override {
    open(json::object());
    keys_.back() = "key";
  }
  void entryValue() override { keys_.back() = "value"; }
  void endEntry() override { close(); }
  void endMap(uint64_t) override { close(); }
  void beginPointer(uint64_t) override {}
  void endPointer() override {}
  void beginInterface(std::string_view t) override {
    open(json::object());
    stack_.back()["type"] = std::string(t);
    keys_.back() = "value";
  }
  void endInterface() override { close(); }
  void unreadable(uint64_t a, std::string_view why) override {
    put(json{{"$unreadable", fmt::format("{:#x}: {}", a, why)}});
  }

 private:
  void put(json v) {
    if (stack_.empty()) {
      result = std::move(v);
      return;
    }
    json& top = stack_.back();
    if (top.is_array())
      top.push_back(std::move(v));
    else
      top[keys_.back()] = std::move(v);
  }
  void open(json v) {
    stack_.push_back(std::move(v));
    keys_.emplace_back();
  }
  void close() {
    json v = std::move(stack_.back());
    stack_.pop_back();
    keys_.pop_back();
    put(std::move(v));
  }
  std::vector<json> stack_;
  std::vector<std::string> keys_;
};

// The `any` at addr as the fixture's truth writes it: {"type", "value"}, a nil
// interface {"type": "nil", "value": null}.
json renderAny(const Program& p, const Type* anyType, uint64_t addr) {
  if (p.mem().readPtr(addr) == 0) return json{{"type", "nil"}, {"value", nullptr}};
  JsonSink sink;
  ValueRenderer(p, RenderLimits{}).render(addr, anyType, sink);
  return sink.result;
}

std::string dump(const SyncMapSummary& s) {
  std::string out = fmt::format(
      "{} len={} amended={} dirtyNil={} readSlots={} dirtySlots={} misses={} deleted={} "
      "expunged={} expungedPtr={:#x}{} depth={} indirect={} entries={} overflow={} footprint={} "
      "torn={} invalid='{}'",
      syncMapImplName(s.impl), s.len, s.amended, s.dirtyNil, s.readSlots, s.dirtySlots, s.misses,
      s.deleted, s.expunged, s.expungedPtr, s.expungedInferred ? " (inferred)" : "", s.depth,
      s.indirectNodes, s.entryNodes, s.overflowEntries, s.footprint, s.torn, s.invalidHeader);
  for (const auto& p : s.problems) out += "\n  problem: " + p;
  return out;
}

bool hasProblem(const SyncMapSummary& s, const std::string& needle) {
  for (const auto& p : s.problems)
    if (p.find(needle) != std::string::npos) return true;
  return false;
}

// ---------------------------------------------------------------------------
// The fixture, per toolchain and build: its binary, the running process and a core of it.

struct Subject {
  std::string exe;
  std::unique_ptr<RunningFixture> proc;
  std::unique_ptr<Binary> bin;
  std::string core;
};

Subject& subject(const Toolchain& tc, const BuildFlags& flags) {
  static std::map<std::string, std::unique_ptr<Subject>> cache;
  auto& slot = cache[tc.name + "-" + flags.key()];
  if (!slot) {
    auto s = std::make_unique<Subject>();
    s->exe = buildFixture(tc, "syncmap", flags);
    s->proc = RunningFixture::start(s->exe);
    s->bin = Binary::open(s->exe);
    s->core = tempDir() + "/syncmap-" + tc.name + "-" + flags.key() + ".core";
    auto lp = LiveProcess::open(s->proc->pid());
    Freezer f(s->proc->pid());
    lp->setFrozen(true);
    writeCore(*lp, f, s->core);
    slot = std::move(s);
  }
  return *slot;
}

struct Decoded {
  SyncMapSummary summary;
  json entries = json::array();
};

class SyncMapFixture : public ::testing::TestWithParam<BuildCase> {
 protected:
  const Toolchain& tc() { return toolchain(std::get<0>(GetParam())); }
  bool stripped() { return std::get<1>(GetParam()); }
  bool live() { return std::get<2>(GetParam()); }

  // Runs fn(program) live (frozen for the call) or over the core.
  void withProgram(const std::function<void(const Program&)>& fn) {
    Subject& s = subject(tc(), BuildFlags{.stripped = stripped()});
    if (live()) {
      auto lp = LiveProcess::open(s.proc->pid());
      Program prog(*lp, *s.bin);
      Freezer f(s.proc->pid());
      lp->setFrozen(true);
      fn(prog);
      lp->setFrozen(false);
      f.release();
      EXPECT_TRUE(s.proc->alive());
      return;
    }
    auto cf = CoreFile::open(s.core);
    cf->setUnderlay(&s.bin->fileMemory());
    Program prog(*cf, *s.bin);
    fn(prog);
  }
};

uint64_t parseAddr(const json& j) { return std::stoull(j.get<std::string>(), nullptr, 16); }

TEST_P(SyncMapFixture, EveryMapListsWhatRangeVisits) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const json& truth = subject(tc(), BuildFlags{.stripped = stripped()}).proc->truth();
  ASSERT_TRUE(truth.contains("maps")) << truth.dump();
  const bool hashTrie = tc().minor >= 24;
  std::map<std::string, Decoded> got;
  withProgram([&](const Program& prog) {
    EXPECT_EQ(prog.hasDwarf(), !stripped());
    const Type* T = prog.types().findType("sync.Map");
    ASSERT_NE(T, nullptr) << "no type sync.Map (" << prog.types().source() << ")";
    EXPECT_TRUE(isSyncMap(T));
    for (const auto& [name, want] : truth["maps"].items()) {
      uint64_t addr = parseAddr(want["addr"]);
      if (!stripped() && name.find('.', 5) == std::string::npos) {
        auto g = prog.findGlobal(name);
        ASSERT_TRUE(g.has_value()) << name;
        EXPECT_EQ(g->addr, addr) << name;
        EXPECT_EQ(g->type, T) << name;
      }
      Decoded& d = got[name];
      std::vector<std::pair<uint64_t, uint64_t>> kv;
      d.summary = walkSyncMap(prog, T, addr, [&](uint64_t k, uint64_t v) {
        kv.emplace_back(k, v);
        return true;
      });
      if (!d.summary.anyType) continue;
      for (auto [k, v] : kv)
        d.entries.push_back(json{{"key", renderAny(prog, d.summary.anyType, k)},
                                 {"value", renderAny(prog, d.summary.anyType, v)}});
    }
  });
  for (const auto& [name, want] : truth["maps"].items()) {
    SCOPED_TRACE(name);
    const Decoded& d = got[name];
    const SyncMapSummary& s = d.summary;
    SCOPED_TRACE(dump(s));
    EXPECT_EQ(s.impl, hashTrie ? SyncMapSummary::Impl::HashTrie : SyncMapSummary::Impl::ReadDirty);
    EXPECT_TRUE(s.problems.empty());
    EXPECT_EQ(s.invalidHeader, "");
    EXPECT_FALSE(s.torn);
    ASSERT_NE(s.anyType, nullptr);
    EXPECT_EQ(s.len, want["len"].get<uint64_t>());
    EXPECT_EQ(d.entries.size(), s.len);
    EXPECT_EQ(jsonDiff(canonical(d.entries), canonical(want["entries"])), "")
        << d.entries.dump().substr(0, 600);
    if (hashTrie) {
      EXPECT_EQ(s.entryNodes, s.len);
      EXPECT_EQ(s.overflowEntries, 0u);  // a full 64-bit hash collision is not made by the fixture
    }
  }

  // What each map's history leaves behind (see the fixture's build functions).
  const SyncMapSummary& zero = got["main.SZero"].summary;
  const SyncMapSummary& ops = got["main.SOps"].summary;
  const SyncMapSummary& many = got["main.SMany"].summary;
  const SyncMapSummary& emptied = got["main.SEmptied"].summary;
  EXPECT_EQ(zero.footprint, 0u);
  EXPECT_GT(ops.footprint, 0u);
  EXPECT_GT(many.footprint, ops.footprint);
  if (hashTrie) {
    EXPECT_TRUE(zero.uninitialised);
    EXPECT_EQ(zero.indirectNodes, 0u);
    EXPECT_FALSE(emptied.uninitialised);
    EXPECT_EQ(emptied.indirectNodes, 1u) << "Delete prunes emptied indirect nodes";
    EXPECT_GE(many.depth, 3u);
    EXPECT_LE(many.depth, 16u);
    EXPECT_GT(many.indirectNodes, 16u);
  } else {
    EXPECT_TRUE(zero.dirtyNil);
    EXPECT_EQ(zero.readSlots, 0u);
    // Range promoted k00..k19 into read; Delete k01..k03; the first new key
    // made a dirty copy expunging k01..k03; k02 and k03 were unexpunged by
    // Store, k03 deleted again; k05 and k07 deleted while in both maps.
    EXPECT_TRUE(ops.amended);
    EXPECT_FALSE(ops.dirtyNil);
    EXPECT_EQ(ops.readSlots, 20u);
    EXPECT_EQ(ops.dirtySlots, 22u);
    EXPECT_EQ(ops.deleted, 3u);
    EXPECT_EQ(ops.expunged, 1u);
    EXPECT_EQ(ops.misses, 1u);
    EXPECT_NE(ops.expungedPtr, 0u);
    EXPECT_EQ(ops.expungedInferred, stripped()) << "the symbol is used when there is one";
    EXPECT_TRUE(many.amended);
    EXPECT_GT(many.readSlots, 2000u);
    EXPECT_EQ(many.expunged, 0u);
    EXPECT_EQ(emptied.readSlots, 0u);
    EXPECT_TRUE(emptied.dirtyNil);
  }
}

INSTANTIATE_TEST_SUITE_P(SyncMap, SyncMapFixture, buildCases(), buildCaseName);

// onEntry returning false stops the calls, not the walk.
TEST(SyncMapWalk, StoppingEarlyStillCountsEverything) {
  int checked = 0;
  for (const Toolchain& t : toolchains()) {
    if (!t.available) continue;
    checked++;
    SCOPED_TRACE(t.name);
    Subject& s = subject(t, {});
    auto cf = CoreFile::open(s.core);
    cf->setUnderlay(&s.bin->fileMemory());
    Program prog(*cf, *s.bin);
    auto g = prog.findGlobal("main.SMany");
    ASSERT_TRUE(g.has_value());
    int calls = 0;
    SyncMapSummary sm =
        walkSyncMap(prog, g->type, g->addr, [&](uint64_t, uint64_t) { return ++calls < 3; });
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(sm.len, s.proc->truth()["maps"]["main.SMany"]["len"].get<uint64_t>());
  }
  if (!checked) GTEST_SKIP() << "no Go toolchain installed";
}

// A position-independent build: sync.expunged and the globals are found at
// their link address plus the load bias.
// Where the live process mapped the executable's file offset 0, less its
// link address (what the cli's Session computes).
uint64_t loadBias(const Subject& s, const LiveProcess& lp) {
  uint64_t link = UINT64_MAX;
  for (const auto& seg : s.bin->segments())
    if (seg.offset == 0) link = std::min(link, seg.vaddr & ~uint64_t(0xfff));
  for (const auto& m : lp.memory().mappings())
    if (m.offset == 0 && m.path == s.exe && link != UINT64_MAX) return m.start - link;
  return 0;
}

TEST(SyncMapWalk, PositionIndependentBuild) {
  int checked = 0;
  for (const Toolchain& t : toolchains()) {
    if (!t.available) continue;
    checked++;
    SCOPED_TRACE(t.name);
    Subject& s = subject(t, pieBuild());
    auto lp = LiveProcess::open(s.proc->pid());
    Program prog(*lp, *s.bin, loadBias(s, *lp));
    EXPECT_NE(prog.loadBias(), 0u);
    Freezer f(s.proc->pid());
    lp->setFrozen(true);
    for (const auto& [name, want] : s.proc->truth()["maps"].items()) {
      SCOPED_TRACE(name);
      uint64_t addr = parseAddr(want["addr"]);
      if (name.find('.', 5) == std::string::npos) {
        auto g = prog.findGlobal(name);
        ASSERT_TRUE(g.has_value());
        EXPECT_EQ(g->addr, addr);
      }
      SyncMapSummary sm = walkSyncMap(prog, prog.types().findType("sync.Map"), addr, nullptr);
      EXPECT_TRUE(sm.problems.empty()) << dump(sm);
      EXPECT_EQ(sm.len, want["len"].get<uint64_t>());
      if (name == "main.SOps" && t.minor < 24) {
        EXPECT_EQ(sm.expunged, 1u) << dump(sm);
        EXPECT_FALSE(sm.expungedInferred);
      }
    }
  }
  if (!checked) GTEST_SKIP() << "no Go toolchain installed";
}

// The entry node's layout, which the decoder computes from hashtriemap.go's
// declaration when the types lack internal/sync.entry (go1.27's DWARF), is
// the one the types give wherever they have it.
TEST(SyncMapLayout, ComputedEntryLayoutMatchesTheTypes) {
  int checked = 0;
  for (const Toolchain& t : toolchains()) {
    if (!t.available || t.minor < 24) continue;
    for (bool stripped : {false, true}) {
      auto bin = Binary::open(buildFixture(t, "syncmap", BuildFlags{.stripped = stripped}));
      ASSERT_NE(bin->types(), nullptr);
      const Type* E = bin->types()->findType("internal/sync.entry[interface {},interface {}]");
      if (!E) continue;
      SCOPED_TRACE(t.name + (stripped ? " stripped" : ""));
      checked++;
      ASSERT_NE(E->field("node"), nullptr);
      ASSERT_NE(E->field("overflow"), nullptr);
      ASSERT_NE(E->field("key"), nullptr);
      ASSERT_NE(E->field("value"), nullptr);
      EXPECT_EQ(E->field("node")->offset, 0u);
      EXPECT_EQ(E->field("node")->type->size, 1u);
      EXPECT_EQ(E->field("overflow")->offset, 8u);
      EXPECT_EQ(E->field("key")->offset, 16u);
      EXPECT_EQ(E->field("value")->offset, 32u);
      EXPECT_EQ(E->size, 48u);
    }
  }
  if (!checked) GTEST_SKIP() << "no toolchain >= go1.24 installed, or none names the entry type";
}

// ---------------------------------------------------------------------------
// Corruption, over synthetic memory: the fixture binary's types (and, for
// the read/dirty layout, its file image, which holds the type descriptors).

struct Synthetic {
  std::unique_ptr<Binary> bin;
  FakeTarget target;
  std::unique_ptr<Program> prog;
  const Type* T = nullptr;  // sync.Map
  void put(uint64_t addr, std::vector<uint8_t> bytes) { target.mem.add(addr, std::move(bytes)); }
  void putWord(std::vector<uint8_t>& b, uint64_t off, uint64_t v) {
    ASSERT_LE(off + 8, b.size());
    std::memcpy(b.data() + off, &v, 8);
  }
};

std::unique_ptr<Synthetic> synthetic(const Toolchain& tc, bool stripped, bool withImage) {
  auto s = std::make_unique<Synthetic>();
  s->bin = Binary::open(buildFixture(tc, "syncmap", BuildFlags{.stripped = stripped}));
  if (withImage)
    for (const Segment& seg : s->bin->segments()) {
      std::vector<uint8_t> b(seg.memsz);
      s->bin->fileMemory().read(seg.vaddr, b.data(), seg.filesz);
      s->put(seg.vaddr, std::move(b));
    }
  s->prog = std::make_unique<Program>(s->target, *s->bin);
  s->T = s->prog->types().findType("sync.Map");
  EXPECT_NE(s->T, nullptr);
  return s;
}

// HashTrieMap images, laid out with the go1.26 fixture's DWARF.
struct Trie {
  Synthetic& s;
  const Type *H, *I, *E;
  uint64_t mOff, initedOff, rootOff, iParent, iChildren, eOverflow;
  explicit Trie(Synthetic& syn)
      : s(syn),
        H(syn.T->field("m")->type),
        I(syn.prog->types().findType("internal/sync.indirect[interface {},interface {}]")),
        E(syn.prog->types().findType("internal/sync.entry[interface {},interface {}]")) {
    mOff = s.T->field("m")->offset;
    initedOff = mOff + H->field("inited")->offset + H->field("inited")->type->field("v")->offset;
    rootOff = mOff + H->field("root")->offset + H->field("root")->type->field("v")->offset;
    iParent = I->field("parent")->offset;
    iChildren = I->field("children")->offset;
    eOverflow = E->field("overflow")->offset + E->field("overflow")->type->field("v")->offset;
  }
  void map(uint64_t at, uint32_t inited, uint64_t root) {
    std::vector<uint8_t> b(s.T->size);
    std::memcpy(b.data() + initedOff, &inited, 4);
    s.putWord(b, rootOff, root);
    s.put(at, std::move(b));
  }
  // An indirect node; children: (index, node).
  void indirect(uint64_t at, uint64_t parent, std::vector<std::pair<int, uint64_t>> children) {
    std::vector<uint8_t> b(I->size);
    s.putWord(b, iParent, parent);
    for (auto [i, c] : children) s.putWord(b, iChildren + 8 * i, c);
    s.put(at, std::move(b));
  }
  void entry(uint64_t at, uint64_t overflow, uint8_t isEntry = 1) {
    std::vector<uint8_t> b(E->size);
    b[0] = isEntry;
    s.putWord(b, eOverflow, overflow);
    s.put(at, std::move(b));
  }
};

std::unique_ptr<Synthetic> trieSynthetic() {
  const Toolchain& tc = toolchain("go1.26");
  if (!tc.available) return nullptr;
  auto s = synthetic(tc, false, false);
  if (!s->prog->types().findType("internal/sync.entry[interface {},interface {}]")) return nullptr;
  return s;
}

#define GMS_REQUIRE_TRIE(s) \
  if (!(s)) GTEST_SKIP() << "toolchain go1.26 not installed: " << toolchain("go1.26").missing

TEST(SyncMapCorrupt, OverflowChainsAreListed) {
  // A full 64-bit hash collision cannot be produced through sync.Map's API
  // (the hash is seeded per map): the chain is built here.
  auto s = trieSynthetic();
  GMS_REQUIRE_TRIE(s);
  Trie t(*s);
  t.map(0x100000, 1, 0x200000);
  t.indirect(0x200000, 0, {{3, 0x300000}, {9, 0x400000}});
  t.entry(0x300000, 0x300100);
  t.entry(0x300100, 0x300200);
  t.entry(0x300200, 0);
  t.entry(0x400000, 0);
  std::vector<uint64_t> keys;
  SyncMapSummary sm = walkSyncMap(*s->prog, s->T, 0x100000, [&](uint64_t k, uint64_t v) {
    keys.push_back(k);
    EXPECT_EQ(v, k + 16);
    return true;
  });
  EXPECT_TRUE(sm.problems.empty()) << dump(sm);
  EXPECT_EQ(sm.len, 4u);
  EXPECT_EQ(sm.overflowEntries, 2u);
  EXPECT_EQ(sm.entryNodes, 4u);
  EXPECT_EQ(sm.indirectNodes, 1u);
  EXPECT_EQ(sm.depth, 1u);
  EXPECT_EQ(keys, (std::vector<uint64_t>{0x300010, 0x300110, 0x300210, 0x400010}));
  EXPECT_EQ(sm.footprint, 160u + 4 * 48u);  // indirect 152 B -> 160; entry 48 B
}

TEST(SyncMapCorrupt, TrieCyclesBadNodesAndWildPointers) {
  auto s = trieSynthetic();
  GMS_REQUIRE_TRIE(s);
  Trie t(*s);
  t.map(0x100000, 1, 0x200000);
  t.indirect(0x200000, 0,
             {{0, 0x210000},    // an indirect whose child is the root again
              {1, 0x300000},    // an entry chain looping on itself
              {2, 0x500000},    // isEntry = 7
              {4, 0xdead0000},  // unmapped
              {5, 0x220000}});  // an indirect naming another parent
  t.indirect(0x210000, 0x200000, {{7, 0x200000}});
  t.entry(0x300000, 0x300100);
  t.entry(0x300100, 0x300000);
  t.entry(0x500000, 0, 7);
  t.indirect(0x220000, 0x999000, {{0, 0x600000}});
  t.entry(0x600000, 0);
  SyncMapSummary sm = walkSyncMap(*s->prog, s->T, 0x100000, nullptr);
  EXPECT_EQ(sm.invalidHeader, "");
  EXPECT_TRUE(hasProblem(sm, "cycle: node 0x200000")) << dump(sm);
  EXPECT_TRUE(hasProblem(sm, "cycle: overflow entry 0x300000")) << dump(sm);
  EXPECT_TRUE(hasProblem(sm, "isEntry=0x07")) << dump(sm);
  EXPECT_TRUE(hasProblem(sm, "0xdead0000")) << dump(sm);
  EXPECT_TRUE(hasProblem(sm, "parent is 0x999000")) << dump(sm);
  EXPECT_EQ(sm.len, 3u) << dump(sm);  // 0x300000, 0x300100, 0x600000
  for (const auto& p : sm.problems) EXPECT_EQ(p.find('\n'), std::string::npos) << p;
}

TEST(SyncMapCorrupt, TrieDeeperThanAHashIsCut) {
  auto s = trieSynthetic();
  GMS_REQUIRE_TRIE(s);
  Trie t(*s);
  t.map(0x100000, 1, 0x200000);
  const uint64_t levels = 20;
  for (uint64_t i = 0; i < levels; i++) {
    uint64_t at = 0x200000 + i * 0x1000;
    t.indirect(at, i ? at - 0x1000 : 0, {{0, at + 0x1000}});
  }
  SyncMapSummary sm = walkSyncMap(*s->prog, s->T, 0x100000, nullptr);
  EXPECT_EQ(sm.depth, 16u) << dump(sm);
  EXPECT_EQ(sm.indirectNodes, 16u);
  EXPECT_TRUE(hasProblem(sm, "below level 16")) << dump(sm);
}

TEST(SyncMapCorrupt, TrieHeaderChecks) {
  auto s = trieSynthetic();
  GMS_REQUIRE_TRIE(s);
  Trie t(*s);
  t.map(0x100000, 0, 0);
  SyncMapSummary sm = walkSyncMap(*s->prog, s->T, 0x100000, nullptr);
  EXPECT_TRUE(sm.uninitialised);
  EXPECT_TRUE(sm.problems.empty()) << dump(sm);
  t.map(0x110000, 9, 0x200000);
  sm = walkSyncMap(*s->prog, s->T, 0x110000, nullptr);
  EXPECT_NE(sm.invalidHeader.find("inited=9"), std::string::npos) << dump(sm);
  t.map(0x120000, 1, 0xdead0000);
  sm = walkSyncMap(*s->prog, s->T, 0x120000, nullptr);
  EXPECT_NE(sm.invalidHeader.find("root 0xdead0000 unreadable"), std::string::npos) << dump(sm);
  t.entry(0x300000, 0);
  t.map(0x130000, 1, 0x300000);
  sm = walkSyncMap(*s->prog, s->T, 0x130000, nullptr);
  EXPECT_NE(sm.invalidHeader.find("no indirect node"), std::string::npos) << dump(sm);
  sm = walkSyncMap(*s->prog, s->T, 0x7770000, nullptr);
  EXPECT_NE(sm.invalidHeader.find("unreadable"), std::string::npos) << dump(sm);
}

// Read/dirty images, laid out with the go1.19 fixture's types. Stripped: no
// symbol for sync.expunged, so it must be inferred. Each piece is placed at
// a fresh address above the executable's image (which the type descriptors
// are read from).
struct ReadDirty {
  Synthetic& s;
  const Type* mapType;  // map[interface {}]*sync.entry
  const Type *hmap, *bucket;
  uint64_t readOff, dirtyOff, missesOff, readOnlyDesc = 0;
  uint64_t next = 0x10000000;
  explicit ReadDirty(Synthetic& syn) : s(syn) {
    mapType = s.T->field("dirty")->type;
    hmap = mapType->mapHeader;
    bucket = hmap->field("buckets")->type->elem;
    readOff = s.T->field("read")->offset;
    dirtyOff = s.T->field("dirty")->offset;
    missesOff = s.T->field("misses")->offset;
    const Type* ro = s.prog->types().findType("sync.readOnly");
    auto base = s.prog->typesBase();
    EXPECT_NE(ro, nullptr);
    EXPECT_TRUE(base.has_value());
    if (ro && base) readOnlyDesc = *base + static_cast<uint64_t>(ro->runtimeTypeOff);
  }
  uint64_t place(std::vector<uint8_t> b) {
    uint64_t at = next;
    next += (b.size() + 0x10ff) / 0x1000 * 0x1000;
    s.put(at, std::move(b));
    return at;
  }
  // A sync.Map whose read holds the eface (typ, box).
  uint64_t map(uint64_t typ, uint64_t box, uint64_t dirty, uint64_t misses = 0) {
    std::vector<uint8_t> b(s.T->size);
    s.putWord(b, readOff, typ);
    s.putWord(b, readOff + 8, box);
    s.putWord(b, dirtyOff, dirty);
    s.putWord(b, missesOff, misses);
    return place(std::move(b));
  }
  uint64_t readOnly(uint64_t m, uint8_t amended) {
    std::vector<uint8_t> b(16);
    s.putWord(b, 0, m);
    b[8] = amended;
    return place(std::move(b));
  }
  // A classic map of one bucket: keys are fake efaces, values the *entry.
  uint64_t hashMap(const std::vector<uint64_t>& entries) {
    std::vector<uint8_t> bk(bucket->size);
    uint64_t keys = bucket->field("keys")->offset, vals = bucket->field("values")->offset;
    for (size_t i = 0; i < entries.size(); i++) {
      bk[i] = 0x80;  // tophash >= minTopHash: full
      s.putWord(bk, keys + 16 * i, i + 1);
      s.putWord(bk, vals + 8 * i, entries[i]);
    }
    uint64_t buckets = place(std::move(bk));
    std::vector<uint8_t> h(hmap->size);
    uint64_t n = entries.size();
    std::memcpy(h.data() + hmap->field("count")->offset, &n, 8);
    s.putWord(h, hmap->field("buckets")->offset, buckets);
    return place(std::move(h));
  }
  uint64_t entry(uint64_t p) {
    std::vector<uint8_t> b(8);
    s.putWord(b, 0, p);
    return place(std::move(b));
  }
  uint64_t any(uint64_t typ, uint64_t data) {
    std::vector<uint8_t> b(16);
    s.putWord(b, 0, typ);
    s.putWord(b, 8, data);
    return place(std::move(b));
  }
};

std::unique_ptr<Synthetic> readDirtySynthetic() {
  const Toolchain& tc = toolchain("go1.19");
  if (!tc.available) return nullptr;
  return synthetic(tc, true, true);
}

#define GMS_REQUIRE_READ_DIRTY(s) \
  if (!(s)) GTEST_SKIP() << "toolchain go1.19 not installed: " << toolchain("go1.19").missing

TEST(SyncMapCorrupt, ExpungedIsInferredFromTheMissingReadEntries) {
  auto s = readDirtySynthetic();
  GMS_REQUIRE_READ_DIRTY(s);
  ReadDirty r(*s);
  // read.m {A: expunged, B: live, C: a stored nil}, dirty {B, C, D}, amended.
  uint64_t expunged = r.any(0, 0);  // new(any)
  uint64_t vb = r.any(0x1234, 5), vc = r.any(0, 0), vd = r.any(0x1234, 6);
  uint64_t a = r.entry(expunged), b = r.entry(vb), c = r.entry(vc), d = r.entry(vd);
  uint64_t readM = r.hashMap({a, b, c}), dirty = r.hashMap({b, c, d});
  uint64_t m = r.map(r.readOnlyDesc, r.readOnly(readM, 1), dirty, 1);
  std::vector<uint64_t> values;
  SyncMapSummary sm = walkSyncMap(*s->prog, s->T, m, [&](uint64_t, uint64_t v) {
    values.push_back(v);
    return true;
  });
  EXPECT_TRUE(sm.problems.empty()) << dump(sm);
  EXPECT_TRUE(sm.expungedInferred);
  EXPECT_EQ(sm.expungedPtr, expunged);
  EXPECT_EQ(sm.expunged, 1u);
  EXPECT_EQ(sm.deleted, 0u);
  EXPECT_EQ(sm.readSlots, 3u);
  EXPECT_EQ(sm.dirtySlots, 3u);
  EXPECT_EQ(sm.len, 3u);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<uint64_t>{vb, vc, vd}));

  // Not amended: Range lists read.m (as in a Store holding mu between
  // dirtyLocked and storing amended), and D is lost to it.
  m = r.map(r.readOnlyDesc, r.readOnly(readM, 0), dirty);
  sm = walkSyncMap(*s->prog, s->T, m, nullptr);
  EXPECT_EQ(sm.len, 2u) << dump(sm);
  EXPECT_TRUE(hasProblem(sm, "live entries of dirty are not in read.m")) << dump(sm);
}

TEST(SyncMapCorrupt, ExpungedIsNotGuessedWhenTheCandidatesDisagree) {
  auto s = readDirtySynthetic();
  GMS_REQUIRE_READ_DIRTY(s);
  ReadDirty r(*s);
  // Two read.m entries missing from dirty, pointing at different nil anys.
  uint64_t a = r.entry(r.any(0, 0)), b = r.entry(r.any(0, 0)), c = r.entry(r.any(0x1234, 7));
  uint64_t m = r.map(r.readOnlyDesc, r.readOnly(r.hashMap({a, b, c}), 1), r.hashMap({c}));
  SyncMapSummary sm = walkSyncMap(*s->prog, s->T, m, nullptr);
  EXPECT_EQ(sm.expungedPtr, 0u) << dump(sm);
  EXPECT_TRUE(hasProblem(sm, "cannot tell sync.expunged")) << dump(sm);
  EXPECT_EQ(sm.len, 1u);

  // One candidate, but its value is not a nil any: a live entry dirty lost.
  uint64_t e = r.entry(r.any(0x1234, 8));
  m = r.map(r.readOnlyDesc, r.readOnly(r.hashMap({c, e}), 1), r.hashMap({c}));
  sm = walkSyncMap(*s->prog, s->T, m, nullptr);
  EXPECT_EQ(sm.expungedPtr, 0u) << dump(sm);
  EXPECT_TRUE(hasProblem(sm, "not a nil any")) << dump(sm);
  EXPECT_EQ(sm.len, 1u);
}

TEST(SyncMapCorrupt, BadReadOnlyAndHeaders) {
  auto s = readDirtySynthetic();
  GMS_REQUIRE_READ_DIRTY(s);
  ReadDirty r(*s);
  SyncMapSummary sm = walkSyncMap(*s->prog, s->T, r.map(r.readOnlyDesc, 0xdead0000, 0), nullptr);
  EXPECT_NE(sm.invalidHeader.find("read points at 0xdead0000, which is unreadable"),
            std::string::npos)
      << dump(sm);

  // A type word that is no type descriptor.
  sm = walkSyncMap(*s->prog, s->T, r.map(0xbad00000, r.readOnly(0, 0), 0), nullptr);
  EXPECT_NE(sm.invalidHeader.find("not a sync.readOnly"), std::string::npos) << dump(sm);

  sm = walkSyncMap(*s->prog, s->T, r.map(r.readOnlyDesc, r.readOnly(0, 5), 0), nullptr);
  EXPECT_NE(sm.invalidHeader.find("read.amended=5"), std::string::npos) << dump(sm);

  sm = walkSyncMap(*s->prog, s->T, r.map(r.readOnlyDesc, r.readOnly(0, 1), 0), nullptr);
  EXPECT_EQ(sm.invalidHeader, "");
  EXPECT_TRUE(hasProblem(sm, "dirty is nil")) << dump(sm);

  // read.m unreadable.
  sm = walkSyncMap(*s->prog, s->T, r.map(r.readOnlyDesc, r.readOnly(0x7770000, 0), 0), nullptr);
  EXPECT_TRUE(hasProblem(sm, "read.m")) << dump(sm);
  EXPECT_EQ(sm.len, 0u);

  // The zero Map.
  sm = walkSyncMap(*s->prog, s->T, r.map(0, 0, 0), nullptr);
  EXPECT_TRUE(sm.problems.empty()) << dump(sm);
  EXPECT_EQ(sm.invalidHeader, "");
  EXPECT_EQ(sm.len, 0u);

  sm = walkSyncMap(*s->prog, s->T, 0x7770000, nullptr);
  EXPECT_NE(sm.invalidHeader.find("unreadable"), std::string::npos) << dump(sm);
}

// Go 1.20-1.23 keep readOnly in an atomic.Pointer[readOnly] and entry.p in
// an atomic.Pointer[any] (sync/map.go of those releases; no toolchain of them
// is installed here): the same walk over those shapes, built as the types of
// such a binary would describe them from the go1.19 fixture's own types.
TEST(SyncMapLayout, AtomicPointerShapesOfGo120To123) {
  auto s = readDirtySynthetic();
  GMS_REQUIRE_READ_DIRTY(s);
  ReadDirty r(*s);
  const TypeProvider& tp = s->prog->types();
  const Type* any = tp.findType("interface {}");
  const Type* readOnly = tp.findType("sync.readOnly");
  const Type* intT = tp.findType("int");
  ASSERT_TRUE(any && readOnly && intT);
  std::deque<Type> made;
  auto make = [&](Type t) { return &made.emplace_back(std::move(t)); };
  const Type* noCopy = make({.name = "sync/atomic.noCopy", .kind = Kind::Struct});
  const Type* unsafePtr = make({.name = "unsafe.Pointer", .kind = Kind::UnsafePointer, .size = 8});
  auto atomicPointer = [&](const Type* elem) {
    const Type* ptr =
        make({.name = "*" + elem->name, .kind = Kind::Pointer, .size = 8, .elem = elem});
    const Type* arr = make({.name = "[0]*" + elem->name, .kind = Kind::Array, .elem = ptr});
    Type t{.name = "sync/atomic.Pointer[" + elem->name + "]", .kind = Kind::Struct, .size = 8};
    t.fields = {{"_", 0, arr}, {"_", 0, noCopy}, {"v", 0, unsafePtr}};
    return make(std::move(t));
  };
  Type entry{.name = "sync.entry", .kind = Kind::Struct, .size = 8};
  entry.fields = {{"p", 0, atomicPointer(any)}};
  const Type* entryT = make(std::move(entry));
  Type mapT = *r.mapType;  // the same hash<interface {},*sync.entry> header and buckets
  mapT.elem = make({.name = "*sync.entry", .kind = Kind::Pointer, .size = 8, .elem = entryT});
  const Type* mapP = make(std::move(mapT));
  const Field* mu = s->T->field("mu");
  Type M{.name = "sync.Map", .kind = Kind::Struct, .size = 32};
  M.fields = {{"mu", 0, mu->type},
              {"read", 8, atomicPointer(readOnly)},
              {"dirty", 16, mapP},
              {"misses", 24, intT}};
  ASSERT_TRUE(isSyncMap(&M));

  uint64_t expunged = r.any(0, 0);
  uint64_t vb = r.any(0x1234, 5), vd = r.any(0x1234, 6);
  uint64_t a = r.entry(expunged), b = r.entry(vb), c = r.entry(0), d = r.entry(vd);
  uint64_t readM = r.hashMap({a, b, c}), dirty = r.hashMap({b, c, d});
  std::vector<uint8_t> img(32);
  s->putWord(img, 8, r.readOnly(readM, 1));
  s->putWord(img, 16, dirty);
  s->putWord(img, 24, 2);
  uint64_t m = r.place(std::move(img));
  std::vector<uint64_t> values;
  SyncMapSummary sm = walkSyncMap(*s->prog, &M, m, [&](uint64_t, uint64_t v) {
    values.push_back(v);
    return true;
  });
  EXPECT_TRUE(sm.problems.empty()) << dump(sm);
  EXPECT_EQ(sm.anyType, any);
  EXPECT_TRUE(sm.amended);
  EXPECT_EQ(sm.misses, 2u);
  EXPECT_EQ(sm.expungedPtr, expunged);
  EXPECT_EQ(sm.expunged, 1u);
  EXPECT_EQ(sm.deleted, 1u);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<uint64_t>{vb, vd}));
  // read: a nil atomic.Pointer is an empty readOnly.
  std::vector<uint8_t> zero(32);
  sm = walkSyncMap(*s->prog, &M, r.place(std::move(zero)), nullptr);
  EXPECT_TRUE(sm.problems.empty()) << dump(sm);
  EXPECT_EQ(sm.len, 0u);
}

// Random memory (words that mostly point back into it, bytes that are
// often 0 or 1) under both layouts: the walk ends, with or without
// problems, and never throws.
std::vector<uint8_t> randomRegion(std::mt19937_64& rng, uint64_t base, uint64_t size) {
  std::vector<uint8_t> b(size);
  for (uint64_t off = 0; off + 8 <= size; off += 8) {
    uint64_t w;
    switch (rng() % 4) {
      case 0:
        w = base + (rng() % size & ~uint64_t(7));
        break;
      case 1:
        w = rng() % 2;
        break;
      case 2:
        w = 0;
        break;
      default:
        w = rng();
        break;
    }
    std::memcpy(b.data() + off, &w, 8);
  }
  return b;
}

TEST(SyncMapCorrupt, RandomMemoryNeverThrowsOrHangs) {
  auto trie = trieSynthetic();
  auto rd = readDirtySynthetic();
  if (!trie && !rd) GTEST_SKIP() << "neither go1.19 nor go1.26 installed";
  std::mt19937_64 rng(20240613);
  const uint64_t size = 1 << 14;
  for (int round = 0; round < 300; round++) {
    uint64_t base = 0x20000000 + uint64_t(round) * 0x100000;
    if (trie) {
      Trie t(*trie);
      trie->put(base, randomRegion(rng, base, size));
      t.map(base + size, 1, base + (rng() % size & ~uint64_t(7)));
      EXPECT_NO_THROW(
          walkSyncMap(*trie->prog, trie->T, base + size, [](uint64_t, uint64_t) { return true; }));
    }
    if (rd) {
      ReadDirty r(*rd);
      r.next = base + 2 * size;
      rd->put(base, randomRegion(rng, base, size));
      uint64_t m = r.map(r.readOnlyDesc, base + (rng() % size & ~uint64_t(7)),
                         rng() % 2 ? base + (rng() % size & ~uint64_t(7)) : 0, rng() % 3);
      EXPECT_NO_THROW(walkSyncMap(*rd->prog, rd->T, m, [](uint64_t, uint64_t) { return true; }));
    }
  }
}

}  // namespace
}  // namespace gms::test
