#include "goruntime/list.h"

#include <cctype>
#include <unordered_set>

#include "goruntime/alloc.h"
#include "goruntime/expr.h"
#include "goruntime/layout.h"

namespace gms {

namespace {

bool lower(std::string_view a, std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    if (a.size() != n.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < a.size() && eq; i++)
      eq = std::tolower(static_cast<unsigned char>(a[i])) == n[i];
    if (eq) return true;
  }
  return false;
}

bool pointsTo(const Type* f, const Type* t) {
  return f && f->kind == Kind::Pointer && f->elem &&
         (f->elem == t || (!t->name.empty() && f->elem->name == t->name));
}

bool isInteger(const Type* t) {
  if (!t) return false;
  switch (t->kind) {
    case Kind::Int:
    case Kind::Int32:
    case Kind::Int64:
    case Kind::Uint:
    case Kind::Uint32:
    case Kind::Uint64:
    case Kind::Uintptr:
      return true;
    default:
      return false;
  }
}

struct Links {
  const Field* next = nullptr;
  const Field* prev = nullptr;
};

// E's next and prev fields (both of type *E), nullopt when E is no list
// element; *why says so when E has links that cannot be told apart.
std::optional<Links> linksOf(const Type* E, const LinkNames& names, std::string* why) {
  if (!E || E->kind != Kind::Struct) return std::nullopt;
  std::vector<const Field*> links;
  for (const auto& f : E->fields)
    if (pointsTo(f.type, E)) links.push_back(&f);
  if (links.size() < 2) return std::nullopt;
  Links l;
  auto byName = [&](const std::string& want) -> const Field* {
    for (const Field* f : links)
      if (f->name == want) return f;
    return nullptr;
  };
  if (!names.next.empty() || !names.prev.empty()) {
    l.next = byName(names.next);
    l.prev = byName(names.prev);
  } else {
    for (const Field* f : links) {
      if (!l.next && lower(f->name, {"next", "nxt"}))
        l.next = f;
      else if (!l.prev && lower(f->name, {"prev", "previous", "prv"}))
        l.prev = f;
    }
  }
  if (l.next && l.prev && l.next != l.prev) return l;
  if (why) {
    std::string all;
    for (const Field* f : links) all += (all.empty() ? "" : ", ") + f->name;
    *why = names.next.empty() && names.prev.empty()
               ? fmt::format("{} has links {} of type *{}: give --next NAME --prev NAME", E->name,
                             all, E->name)
               : fmt::format("{} has no links named {} and {} (its fields of type *{}: {})",
                             E->name, names.next, names.prev, E->name, all);
  }
  return std::nullopt;
}

void completeShape(ListShape& s, const Links& l) {
  s.next = l.next->offset;
  s.prev = l.prev->offset;
  s.nextName = l.next->name;
  s.prevName = l.prev->name;
  if (s.kind != ListShape::Kind::Ring) {
    for (const auto& f : s.elem->fields)
      if (pointsTo(f.type, s.list)) {
        s.hasBack = true;
        s.back = f.offset;
        s.backName = f.name;
        break;
      }
    const Field* len = nullptr;
    int ints = 0;
    for (const auto& f : s.list->fields) {
      if (!isInteger(f.type)) continue;
      ints++;
      if (!len && lower(f.name, {"len", "length", "size", "count", "n"})) len = &f;
    }
    if (!len && ints == 1)
      for (const auto& f : s.list->fields)
        if (isInteger(f.type)) len = &f;
    if (len) {
      s.hasLen = true;
      s.len = len->offset;
      s.lenName = len->name;
    }
  }
  const Field* v = s.elem->field("Value");
  if ((s.elem->name == "container/list.Element" || s.elem->name == "container/ring.Ring") && v &&
      v->type && v->type->kind == Kind::Interface) {
    s.efaceValue = true;
    s.value = v->offset;
    s.valueType = v->type;
  }
}

}  // namespace

std::string ListShape::describe() const {
  if (containerList()) return "container/list.List";
  if (kind == Kind::Ring) return elem->name + " (ring)";
  return fmt::format("{} ({} list of {}: links {}/{}{}{})", list->name,
                     kind == Kind::Sentinel ? "sentinel" : "head/tail", elem->name, nextName,
                     prevName, hasLen ? ", length in " + lenName : ", no length",
                     hasBack ? ", back-pointer " + backName : "");
}

std::vector<bool> ListShape::linkFlags() const {
  std::vector<bool> flags;
  for (const auto& f : elem->fields)
    flags.push_back(f.type && f.type->kind == gms::Kind::Pointer &&
                    (f.offset == next || f.offset == prev || (hasBack && f.offset == back)));
  return flags;
}

