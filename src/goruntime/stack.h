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
  bool truncated = false;     // stopped at the depth limit
};

// True for runtime internals: runtime.*, internal/runtime/*, runtime/internal/*.
bool isRuntimeFunction(const std::string& name);

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
  // Function/file/line of each pc (outer frames looked up at pc-1, the call).
  std::vector<GoFrame> symbolize(const std::vector<uint64_t>& pcs) const;

 private:
  int64_t goidOf(const Memory& mem, uint64_t g, uint64_t rsp) const;

  const Pclntab* tab_;
  uint64_t bias_;
  bool haveG_ = false;
  uint64_t goidOff_ = 0, goidSize_ = 8, stackOff_ = 0;
};

}  // namespace gms
