// trace: event tracers built on hardware breakpoints/watchpoints (docs/trace.md).
//
//   trace growth  -p PID            every map growth in the process: which map
//                                    (address, type), size before -> after, the
//                                    call site, how long it took
//   trace writers -p PID main.M     two goroutines inside a write of one map
//   trace removed -p PID main.L     list elements used after list.Remove
//
// Process layout as for `watch` (docs/watch.md): this process resolves symbols
// and offsets, then forks a Keeper that owns every ptrace call (it disarms the
// target even if gomemscope is SIGKILLed). The keeper runs the tracer's state
// machine while the hitting thread is stopped (reading arguments from
// registers and the map/list from memory), may move watchpoints with
// Watcher::setRegs, and streams fixed-size records back; this process
// symbolizes and formats them and prints a summary.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <set>

#include "cli/commands.h"
#include "control/keeper.h"
#include "control/watcher.h"
#include "goruntime/layout.h"
#include "goruntime/list.h"
#include "goruntime/stack.h"
#include "report/json_writer.h"
#include "target/proc_fs.h"

namespace gms {

namespace {

struct TraceOptions {
  TargetOptions target;
  std::string what, expr, type, format = "text", forDur;
  int64_t count = 0;
};

// --- keeper -> parent records ------------------------------------------------

enum RecKind : uint32_t {
  kRecReady = 1,
  kRecEnd = 2,
  kRecError = 3,
  kRecGrow = 10,     // vals: fn, map, typedesc, before, after, len, flags, dirLen; n2: id
  kRecGrowEnd = 11,  // vals: id, durationNs
  kRecRemove = 20,   // vals: element, len after, watched slot (or -1), evicted id, id
  kRecUse = 21,      // vals: element, remove id; stack2 = the remove stack
  kRecOverlap = 30,  // vals: header, flags before, flags now, other goid; stack2 = other's
};
constexpr size_t kFrames = 36;

struct Record {
  uint32_t kind = 0;
  int32_t tid = 0;
  int64_t goid = -1;
  int64_t timeNs = 0;
  uint64_t vals[8] = {};
  uint32_t n1 = 0, n2 = 0;
  uint32_t errKind = 0;
  union {
    uint64_t pcs[2 * kFrames];
    char message[2 * kFrames * 8];
  };
  Record() { std::memset(pcs, 0, sizeof pcs); }
};
static_assert(sizeof(Record) <= PIPE_BUF);

bool writeRecord(int fd, const Record& r) { return writeAll(fd, &r, sizeof r); }
// 1: a record; 0: EOF; -1: error.
int readRecord(int fd, Record& r) { return readAll(fd, &r, sizeof r); }

int64_t nowNs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

void putStack(Record& r, const RawStack& a, const std::vector<uint64_t>* b = nullptr) {
  r.n1 = uint32_t(std::min(a.pcs.size(), kFrames));
  for (size_t i = 0; i < r.n1; i++) r.pcs[i] = a.pcs[i];
  if (b) {
    r.n2 = uint32_t(std::min(b->size(), kFrames));
    for (size_t i = 0; i < r.n2; i++) r.pcs[kFrames + i] = (*b)[i];
  }
}

// A data watchpoint traps after the accessing instruction: rip is the next
// one (maybe on the next line). rip-1 lies inside the instruction that did the
// access, so the innermost frame is looked up there.
// A record of what a hit found: its kind, the thread and goroutine, the time.
Record hitRecord(uint32_t kind, const WatchHit& h, const RawStack& st) {
  Record r;
  r.kind = kind;
  r.tid = h.tid;
  r.goid = st.goid;
  r.timeNs = nowNs(h.time);
  return r;
}

RawStack dataHitStack(const StackUnwinder& un, const Memory& mem, const user_regs_struct& r) {
  return un.unwindAfterAccess(mem, r.rip, r.rsp, r.r14, r.fs_base);
}

uint64_t rd(const Memory& m, uint64_t addr, size_t len = 8) {
  uint64_t v = 0;
  m.read(addr, &v, len);
  return v;
}

// A tracer's keeper-side state machine.
struct Tracer {
  virtual ~Tracer() = default;
  virtual DebugRegs initial() const = 0;
  virtual void whileStopped() {}
  // Returns false to end the loop (the parent is gone).
  virtual bool onHit(Watcher& w, const WatchHit& h) = 0;
  virtual void endStats(Record&) const {}
  int out = -1;
  bool emit(const Record& r) { return writeRecord(out, r); }
};

// --- growth ------------------------------------------------------------------

enum GrowFn : uint64_t { kHashGrow = 0, kTableGrow = 1, kTableSplit = 2, kGrowToTable = 3 };
constexpr uint64_t kGrowSameSize = 1, kGrowDirDoubles = 2;

struct GrowthPlan {
  bool classic = true;
  uint64_t entry[4] = {};  // by GrowFn (0 = absent)
  // classic hmap
  uint64_t countOff = 0, bOff = 0, oldbucketsOff = 0;
  // Swiss: maps.Map, maps.table
  uint64_t usedOff = 0, globalDepthOff = 0, dirLenOff = 0;
  uint64_t tCapOff = 0, tDepthOff = 0;
};

uint64_t off(const Program& p, const char* type, const char* field) {
  const Type* t = p.types().findType(type);
  if (!t)
    fail(ErrorKind::MissingDebugInfo, "no type {} in {} ({})", type, p.binary().path(),
         p.types().source());
  return requireField(t, field).offset;
}

GrowthPlan planGrowth(const Program& p) {
  GrowthPlan g;
  auto sym = [&](const char* n) -> uint64_t {
    auto a = p.binary().functionEntry(n);  // the symbol, or stripped the pclntab's entry
    return a ? *a + p.loadBias() : 0;
  };
  if (uint64_t a = sym("runtime.hashGrow")) {
    g.entry[kHashGrow] = a;
    g.countOff = off(p, "runtime.hmap", "count");
    g.bOff = off(p, "runtime.hmap", "B");
    g.oldbucketsOff = off(p, "runtime.hmap", "oldbuckets");
    return g;
  }
  g.classic = false;
  g.entry[kTableGrow] = sym("internal/runtime/maps.(*table).grow");
  g.entry[kTableSplit] = sym("internal/runtime/maps.(*table).split");
  g.entry[kGrowToTable] = sym("internal/runtime/maps.(*Map).growToTable");
  if (!g.entry[kTableGrow] || !g.entry[kTableSplit] || !g.entry[kGrowToTable])
    fail(ErrorKind::Unsupported,
         "{}: no function runtime.hashGrow nor "
         "internal/runtime/maps.(*table).grow/split/growToTable "
         "in its symbols or pclntab",
         p.binary().path());
  const char* M = "internal/runtime/maps.Map";
  const char* T = "internal/runtime/maps.table";
  g.usedOff = off(p, M, "used");
  g.globalDepthOff = off(p, M, "globalDepth");
  g.dirLenOff = off(p, M, "dirLen");
  g.tCapOff = off(p, T, "capacity");
  g.tDepthOff = off(p, T, "localDepth");
  return g;
}

struct GrowthTracer : Tracer {
  GrowthPlan g;
  const StackUnwinder& un;
  const Memory& mem;
  int fnOfSlot[kDebugSlots] = {-1, -1, -1, -1};
  // One in-flight growth per extra slot: its end is a write of nil to
  // h.oldbuckets (classic) or the return to the caller (Swiss).
  struct InFlight {
    uint64_t id = 0, map = 0, retSp = 0;
    int64_t goid = -1;
    std::chrono::system_clock::time_point start;
  };
  std::map<int, InFlight> inflight;
  std::map<int64_t, std::array<uint64_t, 4>>
      lastEntry;  // goid -> (fn, a, b, size): re-entry dedupe
  uint64_t nextId = 1, unmeasured = 0, reentries = 0;