std::optional<ListShape> listShapeOf(const Type* t, const LinkNames& names, std::string* why) {
  if (!t || t->kind != Kind::Struct) return std::nullopt;
  ListShape s;
  if (t->name == "container/ring.Ring") {
    auto l = linksOf(t, names, why);
    if (!l) return std::nullopt;
    s.kind = ListShape::Kind::Ring;
    s.list = s.elem = t;
    completeShape(s, *l);
    return s;
  }
  // A root element held by value: a sentinel list.
  for (const auto& f : t->fields) {
    if (!f.type || f.type->kind != Kind::Struct || f.type == t) continue;
    std::string w;
    auto l = linksOf(f.type, names, &w);
    if (!l) {
      if (!w.empty() && why) *why = w;
      continue;
    }
    s.kind = ListShape::Kind::Sentinel;
    s.list = t;
    s.elem = f.type;
    s.root = f.offset;
    completeShape(s, *l);
    return s;
  }
  // Pointers to the front (and back): a head/tail list. The front must be
  // named as such, so that any struct holding a pointer to a linked node is
  // not taken for a list.
  for (const auto& f : t->fields) {
    if (!f.type || f.type->kind != Kind::Pointer || !f.type->elem || f.type->elem == t) continue;
    if (!lower(f.name, {"head", "front", "first"})) continue;
    const Type* E = f.type->elem;
    std::string w;
    auto l = linksOf(E, names, &w);
    if (!l) {
      if (!w.empty() && why) *why = w;
      continue;
    }
    s.kind = ListShape::Kind::HeadTail;
    s.list = t;
    s.elem = E;
    s.head = f.offset;
    s.headName = f.name;
    for (const auto& g : t->fields)
      if (&g != &f && lower(g.name, {"tail", "back", "last"}) && pointsTo(g.type, E)) {
        s.hasTail = true;
        s.tail = g.offset;
        s.tailName = g.name;
        break;
      }
    completeShape(s, *l);
    return s;
  }
  return std::nullopt;
}

std::vector<bool> elementLinkFields(const Type* t) {
  if (!t || t->kind != Kind::Struct) return {};
  std::vector<bool> flags(t->fields.size(), false);
  if (t->name == "container/list.Element") {
    for (size_t i = 0; i < t->fields.size(); i++) flags[i] = t->fields[i].name != "Value";
    return flags;
  }
  auto l = linksOf(t, {}, nullptr);
  if (!l) return {};
  for (size_t i = 0; i < t->fields.size(); i++) {
    const Field& f = t->fields[i];
    if (&f == l->next || &f == l->prev) {
      flags[i] = true;
    } else if (f.type && f.type->kind == Kind::Pointer && f.type->elem &&
               f.type->elem->kind == Kind::Struct) {
      for (const auto& g : f.type->elem->fields)
        if (g.type == t || (g.type && g.type->name == t->name && !t->name.empty())) flags[i] = true;
    }
  }
  return flags;
}

ListShape containerListShape(const Program& p) {
  auto s = listShapeOf(listType(p));
  if (!s || !s->efaceValue || !s->hasBack || !s->hasLen)
    fail(ErrorKind::MissingDebugInfo, "container/list.List has an unexpected layout");
  return *s;
}

const Type* listType(const Program& p) {
  const Type* t = p.types().findType("container/list.List");
  if (!t)
    fail(ErrorKind::NotFound,
         "the program does not use container/list (no DWARF type container/list.List)");
  return t;
}

const Type* elementType(const Program& p) {
  const Type* t = p.types().findType("container/list.Element");
  if (!t)
    fail(ErrorKind::NotFound,
         "the program does not use container/list (no DWARF type container/list.Element)");
  return t;
}

ElementState readElement(const Program& p, const ListShape& L, uint64_t addr) {
  ElementState e;
  e.addr = addr;
  e.next = p.mem().readPtr(addr + L.next);
  e.prev = p.mem().readPtr(addr + L.prev);
  e.list = L.hasBack ? p.mem().readPtr(addr + L.back) : 0;
  e.valueAddr = L.efaceValue ? addr + L.value : addr;
  e.removed = !e.next && !e.prev && !e.list;
  return e;
}

ElementState readElement(const Program& p, uint64_t addr) {
  return readElement(p, containerListShape(p), addr);
}

