// The tracers' state machines (docs/trace.md, docs/watch.md): what each trap
// of a traced program means, which traps to move, what to report. They run
// while the trapping thread is stopped (in the keeper process, cli/tracing.h
// wires them to control/watcher.h) but know nothing of ptrace: the debug
// registers reach them as TrapControl, the trapping thread's stack as
// TrapStacks, events leave as TraceEvents. Tests drive them over FakeMemory
// with fakes of both (tests/goruntime/tracers_test.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "goruntime/stack.h"
#include "goruntime/trace_hooks.h"

namespace gms {

// --- what a tracer sees and may do ---------------------------------------------

enum class TrapKind : uint8_t { Execute, Write, ReadWrite };
struct TrapAt {
  uint64_t addr = 0;
  TrapKind kind = TrapKind::Write;
  uint8_t len = 8;  // 1, 2, 4 or 8; 1 for Execute
};

// One stop at a trap.
struct Trap {
  int tid = 0;
  int64_t timeNs = 0;      // CLOCK_REALTIME
  std::vector<int> slots;  // the traps that fired (several when one access touched several)
  // The status register was lost (control/watcher.h, WatchHit::dr6Lost):
  // which data trap fired is unknown, slots is empty.
  bool dr6Lost = false;
  TrapRegs regs;
};

// The debug registers, as a tracer may change them while the trapping
// thread is stopped (applied to every thread when onTrap returns).
class TrapControl {
 public:
  virtual ~TrapControl() = default;
  // The slot the trap went to; nullopt when all four are busy. Throws
  // Error(Usage) for a trap no slot can hold (misaligned, bad length).
  virtual std::optional<int> add(const TrapAt& t) = 0;
  virtual void clear(int slot) = 0;
  // The trapping thread stays stopped after onTrap returns until another
  // thread's trap has been handled (or a short limit passed).
  virtual void holdUntilNextHit() = 0;
};

// The trapping thread's stack, and function names for pcs.
class TrapStacks {
 public:
  virtual ~TrapStacks() = default;
  // At an execute breakpoint: rip is the function's entry.
  virtual RawStack atBreakpoint(const TrapRegs& r) const = 0;
  // At a data watchpoint, which traps after the access: the innermost pc is
  // rip-1, inside the accessing instruction.
  virtual RawStack afterAccess(const TrapRegs& r) const = 0;
  // The function of each pc ("?" unknown): the innermost at its pc, outer
  // frames at pc-1 (the call).
  virtual std::vector<std::string> functions(const std::vector<uint64_t>& pcs) const = 0;
};

// TrapStacks of a live program: its StackUnwinder over its memory.
class UnwoundStacks : public TrapStacks {
 public:
  UnwoundStacks(const StackUnwinder& un, const Memory& mem) : un_(un), mem_(mem) {}
  RawStack atBreakpoint(const TrapRegs& r) const override;
  RawStack afterAccess(const TrapRegs& r) const override;
  std::vector<std::string> functions(const std::vector<uint64_t>& pcs) const override;