  GrowthTracer(const GrowthPlan& p, const StackUnwinder& u, const Memory& m)
      : g(p), un(u), mem(m) {}

  DebugRegs initial() const override {
    DebugRegs r;
    for (int f = 0; f < 4; f++)
      if (g.entry[f]) r.add({g.entry[f], BreakKind::Execute, 1});
    return r;
  }
  void whileStopped() override { mapSlots(initial()); }
  void mapSlots(const DebugRegs& r) {
    for (int s = 0; s < kDebugSlots; s++) {
      fnOfSlot[s] = -1;
      if (!r.slot(s) || r.slot(s)->kind != BreakKind::Execute || inflight.count(s)) continue;
      for (int f = 0; f < 4; f++)
        if (g.entry[f] && r.slot(s)->addr == g.entry[f]) fnOfSlot[s] = f;
    }
  }

  bool onHit(Watcher& w, const WatchHit& h) override {
    std::vector<int> slots = h.slots;
    if (h.dr6Lost)  // which data slot fired is unknown: endHit checks each evacuation itself
      for (const auto& [slot, f] : inflight)
        if (g.classic && std::find(slots.begin(), slots.end(), slot) == slots.end())
          slots.push_back(slot);
    for (int slot : slots) {
      if (auto it = inflight.find(slot); it != inflight.end()) {
        if (!endHit(w, h, slot, it->second)) return false;
        continue;
      }
      int fn = fnOfSlot[slot];
      if (fn < 0) continue;
      if (!growHit(w, h, fn)) return false;
    }
    return true;
  }

  bool endHit(Watcher& w, const WatchHit& h, int slot, InFlight& f) {
    bool ended = false;
    if (g.classic) {
      try {
        ended = rd(mem, f.map + g.oldbucketsOff) == 0;
      } catch (const Error&) {
        ended = true;  // the map is gone (freed): its growth has ended for us
      }
    } else {
      RawStack st = un.unwind(mem, h.regs.rip, h.regs.rsp, h.regs.r14, h.regs.fs_base);
      ended = st.goid == f.goid && h.regs.rsp == f.retSp;
    }
    if (!ended) return true;
    Record r;
    r.kind = kRecGrowEnd;
    r.timeNs = nowNs(h.time);
    r.vals[0] = f.id;
    r.vals[1] = uint64_t(nowNs(h.time) - nowNs(f.start));
    inflight.erase(slot);
    DebugRegs regs = w.regs();
    regs.clear(slot);
    w.setRegs(regs, h.tid);
    return emit(r);
  }