ListSummary walkList(const Program& p, uint64_t addr,
                     const std::function<bool(const ListElementRef&)>& onElement, bool headerOnly) {
  return walkList(p, containerListShape(p), addr, onElement, headerOnly);
}

ListSummary walkList(const Program& p, const ListShape& L, uint64_t addr,
                     const std::function<bool(const ListElementRef&)>& onElement, bool headerOnly) {
  using K = ListShape::Kind;
  const Memory& m = p.mem();
  ListSummary s;
  s.addr = addr;
  s.hasLen = L.hasLen;
  auto problem = [&](std::string msg) { addProblem(s.problems, std::move(msg)); };
  auto invalid = [&](std::string why) {
    s.invalidHeader = why;
    problem(why);
  };
  const std::string root = L.kind == K::Sentinel ? "root" : L.headName;
  try {
    // Where the walk starts and what ends it: the sentinel (Sentinel), nil
    // (HeadTail) or the element it started at (Ring).
    uint64_t rootAddr = addr + L.root;
    uint64_t first = 0, last = 0, end = 0;
    if (L.kind == K::Sentinel) {
      first = m.readPtr(rootAddr + L.next);
      last = m.readPtr(rootAddr + L.prev);
      end = rootAddr;
      // Init and lazyInit set root.next and root.prev only: the root belongs
      // to no list and holds no value (an Element read as a List has both).
      uint64_t rootList = L.hasBack ? m.readPtr(rootAddr + L.back) : 0;
      uint64_t rootValue = L.efaceValue ? m.readPtr(rootAddr + L.value) : 0;
      if (rootList || rootValue) {
        invalid(fmt::format(
            "root.{}={:#x} is set (a List's root has neither {} nor Value; an Element has)",
            rootList ? L.backName : "Value", rootList ? rootList : rootValue, L.backName));
        return s;
      }
    } else if (L.kind == K::HeadTail) {
      first = m.readPtr(addr + L.head);
      last = L.hasTail ? m.readPtr(addr + L.tail) : 0;
      end = 0;
    } else {
      first = addr;
      end = addr;
    }
    s.len = L.hasLen ? m.readPtr(addr + L.len) : 0;
    if (L.kind == K::Ring) {
      // A zero Ring is a ring of one (Next() initialises it).
      if (!m.readPtr(addr + L.next)) {
        s.lazyZero = true;
        s.found = 1;
        s.len = 1;
        s.footprint = allocSize(L.elem->size, true, p.build().minor);
        if (onElement && !headerOnly) onElement({addr, L.efaceValue ? addr + L.value : addr, 0});
        return s;
      }
    } else if (!first) {
      if (L.kind == K::Sentinel) {
        s.lazyZero = true;
        if (s.len || last)
          invalid(fmt::format("zero (uninitialised) list but {}={} {}.{}={:#x}", L.lenName, s.len,
                              root, L.prevName, last));
      } else if (s.len || last) {
        invalid(fmt::format("{} is nil but {}={} {}={:#x}", L.headName, L.lenName, s.len,
                            L.tailName, last));
      }
      return s;
    }
    if (L.kind == K::Sentinel && first == rootAddr) {
      if (s.len || last != rootAddr)
        invalid(fmt::format("empty list (root.{} is the root) but {}={} root.{}={:#x}", L.nextName,
                            L.lenName, s.len, L.prevName, last));
    } else if (L.kind != K::Ring) {
      // The first element links back: its prev is the root (nil for a
      // head/tail list), or its back-pointer names this List (a corrupt
      // link is reported by the walk).
      uint64_t fprev = 0, fback = 0;
      try {
        fprev = m.readPtr(first + L.prev);
        fback = L.hasBack ? m.readPtr(first + L.back) : 0;
      } catch (const Fault& f) {
        invalid(fmt::format("{}.{}={:#x} is unreadable ({})", root,
                            L.kind == K::Sentinel ? L.nextName : "", first, f.what()));
        return s;
      }
      uint64_t wantPrev = L.kind == K::Sentinel ? rootAddr : 0;
      if (fprev != wantPrev && !(L.hasBack && fback == addr))
        invalid(fmt::format("{}={:#x} is no element of this list (its {} is {:#x}{})",
                            L.kind == K::Sentinel ? "root." + L.nextName : L.headName, first,
                            L.prevName, fprev,
                            L.hasBack ? fmt::format(", its {} {:#x}", L.backName, fback) : ""));
    }
    if (!s.invalidHeader.empty() || headerOnly) return s;
    uint64_t elemAlloc = allocSize(L.elem->size, true, p.build().minor);
    uint64_t prev = L.kind == K::Sentinel ? rootAddr
                    : L.kind == K::Ring   ? m.readPtr(addr + L.prev)
                                          : 0;
    uint64_t e = first;
    bool live = true;
    std::unordered_set<uint64_t> seen;
    const uint64_t budget = s.len + (uint64_t(1) << 20);
    uint64_t steps = 0;
    // A ring starts at its end: its first step is taken unconditionally.
    for (bool start = L.kind == K::Ring; start || e != end; start = false) {
      if (!e) {
        if (L.kind == K::HeadTail) break;
        problem(fmt::format("element {} ({:#x}) has {} == nil: list is broken after it", s.found,
                            prev, L.nextName));
        break;
      }
      if (++steps > budget || !seen.insert(e).second) {
        problem(fmt::format("cycle: element {:#x} reached again without returning to the {}", e,
                            L.kind == K::HeadTail ? "end (nil)" : "root"));
        break;
      }
      uint64_t w[3] = {};
      try {
        w[0] = m.readPtr(e + L.next);
        w[1] = m.readPtr(e + L.prev);
        if (L.hasBack) w[2] = m.readPtr(e + L.back);
      } catch (const Fault& f) {
        problem(fmt::format("element {} at {:#x} unreadable: {}", s.found, e, f.what()));
        break;
      }
      if (w[1] != prev)
        problem(fmt::format("element {} at {:#x}: {} is {:#x}, expected {:#x}", s.found, e,
                            L.prevName, w[1], prev));
      if (L.hasBack && w[2] != addr)
        problem(w[2] ? fmt::format("element {} at {:#x} belongs to list {:#x}", s.found, e, w[2])
                     : fmt::format("element {} at {:#x} has {} == nil (removed but still linked)",
                                   s.found, e, L.backName));
      s.footprint += elemAlloc;
      if (onElement && live) live = onElement({e, L.efaceValue ? e + L.value : e, w[2]});
      s.found++;
      prev = e;
      e = w[0];
    }
    if (L.kind == K::Sentinel && e == end) {
      uint64_t rootPrev = m.readPtr(rootAddr + L.prev);
      if (rootPrev != prev)
        problem(fmt::format("root.{} is {:#x} but the last element is {:#x}", L.prevName, rootPrev,
                            prev));
    }
    if (L.kind == K::HeadTail && L.hasTail && e == end && last != prev)
      problem(fmt::format("{} is {:#x} but the last element is {:#x}", L.tailName, last, prev));
    if (!L.hasLen) s.len = s.found;
    if (s.found != s.len)
      problem(fmt::format("{} is {} but {} elements were found", L.lenName, s.len, s.found));
  } catch (const Fault& f) {
    problem(fmt::format("list header unreadable: {}", f.what()));
    if (s.found == 0) s.invalidHeader = fmt::format("unreadable ({})", f.what());
  }
  return s;
}

