#include "goruntime/tracers.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <set>

#include "common/error.h"

namespace gms {

// --- UnwoundStacks -----------------------------------------------------------------

RawStack UnwoundStacks::atBreakpoint(const TrapRegs& r) const {
  return un_.unwind(mem_, r.rip, r.rsp, r.r14, r.fsBase);
}

RawStack UnwoundStacks::afterAccess(const TrapRegs& r) const {
  return un_.unwindAfterAccess(mem_, r.rip, r.rsp, r.r14, r.fsBase);
}

std::vector<std::string> UnwoundStacks::functions(const std::vector<uint64_t>& pcs) const {
  std::vector<std::string> out;
  for (auto& f : un_.symbolize(pcs)) out.push_back(std::move(f.function));
  return out;
}

// --- TraceEvent --------------------------------------------------------------------

TraceEvent::TraceEvent() {
  // Every byte, padding too: the event crosses the keeper's pipe as it is.
  std::memset(static_cast<void*>(this), 0, sizeof *this);
  goid = -1;
}

std::vector<uint64_t> TraceEvent::stack() const {
  return std::vector<uint64_t>(pcs, pcs + std::min<size_t>(n1, kEventPcs));
}

std::vector<uint64_t> TraceEvent::stack2() const {
  size_t a = std::min<size_t>(n1, kEventPcs);
  size_t b = std::min<size_t>(n2, kEventPcs - a);
  return std::vector<uint64_t>(pcs + a, pcs + a + b);
}

void TraceEvent::setStacks(const std::vector<uint64_t>& a, const std::vector<uint64_t>* b,
                           size_t frames) {
  size_t cap = std::min(frames, b ? kEventPcs / 2 : kEventPcs);
  n1 = uint32_t(std::min(a.size(), cap));
  std::copy_n(a.begin(), n1, pcs);
  n2 = 0;
  if (b) {
    n2 = uint32_t(std::min({b->size(), cap, kEventPcs - n1}));
    std::copy_n(b->begin(), n2, pcs + n1);
  }
}

namespace {

uint64_t rd(const Memory& m, uint64_t addr, size_t len = 8) {
  uint64_t v = 0;
  m.read(addr, &v, len);
  return v;
}

TraceEvent eventAt(TraceEvent::Kind kind, const Trap& t, const RawStack& st) {
  TraceEvent e;
  e.kind = kind;
  e.tid = t.tid;
  e.goid = st.goid;
  e.timeNs = t.timeNs;
  e.truncated = st.truncated;
  return e;
}

// --- growth ------------------------------------------------------------------------

class GrowthTracer : public Tracer {
 public:
  GrowthTracer(const GrowthHooks& g, const TrapStacks& s, const Memory& m)
      : g_(g), stacks_(s), mem_(m) {}

  void arm(TrapControl& traps) override {
    for (int f = 0; f < kGrowFns; f++)
      if (g_.entry[size_t(f)])
        if (auto slot = traps.add({g_.entry[size_t(f)], TrapKind::Execute, 1}))
          fnOfSlot_[*slot] = GrowFn(f);
  }

  bool onTrap(const Trap& t, TrapControl& traps, const Emit& emit) override {
    std::vector<int> slots = t.slots;
    if (t.dr6Lost)  // which data slot fired is unknown: endTrap checks each evacuation itself
      for (const auto& [slot, f] : inflight_)
        if (g_.classic && std::find(slots.begin(), slots.end(), slot) == slots.end())
          slots.push_back(slot);
    for (int slot : slots) {
      if (auto it = inflight_.find(slot); it != inflight_.end()) {
        if (!endTrap(t, traps, emit, slot, it->second)) return false;
        continue;
      }
      auto fn = fnOfSlot_.find(slot);
      if (fn == fnOfSlot_.end()) continue;
      if (!growTrap(t, traps, emit, fn->second)) return false;
    }
    return true;
  }

  TraceTotals totals() const override {
    TraceTotals tt;
    tt.notMeasured = unmeasured_;
    tt.prologueReentries = reentries_;
    tt.growingAtEnd = inflight_.size();
    return tt;
  }

 private:
  // One growth in flight per extra slot: its end is a write of nil to
  // h.oldbuckets (classic) or the return to the caller (Swiss).
  struct InFlight {
    uint64_t id = 0, map = 0, retSp = 0;
    int64_t goid = -1;
    int64_t startNs = 0;
  };