  bool growHit(Watcher& w, const WatchHit& h, int fn) {
    const auto& R = h.regs;
    RawStack st = un.unwind(mem, R.rip, R.rsp, R.r14, R.fs_base);
    Record r = hitRecord(kRecGrow, h, st);
    r.vals[0] = uint64_t(fn);
    uint64_t map = 0;
    try {
      if (fn == kHashGrow) {  // hashGrow(t *maptype, h *hmap): RAX, RBX
        map = R.rbx;
        r.vals[2] = R.rax;
        uint64_t count = rd(mem, map + g.countOff);
        uint64_t B = rd(mem, map + g.bOff, 1);
        // runtime.overLoadFactor(count+1, B): count > 8 && count > 6.5 * 2^B
        uint64_t c = count + 1;
        bool bigger = c > 8 && B < 63 && c > 13 * ((uint64_t(1) << B) / 2);
        r.vals[3] = B;
        r.vals[4] = bigger ? B + 1 : B;
        r.vals[5] = count;
        if (!bigger) r.vals[6] |= kGrowSameSize;
      } else if (fn == kGrowToTable) {  // (m *Map).growToTable(typ): RAX, RBX
        map = R.rax;
        r.vals[2] = R.rbx;
        r.vals[3] = 8;   // abi.MapGroupSlots: a small map is one group
        r.vals[4] = 16;  // 2 * MapGroupSlots
        r.vals[5] = rd(mem, map + g.usedOff);
      } else {  // (t *table).grow(typ, m, newCapacity) / split(typ, m): RAX, RBX, RCX, RDI
        map = R.rcx;
        r.vals[2] = R.rbx;
        uint64_t cap = rd(mem, R.rax + g.tCapOff, 2);
        r.vals[3] = cap;
        r.vals[4] = fn == kTableGrow ? (R.rdi & 0xffff) : cap;
        r.vals[5] = rd(mem, map + g.usedOff);
        if (fn == kTableSplit) {
          uint64_t ld = rd(mem, R.rax + g.tDepthOff, 1);
          uint64_t gd = rd(mem, map + g.globalDepthOff, 1);
          if (ld == gd) r.vals[6] |= kGrowDirDoubles;
          r.vals[7] = rd(mem, map + g.dirLenOff);
        }
      }
    } catch (const Error&) {
      // a header unreadable at the growth: the record still goes out (fn, map, stack) with 0 for
      // what could not be read
    }
    r.vals[1] = map;
    // The function prologue may call morestack and run the entry again: the
    // same goroutine, function, arguments and size is the same growth.
    std::array<uint64_t, 4> key{uint64_t(fn), fn == kHashGrow ? R.rbx : R.rax,
                                fn == kTableGrow || fn == kTableSplit ? R.rcx : 0, r.vals[3]};
    if (st.goid >= 0) {
      auto it = lastEntry.find(st.goid);
      if (it != lastEntry.end() && it->second == key) {
        // The stack moved (morestack copies it): the return is awaited at the new SP.
        for (auto& [slot, f] : inflight)
          if (f.goid == st.goid) f.retSp = R.rsp + 8;
        reentries++;
        return true;
      }
      lastEntry[st.goid] = key;
    }
    uint64_t id = nextId++;
    putStack(r, st);
    // Duration: a free slot watches the end.
    DebugRegs regs = w.regs();
    std::optional<int> slot;
    try {
      if (g.classic) {
        slot = regs.add({map + g.oldbucketsOff, BreakKind::Write, 8});
      } else {
        uint64_t ret = rd(mem, R.rsp);
        slot = regs.add({ret, BreakKind::Execute, 1});
      }
    } catch (const Error&) {
      // no slot (all four busy) or an unreadable return address: counted below as not measured
      // (unmeasured, in the end summary)
    }
    if (slot) {
      inflight[*slot] = InFlight{id, map, R.rsp + 8, st.goid, h.time};
      w.setRegs(regs, h.tid);
    } else {
      unmeasured++;
    }
    // All eight vals are taken: the id travels in n2 (a growth has no 2nd stack).
    r.n2 = uint32_t(id);
    return emit(r);
  }
  void endStats(Record& r) const override {
    r.vals[0] = unmeasured;
    r.vals[1] = reentries;
    r.vals[2] = inflight.size();
  }
};

// --- removed -----------------------------------------------------------------

struct ListPlan {
  uint64_t list = 0;  // the list.List
  uint64_t rootNextOff = 0, lenOff = 0;
  uint64_t nextOff = 0, listOff = 0, valueOff = 0;
};

struct RemovedTracer : Tracer {
  static constexpr size_t kMaxWalk = 100000;
  ListPlan pl;
  const StackUnwinder& un;
  const Memory& mem;
  std::set<uint64_t> snapshot;
  bool tooLong = false;
  struct Watched {
    uint64_t elem = 0, id = 0;
    int64_t goid = -1;
    std::vector<uint64_t> removeStack;
  };
  std::map<int, Watched> watched;  // slot -> element
  std::deque<int> order;           // FIFO of slots
  uint64_t nextId = 1, removals = 0, notWatched = 0, uses = 0, runtimeReads = 0, sameCall = 0;

  // Index of the first frame outside the runtime (the program's own code).
  size_t siteOf(const std::vector<uint64_t>& pcs) const {
    auto f = un.symbolize(pcs);
    for (size_t i = 0; i < f.size(); i++)
      if (f[i].function != "?" && !isRuntimeFunction(f[i].function)) return i;
    return f.size();
  }
  // The removing call itself reading the element right after Remove (the
  // LRU idiom `l.Remove(e); delete(m, e.Value.(*entry).key)`; Remove even
  // returns e.Value for this) is not a use after removal: same goroutine, same
  // function, and the same return addresses above it (the same invocation).
  bool sameInvocation(const std::vector<uint64_t>& use, int64_t goid, const Watched& w) const {
    if (goid < 0 || goid != w.goid) return false;
    size_t a = siteOf(use), b = siteOf(w.removeStack);
    if (a >= use.size() || b >= w.removeStack.size()) return false;
    if (use.size() - a != w.removeStack.size() - b) return false;
    auto fa = un.symbolize({use[a]}), fb = un.symbolize({w.removeStack[b]});
    if (fa[0].function != fb[0].function) return false;
    return std::equal(use.begin() + long(a) + 1, use.end(), w.removeStack.begin() + long(b) + 1);
  }

  RemovedTracer(const ListPlan& p, const StackUnwinder& u, const Memory& m)
      : pl(p), un(u), mem(m) {}
  DebugRegs initial() const override {
    DebugRegs r;
    r.add({pl.list + pl.lenOff, BreakKind::Write, 8});
    return r;
  }
  std::set<uint64_t> walk() {
    std::set<uint64_t> s;
    uint64_t root = pl.list;  // root Element is the List's first field
    try {
      uint64_t e = rd(mem, pl.list + pl.rootNextOff);
      while (e && e != root) {
        if (s.size() >= kMaxWalk || !s.insert(e).second) {
          tooLong = true;
          break;
        }
        e = rd(mem, e + pl.nextOff);
      }
    } catch (const Error&) {
      // the list is unreadable mid-walk: the elements seen so far are the snapshot; the next len
      // write walks again
    }
    return s;
  }
  void whileStopped() override { snapshot = walk(); }

  bool onHit(Watcher& w, const WatchHit& h) override {
    // An empty DR6 (WatchHit::dr6Lost) does not say which slot fired: the
    // len check re-walks the list and is safe to repeat; a use is not claimed.
    if (h.dr6Lost) return lenHit(w, h);
    for (int slot : h.slots) {
      if (slot == 0) {
        if (!lenHit(w, h)) return false;
      } else if (auto it = watched.find(slot); it != watched.end()) {
        if (!useHit(h, it->second)) return false;
      }
    }
    return true;
  }

