// Roots on goroutine stacks: every live goroutine's frames, unwound with the
// pclntab, and the locals and parameters DWARF describes at each frame's PC
// (location lists included, so optimized builds keep the variables live
// across a call, which Go always spills to the frame).
//
// Where a goroutine's frames start: the registers of the thread running it
// (its g in the thread's TLS slot or R14), else g.syscallpc/syscallsp for a
// goroutine in a system call, else g.sched (a parked or runnable goroutine).
// Runtime frames are left out (their locals are the runtime's own state).
//
// A variable is a root when its whole value lies in memory: a stack slot at
// an offset from the frame's CFA, or a static address; or, in the innermost
// frame of a goroutine running on a thread (the only frame whose registers
// are known: Go saves none across calls), when it is pointer-shaped (a
// pointer, map, chan) and held in one register: a root by value. Anything
// else (optimized away, split over pieces that are not contiguous, a
// multi-word value in registers) is counted as unavailable.
//
// A root is named as paths write it (goruntime/path.h):
//   goroutine 17 main.worker: m         the local m of main.worker in goroutine 17
//   goroutine 1 main.main#2: s          the second (outer) frame of main.main
// A variable DWARF names "&x" (x escaped to the heap) is the root x, of type *T.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "binary/types.h"
#include "goruntime/program.h"

namespace gms {

struct StackVar {
  int64_t goid = 0;
  std::string function;     // the function the variable belongs to (an inlined one, too)
  uint32_t occurrence = 1;  // 1: the innermost frame of that function in the goroutine
  size_t frame = 0;         // index among the goroutine's frames, innermost 0
  std::string name;         // "m" (DWARF's "&m" is m of type *T)
  const Type* type = nullptr;
  uint64_t addr = 0;  // where the value lives (runtime address); 0 when byValue
  bool param = false;
  // Held in a register, not in memory: value is the pointer itself (for a
  // map, its header address).
  bool byValue = false;
  uint64_t value = 0;
  // "goroutine 17 main.worker: m"
  std::string rootText() const;
};

struct StackRootStats {
  uint64_t goroutines = 0;            // walked (not dead)
  uint64_t frames = 0;                // program frames (runtime frames left out)
  uint64_t variables = 0;             // roots
  uint64_t unavailable = 0;           // optimized away at that PC, or in registers
  std::vector<std::string> problems;  // one line each: a goroutine whose stack could not be read
};

// The used part of a goroutine's stack and its frames, for walks that scan
// stack words themselves (goruntime/heap_graph.h).
struct GoroutineStack {
  int64_t goid = 0;
  uint64_t sp = 0;  // the innermost frame's SP: [sp, hi) is in use
  uint64_t hi = 0;  // g.stack.hi
  struct Frame {
    std::string function;  // "?" when unknown
    uint64_t cfa = 0;      // its caller's SP (0: unknown): the frame is [previous cfa or sp, cfa)
    uint64_t pc = 0;       // runtime PC: a return address but for frame 0
  };
  std::vector<Frame> frames;  // innermost first
  // Frame 0's PC is where a thread was stopped (anywhere), not a call the
  // goroutine parked at: its stack maps may not describe it.
  bool interrupted = false;
  // The general registers of the thread running it (by DWARF number), when
  // it was running and that thread's registers were read; else empty.
  std::vector<uint64_t> registers;
};

// The addresses of a goroutine's live pointer slots, as the GC finds them:
// each frame's stack maps at its PC (Pclntab::pointerMaps: locals below
// varp = CFA - 16, arguments from the CFA) and its stack objects
// (address-taken locals, taken whole). A frame no map describes (frame 0 of
// a goroutine stopped on its thread anywhere, a function without maps), and
// whatever lies past the last frame unwound, has each of its words taken.
// The runtime's own frames are visited only when runtimeFrames.
struct LiveSlotStats {
  uint64_t frames = 0;       // frames read through their stack maps
  uint64_t framesWhole = 0;  // frames (or the rest of a stack) taken word by word
};
LiveSlotStats liveStackSlots(const Program& p, const GoroutineStack& st, bool runtimeFrames,
                             const std::function<void(uint64_t at)>& slot);

struct StackRoots {
  std::vector<StackVar> vars;          // by goroutine, then innermost frame first
  std::vector<GoroutineStack> stacks;  // every goroutine walked, with or without DWARF
  StackRootStats stats;
};

// The stack roots of every goroutine, or of one (goid). Throws only when the
// program has no goroutine list or no pclntab; an unreadable goroutine is a
// problem and is skipped. Without DWARF there are no variables (a note says so).
StackRoots stackRoots(const Program& p, std::optional<int64_t> goid = std::nullopt);

// Parses the root of a stack path, "goroutine N FUNC[#K]: NAME...": sets
// goid, function, occurrence and name, and returns where the rest of the
// expression starts. nullopt when expr does not start with "goroutine ";
// Error(Usage) when it does but is malformed.
struct StackRootRef {
  int64_t goid = 0;
  std::string function;
  uint32_t occurrence = 1;
  std::string name;
};
std::optional<std::pair<StackRootRef, size_t>> parseStackRoot(std::string_view expr);

}  // namespace gms