 private:
  const StackUnwinder& un_;
  const Memory& mem_;
};

// --- what a tracer reports -----------------------------------------------------

// One event, fixed size and trivially copyable: it crosses the keeper's pipe
// whole (control/keeper.h). Stacks are return-address pcs, innermost first:
// one stack of up to kEventPcs, or two of up to kEventPcs / 2 each.
constexpr size_t kEventPcs = 72;
// The frames a trace event keeps of each stack (watch keeps the unwinder's 64).
constexpr size_t kTraceFrames = 36;

struct GrowEvent {
  GrowFn fn;
  bool sameSize, dirDoubles;
  uint64_t id, map, typeDesc, before, after, len, dirLen;
};
struct GrowEndEvent {
  uint64_t id, durationNs;
};
struct RemoveEvent {
  uint64_t id, elem, lenAfter;
  bool watched;        // a debug register watches its Value
  uint64_t evictedId;  // the older removal no longer watched to make room (0: none)
};
struct UseEvent {
  uint64_t removeId, elem;  // stack 2: the removing stack
};
struct OverlapEvent {
  uint64_t header, flagsBefore, flagsAfter;
  int64_t otherGoid;  // -1: unknown; stack 2: the other goroutine's
};
struct WriteEvent {
  uint32_t field;  // index into the watched fields
  bool multi;      // one access fired several fields
  bool unchanged;  // the write left the value as it was
  uint64_t oldv, newv;
};

struct TraceEvent {
  enum class Kind : uint32_t { Grow, GrowEnd, Remove, Use, Overlap, Write };
  Kind kind = Kind::Write;
  int32_t tid = 0;
  int64_t goid = -1;
  int64_t timeNs = 0;
  bool truncated = false;  // the (first) stack hit the unwinder's depth limit
  union {
    GrowEvent grow;
    GrowEndEvent growEnd;
    RemoveEvent remove;
    UseEvent use;
    OverlapEvent overlap;
    WriteEvent write;
  };
  uint32_t n1 = 0, n2 = 0;  // pcs[0, n1): the stack; pcs[n1, n1 + n2): the second one
  uint64_t pcs[kEventPcs];

  TraceEvent();
  std::vector<uint64_t> stack() const;   // the first stack
  std::vector<uint64_t> stack2() const;  // the second (empty when none)
  // Each stack keeps at most `frames` pcs (two stacks: at most half of kEventPcs each).
  void setStacks(const std::vector<uint64_t>& a, const std::vector<uint64_t>* b = nullptr,
                 size_t frames = kEventPcs);
};

// What a tracer counted over its life, for the end summary.
struct TraceTotals {
  // growth
  uint64_t notMeasured = 0;        // durations not measured: no free slot
  uint64_t prologueReentries = 0;  // the entry seen again after morestack: merged
  uint64_t growingAtEnd = 0;
  // removed
  uint64_t removals = 0, notWatched = 0, usesAfterRemove = 0;
  uint64_t runtimeReads = 0;   // accesses by the runtime (the GC): ignored
  uint64_t sameCallReads = 0;  // the removing call reading e.Value: ignored
  bool truncated = false;      // the list was longer than the walk limit
  // writers
  uint64_t writes = 0, accesses = 0, concurrentAccesses = 0;
};

// --- the tracers ---------------------------------------------------------------

class Tracer {
 public:
  // Returns false when the reader is gone: the trace ends.
  using Emit = std::function<bool(const TraceEvent&)>;
  virtual ~Tracer() = default;
  // The traps to start with.
  virtual void arm(TrapControl& traps) = 0;
  // Every thread stopped and armed, none resumed yet: read the start state.
  virtual void whileStopped() {}
  // A trap hit; false ends the trace.
  virtual bool onTrap(const Trap& t, TrapControl& traps, const Emit& emit) = 0;
  virtual TraceTotals totals() const { return {}; }
};

// trace growth: execute breakpoints on the growth functions; each growth's
// end watched in a free slot (a write of nil to h.oldbuckets, or the return).
std::unique_ptr<Tracer> growthTracer(const GrowthHooks& g, const TrapStacks& stacks,
                                     const Memory& mem);
// trace removed: the List's len watched; each removed element's Value
// watched (three at a time, oldest evicted) for a use by the program.
std::unique_ptr<Tracer> removedTracer(const RemovedHooks& h, const TrapStacks& stacks,
                                      const Memory& mem);
constexpr size_t kRemovedWalkLimit = 100000;
// trace writers: the writing flag watched twice (read/write and write-only)
// for a second goroutine inside a write.
std::unique_ptr<Tracer> writersTracer(const WriterFlag& f, const TrapStacks& stacks,
                                      const Memory& mem);
// watch: every write (or access, rw) of each field, old -> new; at most
// maxEvents (0: no limit).
std::unique_ptr<Tracer> fieldTracer(const std::vector<WatchField>& fields, bool rw,
                                    const TrapStacks& stacks, const Memory& mem, int64_t maxEvents);

}  // namespace gms