  bool lenHit(Watcher& w, const WatchHit& h) {
    std::set<uint64_t> now = walk();
    std::vector<uint64_t> gone;
    for (uint64_t e : snapshot)
      if (!now.count(e)) {
        uint64_t lst = 1;
        try {
          lst = rd(mem, e + pl.listOff);
        } catch (const Error&) {
          // an element that cannot be read is not judged removed (lst stays non-zero): no false
          // report
        }
        if (lst == 0) gone.push_back(e);
      }
    snapshot = std::move(now);
    if (gone.empty()) return true;
    RawStack st = dataHitStack(un, mem, h.regs);
    DebugRegs regs = w.regs();
    for (uint64_t e : gone) {
      removals++;
      Record r = hitRecord(kRecRemove, h, st);
      r.vals[0] = e;
      r.vals[1] = snapshot.size();
      r.vals[2] = uint64_t(-1);
      r.vals[3] = 0;
      uint64_t id = nextId++;
      r.vals[4] = id;
      // Watch the element's Value (its type word: read by every use of
      // e.Value) and e.next (Next/Prev), FIFO over the three free slots.
      std::optional<int> slot = regs.add({e + pl.valueOff, BreakKind::ReadWrite, 8});
      if (!slot && !order.empty()) {
        int old = order.front();
        order.pop_front();
        r.vals[3] = watched[old].id;
        watched.erase(old);
        regs.clear(old);
        notWatched++;
        slot = regs.add({e + pl.valueOff, BreakKind::ReadWrite, 8});
      }
      if (slot) {
        r.vals[2] = uint64_t(*slot);
        watched[*slot] = Watched{e, id, st.goid, st.pcs};
        order.push_back(*slot);
      } else {
        notWatched++;
      }
      putStack(r, st);
      if (!emit(r)) return false;
    }
    w.setRegs(regs, h.tid);
    return true;
  }

  bool useHit(const WatchHit& h, const Watched& wd) {
    // The GC and the runtime read every word of a live object; a use is an
    // access by the program's own code (the trapping instruction outside the
    // runtime).
    auto top = un.symbolize({h.regs.rip - 1});
    if (top.empty() || top[0].function == "?" || isRuntimeFunction(top[0].function)) {
      runtimeReads++;
      return true;
    }
    RawStack st = dataHitStack(un, mem, h.regs);
    if (sameInvocation(st.pcs, st.goid, wd)) {
      sameCall++;
      return true;
    }
    uses++;
    Record r = hitRecord(kRecUse, h, st);
    r.vals[0] = wd.elem;
    r.vals[1] = wd.id;
    putStack(r, st, &wd.removeStack);
    return emit(r);
  }
  void endStats(Record& r) const override {
    r.vals[0] = removals;
    r.vals[1] = notWatched;
    r.vals[2] = uses;
    r.vals[3] = runtimeReads;
    r.vals[4] = tooLong;
    r.vals[5] = sameCall;
  }
};

// --- writers -----------------------------------------------------------------

// The writing flag is watched twice on its one byte: slot 0 for reads or
// writes, slot 1 for writes only, so a write fires both and a read slot 0
// alone (DR6 names both; tests/control/watcher_test.cc checks it). A hit is
// handled after the access and after whatever the other running threads did
// meanwhile; two goroutines toggling the flag at once can therefore cancel
// out before either hit is read (0 -> 1 -> 0): both writes then leave the
// byte as it was, with the flag clear, which no lone writer does (every other
// write of the byte by a lone writer changes it, or happens with the flag
// set: runtime/map.go, internal/runtime/maps/map.go). The one exception is
// mapiterinit's atomic.Or8 of the iterator bits (Go <= 1.23), racing with
// another iterator's: two readers, so its pc is excluded.
struct WritersTracer : Tracer {
  uint64_t addr = 0;  // hmap.flags or Map.writing
  uint64_t bit = 0;   // hashWriting (classic: 4, runtime/map.go) or 1 (Swiss: writing ^= 1)
  uint64_t header = 0;
  const StackUnwinder& un;
  const Memory& mem;
  const Pclntab* pcln = nullptr;
  uint64_t last = 0;
  int64_t holder = -1;
  std::vector<uint64_t> holderStack;
  // A write that left the byte unchanged with the flag clear: the first half
  // of a cancelled pair, waiting for the other goroutine's write.
  int64_t cancelled = -1;
  std::vector<uint64_t> cancelledStack;
  // A read that found the flag set while no write of it had been handled:
  // the writer's hit is pending. The reader is held (it would die of Go's
  // check before that hit is handled) and the overlap is reported with it.
  int64_t reader = -1;
  std::vector<uint64_t> readerStack;
  uint64_t writes = 0, accesses = 0, overlaps = 0;