void requirePlausibleList(const Program& p, uint64_t addr, std::string_view expr) {
  requirePlausibleList(p, containerListShape(p), addr, expr);
}

void requirePlausibleList(const Program& p, const ListShape& L, uint64_t addr,
                          std::string_view expr) {
  ListSummary s = walkList(p, L, addr, nullptr, true);
  if (s.invalidHeader.empty()) return;
  std::string guess;
  if (auto n = nameAddress(p, addr)) {
    guess = n->str();
    if (!n->offset && n->type->kind == Kind::Pointer)
      guess += ": name it, or give the address it holds";
  } else {
    auto plausible = [&](uint64_t a) {
      return a && a != addr && walkList(p, L, a, nullptr, true).invalidHeader.empty();
    };
    try {
      uint64_t owner = L.hasBack ? p.mem().readPtr(addr + L.back) : 0;
      uint64_t w = p.mem().readPtr(addr);
      if (plausible(owner))
        guess = fmt::format(
            "{:#x} looks like an Element of the List at {:#x}: give --type '*{}', or the "
            "List's address",
            addr, owner, L.elem->name);
      else if (plausible(w))
        guess = fmt::format(
            "{:#x} holds {:#x}, a plausible List: it is probably a *{} variable; give {:#x}", addr,
            w, L.containerList() ? "list.List" : L.list->name, w);
    } catch (const Error&) {
      // only a hint for the error being built: without it the caller's own message stands
    }
  }
  fail(ErrorKind::Corrupt, "{}: no {} at {:#x}: {}{}", expr, L.list->name, addr, s.invalidHeader,
       guess.empty() ? "" : "; " + guess);
}

}  // namespace gms