  bool endTrap(const Trap& t, TrapControl& traps, const Emit& emit, int slot, InFlight& f) {
    bool ended;
    if (g_.classic) {
      ended = classicGrowthEnded(g_, f.map, mem_);
    } else {
      RawStack st = stacks_.atBreakpoint(t.regs);
      ended = st.goid == f.goid && t.regs.rsp == f.retSp;
    }
    if (!ended) return true;
    TraceEvent e;
    e.kind = TraceEvent::Kind::GrowEnd;
    e.tid = t.tid;
    e.timeNs = t.timeNs;
    e.growEnd.id = f.id;
    e.growEnd.durationNs = uint64_t(t.timeNs - f.startNs);
    inflight_.erase(slot);
    traps.clear(slot);
    return emit(e);
  }

  bool growTrap(const Trap& t, TrapControl& traps, const Emit& emit, GrowFn fn) {
    RawStack st = stacks_.atBreakpoint(t.regs);
    GrowthArgs a = readGrowthArgs(g_, fn, t.regs, mem_);
    if (st.goid >= 0) {
      auto it = lastEntry_.find(st.goid);
      if (it != lastEntry_.end() && it->second == a.identity) {
        // The stack moved (morestack copies it): the return is awaited at the new SP.
        for (auto& [slot, f] : inflight_)
          if (f.goid == st.goid) f.retSp = t.regs.rsp + 8;
        reentries_++;
        return true;
      }
      lastEntry_[st.goid] = a.identity;
    }
    TraceEvent e = eventAt(TraceEvent::Kind::Grow, t, st);
    e.grow.fn = fn;
    e.grow.id = nextId_++;
    e.grow.map = a.map;
    e.grow.typeDesc = a.typeDesc;
    e.grow.before = a.before;
    e.grow.after = a.after;
    e.grow.len = a.len;
    e.grow.sameSize = a.sameSize;
    e.grow.dirDoubles = a.dirDoubles;
    e.grow.dirLen = a.dirLen;
    e.setStacks(st.pcs, nullptr, kTraceFrames);
    // Duration: a free slot watches the end.
    std::optional<int> slot;
    try {
      if (g_.classic)
        slot = traps.add({a.map + g_.oldbucketsOff, TrapKind::Write, 8});
      else
        slot = traps.add({rd(mem_, t.regs.rsp), TrapKind::Execute, 1});  // the return address
    } catch (const Error&) {
      // a trap no slot can hold, or an unreadable return address: counted below as not measured
    }
    if (slot)
      inflight_[*slot] = InFlight{e.grow.id, a.map, t.regs.rsp + 8, st.goid, t.timeNs};
    else
      unmeasured_++;
    return emit(e);
  }

  GrowthHooks g_;
  const TrapStacks& stacks_;
  const Memory& mem_;
  std::map<int, GrowFn> fnOfSlot_;
  std::map<int, InFlight> inflight_;
  std::map<int64_t, std::array<uint64_t, 4>> lastEntry_;  // goid -> the last entry's identity
  uint64_t nextId_ = 1, unmeasured_ = 0, reentries_ = 0;
};

// --- removed -----------------------------------------------------------------------

class RemovedTracer : public Tracer {
 public:
  RemovedTracer(const RemovedHooks& h, const TrapStacks& s, const Memory& m)
      : h_(h), stacks_(s), mem_(m) {}

  void arm(TrapControl& traps) override {
    lenSlot_ = traps.add({h_.list + h_.lenOff, TrapKind::Write, 8}).value_or(-1);
  }
  void whileStopped() override { snapshot_ = walk(); }

  bool onTrap(const Trap& t, TrapControl& traps, const Emit& emit) override {
    // An empty DR6 does not say which slot fired: the len check re-walks the
    // list and is safe to repeat; a use is not claimed.
    if (t.dr6Lost) return lenTrap(t, traps, emit);
    for (int slot : t.slots) {
      if (slot == lenSlot_) {
        if (!lenTrap(t, traps, emit)) return false;
      } else if (auto it = watched_.find(slot); it != watched_.end()) {
        if (!useTrap(t, emit, it->second)) return false;
      }
    }
    return true;
  }

  TraceTotals totals() const override {
    TraceTotals tt;
    tt.removals = removals_;
    tt.notWatched = notWatched_;
    tt.usesAfterRemove = uses_;
    tt.runtimeReads = runtimeReads_;
    tt.sameCallReads = sameCall_;
    tt.truncated = tooLong_;
    return tt;
  }

 private:
  struct Watched {
    uint64_t elem = 0, id = 0;
    int64_t goid = -1;
    std::vector<uint64_t> removeStack;
  };

  std::set<uint64_t> walk() {
    bool truncated = false;
    auto v = listElements(h_, mem_, kRemovedWalkLimit, truncated);
    if (truncated) tooLong_ = true;
    return std::set<uint64_t>(v.begin(), v.end());
  }

