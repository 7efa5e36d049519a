// Retained bytes: for a heap object, the bytes that would be freed with it
// — its own slot and every object it dominates in the graph of the live
// heap (every path from a root to such an object passes through it).
//
// The graph is the one the GC would mark: roots are the words of .data and
// .bss, the live slots of every goroutine's frames (their stack maps,
// goruntime/stack_roots.h liveStackSlots) and the registers of the thread
// running it; an edge is any aligned word of an
// allocated object of a scan span that points into an allocated object
// (noscan spans hold no pointers). Finalizer and cleanup specials are not
// roots here: an object reached both through a map and only otherwise
// through a special counts as the map's.
//
// Dominators are computed by the iterative algorithm of Cooper, Harvey and
// Kennedy ("A Simple, Fast Dominance Algorithm", 2001) over a depth-first
// reverse postorder; a retained size is the sum of slot sizes over the
// object's dominator subtree. Bounded by maxObjects (then budgetHit, and no
// sizes); cycles are fine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "goruntime/heap.h"
#include "goruntime/program.h"

namespace gms {

class RetainedSizes {
 public:
  // Walks the live heap of a frozen target. Throws Error when the heap
  // cannot be indexed.
  RetainedSizes(const Program& p, const HeapIndex& heap, uint64_t maxObjects = 100'000'000);

  // The bytes retained by the object that starts at addr (its data: after
  // a malloc header, if any); nullopt when addr does not start an object no
  // root reaches, or the walk hit its budget.
  std::optional<uint64_t> of(uint64_t addr) const;

  uint64_t reachedObjects() const { return order_.size() > 0 ? order_.size() - 1 : 0; }
  bool budgetHit() const { return budgetHit_; }
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  uint32_t node(uint64_t addr);  // the node of the object holding addr (0: none)
  void dominators();

  const Program& p_;
  const HeapIndex& heap_;
  uint64_t lo_ = 0, hi_ = 0;
  std::vector<uint64_t> spanFirst_;       // per span: its first object's slot in ids_
  std::vector<uint32_t> ids_;             // per object slot: node id (0: not reached)
  std::vector<uint64_t> order_;           // node id -> object base (order_[0]: the virtual root)
  std::vector<uint32_t> succOff_, succ_;  // successors, CSR by node id
  std::vector<uint64_t> retained_;        // node id -> bytes
  uint64_t maxObjects_ = 0;
  bool budgetHit_ = false;
  std::vector<std::string> problems_;
};

}  // namespace gms