  WritersTracer(uint64_t a, uint64_t b, uint64_t hdr, const StackUnwinder& u, const Memory& m,
                const Pclntab* pt)
      : addr(a), bit(b), header(hdr), un(u), mem(m), pcln(pt) {}
  DebugRegs initial() const override {
    DebugRegs r;
    r.add({addr, BreakKind::ReadWrite, 1});
    r.add({addr, BreakKind::Write, 1});
    return r;
  }
  void whileStopped() override {
    try {
      last = rd(mem, addr, 1);
    } catch (const Error&) {
      // the flag byte unreadable at arming: last stays 0 (clear), as in a map not being written
    }
  }
  bool byIterator(const RawStack& st) const {
    if (!pcln || st.pcs.empty()) return false;
    auto f = pcln->funcFor(st.pcs[0]);
    return f && f->name == "runtime.mapiterinit";
  }
  bool overlap(const WatchHit& h, const RawStack& st, uint64_t before, uint64_t v, int64_t other,
               const std::vector<uint64_t>& otherStack) {
    overlaps++;
    Record r = hitRecord(kRecOverlap, h, st);
    r.vals[0] = header;
    r.vals[1] = before;
    r.vals[2] = v;
    r.vals[3] = uint64_t(other);
    putStack(r, st, &otherStack);
    return emit(r);
  }
  bool onHit(Watcher& w, const WatchHit& h) override {
    accesses++;
    uint64_t v = last;
    try {
      v = rd(mem, addr, 1);
    } catch (const Error&) {
      // unreadable now: taken as unchanged (v = last), so no toggle is invented
    }
    bool was = last & bit, is = v & bit;
    uint64_t before = last;
    last = v;
    bool write = std::find(h.slots.begin(), h.slots.end(), 1) != h.slots.end();
    RawStack st = dataHitStack(un, mem, h.regs);
    if (reader >= 0 && st.goid != reader) {
      // The pending writer: it set the flag the held reader saw.
      int64_t other = reader;
      reader = -1;
      writes++;
      holder = st.goid;
      holderStack = st.pcs;
      return overlap(h, st, before, v, other, readerStack);
    }
    if (reader >= 0) {  // the reader again: held past the limit, and no other hit came
      reader = -1;
      if (!overlap(h, st, before, v, -1, {})) return false;
    }
    if (!write && !h.dr6Lost && !was && is) {
      reader = st.goid;
      readerStack = st.pcs;
      w.holdUntilNextHit(h.tid);
      return true;
    }
    if (write && !was && !is && before == v && !byIterator(st)) {
      if (cancelled >= 0 && cancelled != st.goid) {
        int64_t other = cancelled;
        cancelled = -1;
        return overlap(h, st, before, v, other, cancelledStack);
      }
      cancelled = st.goid;
      cancelledStack = st.pcs;
      // Held until the other write's hit, pending now, is handled: running
      // on, this goroutine would find the flag clear and die of Go's check.
      w.holdUntilNextHit(h.tid);
      return true;
    }
    if (!was && is) {
      writes++;
      holder = st.goid;
      holderStack = st.pcs;
      return true;
    }
    if (was && st.goid == holder) {
      if (!is) holder = -1;
      return true;
    }
    if (!was) return true;  // a read (or write) while nobody writes: fine
    // The writing flag was set by another goroutine, and this one accessed
    // it: a concurrent write (or read) of the map.
    int64_t other = holder;
    if (!is) holder = -1;  // the flag was toggled off by the intruder
    return overlap(h, st, before, v, other, holderStack);
  }
  void endStats(Record& r) const override {
    r.vals[0] = writes;
    r.vals[1] = accesses;
    r.vals[2] = overlaps;
  }
};

// --- keeper ------------------------------------------------------------------

int keeperMain(int out, int ctl, int pid, Tracer& t) {
  t.out = out;
  std::unique_ptr<Watcher> w;
  try {
    w = std::make_unique<Watcher>(pid, t.initial(), [&] { t.whileStopped(); });
  } catch (const Error& e) {
    Record r;
    r.kind = kRecError;
    r.errKind = uint32_t(e.kind());
    std::snprintf(r.message, sizeof r.message, "%s", e.what());
    writeRecord(out, r);
    return 2;
  }
  Record ready;
  ready.kind = kRecReady;
  ready.vals[0] = w->stats().threadsAttached;
  bool parentGone = !writeRecord(out, ready);
  WatchEnd end = WatchEnd::Stopped;
  if (!parentGone) {
    // A failure of the loop is reported (the parent exits 2 with it, after
    // the events so far); every thread is disarmed and detached below either way.
    auto reportFailure = [&](ErrorKind kind, const char* what) {
      Record er;
      er.kind = kRecError;
      er.errKind = uint32_t(kind);
      std::snprintf(er.message, sizeof er.message, "the watch loop failed: %s", what);
      writeRecord(out, er);
    };
    try {
      end = w->run([&](const WatchHit& h) { return t.onHit(*w, h); },
                   [&] { return Keeper::stopRequested(ctl); }, ctl);
    } catch (const Error& e) {
      reportFailure(e.kind(), e.what());
    } catch (const std::exception& e) {
      reportFailure(ErrorKind::Internal, e.what());
    }
  }
  w->disarm();
  Record r;
  r.kind = kRecEnd;
  t.endStats(r);
  r.vals[7] = end == WatchEnd::ProcessExited;
  r.vals[6] = w->stats().threadsNotArmed;
  writeRecord(out, r);
  return 0;
}

// --- parent ------------------------------------------------------------------

std::string clockTime(int64_t ns) {
  time_t secs = time_t(ns / 1'000'000'000);
  long micros = long((ns % 1'000'000'000) / 1000);
  struct tm tm {};
  char buf[64];
  localtime_r(&secs, &tm);
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return fmt::format("{}.{:06}", buf, micros);
}

size_t siteIndex(const std::vector<GoFrame>& frames) {
  for (size_t i = 0; i < frames.size(); i++)
    if (frames[i].function != "?" && !isSiteInternal(frames[i].function)) return i;
  return frames.size();
}

std::string siteText(const std::vector<GoFrame>& f) {
  size_t i = siteIndex(f);
  if (i < f.size()) return fmt::format("{} ({}:{})", f[i].function, f[i].file, f[i].line);
  return f.empty() ? "?" : f[0].function + " (runtime only)";
}

void jsonSite(JsonWriter& w, std::string_view key, const std::vector<GoFrame>& f) {
  w.key(key);
  size_t i = siteIndex(f);
  if (i >= f.size()) {
    w.null();
    return;
  }
  w.beginObject();
  w.field("function", f[i].function);
  w.field("file", f[i].file);
  w.field("line", int64_t(f[i].line));
  w.endObject();
}

void jsonFrames(JsonWriter& w, std::string_view key, const std::vector<GoFrame>& frames) {
  w.key(key);
  w.beginArray();
  for (const auto& fr : frames) {
    w.beginObject();
    w.field("function", fr.function);
    w.field("file", fr.file);
    w.field("line", int64_t(fr.line));
    w.endObject();
  }
  w.endArray();
}

const char* growName(uint64_t fn) {
  switch (fn) {
    case kHashGrow:
      return "hashGrow";
    case kTableGrow:
      return "table.grow";
    case kTableSplit:
      return "table.split";
    default:
      return "growToTable";
  }
}

MapRef mapOf(const Program& p, const Located& l) {
  if (syncMapAt(p, l))
    fail(ErrorKind::Usage,
         "{} is a sync.Map, made for concurrent writers: there is no unsafe write to catch "
         "(trace follows built-in maps; `gomemscope watch {}` follows a Go <= 1.23 sync.Map)",
         l.expr, l.expr);
  MapRef m = locatedMap(p, l);
  if (!m.header) fail(ErrorKind::Usage, "{} is a nil map: nothing to trace yet", l.expr);
  return m;
}

ListPlan planList(const Program& p, const Located& l) {
  ListPlan pl;
  const Type* t = l.type;
  uint64_t addr = l.addr;
  if (t->kind == Kind::Pointer && t->elem && t->elem->name == "container/list.List") {
    addr = rd(p.mem(), l.addr);
    if (!addr) fail(ErrorKind::Usage, "{} is a nil *list.List", l.expr);
    t = t->elem;
  }
  if (t->name != "container/list.List")
    fail(ErrorKind::Usage, "{} is a {}, not a container/list.List or *list.List", l.expr, t->name);
  requirePlausibleList(p, addr, l.expr);
  pl.list = addr;
  uint64_t rootOff = requireField(t, "root").offset;
  if (rootOff != 0) fail(ErrorKind::Unsupported, "container/list.List.root is not its first field");
  const Type* e = p.types().findType("container/list.Element");
  if (!e)
    fail(ErrorKind::MissingDebugInfo, "no type container/list.Element ({})", p.types().source());
  pl.nextOff = requireField(e, "next").offset;
  pl.listOff = requireField(e, "list").offset;
  pl.valueOff = requireField(e, "Value").offset;
  pl.rootNextOff = pl.nextOff;
  pl.lenOff = requireField(t, "len").offset;
  return pl;
}

int cmdTrace(TraceOptions& o) {
  if (!o.target.core.empty())
    fail(ErrorKind::Usage, "trace needs a live process (-p PID); a core dump cannot be traced");
  if (o.target.pid <= 0) fail(ErrorKind::Usage, "trace needs a live process: give -p PID");
  if (o.count < 0) fail(ErrorKind::Usage, "--count must be positive");
  if (o.what != "growth" && o.expr.empty())
    fail(ErrorKind::Usage, "trace {} needs a {} (e.g. main.{})", o.what,
         o.what == "writers" ? "map" : "list", o.what == "writers" ? "M" : "L");
  double forSecs = o.forDur.empty() ? 0 : parseDuration(o.forDur, "--for");
  if (auto tracer = proc::statusField(o.target.pid, "TracerPid"); tracer && *tracer != "0")
    fail(ErrorKind::Permission,
         "process {} is already traced by pid {} (a debugger, or another gomemscope watch/trace)",
         o.target.pid, *tracer);
  auto s = Session::open(o.target);
  printWarnings(*s);
  if (!s->live()) fail(ErrorKind::Usage, "trace needs a live process");
  const Program& p = s->program();
  StackUnwinder unwinder(p);
  const Memory& mem = p.mem();
  std::unique_ptr<Tracer> tracer;
  std::string subject = "every map";
  if (o.what == "growth") {
    if (!o.expr.empty())
      fail(ErrorKind::Usage, "trace growth takes no expression (it traces every map)");
    tracer = std::make_unique<GrowthTracer>(planGrowth(p), unwinder, mem);
  } else if (o.what == "writers") {
    MapRef m = mapOf(p, locate(p, o.expr, o.type));
    uint64_t hdr = m.header;
    const Type* h = m.type->mapHeader;
    subject = o.expr;
    if (p.types().findType("runtime.hmap") && h && optionalField(h, "flags"))
      tracer = std::make_unique<WritersTracer>(hdr + requireField(h, "flags").offset, 4, hdr,
                                               unwinder, mem, p.binary().pclntab());
    else if (h && optionalField(h, "writing"))
      tracer = std::make_unique<WritersTracer>(hdr + requireField(h, "writing").offset, 1, hdr,
                                               unwinder, mem, p.binary().pclntab());
    else
      fail(ErrorKind::MissingDebugInfo, "no hmap.flags or maps.Map.writing field for {}", o.expr);
  } else {
    Located l = locate(p, o.expr, o.type, "--type 'container/list.List'");
    subject = o.expr;
    tracer = std::make_unique<RemovedTracer>(planList(p, l), unwinder, mem);
  }
  int pid = o.target.pid;
  bool json = o.format == "jsonl";

  catchInterrupts();  // before the keeper: a Ctrl-C during its drain only ends the loop

  Keeper keeper([&](int out, int ctl) { return keeperMain(out, ctl, pid, *tracer); });

  Out out(stdout);
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(forSecs));
  uint64_t events = 0;
  Record ready{}, end{};
  bool haveReady = false, haveEnd = false, stopping = false;
  std::string error;
  ErrorKind errKind = ErrorKind::Os;
  // growth summary
  struct MapStat {
    std::string type;
    uint64_t growths = 0, measured = 0, ns = 0;
  };
  std::map<uint64_t, MapStat> byMap;
  std::map<std::string, uint64_t> bySite;
  std::map<uint64_t, uint64_t> mapOfId;
  std::map<uint64_t, std::string> removeSite;  // id -> text
  auto typeName = [&](uint64_t desc) -> std::string {
    if (!desc) return "?";
    try {
      return p.dynamicType(desc).name;
    } catch (const Error&) {
      return "?";  // the event still carries the descriptor's address
    }
  };
  auto frames = [&](const Record& r, int which) {
    const uint64_t* b = r.pcs + (which ? kFrames : 0);
    uint32_t n = std::min<uint32_t>(which ? r.n2 : r.n1, kFrames);
    return unwinder.symbolizeInline(std::vector<uint64_t>(b, b + n));
  };
  std::chrono::steady_clock::time_point startedAt = t0;
  for (;;) {
    if (!stopping &&
        (interrupted() || (forSecs > 0 && std::chrono::steady_clock::now() >= deadline) ||
         (o.count > 0 && int64_t(events) >= o.count))) {
      keeper.stop();
      stopping = true;
    }
    pollfd pfd{keeper.events(), POLLIN, 0};
    int pr = poll(&pfd, 1, 50);
    if (pr <= 0) continue;
    Record r;
    if (readRecord(keeper.events(), r) <= 0) break;
    if (r.kind == kRecError) {
      r.message[sizeof r.message - 1] = 0;
      error = r.message;
      errKind = ErrorKind(r.errKind);
      continue;
    }
    if (r.kind == kRecReady) {
      ready = r;
      haveReady = true;
      startedAt = std::chrono::steady_clock::now();
      if (json) {
        JsonWriter w(out);
        w.beginObject();
        w.field("event", std::string("ready"));
        w.field("trace", o.what);
        w.field("pid", int64_t(pid));
        w.field("threads", r.vals[0]);
        w.endObject();
        w.newline();
        out.flush();
      } else {
        fmt::print(stderr, "gomemscope: tracing {} of {} on {} threads of pid {} (Ctrl-C ends)\n",
                   o.what, subject, r.vals[0], pid);
      }
      continue;
    }
    if (r.kind == kRecEnd) {
      end = r;
      haveEnd = true;
      continue;
    }
    if (o.count > 0 && int64_t(events) >= o.count) continue;
    if (r.kind == kRecGrowEnd) {
      auto it = mapOfId.find(r.vals[0]);
      if (it != mapOfId.end()) {
        byMap[it->second].measured++;
        byMap[it->second].ns += r.vals[1];
      }
      if (json) {
        JsonWriter w(out);
        w.beginObject();
        w.field("event", std::string("growEnd"));
        w.field("id", r.vals[0]);
        w.key("map");
        w.hex(it != mapOfId.end() ? it->second : 0);
        w.field("durationNs", r.vals[1]);
        w.endObject();
        w.newline();
      } else {
        out.print("{} growth #{} of {:#x} done in {:.1f} µs\n", clockTime(r.timeNs), r.vals[0],
                  it != mapOfId.end() ? it->second : 0, double(r.vals[1]) / 1000.0);
      }
      out.flush();
      continue;
    }
    events++;
    auto f1 = frames(r, 0);
    if (r.kind == kRecGrow) {
      uint64_t fn = r.vals[0], map = r.vals[1], id = r.n2;
      std::string type = typeName(r.vals[2]);
      auto& ms = byMap[map];
      ms.type = type;
      ms.growths++;
      mapOfId[id] = map;
      std::string site = siteText(f1);
      bySite[site]++;
      bool classic = fn == kHashGrow;
      if (json) {
        JsonWriter w(out);
        w.beginObject();
        w.field("event", std::string("grow"));
        w.field("id", id);
        w.key("map");
        w.hex(map);
        w.field("type", type);
        w.field("kind", std::string(growName(fn)));
        w.field("unit", std::string(classic ? "B" : "capacity"));
        w.field("before", r.vals[3]);
        w.field("after", r.vals[4]);
        w.field("len", r.vals[5]);
        if (classic) w.field("sameSize", bool(r.vals[6] & kGrowSameSize));
        if (fn == kTableSplit) {
          w.field("directoryDoubles", bool(r.vals[6] & kGrowDirDoubles));
          w.field("directoryLen", r.vals[7]);
        }
        w.field("goid", r.goid);
        w.field("tid", int64_t(r.tid));
        jsonSite(w, "site", f1);
        jsonFrames(w, "frames", f1);
        w.endObject();
        w.newline();
      } else {
        std::string what;
        if (classic)
          what = fmt::format(
              "B {} → {} ({} → {} buckets{})", r.vals[3], r.vals[4], uint64_t(1) << r.vals[3],
              uint64_t(1) << r.vals[4],
              (r.vals[6] & kGrowSameSize) ? ", same-size: too many overflow buckets" : "");
        else if (fn == kGrowToTable)
          what = "small map → table of capacity 16";
        else if (fn == kTableGrow)
          what = fmt::format("table capacity {} → {}", r.vals[3], r.vals[4]);
        else
          what = fmt::format("table of capacity {} split in two{}", r.vals[3],
                             (r.vals[6] & kGrowDirDoubles)
                                 ? fmt::format(", directory {} → {}", r.vals[7], 2 * r.vals[7])
                                 : "");
        out.print("{} growth #{} of {:#x} ({}) len {}: {}; goid {} at {}\n", clockTime(r.timeNs),
                  id, map, type, r.vals[5], what, r.goid, site);
      }
    } else if (r.kind == kRecRemove) {
      std::string site = siteText(f1);
      removeSite[r.vals[4]] = site;
      if (json) {
        JsonWriter w(out);
        w.beginObject();
        w.field("event", std::string("remove"));
        w.field("id", r.vals[4]);
        w.key("element");
        w.hex(r.vals[0]);
        w.field("len", r.vals[1]);
        w.field("watched", r.vals[2] != uint64_t(-1));
        if (r.vals[3]) w.field("unwatched", r.vals[3]);
        w.field("goid", r.goid);
        jsonSite(w, "removeSite", f1);
        jsonFrames(w, "frames", f1);
        w.endObject();
        w.newline();
      } else {
        out.print("{} removed element {:#x} (#{}) goid {} at {}{}\n", clockTime(r.timeNs),
                  r.vals[0], r.vals[4], r.goid, site,
                  r.vals[2] == uint64_t(-1) ? " (not watched: no free debug register)" : "");
      }
    } else if (r.kind == kRecUse) {
      auto f2 = frames(r, 1);
      if (json) {
        JsonWriter w(out);
        w.beginObject();
        w.field("event", std::string("useAfterRemove"));
        w.field("id", r.vals[1]);
        w.key("element");
        w.hex(r.vals[0]);
        w.field("goid", r.goid);
        jsonSite(w, "useSite", f1);
        jsonSite(w, "removeSite", f2);
        jsonFrames(w, "useFrames", f1);
        jsonFrames(w, "removeFrames", f2);
        w.endObject();
        w.newline();
      } else {
        out.print("{} FAULT: element {:#x} removed at {} used at {} (goid {})\n",
                  clockTime(r.timeNs), r.vals[0], siteText(f2), siteText(f1), r.goid);
        if (o.target.verbose) {
          for (const auto& fr : f1)
            out.print("      use  {} ({}:{})\n", fr.function, fr.file, fr.line);
          for (const auto& fr : f2)
            out.print("    remove {} ({}:{})\n", fr.function, fr.file, fr.line);
        }
      }
    } else if (r.kind == kRecOverlap) {
      auto f2 = frames(r, 1);
      if (json) {
        JsonWriter w(out);
        w.beginObject();
        w.field("event", std::string("concurrentWrite"));
        w.key("map");
        w.hex(r.vals[0]);
        w.field("goid", r.goid);
        w.field("otherGoid", int64_t(r.vals[3]));
        w.field("flagsBefore", r.vals[1]);
        w.field("flagsAfter", r.vals[2]);
        jsonSite(w, "site", f1);
        jsonSite(w, "otherSite", f2);
        jsonFrames(w, "frames", f1);
        jsonFrames(w, "otherFrames", f2);
        w.endObject();
        w.newline();
      } else {
        out.print(
            "{} FAULT: concurrent access to {} ({:#x}): goid {} at {} while goid {} is writing at "
            "{}\n",
            clockTime(r.timeNs), subject, r.vals[0], r.goid, siteText(f1), int64_t(r.vals[3]),
            siteText(f2));
        for (const auto& fr : f1)
          out.print("      goid {:<6} {} ({}:{})\n", r.goid, fr.function, fr.file, fr.line);
        for (const auto& fr : f2)
          out.print("      goid {:<6} {} ({}:{})\n", int64_t(r.vals[3]), fr.function, fr.file,
                    fr.line);
      }
    }
    out.flush();
  }
  int kst = keeper.wait();
  if (!error.empty()) fail(errKind, "{}", error);
  if (!haveReady)
    fail(ErrorKind::Os, "the trace helper process ended unexpectedly (status {})", kst);

  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - startedAt).count();
  Out so(json ? stderr : stdout);
  bool fault = false;
  if (o.what == "growth") {
    uint64_t total = 0, ns = 0, measured = 0;
    for (const auto& [m, st] : byMap) {
      total += st.growths;
      ns += st.ns;
      measured += st.measured;
    }
    so.print(
        "growth summary: {} growths of {} maps in {:.2f} s; {:.1f} µs spent growing ({} of {} "
        "measured)\n",
        total, byMap.size(), secs, double(ns) / 1000.0, measured, total);
    std::vector<std::pair<uint64_t, uint64_t>> ranked;
    for (const auto& [m, st] : byMap) ranked.push_back({st.growths, m});
    std::sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });
    so.print("  maps by growths:\n");
    for (const auto& [n, m] : ranked)
      so.print("    {:>6}  {:#x} {} ({:.1f} µs)\n", n, m, byMap[m].type,
               double(byMap[m].ns) / 1000.0);
    std::vector<std::pair<uint64_t, std::string>> sites;
    for (const auto& [k, v] : bySite) sites.push_back({v, k});
    std::sort(sites.begin(), sites.end(), [](auto& a, auto& b) { return a.first > b.first; });
    so.print("  call sites by growths:\n");
    for (const auto& [n, k] : sites) so.print("    {:>6}  {}\n", n, k);
    if (haveEnd)
      so.print(
          "  missed: threads not armed {}; durations not measured (no free slot) {}; still growing "
          "at end {}; prologue re-entries merged {}\n",
          end.vals[6], end.vals[0], end.vals[2], end.vals[1]);
  } else if (o.what == "removed") {
    fault = end.vals[2] > 0;
    so.print(
        "removed summary: {} removals, {} uses after removal in {:.2f} s; {} removed elements not "
        "watched (4 debug registers: 3 elements at a time); {} runtime reads (GC) and {} reads by "
        "the removing call itself ignored{}\n",
        end.vals[0], end.vals[2], secs, end.vals[1], end.vals[3], end.vals[5],
        end.vals[4] ? "; list longer than 100000 elements: removals past that not seen" : "");
  } else {
    fault = end.vals[2] > 0;
    so.print(
        "writers summary: {} writes, {} accesses to the writing flag, {} concurrent accesses in "
        "{:.2f} s\n",
        end.vals[0], end.vals[1], end.vals[2], secs);
  }
  if (!haveEnd) so.print("  the end was not confirmed by the helper process\n");
  so.flush();
  if (json) {
    // The summary as the stream's last event (its figures, as the text above).
    JsonWriter w(out);
    w.beginObject();
    w.field("event", std::string("end"));
    w.field("trace", o.what);
    w.field("seconds", secs);
    w.field("confirmed", haveEnd);
    if (haveEnd) {
      w.field("processExited", end.vals[7] != 0);
      w.field("threadsNotArmed", end.vals[6]);
      if (o.what == "growth") {
        w.field("notMeasured", end.vals[0]);
        w.field("prologueReentries", end.vals[1]);
        w.field("growingAtEnd", end.vals[2]);
      } else if (o.what == "removed") {
        w.field("removals", end.vals[0]);
        w.field("notWatched", end.vals[1]);
        w.field("usesAfterRemove", end.vals[2]);
        w.field("runtimeReads", end.vals[3]);
        w.field("sameCallReads", end.vals[5]);
        w.field("truncated", end.vals[4] != 0);
      } else {
        w.field("writes", end.vals[0]);
        w.field("accesses", end.vals[1]);
        w.field("concurrentAccesses", end.vals[2]);
      }
    }
    w.endObject();
    w.newline();
    out.flush();
  }
  if (haveEnd && end.vals[7]) fmt::print(stderr, "gomemscope: pid {} exited; trace ended\n", pid);
  return fault ? kExitProblems : kExitOk;
}

}  // namespace