  // Index of the first frame outside the runtime (the program's own code).
  size_t siteOf(const std::vector<std::string>& fns) const {
    for (size_t i = 0; i < fns.size(); i++)
      if (fns[i] != "?" && !isRuntimeFunction(fns[i])) return i;
    return fns.size();
  }
  // The removing call itself reading the element right after Remove (the
  // LRU idiom `l.Remove(e); delete(m, e.Value.(*entry).key)`; Remove even
  // returns e.Value for this) is not a use after removal: same goroutine,
  // same function, and the same return addresses above it (the same
  // invocation).
  bool sameInvocation(const std::vector<uint64_t>& use, int64_t goid, const Watched& w) const {
    if (goid < 0 || goid != w.goid) return false;
    auto fu = stacks_.functions(use), fr = stacks_.functions(w.removeStack);
    size_t a = siteOf(fu), b = siteOf(fr);
    if (a >= use.size() || b >= w.removeStack.size()) return false;
    if (use.size() - a != w.removeStack.size() - b) return false;
    if (stacks_.functions({use[a]})[0] != stacks_.functions({w.removeStack[b]})[0]) return false;
    return std::equal(use.begin() + long(a) + 1, use.end(), w.removeStack.begin() + long(b) + 1);
  }

  bool lenTrap(const Trap& t, TrapControl& traps, const Emit& emit) {
    std::set<uint64_t> now = walk();
    std::vector<uint64_t> gone;
    for (uint64_t e : snapshot_)
      if (!now.count(e) && elementDetached(h_, e, mem_)) gone.push_back(e);
    snapshot_ = std::move(now);
    if (gone.empty()) return true;
    RawStack st = stacks_.afterAccess(t.regs);
    for (uint64_t el : gone) {
      removals_++;
      TraceEvent e = eventAt(TraceEvent::Kind::Remove, t, st);
      e.remove.elem = el;
      e.remove.lenAfter = snapshot_.size();
      e.remove.id = nextId_++;
      e.remove.evictedId = 0;
      // Watch the element's Value (its type word: read by every use of
      // e.Value), FIFO over the free slots.
      TrapAt at{el + h_.valueOff, TrapKind::ReadWrite, 8};
      std::optional<int> slot = traps.add(at);
      if (!slot && !order_.empty()) {
        int old = order_.front();
        order_.pop_front();
        e.remove.evictedId = watched_[old].id;
        watched_.erase(old);
        traps.clear(old);
        notWatched_++;
        slot = traps.add(at);
      }
      e.remove.watched = slot.has_value();
      if (slot) {
        watched_[*slot] = Watched{el, e.remove.id, st.goid, st.pcs};
        order_.push_back(*slot);
      } else {
        notWatched_++;
      }
      e.setStacks(st.pcs, nullptr, kTraceFrames);
      if (!emit(e)) return false;
    }
    return true;
  }

  bool useTrap(const Trap& t, const Emit& emit, const Watched& wd) {
    // The GC and the runtime read every word of a live object; a use is an
    // access by the program's own code (the trapping instruction outside the
    // runtime).
    std::string top = stacks_.functions({t.regs.rip - 1})[0];
    if (top == "?" || isRuntimeFunction(top)) {
      runtimeReads_++;
      return true;
    }
    RawStack st = stacks_.afterAccess(t.regs);
    if (sameInvocation(st.pcs, st.goid, wd)) {
      sameCall_++;
      return true;
    }
    uses_++;
    TraceEvent e = eventAt(TraceEvent::Kind::Use, t, st);
    e.use.elem = wd.elem;
    e.use.removeId = wd.id;
    e.setStacks(st.pcs, &wd.removeStack, kTraceFrames);
    return emit(e);
  }

  RemovedHooks h_;
  const TrapStacks& stacks_;
  const Memory& mem_;
  int lenSlot_ = -1;
  std::set<uint64_t> snapshot_;
  bool tooLong_ = false;
  std::map<int, Watched> watched_;  // slot -> element
  std::deque<int> order_;           // FIFO of slots
  uint64_t nextId_ = 1, removals_ = 0, notWatched_ = 0, uses_ = 0, runtimeReads_ = 0, sameCall_ = 0;
};

// --- writers -----------------------------------------------------------------------

// The writing flag is watched twice on its one byte: one slot for reads or
// writes, one for writes only, so a write fires both and a read the first
// alone (DR6 names both; tests/control/watcher_test.cc checks it). A trap is
// handled after the access and after whatever the other running threads did
// meanwhile; two goroutines toggling the flag at once can therefore cancel
// out before either trap is read (0 -> 1 -> 0): both writes then leave the
// byte as it was, with the flag clear, which no lone writer does (every
// other write of the byte by a lone writer changes it, or happens with the
// flag set: runtime/map.go, internal/runtime/maps/map.go). The one exception
// is mapiterinit's atomic.Or8 of the iterator bits (Go <= 1.23), racing with
// another iterator's: two readers, so its pc is excluded.
class WritersTracer : public Tracer {
 public:
  WritersTracer(const WriterFlag& f, const TrapStacks& s, const Memory& m)
      : f_(f), stacks_(s), mem_(m) {}

