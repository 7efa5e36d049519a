// Goroutine stacks of a stopped thread: which goroutine it runs (goid) and its
// call stack, unwound the way the Go runtime's own traceback does — with the
// pcsp table of .gopclntab (the exact frame size at every PC, so the
// innermost frame unwinds even before its frame pointer is set up) — and
// symbolized with pcfile/pcln (innermost inlined file:line).
//
// The g running on a thread is at fs_base-8 (the TLS slot runtime.tlsg uses on
// linux/amd64) and in R14 inside Go ABIInternal code; a candidate is accepted
// only if the thread's SP lies in its g.stack [lo, hi).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "goruntime/program.h"

namespace gms {

struct GoFrame {
  uint64_t pc = 0;       // runtime PC (return address for outer frames)
  std::string function;  // "?" when unknown
  std::string file;
  int line = 0;
};

struct RawStack {
  int64_t goid = -1;          // -1: no goroutine found (a thread on g0, or not Go code)
  std::vector<uint64_t> pcs;  // innermost first
  // Each frame's CFA (its caller's SP: just above the return address, where
  // Go's DWARF frame base is), 0 where the pcsp table does not say.
  std::vector<uint64_t> cfas;
  bool truncated = false;     // stopped at the depth limit
};

// True for runtime internals: runtime.*, internal/runtime/*, runtime/internal/*.
bool isRuntimeFunction(const std::string& name);
// True for code a program calls to change a map or list rather than its own:
// the runtime, and container/list. The "site" of a write or a removal is the
// first frame that is not.
bool isSiteInternal(const std::string& name);

class StackUnwinder {
 public:
  static constexpr size_t kMaxDepth = 64;
  // Needs the binary's pclntab (Error(MissingDebugInfo) without it); goids
  // need DWARF runtime.g (else goid stays -1).
  explicit StackUnwinder(const Program& p);

  // Reads the stack of a stopped thread from `mem`. Never throws for
  // unreadable or corrupt memory: the walk just ends there.
  RawStack unwind(const Memory& mem, uint64_t rip, uint64_t rsp, uint64_t r14,
                  uint64_t fsBase) const;
  // The frames of a goroutine that is not running, from the pc/sp its g
  // saved (g.sched, or g.syscallpc/syscallsp): pc is taken as the innermost
  // frame's (a return address into it). goid is left -1 for the caller.
  RawStack unwindFrom(const Memory& mem, uint64_t pc, uint64_t sp,
                      size_t maxDepth = kMaxDepth) const;
  // As unwind, for a thread stopped by a data watchpoint: that trap comes
  // after the accessing instruction (whose length is unknown), so the
  // innermost pc is rip-1, which lies inside it and symbolizes to its line.
  RawStack unwindAfterAccess(const Memory& mem, uint64_t rip, uint64_t rsp, uint64_t r14,
                             uint64_t fsBase) const {
    RawStack st = unwind(mem, rip, rsp, r14, fsBase);
    if (!st.pcs.empty()) st.pcs[0] = rip - 1;
    return st;
  }
  // Function/file/line of each pc (outer frames looked up at pc-1, the call):
  // one frame per pc, the physical function with the innermost file:line.
  std::vector<GoFrame> symbolize(const std::vector<uint64_t>& pcs) const;
  // As symbolize, with the calls the compiler inlined at each pc expanded
  // into frames of their own (innermost first, sharing the pc), as Go's own
  // tracebacks show them. Needs the funcdata base (go:func.*, or stripped
  // moduledata.gofunc); without it, symbolize()'s frames.
  std::vector<GoFrame> symbolizeInline(const std::vector<uint64_t>& pcs) const;

 private:
  int64_t goidOf(const Memory& mem, uint64_t g, uint64_t rsp) const;
  void walk(const Memory& mem, uint64_t pc, uint64_t sp, size_t maxDepth, RawStack& out) const;
  GoFrame frameAt(uint64_t look, uint64_t pc) const;

  const Pclntab* tab_;
  uint64_t bias_;
  bool haveG_ = false;
  uint64_t goidOff_ = 0, goidSize_ = 8, stackOff_ = 0;
};

}  // namespace gms
