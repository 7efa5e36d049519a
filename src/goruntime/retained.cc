#include "goruntime/retained.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "goruntime/pointer_mask.h"
#include "goruntime/stack_roots.h"

namespace gms {

namespace {

constexpr uint64_t kMaxRead = uint64_t(256) << 20;  // one object, one stack, one section
constexpr uint64_t kChunk = uint64_t(1) << 20;
constexpr uint32_t kUndef = std::numeric_limits<uint32_t>::max();
constexpr size_t kMaxProblems = 20;

}  // namespace

RetainedSizes::RetainedSizes(const Program& p, const HeapIndex& heap, uint64_t maxObjects)
    : p_(p), heap_(heap) {
  const auto& spans = heap.spans();
  if (!spans.empty()) lo_ = spans.front().start, hi_ = spans.back().end;
  spanFirst_.resize(spans.size());
  uint64_t slots = 0;
  for (size_t i = 0; i < spans.size(); i++) {
    spanFirst_[i] = slots;
    slots += spans[i].nelems;
  }
  ids_.assign(slots, 0);
  order_.push_back(0);  // node 0: the virtual root
  retained_.push_back(0);
  auto problem = [&](std::string s) {
    if (problems_.size() < kMaxProblems) problems_.push_back(std::move(s));
  };
  std::vector<uint64_t> buf;
  // Every aligned word of [at, at + size) that points into the heap: an edge
  // of the node whose successors are being listed.
  const std::optional<StaticPointerMask> statics = StaticPointerMask::read(p);
  auto words = [&](uint64_t at, uint64_t size) {
    for (uint64_t off = 0; off < size; off += kChunk) {
      uint64_t n = std::min(kChunk, size - off) / 8;
      buf.resize(n);
      try {
        p_.mem().read(at + off, buf.data(), n * 8);
      } catch (const Fault&) {
        return false;
      }
      for (uint64_t k = 0; k < n; k++) {
        const uint64_t w = buf[k], a = at + off + k * 8;
        // .data/.bss: the words the GC reads as pointers, where it says.
        if (statics && statics->covers(a) && !statics->pointer(a)) continue;
        if (w >= lo_ && w < hi_)
          if (uint32_t id = node(w)) succ_.push_back(id);
      }
      if (budgetHit_) return true;
    }
    return true;
  };
  maxObjects_ = maxObjects;

  // The virtual root's successors: .data/.bss, stacks, registers.
  succOff_.push_back(0);
  for (const char* name : {".data", ".bss"}) {
    const Section* s = p.binary().section(name);
    if (!s || !s->addr || !s->size) continue;
    if (s->size > kMaxRead || !words(s->addr + p.loadBias(), s->size & ~uint64_t(7)))
      problem(fmt::format("section {} not scanned", name));
  }
  try {
    StackRoots roots = stackRoots(p);
    for (const GoroutineStack& st : roots.stacks) {
      for (size_t r = 0; r < st.registers.size(); r++) {
        if (r == 7 || r == 14 || r == 16) continue;  // rsp, r14 (the g), rip
        uint64_t w = st.registers[r];
        if (w >= lo_ && w < hi_)
          if (uint32_t id = node(w)) succ_.push_back(id);
      }
      if (!st.sp || st.hi <= st.sp || st.hi - st.sp > kMaxRead) {
        problem(fmt::format("goroutine {}: stack not scanned", st.goid));
        continue;
      }
      // Its live slots, as the GC reads them (stack maps; frames none
      // describe, word by word): a dead local's stale pointer keeps nothing.
      liveStackSlots(p, st, true, [&](uint64_t at) {
        try {
          uint64_t w = p_.mem().readPtr(at);
          if (w >= lo_ && w < hi_)
            if (uint32_t id = node(w)) succ_.push_back(id);
        } catch (const Fault&) {
        }
      });
    }
  } catch (const Error& e) {
    problem(fmt::format("goroutine stacks not scanned: {}", e.what()));
  }
  succOff_.push_back(uint32_t(succ_.size()));

  // Breadth-first: node i's successors are listed when it is reached in
  // order, so they lie at [succOff_[i], succOff_[i + 1]).
  // Objects are read as the GC reads them, where their pointer words are
  // known (pointer_mask.h): a scalar that looks like an address is no edge.
  PointerMasks masks(p, heap);
  std::vector<uint64_t> mask;
  for (size_t i = 1; i < order_.size() && !budgetHit_; i++) {
    auto slot = heap_.slot(order_[i]);
    const HeapSpan& s = spans[slot->span];
    const uint64_t size = std::min(s.objectSize(), kMaxRead) & ~uint64_t(7);
    bool ok = true;
    if (s.noscan()) {
      // no pointers
    } else if (masks.of(heap_.object(*slot), size / 8, mask)) {
      for (uint64_t off = 0; off < size && ok; off += kChunk) {
        const uint64_t n = std::min(kChunk, size - off) / 8;
        buf.resize(n);
        try {
          p_.mem().read(order_[i] + off, buf.data(), n * 8);
        } catch (const Fault&) {
          ok = false;
          break;
        }
        for (uint64_t k = 0; k < n; k++) {
          const uint64_t word = off / 8 + k;
          if (!((mask[word / 64] >> (word % 64)) & 1)) continue;
          if (buf[k] >= lo_ && buf[k] < hi_)
            if (uint32_t id = node(buf[k])) succ_.push_back(id);
        }
      }
    } else {
      ok = words(order_[i], size);
    }
    if (!ok) problem(fmt::format("object {:#x} unreadable", order_[i]));
    if (succ_.size() > std::numeric_limits<uint32_t>::max() - kChunk) {
      budgetHit_ = true;
      break;
    }
    succOff_.push_back(uint32_t(succ_.size()));
  }
  if (budgetHit_) {
    problem(fmt::format("more than {} objects: retained sizes not computed", maxObjects));
    return;
  }
  dominators();
}

uint32_t RetainedSizes::node(uint64_t addr) {
  auto slot = heap_.slot(addr);
  if (!slot || !heap_.allocated(slot->span, slot->index)) return 0;
  uint32_t& id = ids_[spanFirst_[slot->span] + slot->index];
  if (id) return id;
  if (order_.size() > maxObjects_) {
    budgetHit_ = true;
    return 0;
  }
  const HeapSpan& s = heap_.spans()[slot->span];
  id = uint32_t(order_.size());
  order_.push_back(s.start + slot->index * s.elemsize);
  retained_.push_back(s.objectSize());
  return id;
}

void RetainedSizes::dominators() {
  const uint32_t n = uint32_t(order_.size());
  // Predecessors, CSR.
  std::vector<uint32_t> predOff(n + 1, 0), pred(succ_.size());
  for (uint32_t v = 0; v < n; v++)
    for (uint32_t k = succOff_[v]; k < succOff_[v + 1]; k++) predOff[succ_[k] + 1]++;
  for (uint32_t v = 0; v < n; v++) predOff[v + 1] += predOff[v];
  {
    std::vector<uint32_t> fill(predOff.begin(), predOff.end() - 1);
    for (uint32_t v = 0; v < n; v++)
      for (uint32_t k = succOff_[v]; k < succOff_[v + 1]; k++) pred[fill[succ_[k]]++] = v;
  }
  // Depth-first postorder from the root, iteratively.
  std::vector<uint32_t> po(n, kUndef), rpo;
  rpo.reserve(n);
  {
    std::vector<uint8_t> seen(n, 0);
    std::vector<std::pair<uint32_t, uint32_t>> stack;  // node, next successor index
    stack.push_back({0, succOff_[0]});
    seen[0] = 1;
    uint32_t next = 0;
    while (!stack.empty()) {
      auto& [v, k] = stack.back();
      if (k < succOff_[v + 1]) {
        uint32_t w = succ_[k++];
        if (!seen[w]) {
          seen[w] = 1;
          stack.push_back({w, succOff_[w]});
        }
        continue;
      }
      po[v] = next++;
      rpo.push_back(v);
      stack.pop_back();
    }
  }
  std::reverse(rpo.begin(), rpo.end());
  std::vector<uint32_t> idom(n, kUndef);
  idom[0] = 0;
  auto intersect = [&](uint32_t a, uint32_t b) {
    while (a != b) {
      while (po[a] < po[b]) a = idom[a];
      while (po[b] < po[a]) b = idom[b];
    }
    return a;
  };
  bool changed = true;
  for (int pass = 0; changed && pass < 1000; pass++) {
    changed = false;
    for (uint32_t v : rpo) {
      if (v == 0) continue;
      uint32_t d = kUndef;
      for (uint32_t k = predOff[v]; k < predOff[v + 1]; k++) {
        uint32_t q = pred[k];
        if (idom[q] == kUndef) continue;
        d = d == kUndef ? q : intersect(q, d);
      }
      if (d != kUndef && idom[v] != d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  // Children before their immediate dominator: increasing postorder.
  for (auto it = rpo.rbegin(); it != rpo.rend(); ++it)
    if (*it != 0 && idom[*it] != kUndef) retained_[idom[*it]] += retained_[*it];
}

std::optional<uint64_t> RetainedSizes::of(uint64_t addr) const {
  if (budgetHit_) return std::nullopt;
  auto slot = heap_.slot(addr);
  if (!slot) return std::nullopt;
  uint32_t id = ids_[spanFirst_[slot->span] + slot->index];
  if (!id) return std::nullopt;
  const uint64_t base = order_[id];
  const bool header =
      heap_.recordsTypes(heap_.spans()[slot->span]) && heap_.spans()[slot->span].sizeclass() != 0;
  if (addr != base && !(header && addr == base + 8)) return std::nullopt;
  return retained_[id];
}

}  // namespace gms