  void arm(TrapControl& traps) override {
    anySlot_ = traps.add({f_.addr, TrapKind::ReadWrite, 1}).value_or(-1);
    writeSlot_ = traps.add({f_.addr, TrapKind::Write, 1}).value_or(-1);
  }
  void whileStopped() override {
    try {
      last_ = rd(mem_, f_.addr, 1);
    } catch (const Error&) {
      // the flag byte unreadable at arming: last stays 0 (clear), as in a map not being written
    }
  }

  bool onTrap(const Trap& t, TrapControl& traps, const Emit& emit) override {
    accesses_++;
    uint64_t v = last_;
    try {
      v = rd(mem_, f_.addr, 1);
    } catch (const Error&) {
      // unreadable now: taken as unchanged (v = last), so no toggle is invented
    }
    bool was = last_ & f_.bit, is = v & f_.bit;
    uint64_t before = last_;
    last_ = v;
    bool write = std::find(t.slots.begin(), t.slots.end(), writeSlot_) != t.slots.end();
    RawStack st = stacks_.afterAccess(t.regs);
    if (reader_ >= 0 && st.goid != reader_) {
      // The pending writer: it set the flag the held reader saw.
      int64_t other = reader_;
      reader_ = -1;
      writes_++;
      holder_ = st.goid;
      holderStack_ = st.pcs;
      return overlap(t, st, before, v, other, readerStack_, emit);
    }
    if (reader_ >= 0) {  // the reader again: held past the limit, and no other trap came
      reader_ = -1;
      if (!overlap(t, st, before, v, -1, {}, emit)) return false;
    }
    if (!write && !t.dr6Lost && !was && is) {
      reader_ = st.goid;
      readerStack_ = st.pcs;
      traps.holdUntilNextHit();
      return true;
    }
    if (write && !was && !is && before == v && !byIterator(st)) {
      if (cancelled_ >= 0 && cancelled_ != st.goid) {
        int64_t other = cancelled_;
        cancelled_ = -1;
        return overlap(t, st, before, v, other, cancelledStack_, emit);
      }
      cancelled_ = st.goid;
      cancelledStack_ = st.pcs;
      // Held until the other write's trap, pending now, is handled: running
      // on, this goroutine would find the flag clear and die of Go's check.
      traps.holdUntilNextHit();
      return true;
    }
    if (!was && is) {
      writes_++;
      holder_ = st.goid;
      holderStack_ = st.pcs;
      return true;
    }
    if (was && st.goid == holder_) {
      if (!is) holder_ = -1;
      return true;
    }
    if (!was) return true;  // a read (or write) while nobody writes: fine
    // The writing flag was set by another goroutine, and this one accessed
    // it: a concurrent write (or read) of the map.
    int64_t other = holder_;
    if (!is) holder_ = -1;  // the flag was toggled off by the intruder
    return overlap(t, st, before, v, other, holderStack_, emit);
  }

  TraceTotals totals() const override {
    TraceTotals tt;
    tt.writes = writes_;
    tt.accesses = accesses_;
    tt.concurrentAccesses = overlaps_;
    return tt;
  }

 private:
  bool byIterator(const RawStack& st) const {
    return !st.pcs.empty() && isIteratorInit(stacks_.functions({st.pcs[0]})[0]);
  }
  bool overlap(const Trap& t, const RawStack& st, uint64_t before, uint64_t v, int64_t other,
               const std::vector<uint64_t>& otherStack, const Emit& emit) {
    overlaps_++;
    TraceEvent e = eventAt(TraceEvent::Kind::Overlap, t, st);
    e.overlap.header = f_.header;
    e.overlap.flagsBefore = before;
    e.overlap.flagsAfter = v;
    e.overlap.otherGoid = other;
    e.setStacks(st.pcs, &otherStack, kTraceFrames);
    return emit(e);
  }

