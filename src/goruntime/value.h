// ValueRenderer: reads a Go value of a DWARF type at an address and pushes it
// into a ValueSink. Every kind renders; pointers are followed up to a depth
// and never around a cycle; nested maps are walked with the map decoders;
// interfaces show their dynamic type (from the runtime's type descriptor) and
// then their value. A value that cannot be read becomes sink.unreadable() and
// the walk goes on.
#pragma once

#include <cstdint>
#include <vector>

#include "goruntime/program.h"
#include "goruntime/value_sink.h"

namespace gms {

// A string longer than this is taken for corrupt memory, not read.
constexpr uint64_t kMaxStringBytes = uint64_t(1) << 30;

struct RenderLimits {
  int depth = 8;              // pointer/interface/container nesting followed (counted
                              // afresh in each map entry, as `map` renders entries)
  uint64_t maxString = 0;     // bytes of a string shown (0: all)
  uint64_t maxElems = 0;      // elements of a nested array/slice/map shown (0: all)
};

class ValueRenderer {
 public:
  ValueRenderer(const Program& p, RenderLimits limits) : p_(p), lim_(limits) {}
  void render(uint64_t addr, const Type* t, ValueSink& sink);

 private:
  void value(uint64_t addr, const Type* t, ValueSink& sink, int depth);
  void pointerTo(uint64_t target, const Type* elem, ValueSink& sink, int depth);
  void iface(uint64_t addr, const Type* t, ValueSink& sink, int depth);
  void mapValue(uint64_t hdr, const Type* t, ValueSink& sink, int depth);
  void array(uint64_t base, uint64_t len, const Type* elem, ValueSink& sink, int depth);

  static constexpr int kMaxMapNesting = 16;

  const Program& p_;
  RenderLimits lim_;
  std::vector<uint64_t> stack_;  // pointers being rendered, for cycle detection
  int mapNesting_ = 0;           // maps being rendered inside one another
};

}  // namespace gms