void addTraceCommand(CLI::App& app, Runner& run) {
  auto* c = app.add_subcommand(
      "trace",
      "event tracers on a live process: map growth, concurrent writers, removed list elements");
  c->require_subcommand(1);
  struct Sub {
    const char* name;
    const char* help;
    const char* arg;
  };
  for (Sub sub :
       {Sub{"growth",
            "every growth of every map: which map, size before/after, call site, duration",
            nullptr},
        Sub{"writers", "two goroutines writing one map at once (exit 1 when seen)",
            "a map (main.M)"},
        Sub{"removed", "list elements used after list.Remove (exit 1 when seen)",
            "a list (main.L)"}}) {
    auto o = std::make_shared<TraceOptions>();
    o->what = sub.name;
    auto* s = c->add_subcommand(sub.name, sub.help);
    addTargetOptions(s, o->target);
    if (sub.arg) {
      s->add_option("expr", o->expr, sub.arg)->required();
      s->add_option("--type", o->type, "type of an object given by address");
    }
    s->add_option("--count", o->count, "stop after N events");
    s->add_option("--for", o->forDur, "stop after this long (e.g. 30s)");
    s->add_option("--format", o->format, "text or jsonl (one JSON object per event)")
        ->check(CLI::IsMember({"text", "jsonl"}));
    s->callback([o, &run] { run = [o] { return cmdTrace(*o); }; });
  }
}

}  // namespace gms
