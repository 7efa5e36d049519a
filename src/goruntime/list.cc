#include "goruntime/list.h"

#include <unordered_set>

#include "goruntime/alloc.h"
#include "goruntime/expr.h"
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
                     const std::function<bool(const ListElementRef&)>& onElement, bool headerOnly) {
  Layout L = layoutOf(p);
  const Memory& m = p.mem();
  ListSummary s;
  s.addr = addr;
  auto problem = [&](std::string msg) { addProblem(s.problems, std::move(msg)); };
  auto invalid = [&](std::string why) {
    s.invalidHeader = why;
    problem(why);
  };
  try {
    uint64_t first = m.readPtr(addr + L.next);
    uint64_t last = m.readPtr(addr + L.prev);
    // Init and lazyInit set root.next and root.prev only: the root belongs
    // to no list and holds no value (an Element read as a List has both).
    uint64_t rootList = m.readPtr(addr + L.list);
    uint64_t rootValue = m.readPtr(addr + L.value);
    if (rootList || rootValue) {
      invalid(
          fmt::format("root.{}={:#x} is set (a List's root has neither list nor Value; an "
                      "Element has)",
                      rootList ? "list" : "Value", rootList ? rootList : rootValue));
      return s;
    }
    s.len = m.readPtr(addr + L.lenOff);
    if (!first) {
      s.lazyZero = true;
      if (s.len || last)
        invalid(fmt::format("zero (uninitialised) list but len={} root.prev={:#x}", s.len, last));
      return s;
    }
    if (first == addr) {
      if (s.len || last != addr)
        invalid(fmt::format("empty list (root.next is the root) but len={} root.prev={:#x}", s.len,
                            last));
    } else {
      // The first element links back: its prev is the root, or its list
      // field names this List (a corrupt link is reported by the walk).
      uint64_t fprev = 0, flist = 0;
      try {
        fprev = m.readPtr(first + L.prev);
        flist = m.readPtr(first + L.list);
      } catch (const Fault& f) {
        invalid(fmt::format("root.next={:#x} is unreadable ({})", first, f.what()));
        return s;
      }
      if (fprev != addr && flist != addr)
        invalid(
            fmt::format("root.next={:#x} is no element of this list (its prev is {:#x}, its "
                        "list {:#x})",
                        first, fprev, flist));
    }
    if (!s.invalidHeader.empty() || headerOnly) return s;
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
    if (s.found == 0) s.invalidHeader = fmt::format("unreadable ({})", f.what());
  }
  return s;
}

void requirePlausibleList(const Program& p, uint64_t addr, std::string_view expr) {
  ListSummary s = walkList(p, addr, nullptr, true);
  if (s.invalidHeader.empty()) return;
  std::string guess;
  if (auto n = nameAddress(p, addr)) {
    guess = n->str();
    if (!n->offset && n->type->kind == Kind::Pointer)
      guess += ": name it, or give the address it holds";
  } else {
    Layout L = layoutOf(p);
    auto plausible = [&](uint64_t a) {
      return a && a != addr && walkList(p, a, nullptr, true).invalidHeader.empty();
    };
    try {
      uint64_t owner = p.mem().readPtr(addr + L.list);
      uint64_t w = p.mem().readPtr(addr);
      if (plausible(owner))
        guess = fmt::format(
            "{:#x} looks like an Element of the List at {:#x}: give --type "
            "'*container/list.Element', or the List's address",
            addr, owner);
      else if (plausible(w))
        guess = fmt::format(
            "{:#x} holds {:#x}, a plausible List: it is probably a *list.List "
            "variable; give {:#x}",
            addr, w, w);
    } catch (const Error&) {
      // only a hint for the error being built: without it the caller's own message stands
    }
  }
  fail(ErrorKind::Corrupt, "{}: no container/list.List at {:#x}: {}{}", expr, addr, s.invalidHeader,
       guess.empty() ? "" : "; " + guess);
}

}  // namespace gms