  WriterFlag f_;
  const TrapStacks& stacks_;
  const Memory& mem_;
  int anySlot_ = -1, writeSlot_ = -1;
  uint64_t last_ = 0;
  int64_t holder_ = -1;
  std::vector<uint64_t> holderStack_;
  // A write that left the byte unchanged with the flag clear: the first half
  // of a cancelled pair, waiting for the other goroutine's write.
  int64_t cancelled_ = -1;
  std::vector<uint64_t> cancelledStack_;
  // A read that found the flag set while no write of it had been handled:
  // the writer's trap is pending. The reader is held (it would die of Go's
  // check before that trap is handled) and the overlap is reported with it.
  int64_t reader_ = -1;
  std::vector<uint64_t> readerStack_;
  uint64_t writes_ = 0, accesses_ = 0, overlaps_ = 0;
};

// --- watch -------------------------------------------------------------------------

class FieldTracer : public Tracer {
 public:
  FieldTracer(const std::vector<WatchField>& fields, bool rw, const TrapStacks& s, const Memory& m,
              int64_t maxEvents)
      : fields_(fields), rw_(rw), stacks_(s), mem_(m), max_(maxEvents), last_(fields.size()) {}

  void arm(TrapControl& traps) override {
    for (size_t i = 0; i < fields_.size(); i++) {
      auto slot =
          traps.add({fields_[i].addr, rw_ ? TrapKind::ReadWrite : TrapKind::Write, fields_[i].len});
      if (!slot)
        fail(ErrorKind::Usage, "{} fields need {} hardware watchpoints; there are {} slots",
             fields_.size(), fields_.size(), i);
      fieldOfSlot_[*slot] = i;
    }
  }
  void whileStopped() override {
    for (size_t i = 0; i < fields_.size(); i++) {
      try {
        last_[i] = read(i);
      } catch (const Error&) {
        // unreadable at arming: last stays 0, so the first readable value shows as a change from 0
      }
    }
  }

  bool onTrap(const Trap& t, TrapControl&, const Emit& emit) override {
    RawStack st = stacks_.afterAccess(t.regs);
    std::vector<size_t> hit;
    for (int slot : t.slots)
      if (auto it = fieldOfSlot_.find(slot); it != fieldOfSlot_.end()) hit.push_back(it->second);
    if (t.dr6Lost) {
      // Which slot fired is unknown: the fields whose value changed did.
      for (size_t i = 0; i < fields_.size(); i++) {
        try {
          if (read(i) != last_[i]) hit.push_back(i);
        } catch (const Error&) {
          // unreadable now: not counted as changed (no event invented for it)
        }
      }
    }
    for (size_t i : hit) {
      TraceEvent e = eventAt(TraceEvent::Kind::Write, t, st);
      e.write.field = uint32_t(i);
      e.write.oldv = last_[i];
      try {
        e.write.newv = read(i);
      } catch (const Error&) {
        // Unreadable now (the object was freed): the event shows the value
        // unchanged rather than a guess; the trap itself is still reported.
        e.write.newv = e.write.oldv;
      }
      last_[i] = e.write.newv;
      e.write.multi = hit.size() > 1;
      e.write.unchanged = e.write.newv == e.write.oldv;
      e.setStacks(st.pcs);
      if (!emit(e)) return false;
      if (max_ > 0 && ++sent_ >= max_) return false;
    }
    return true;
  }

 private:
  uint64_t read(size_t i) const { return rd(mem_, fields_[i].addr, fields_[i].len); }

  std::vector<WatchField> fields_;
  bool rw_;
  const TrapStacks& stacks_;
  const Memory& mem_;
  int64_t max_;
  int64_t sent_ = 0;
  std::vector<uint64_t> last_;
  std::map<int, size_t> fieldOfSlot_;
};

}  // namespace

std::unique_ptr<Tracer> growthTracer(const GrowthHooks& g, const TrapStacks& stacks,
                                     const Memory& mem) {
  return std::make_unique<GrowthTracer>(g, stacks, mem);
}
std::unique_ptr<Tracer> removedTracer(const RemovedHooks& h, const TrapStacks& stacks,
                                      const Memory& mem) {
  return std::make_unique<RemovedTracer>(h, stacks, mem);
}
std::unique_ptr<Tracer> writersTracer(const WriterFlag& f, const TrapStacks& stacks,
                                      const Memory& mem) {
  return std::make_unique<WritersTracer>(f, stacks, mem);
}
std::unique_ptr<Tracer> fieldTracer(const std::vector<WatchField>& fields, bool rw,
                                    const TrapStacks& stacks, const Memory& mem,
                                    int64_t maxEvents) {
  return std::make_unique<FieldTracer>(fields, rw, stacks, mem, maxEvents);
}

}  // namespace gms
