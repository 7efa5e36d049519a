// The tracers' state machines (goruntime/tracers.h) driven over synthetic
// memory, with the debug registers and the trapping thread's stack faked:
// every decision the keeper takes on a live process (which growth, when it
// ended, which element was removed and used, which goroutines overlapped in a
// write) is checked here without ptrace. The live runs are tests/cli/
// trace_test.cc and watch_test.cc.
#include "goruntime/tracers.h"

#include <gtest/gtest.h>

#include <array>
#include <map>

#include "target/memory.h"

namespace gms {
namespace {

class FakeTraps : public TrapControl {
 public:
  std::array<std::optional<TrapAt>, 4> slots;
  int holds = 0;
  std::optional<int> add(const TrapAt& t) override {
    for (int i = 0; i < 4; i++)
      if (!slots[size_t(i)]) {
        slots[size_t(i)] = t;
        return i;
      }
    return std::nullopt;
  }
  void clear(int slot) override { slots[size_t(slot)].reset(); }
  void holdUntilNextHit() override { holds++; }
  int slotOf(uint64_t addr) const {
    for (int i = 0; i < 4; i++)
      if (slots[size_t(i)] && slots[size_t(i)]->addr == addr) return i;
    return -1;
  }
  int used() const {
    int n = 0;
    for (const auto& s : slots) n += s.has_value();
    return n;
  }
};

// The trapping goroutine and its callers are what the test says; the
// innermost pc is rip (a breakpoint) or rip-1 (after an access).
class FakeStacks : public TrapStacks {
 public:
  int64_t goid = 1;
  std::vector<uint64_t> callers = {0x9000, 0x9100};
  std::map<uint64_t, std::string> fn;
  RawStack atBreakpoint(const TrapRegs& r) const override { return with(r.rip); }
  RawStack afterAccess(const TrapRegs& r) const override { return with(r.rip - 1); }
  std::vector<std::string> functions(const std::vector<uint64_t>& pcs) const override {
    std::vector<std::string> out;
    for (uint64_t pc : pcs) {
      auto it = fn.find(pc);
      out.push_back(it == fn.end() ? "?" : it->second);
    }
    return out;
  }

