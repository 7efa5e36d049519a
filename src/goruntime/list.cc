#include "goruntime/list.h"

#include <unordered_set>

#include "goruntime/alloc.h"
#include "goruntime/layout.h"

namespace gms {

namespace {
struct Layout {
  uint64_t next, prev, list, value, elemSize, lenOff;
};

Layout layoutOf(const Program& p) {
  const Type* L = listType(p);
  const Type* E = elementType(p);
  return Layout{requireField(E, "next").offset, requireField(E, "prev").offset,
                requireField(E, "list").offset, requireField(E, "Value").offset, E->size,
                requireField(L, "len").offset};
}
}  // namespace

const Type* listType(const Program& p) {
  const Type* t = p.types().findType("container/list.List");
  if (!t) fail(ErrorKind::NotFound, "the program does not use container/list (no DWARF type container/list.List)");
  return t;
}

const Type* elementType(const Program& p) {
  const Type* t = p.types().findType("container/list.Element");
  if (!t) fail(ErrorKind::NotFound, "the program does not use container/list (no DWARF type container/list.Element)");
  return t;
}

ElementState readElement(const Program& p, uint64_t addr) {
  Layout L = layoutOf(p);
  ElementState e;
  e.addr = addr;
  e.next = p.mem().readPtr(addr + L.next);
  e.prev = p.mem().readPtr(addr + L.prev);
  e.list = p.mem().readPtr(addr + L.list);
  e.valueAddr = addr + L.value;
  e.removed = !e.next && !e.prev && !e.list;
  return e;
}

ListSummary walkList(const Program& p, uint64_t addr,
                     const std::function<bool(const ListElementRef&)>& onElement) {
  Layout L = layoutOf(p);
  const Memory& m = p.mem();
  ListSummary s;
  s.addr = addr;
  auto problem = [&](std::string msg) { addProblem(s.problems, std::move(msg)); };
  try {
    s.len = m.readPtr(addr + L.lenOff);
    uint64_t first = m.readPtr(addr + L.next);
    if (!first) {
      s.lazyZero = true;
      if (s.len) problem(fmt::format("zero (uninitialised) list but len={}", s.len));
      return s;
    }
    int minor = p.build().minor;
    uint64_t elemAlloc = allocSize(L.elemSize, true, minor);
    uint64_t prev = addr;
    uint64_t e = first;
    bool live = true;
    std::unordered_set<uint64_t> seen;
    const uint64_t budget = s.len + (uint64_t(1) << 20);
    uint64_t steps = 0;
    while (e != addr) {
      if (!e) {
        problem(fmt::format("element {} ({:#x}) has next == nil: list is broken after it",
                            s.found, prev));
        break;
      }
      if (++steps > budget || !seen.insert(e).second) {
        problem(fmt::format("cycle: element {:#x} reached again without returning to the root", e));
        break;
      }
      uint64_t w[3];
      try {
        w[0] = m.readPtr(e + L.next);
        w[1] = m.readPtr(e + L.prev);
        w[2] = m.readPtr(e + L.list);
      } catch (const Fault& f) {
        problem(fmt::format("element {} at {:#x} unreadable: {}", s.found, e, f.what()));
        break;
      }
      if (w[1] != prev)
        problem(fmt::format("element {} at {:#x}: prev is {:#x}, expected {:#x}", s.found, e, w[1], prev));
      if (w[2] != addr)
        problem(w[2] ? fmt::format("element {} at {:#x} belongs to list {:#x}", s.found, e, w[2])
                     : fmt::format("element {} at {:#x} has list == nil (removed but still linked)",
                                   s.found, e));
      s.footprint += elemAlloc;
      if (onElement && live) live = onElement({e, e + L.value, w[2]});
      s.found++;
      prev = e;
      e = w[0];
    }
    if (e == addr) {
      uint64_t rootPrev = m.readPtr(addr + L.prev);
      if (rootPrev != prev)
        problem(fmt::format("root.prev is {:#x} but the last element is {:#x}", rootPrev, prev));
    }
    if (s.found != s.len) problem(fmt::format("len is {} but {} elements were found", s.len, s.found));
  } catch (const Fault& f) {
    problem(fmt::format("list header unreadable: {}", f.what()));
  }
  return s;
}

}  // namespace gms