 private:
  RawStack with(uint64_t pc) const {
    RawStack s;
    s.goid = goid;
    s.pcs = {pc};
    s.pcs.insert(s.pcs.end(), callers.begin(), callers.end());
    return s;
  }
};

void put64(FakeMemory& m, uint64_t addr, uint64_t v) { m.poke(addr, &v, 8); }
void put8(FakeMemory& m, uint64_t addr, uint8_t v) { m.poke(addr, &v, 1); }
void put16(FakeMemory& m, uint64_t addr, uint16_t v) { m.poke(addr, &v, 2); }

struct Recorder {
  std::vector<TraceEvent> events;
  Tracer::Emit emit() {
    return [this](const TraceEvent& e) {
      events.push_back(e);
      return true;
    };
  }
};

Trap trapAt(std::vector<int> slots, uint64_t rip, int64_t timeNs = 0) {
  Trap t;
  t.tid = 7;
  t.slots = std::move(slots);
  t.regs.rip = rip;
  t.timeNs = timeNs;
  return t;
}

// --- growth ----------------------------------------------------------------------

// runtime.hmap (runtime/map.go): count int @0, flags @8, B @9, ..., oldbuckets @24.
constexpr uint64_t kHmap = 0x10000, kHashGrow = 0x401000;

GrowthHooks classicHooks() {
  GrowthHooks g;
  g.entry[size_t(GrowFn::HashGrow)] = kHashGrow;
  g.countOff = 0;
  g.bOff = 9;
  g.oldbucketsOff = 24;
  return g;
}

TEST(GrowthTracer, ClassicGrowthFromEntryToTheLastEvacuation) {
  FakeMemory mem;
  mem.add(kHmap, std::vector<uint8_t>(48));
  put64(mem, kHmap, 13);      // count: inserting the 14th key overloads 2 buckets (13 > 6.5 * 2)
  put8(mem, kHmap + 9, 1);    // B
  put64(mem, kHmap + 24, 0);  // oldbuckets
  FakeStacks stacks;
  auto t = growthTracer(classicHooks(), stacks, mem);
  FakeTraps traps;
  t->arm(traps);
  ASSERT_EQ(traps.slotOf(kHashGrow), 0);
  EXPECT_EQ(traps.slots[0]->kind, TrapKind::Execute);
  t->whileStopped();

  Recorder rec;
  Trap entry = trapAt({0}, kHashGrow, 1000);
  entry.regs.rax = 0x5000;  // t *maptype
  entry.regs.rbx = kHmap;   // h *hmap
  ASSERT_TRUE(t->onTrap(entry, traps, rec.emit()));
  ASSERT_EQ(rec.events.size(), 1u);
  const TraceEvent g = rec.events[0];
  EXPECT_EQ(g.kind, TraceEvent::Kind::Grow);
  EXPECT_EQ(g.grow.fn, GrowFn::HashGrow);
  EXPECT_EQ(g.grow.id, 1u);
  EXPECT_EQ(g.grow.map, kHmap);
  EXPECT_EQ(g.grow.typeDesc, 0x5000u);
  EXPECT_EQ(g.grow.before, 1u);
  EXPECT_EQ(g.grow.after, 2u);
  EXPECT_EQ(g.grow.len, 13u);
  EXPECT_FALSE(g.grow.sameSize);
  EXPECT_EQ(g.goid, 1);
  EXPECT_EQ(g.stack(), (std::vector<uint64_t>{kHashGrow, 0x9000, 0x9100}));
  // The end is watched: a write to h.oldbuckets.
  int endSlot = traps.slotOf(kHmap + 24);
  ASSERT_GE(endSlot, 0);
  EXPECT_EQ(traps.slots[size_t(endSlot)]->kind, TrapKind::Write);

  // The prologue ran morestack and came back to the entry: the same growth.
  ASSERT_TRUE(t->onTrap(entry, traps, rec.emit()));
  EXPECT_EQ(rec.events.size(), 1u);
  EXPECT_EQ(t->totals().prologueReentries, 1u);

  // hashGrow set oldbuckets; evacuations write it until the last clears it.
  put64(mem, kHmap + 24, 0xc000100000);
  ASSERT_TRUE(t->onTrap(trapAt({endSlot}, 0x402000, 2000), traps, rec.emit()));
  EXPECT_EQ(rec.events.size(), 1u);
  put64(mem, kHmap + 24, 0);
  ASSERT_TRUE(t->onTrap(trapAt({endSlot}, 0x402000, 51000), traps, rec.emit()));
  ASSERT_EQ(rec.events.size(), 2u);
  EXPECT_EQ(rec.events[1].kind, TraceEvent::Kind::GrowEnd);
  EXPECT_EQ(rec.events[1].growEnd.id, 1u);
  EXPECT_EQ(rec.events[1].growEnd.durationNs, 50000u);
  EXPECT_EQ(traps.slotOf(kHmap + 24), -1);
  EXPECT_EQ(t->totals().growingAtEnd, 0u);
}

TEST(GrowthTracer, SameSizeGrowAndWhatCannotBeMeasured) {
  FakeMemory mem;
  mem.add(kHmap, std::vector<uint8_t>(48));
  put64(mem, kHmap, 12);  // 13 keys fit 2 buckets: hashGrow for overflow buckets
  put8(mem, kHmap + 9, 1);
  FakeStacks stacks;
  auto t = growthTracer(classicHooks(), stacks, mem);
  FakeTraps traps;
  t->arm(traps);
  traps.add({0x1, TrapKind::Execute, 1});  // every other slot busy
  traps.add({0x2, TrapKind::Execute, 1});
  traps.add({0x3, TrapKind::Execute, 1});
  Recorder rec;
  Trap entry = trapAt({0}, kHashGrow);
  entry.regs.rbx = kHmap;
  ASSERT_TRUE(t->onTrap(entry, traps, rec.emit()));
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_TRUE(rec.events[0].grow.sameSize);
  EXPECT_EQ(rec.events[0].grow.after, 1u);
  EXPECT_EQ(t->totals().notMeasured, 1u);

  // A header that cannot be read is still a growth, with zeros for what was not read.
  stacks.goid = 2;
  entry.regs.rbx = 0xdead0000;
  ASSERT_TRUE(t->onTrap(entry, traps, rec.emit()));
  ASSERT_EQ(rec.events.size(), 2u);
  EXPECT_EQ(rec.events[1].grow.map, 0xdead0000u);
  EXPECT_EQ(rec.events[1].grow.len, 0u);
  EXPECT_FALSE(rec.events[1].grow.sameSize);
}

TEST(GrowthTracer, SwissSplitDoublesTheDirectoryAndEndsAtTheReturn) {
  // maps.Map: used @0, dirLen @24, globalDepth @32; maps.table: capacity @2, localDepth @4.
  GrowthHooks g;
  g.classic = false;
  g.entry = {0, 0x500100, 0x500200, 0x500300};
  g.usedOff = 0;
  g.dirLenOff = 24;
  g.globalDepthOff = 32;
  g.tableCapOff = 2;
  g.tableDepthOff = 4;
  constexpr uint64_t kMap = 0x30000, kTable = 0x20000, kSp = 0x70000;
  FakeMemory mem;
  mem.add(kMap, std::vector<uint8_t>(48));
  mem.add(kTable, std::vector<uint8_t>(32));
  mem.add(kSp, std::vector<uint8_t>(64));
  put64(mem, kMap, 7000);
  put64(mem, kMap + 24, 4);
  put8(mem, kMap + 32, 2);
  put16(mem, kTable + 2, 1024);
  put8(mem, kTable + 4, 2);
  put64(mem, kSp, 0x433333);  // the return address
  FakeStacks stacks;
  stacks.goid = 5;
  auto t = growthTracer(g, stacks, mem);
  FakeTraps traps;
  t->arm(traps);
  EXPECT_EQ(traps.used(), 3);
  int split = traps.slotOf(0x500200);
  Recorder rec;
  Trap entry = trapAt({split}, 0x500200, 100);
  entry.regs.rax = kTable;  // t *table
  entry.regs.rbx = 0x6000;  // typ
  entry.regs.rcx = kMap;    // m *Map
  entry.regs.rsp = kSp;
  ASSERT_TRUE(t->onTrap(entry, traps, rec.emit()));
  ASSERT_EQ(rec.events.size(), 1u);
  const GrowEvent e = rec.events[0].grow;
  EXPECT_EQ(e.fn, GrowFn::TableSplit);
  EXPECT_EQ(e.before, 1024u);
  EXPECT_EQ(e.after, 1024u);
  EXPECT_EQ(e.len, 7000u);
  EXPECT_TRUE(e.dirDoubles);
  EXPECT_EQ(e.dirLen, 4u);
  int ret = traps.slotOf(0x433333);
  ASSERT_GE(ret, 0);
  // Another goroutine returning through the same address is not this growth's end.
  stacks.goid = 6;
  Trap back = trapAt({ret}, 0x433333, 900);
  back.regs.rsp = kSp + 8;
  ASSERT_TRUE(t->onTrap(back, traps, rec.emit()));
  EXPECT_EQ(rec.events.size(), 1u);
  stacks.goid = 5;
  ASSERT_TRUE(t->onTrap(back, traps, rec.emit()));
  ASSERT_EQ(rec.events.size(), 2u);
  EXPECT_EQ(rec.events[1].growEnd.durationNs, 800u);
  EXPECT_EQ(traps.slotOf(0x433333), -1);
}

TEST(GrowthArgs, OverLoadFactorIsTheRuntimes) {
  // runtime/map.go: count > bucketCnt && uintptr(count) >
  // loadFactorNum*(bucketShift(B)/loadFactorDen)
  EXPECT_FALSE(overLoadFactor(8, 0));
  EXPECT_TRUE(overLoadFactor(9, 0));
  EXPECT_FALSE(overLoadFactor(13, 1));
  EXPECT_TRUE(overLoadFactor(14, 1));
  EXPECT_FALSE(overLoadFactor(52, 3));
  EXPECT_TRUE(overLoadFactor(53, 3));
}

// --- writers ---------------------------------------------------------------------

constexpr uint64_t kFlags = 0x40008;

struct WritersFixture {
  FakeMemory mem;
  FakeStacks stacks;
  FakeTraps traps;
  Recorder rec;
  std::unique_ptr<Tracer> t;
  WritersFixture() {
    mem.add(0x40000, std::vector<uint8_t>(48));
    stacks.fn[0x700000 - 1] = "main.writer";
    stacks.fn[0x710000 - 1] = "runtime.mapiterinit";
    t = writersTracer(WriterFlag{0x40000, kFlags, 4}, stacks, mem);
    t->arm(traps);
    t->whileStopped();
  }
  // goroutine goid accesses the flag byte, leaving it at v.
  bool access(int64_t goid, bool write, uint8_t v, uint64_t rip = 0x700000) {
    put8(mem, kFlags, v);
    stacks.goid = goid;
    return t->onTrap(trapAt(write ? std::vector<int>{0, 1} : std::vector<int>{0}, rip), traps,
                     rec.emit());
  }
};

TEST(WritersTracer, ASecondGoroutineInsideAWriteIsReported) {
  WritersFixture f;
  EXPECT_EQ(f.traps.slots[0]->kind, TrapKind::ReadWrite);
  EXPECT_EQ(f.traps.slots[1]->kind, TrapKind::Write);
  ASSERT_TRUE(f.access(1, true, 4));   // goroutine 1 starts writing
  ASSERT_TRUE(f.access(1, false, 4));  // and reads its own flag: fine
  EXPECT_TRUE(f.rec.events.empty());
  ASSERT_TRUE(f.access(2, true, 0));  // goroutine 2 toggles it meanwhile
  ASSERT_EQ(f.rec.events.size(), 1u);
  const TraceEvent e = f.rec.events[0];
  EXPECT_EQ(e.kind, TraceEvent::Kind::Overlap);
  EXPECT_EQ(e.goid, 2);
  EXPECT_EQ(e.overlap.otherGoid, 1);
  EXPECT_EQ(e.overlap.header, 0x40000u);
  EXPECT_EQ(e.overlap.flagsBefore, 4u);
  EXPECT_EQ(e.overlap.flagsAfter, 0u);
  EXPECT_EQ(f.t->totals().concurrentAccesses, 1u);
  EXPECT_EQ(f.t->totals().writes, 1u);
  EXPECT_EQ(f.t->totals().accesses, 3u);
}

TEST(WritersTracer, LockedWritersOneAfterTheOtherAreNot) {
  WritersFixture f;
  for (int64_t g = 1; g <= 5; g++) {
    ASSERT_TRUE(f.access(g, true, 4));
    ASSERT_TRUE(f.access(g, true, 0));
    ASSERT_TRUE(f.access(g + 100, false, 0));  // a reader between writes
  }
  EXPECT_TRUE(f.rec.events.empty());
  EXPECT_EQ(f.t->totals().writes, 5u);
  EXPECT_EQ(f.traps.holds, 0);
}

TEST(WritersTracer, TwoTogglesThatCancelOutAreTwoWriters) {
  WritersFixture f;
  // 0 -> 4 -> 0 before either trap was handled: each write left the byte unchanged.
  ASSERT_TRUE(f.access(3, true, 0));
  EXPECT_EQ(f.traps.holds, 1);  // held until the other write's trap
  EXPECT_TRUE(f.rec.events.empty());
  ASSERT_TRUE(f.access(4, true, 0));
  ASSERT_EQ(f.rec.events.size(), 1u);
  EXPECT_EQ(f.rec.events[0].goid, 4);
  EXPECT_EQ(f.rec.events[0].overlap.otherGoid, 3);
  // mapiterinit's atomic or of the iterator bits, racing with another reader's, is not.
  ASSERT_TRUE(f.access(5, true, 0, 0x710000));
  ASSERT_TRUE(f.access(6, true, 0, 0x710000));
  EXPECT_EQ(f.rec.events.size(), 1u);
}

TEST(WritersTracer, AReaderThatSawTheFlagBeforeTheWritersTrapIsHeld) {
  WritersFixture f;
  ASSERT_TRUE(f.access(8, false, 4));  // the writer's trap is still pending
  EXPECT_EQ(f.traps.holds, 1);
  EXPECT_TRUE(f.rec.events.empty());
  ASSERT_TRUE(f.access(9, true, 4));  // here it is: the held reader overlapped it
  ASSERT_EQ(f.rec.events.size(), 1u);
  EXPECT_EQ(f.rec.events[0].goid, 9);
  EXPECT_EQ(f.rec.events[0].overlap.otherGoid, 8);
}

// --- removed ---------------------------------------------------------------------

// container/list (list.go): Element{next @0, prev @8, list @16, Value @24 (eface)};
// List{root Element @0, len @40}.
constexpr uint64_t kList = 0x50000;

struct ListFixture {
  FakeMemory mem;
  FakeStacks stacks;
  FakeTraps traps;
  Recorder rec;
  std::vector<uint64_t> elems;
  std::unique_ptr<Tracer> t;
  RemovedHooks h;

  explicit ListFixture(int n) {
    mem.add(kList, std::vector<uint8_t>(48));
    for (int i = 0; i < n; i++) {
      elems.push_back(0x51000 + uint64_t(i) * 0x100);
      mem.add(elems.back(), std::vector<uint8_t>(40));
    }
    for (size_t i = 0; i < elems.size(); i++) {
      put64(mem, elems[i], i + 1 < elems.size() ? elems[i + 1] : kList);
      put64(mem, elems[i] + 8, i > 0 ? elems[i - 1] : kList);
      put64(mem, elems[i] + 16, kList);
      put64(mem, elems[i] + 24, 0x7777);  // Value's type word
    }
    put64(mem, kList, elems.front());
    put64(mem, kList + 8, elems.back());
    put64(mem, kList + 40, elems.size());
    h = RemovedHooks{kList, kList, 40, 0, 0, 16, 24};
    stacks.fn[0x600000] = "main.evict";  // the removing call, innermost after its len write
    stacks.fn[0x600100 - 1] = "main.evict";
    stacks.fn[0x620000 - 1] = "main.handler";
    stacks.fn[0x630000 - 1] = "runtime.scanobject";
    stacks.fn[0x9000] = "main.loop";
    t = removedTracer(h, stacks, mem);
    t->arm(traps);
    t->whileStopped();
  }
  // list.Remove(e) as container/list does it, then the trap on l.len.
  bool remove(size_t i) {
    uint64_t e = elems[i], next = 0, prev = 0;
    mem.read(e, &next, 8);
    mem.read(e + 8, &prev, 8);
    put64(mem, prev, next);
    put64(mem, next + 8, prev);
    for (uint64_t off : {0, 8, 16}) put64(mem, e + off, 0);
    uint64_t len = 0;
    mem.read(kList + 40, &len, 8);
    put64(mem, kList + 40, len - 1);
    return t->onTrap(trapAt({0}, 0x600001), traps, rec.emit());
  }
  bool use(size_t i, uint64_t rip) {
    return t->onTrap(trapAt({traps.slotOf(elems[i] + 24)}, rip), traps, rec.emit());
  }
};

TEST(RemovedTracer, AUseOfARemovedElementByTheProgramIsReported) {
  ListFixture f(3);
  EXPECT_EQ(f.traps.slotOf(kList + 40), 0);
  ASSERT_TRUE(f.remove(1));
  ASSERT_EQ(f.rec.events.size(), 1u);
  const TraceEvent r = f.rec.events[0];
  EXPECT_EQ(r.kind, TraceEvent::Kind::Remove);
  EXPECT_EQ(r.remove.elem, f.elems[1]);
  EXPECT_EQ(r.remove.lenAfter, 2u);
  EXPECT_TRUE(r.remove.watched);
  EXPECT_EQ(r.remove.id, 1u);
  int slot = f.traps.slotOf(f.elems[1] + 24);
  ASSERT_GE(slot, 0);
  EXPECT_EQ(f.traps.slots[size_t(slot)]->kind, TrapKind::ReadWrite);

  ASSERT_TRUE(f.use(1, 0x630000));  // the GC scanning it: not a use
  EXPECT_EQ(f.t->totals().runtimeReads, 1u);
  EXPECT_EQ(f.rec.events.size(), 1u);

  f.stacks.goid = 2;
  ASSERT_TRUE(f.use(1, 0x620000));
  ASSERT_EQ(f.rec.events.size(), 2u);
  const TraceEvent u = f.rec.events[1];
  EXPECT_EQ(u.kind, TraceEvent::Kind::Use);
  EXPECT_EQ(u.use.elem, f.elems[1]);
  EXPECT_EQ(u.use.removeId, 1u);
  EXPECT_EQ(u.goid, 2);
  EXPECT_EQ(u.stack()[0], 0x620000u - 1);
  EXPECT_EQ(u.stack2(), r.stack());  // the removal's stack travels with the use
  EXPECT_EQ(f.t->totals().usesAfterRemove, 1u);
}

TEST(RemovedTracer, TheRemovingCallReadingValueIsNotAUse) {
  ListFixture f(3);
  ASSERT_TRUE(f.remove(0));
  // Same goroutine, same function, same callers: `l.Remove(e); delete(m, e.Value...)`.
  ASSERT_TRUE(f.use(0, 0x600100));
  EXPECT_EQ(f.rec.events.size(), 1u);
  EXPECT_EQ(f.t->totals().sameCallReads, 1u);
}

TEST(RemovedTracer, ThreeRemovedElementsAreWatchedAtATimeOldestFirstOut) {
  ListFixture f(5);
  for (size_t i = 0; i < 4; i++) ASSERT_TRUE(f.remove(i));
  ASSERT_EQ(f.rec.events.size(), 4u);
  EXPECT_EQ(f.rec.events[3].remove.evictedId, 1u);  // the first removal made room
  EXPECT_TRUE(f.rec.events[3].remove.watched);
  EXPECT_EQ(f.traps.slotOf(f.elems[0] + 24), -1);
  EXPECT_GE(f.traps.slotOf(f.elems[3] + 24), 0);
  EXPECT_EQ(f.t->totals().notWatched, 1u);
  EXPECT_EQ(f.t->totals().removals, 4u);
}

TEST(RemovedTracer, ALenWriteThatRemovedNothingReportsNothing) {
  ListFixture f(3);
  // PushBack of a new element: len grows, nothing is detached.
  uint64_t e = 0x58000;
  f.mem.add(e, std::vector<uint8_t>(40));
  put64(f.mem, e, kList);
  put64(f.mem, e + 8, f.elems.back());
  put64(f.mem, e + 16, kList);
  put64(f.mem, f.elems.back(), e);
  put64(f.mem, kList + 8, e);
  put64(f.mem, kList + 40, 4);
  ASSERT_TRUE(f.t->onTrap(trapAt({0}, 0x600001), f.traps, f.rec.emit()));
  EXPECT_TRUE(f.rec.events.empty());
  // A cycle in a corrupt list ends the walk and says so.
  put64(f.mem, f.elems[2], f.elems[0]);
  ASSERT_TRUE(f.t->onTrap(trapAt({0}, 0x600001), f.traps, f.rec.emit()));
  EXPECT_TRUE(f.t->totals().truncated);
}

// --- watch -----------------------------------------------------------------------

TEST(FieldTracer, WritesOldToNewAndAnEmptyDr6GoesToTheFieldThatChanged) {
  FakeMemory mem;
  mem.add(0x80000, std::vector<uint8_t>(16));
  std::vector<WatchField> fields = {{"main.M.count", 0x80000, 8, false},
                                    {"main.M.B", 0x80009, 1, false}};
  FakeStacks stacks;
  auto t = fieldTracer(fields, false, stacks, mem, 3);
  FakeTraps traps;
  t->arm(traps);
  EXPECT_EQ(traps.slotOf(0x80009), 1);
  EXPECT_EQ(traps.slots[1]->len, 1);
  put64(mem, 0x80000, 5);
  t->whileStopped();
  Recorder rec;
  put64(mem, 0x80000, 6);
  ASSERT_TRUE(t->onTrap(trapAt({0}, 0x700000), traps, rec.emit()));
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_EQ(rec.events[0].write.field, 0u);
  EXPECT_EQ(rec.events[0].write.oldv, 5u);
  EXPECT_EQ(rec.events[0].write.newv, 6u);
  EXPECT_FALSE(rec.events[0].write.unchanged);
  EXPECT_EQ(rec.events[0].stack()[0], 0x700000u - 1);

  put8(mem, 0x80009, 3);
  Trap lost = trapAt({}, 0x700000);
  lost.dr6Lost = true;
  ASSERT_TRUE(t->onTrap(lost, traps, rec.emit()));
  ASSERT_EQ(rec.events.size(), 2u);
  EXPECT_EQ(rec.events[1].write.field, 1u);
  EXPECT_EQ(rec.events[1].write.newv, 3u);
  // The third event is the last one asked for: the tracer ends.
  EXPECT_FALSE(t->onTrap(trapAt({0}, 0x700000), traps, rec.emit()));
  ASSERT_EQ(rec.events.size(), 3u);
  EXPECT_TRUE(rec.events[2].write.unchanged);
}

TEST(TraceEvent, TwoStacksShareThePcsAndCrossThePipeAsBytes) {
  TraceEvent e;
  EXPECT_EQ(e.goid, -1);
  std::vector<uint64_t> a(50), b(50);
  for (size_t i = 0; i < 50; i++) a[i] = 0x1000 + i, b[i] = 0x2000 + i;
  e.setStacks(a, &b);
  EXPECT_EQ(e.stack().size(), kEventPcs / 2);
  EXPECT_EQ(e.stack2().size(), kEventPcs / 2);
  EXPECT_EQ(e.stack2()[0], 0x2000u);
  e.setStacks(a, nullptr, kTraceFrames);  // a trace event keeps 36 frames of a stack
  EXPECT_EQ(e.stack().size(), kTraceFrames);
  e.setStacks(a);
  EXPECT_EQ(e.stack(), a);
  EXPECT_TRUE(e.stack2().empty());
  static_assert(std::is_trivially_copyable_v<TraceEvent>);
}

}  // namespace
}  // namespace gms
