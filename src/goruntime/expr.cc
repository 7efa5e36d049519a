#include "goruntime/expr.h"

#include <fmt/ranges.h>

#include <charconv>
#include <vector>

#include "binary/type_names.h"
#include "goruntime/list.h"
#include "goruntime/maps.h"
#include "goruntime/path.h"
#include "goruntime/stack_roots.h"
#include "goruntime/sync_map.h"

namespace gms {

bool isAddress(std::string_view e) {
  return e.size() > 2 && e[0] == '0' && (e[1] == 'x' || e[1] == 'X');
}

static uint64_t parseNumber(std::string_view s, const char* what) {
  uint64_t v = 0;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty())
    fail(ErrorKind::Usage, "'{}' is not a valid {}", s, what);
  return v;
}

namespace {

const Type* namedType(const Program& p, std::string_view typeName) {
  if (typeName == kUnknownMapName)  // top's name for an empty map of unknown types
    if (const Type* t = p.unknownMapType()) return t;
  try {
    return lookupType(p.types(), typeName);
  } catch (const Error& e) {
    // Go's own spelling may use a package name the import path does not
    // end in (lru.Cache for .../golang-lru/v2): the type descriptors know it.
    if (e.kind() != ErrorKind::NotFound) throw;
    const TypeProvider* d = p.binary().descriptorTypes();
    auto names = d ? d->packageNames() : p.types().packageNames();
    if (names.empty()) throw;
    return lookupType(p.types(), typeName, names);
  }
}

}  // namespace

Located resolveAddress(const Program& p, std::string_view addr, std::string_view typeName) {
  Located l;
  l.expr = std::string(addr);
  l.addr = parseNumber(addr, "address");
  const Type* t = namedType(p, typeName);
  // 0xADDR --type '*T' is the pointer (*T)(0xADDR), followed as Go's
  // *(*T)(unsafe.Pointer(addr)) would: a T lives at ADDR. A map's value is
  // itself a pointer to its header: 0xADDR --type 'map[K]V' is the header.
  if (t->kind == Kind::Pointer && t->elem) {
    l.type = t->elem;
    l.headerDirect = false;
  } else {
    l.type = t;
    l.headerDirect = t->kind == Kind::Map;
  }
  return l;
}

namespace {

// Evaluates the steps after the root, as Go would: pointers are followed
// before a field, an index, a map key or an assertion.
class Evaluator {
 public:
  Evaluator(const Program& p, std::string_view expr, Located l)
      : p_(p), m_(p.mem()), e_(expr), l_(std::move(l)) {}

  Located run(size_t rest) {
    for (const ExprStep& s : parseExprSteps(e_.substr(rest))) {
      at_ = rest + s.offset;
      if (!l_.type) fail(ErrorKind::MissingDebugInfo, "no type information for {}", before());
      switch (s.kind) {
        case ExprStep::Kind::Field:
          field(s.text);
          break;
        case ExprStep::Kind::Bracket:
          bracket(s.text);
          break;
        case ExprStep::Kind::Assert:
          assertType(s.text);
          break;
        case ExprStep::Kind::MapKey:
          mapEntry(s.text, true);
          break;
      }
    }
    return l_;
  }

 private:
  std::string_view before() const { return e_.substr(0, at_); }

  void deref(const char* why) {
    while (l_.type && l_.type->kind == Kind::Pointer) {
      uint64_t target = m_.readPtr(l_.addr);
      if (!target) fail(ErrorKind::NotFound, "{}: nil pointer before {}", before(), why);
      l_.addr = target;
      l_.type = l_.type->elem;
    }
    if (!l_.type) fail(ErrorKind::MissingDebugInfo, "no type information for {}", before());
  }

  void field(const std::string& name) {
    deref("a field");
    const Field* f = l_.type->kind == Kind::Struct ? l_.type->field(name) : nullptr;
    if (!f) {
      std::string have;
      if (l_.type->kind == Kind::Struct)
        for (const auto& ff : l_.type->fields) have += (have.empty() ? "" : ", ") + ff.name;
      fail(ErrorKind::NotFound, "{} ({}) has no field '{}'{}", before(), l_.type->name, name,
           have.empty() ? "" : "; fields: " + have);
    }
    l_.addr += f->offset;
    l_.type = f->type;
  }

  // [i] of an array, a slice or a container/list.List (i-th element from
  // Front()), or [key] of a map.
  void bracket(const std::string& text) {
    deref("an index");
    if (l_.type->kind == Kind::Map) {
      mapEntry(text, false);
      return;
    }
    uint64_t idx = parseNumber(text, "index");
    if (l_.type->kind == Kind::Array) {
      if (idx >= l_.type->len)
        fail(ErrorKind::NotFound, "{}: index {} out of range [0, {})", before(), idx, l_.type->len);
      l_.addr += idx * l_.type->elem->size;
      l_.type = l_.type->elem;
    } else if (l_.type->kind == Kind::Slice) {
      uint64_t hdr[2];
      m_.read(l_.addr, hdr, sizeof hdr);
      if (idx >= hdr[1])
        fail(ErrorKind::NotFound, "{}: index {} out of range (len {})", before(), idx, hdr[1]);
      l_.addr = hdr[0] + idx * l_.type->elem->size;
      l_.type = l_.type->elem;
    } else if (auto shape = listShapeOf(l_.type)) {
      uint64_t n = 0, found = 0;
      bool hit = false;
      ListSummary s = walkList(p_, *shape, l_.addr, [&](const ListElementRef& e) {
        if (n++ != idx) return true;
        found = e.addr;
        hit = true;
        return false;
      });
      if (!hit)
        fail(ErrorKind::NotFound, "{}: list element {} out of range (len {})", before(), idx,
             s.len);
      l_.addr = found;
      l_.type = shape->elem;
    } else {
      fail(ErrorKind::Usage, "{} is a {}, not an array, slice, list or map", before(),
           l_.type->name);
    }
  }

  // [key]: the value of the entry whose key is `text`; {key}: the key itself.
  void mapEntry(const std::string& text, bool keyItself) {
    if (keyItself) deref("a map key");
    if (l_.type->kind != Kind::Map)
      fail(ErrorKind::Usage, "{} is a {}, not a map", before(), l_.type->name);
    PathKey want = parsePathKey(text);
    if (want.kind == PathKey::Kind::Opaque)
      fail(ErrorKind::Usage,
           "{}: [*] names no single entry (a key that cannot be written in a path); use "
           "`gomemscope map {}` to list them",
           before(), before());
    const Type* mt = l_.type;
    uint64_t hdr = m_.readPtr(l_.addr);
    if (!hdr) fail(ErrorKind::NotFound, "{} is a nil map", before());
    uint64_t hits = 0, keyAddr = 0, valAddr = 0;
    // The whole key when one was written in full; a prefix of it (for a
    // key shown cut with …) otherwise.
    uint64_t cap = want.kind == PathKey::Kind::String && !want.truncated ? want.text.size() + 1
                                                                         : kPathKeyShown;
    MapSummary s = walkMap(p_, mt, hdr, {}, [&](uint64_t k, uint64_t v) {
      if (!matchesKey(want, decodePathKey(m_, k, mt->key, cap))) return true;
      if (hits++ == 0) keyAddr = k, valAddr = v;
      return true;
    });
    if (!hits)
      fail(ErrorKind::NotFound, "{} has no key {} ({} entries{})", before(), renderPathKey(want),
           s.found,
           s.problems.empty() ? "" : ", " + std::to_string(s.problems.size()) + " problems");
    if (hits > 1)
      fail(ErrorKind::Usage, "{}: {} keys match {}; write the key in full", before(), hits,
           renderPathKey(want));
    l_.addr = keyItself ? keyAddr : valAddr;
    l_.type = keyItself ? mt->key : mt->elem;
  }

  // .(T): the dynamic value of an interface, T as the runtime spells it (%T).
  void assertType(const std::string& want) {
    if (l_.type->kind == Kind::Pointer && l_.type->elem && l_.type->elem->kind == Kind::Interface)
      deref("an assertion");
    if (l_.type->kind != Kind::Interface)
      fail(ErrorKind::Usage, "{} is a {}, not an interface: .({}) does not apply", before(),
           l_.type->name, want);
    uint64_t w[2];
    m_.read(l_.addr, w, sizeof w);
    if (!w[0]) fail(ErrorKind::NotFound, "{} is a nil interface", before());
    uint64_t desc = interfaceTypeDescriptor(m_, l_.type->nonEmptyInterface, w[0]);
    const DynType& dt = p_.dynamicType(desc);
    if (!sameTypeName(dt.name, want))
      fail(ErrorKind::NotFound, "{} holds a {}, not a {}", before(), dt.name, want);
    if (!dt.type)
      fail(ErrorKind::MissingDebugInfo, "{}: the program's DWARF has no type {}", before(),
           dt.name);
    if (dt.directIface) {
      l_.addr += 8;  // the data word is the value itself
    } else {
      if (!w[1]) fail(ErrorKind::NotFound, "{}: nil data word", before());
      l_.addr = w[1];
    }
    l_.type = dt.type;
  }

  const Program& p_;
  const Memory& m_;
  std::string_view e_;
  Located l_;
  size_t at_ = 0;
};

// "goroutine N FUNC[#K]: var..." (goruntime/stack_roots.h).
Located resolveLocal(const Program& p, std::string_view expr, const StackRootRef& r, size_t rest) {
  StackRoots roots = stackRoots(p, r.goid);
  if (roots.stats.goroutines == 0) {
    std::string why = roots.stats.problems.empty() ? "" : ": " + roots.stats.problems.front();
    fail(ErrorKind::NotFound, "no live goroutine {} in this program{}", r.goid, why);
  }
  std::vector<std::string> have;
  for (const StackVar& v : roots.vars) {
    if (v.function == r.function && v.occurrence == r.occurrence && v.name == r.name) {
      Located l{std::string(expr), v.addr, v.type, false};
      if (v.byValue) {  // in a register: the object it points to (a map: its header)
        if (!v.value) fail(ErrorKind::NotFound, "{} is nil (in a register)", expr.substr(0, rest));
        l.addr = v.value;
        if (v.type->kind == Kind::Map)
          l.headerDirect = true;
        else if (v.type->elem)
          l.type = v.type->elem;
        else
          fail(ErrorKind::Usage, "{} is a {} held in a register", expr.substr(0, rest),
               v.type->name);
      }
      return Evaluator(p, expr, l).run(rest);
    }
    if (v.function == r.function && v.occurrence == r.occurrence) have.push_back(v.name);
  }
  std::string frame =
      r.occurrence > 1 ? fmt::format("{}#{}", r.function, r.occurrence) : r.function;
  if (have.empty())
    fail(ErrorKind::NotFound,
         "goroutine {} has no frame of {} with variables in memory ({} variables optimized away "
         "or in registers in its frames)",
         r.goid, frame, roots.stats.unavailable);
  fail(ErrorKind::NotFound, "goroutine {} {}: no variable {} in memory there (it has: {})", r.goid,
       frame, r.name, fmt::join(have, ", "));
}

}  // namespace

Located resolve(const Program& p, std::string_view expr) {
  (void)p.types();  // fails clearly when the binary has no DWARF
  if (auto local = parseStackRoot(expr)) return resolveLocal(p, expr, local->first, local->second);
  if (auto obj = parseObjectRoot(expr)) {  // (*T)(0xADDR): the T at ADDR
    // T itself is looked up: the program need not have the type *T (a
    // map[int]int only a local holds, found by its shape).
    Located l;
    l.addr = obj->first.addr;
    l.type = namedType(p, obj->first.type);
    l.headerDirect = false;
    l.expr = std::string(expr);
    return Evaluator(p, expr, l).run(obj->second);
  }
  // The longest prefix ending at a '.', '[' or '{' (or the end) that names a global.
  size_t slash = expr.rfind('/', std::min(expr.find_first_of("[{("), expr.size()));
  size_t from = slash == std::string_view::npos ? 0 : slash;
  std::vector<size_t> cuts;
  for (size_t i = from; i < expr.size(); i++) {
    if (expr[i] == '[' || expr[i] == '{' || expr[i] == '(') {
      cuts.push_back(i);
      break;  // a global's name never has one of these
    }
    if (expr[i] == '.') cuts.push_back(i);
  }
  if (cuts.empty() || cuts.back() != expr.size()) cuts.push_back(expr.size());
  std::optional<Global> g;
  size_t rest = 0;
  for (auto it = cuts.rbegin(); it != cuts.rend(); ++it) {
    if (*it > expr.size()) continue;
    if (auto found = p.findGlobal(expr.substr(0, *it))) {
      g = found;
      rest = *it;
      break;
    }
  }
  if (!g && !p.hasDwarf()) p.global(expr);  // throws: without DWARF globals have no names
  if (!g) {
    if (expr.find('.') == std::string_view::npos)
      fail(ErrorKind::NotFound,
           "no global variable '{}' (globals are named with their package, e.g. main.{})", expr,
           expr);
    fail(ErrorKind::NotFound, "no global variable matches '{}'", expr);
  }
  return Evaluator(p, expr, Located{std::string(expr), g->addr, g->type, false}).run(rest);
}

uint64_t mapHeaderOf(const Program& p, const Located& l) {
  return l.headerDirect ? l.addr : p.mem().readPtr(l.addr);
}

ListRef locatedList(const Program& p, const Located& l, const LinkNames& names) {
  const Type* t = l.type;
  uint64_t addr = l.addr;
  while (t && t->kind == Kind::Pointer) {
    addr = p.mem().readPtr(addr);
    if (!addr) fail(ErrorKind::NotFound, "{} is a nil pointer", l.expr);
    t = t->elem;
  }
  if (t && t->name == "container/list.Element") return {containerListShape(p), 0, addr};
  std::string why;
  if (auto shape = listShapeOf(t, names, &why)) {
    requirePlausibleList(p, *shape, addr, l.expr);
    return {*shape, addr, 0};
  }
  if (!why.empty()) fail(ErrorKind::Usage, "{}: {}", l.expr, why);
  if (!elementLinkFields(t).empty())
    fail(ErrorKind::Usage, "{} is a {}, an element of a list: give the list that holds it", l.expr,
         t->name);
  fail(ErrorKind::Usage,
       "{} is a {}, not a container/list.List, a container/ring.Ring or a list of their shape (a "
       "struct holding a root element or a head pointer whose elements link next/prev; "
       "--next/--prev name the links)",
       l.expr, t ? t->name : "value of unknown type");
}

MapRef locatedMap(const Program& p, const Located& l) {
  Located m = l;
  if (!m.headerDirect) {
    while (m.type && m.type->kind == Kind::Pointer) {
      m.addr = p.mem().readPtr(m.addr);
      if (!m.addr) fail(ErrorKind::NotFound, "{} is a nil pointer", l.expr);
      m.type = m.type->elem;
    }
  }
  if (!m.type || m.type->kind != Kind::Map)
    fail(ErrorKind::Usage, "{} is a {}, not a map", l.expr,
         m.type ? m.type->name : "value of unknown type");
  MapRef r{m.type, mapHeaderOf(p, m)};
  requirePlausibleMap(p, r.type, r.header, l.expr);
  return r;
}

std::optional<std::pair<const Type*, uint64_t>> syncMapAt(const Program& p, const Located& l) {
  const Type* t = l.type;
  uint64_t addr = l.addr;
  while (t && t->kind == Kind::Pointer && t->elem && isSyncMap(t->elem)) {
    addr = p.mem().readPtr(addr);
    if (!addr) fail(ErrorKind::NotFound, "{} is a nil *sync.Map", l.expr);
    t = t->elem;
  }
  if (!t || !isSyncMap(t)) return std::nullopt;
  return std::make_pair(t, addr);
}

std::string NamedAddress::str() const {
  if (!offset) return fmt::format("{:#x} is {} ({})", addr, expr, type->name);
  return fmt::format("{:#x} is {} bytes into {} ({})", addr, offset, expr, type->name);
}

std::optional<NamedAddress> nameAddress(const Program& p, uint64_t addr) {
  if (!p.hasTypes()) return std::nullopt;
  for (const Global& g : p.types().globals()) {
    if (!g.type || addr < g.addr || addr - g.addr >= g.type->size) continue;
    NamedAddress n{addr, g.name, g.type, addr - g.addr};
    for (int depth = 0; depth < 32; depth++) {
      const Type* t = n.type;
      if (t->kind == Kind::Struct) {
        const Field* in = nullptr;
        for (const Field& f : t->fields)
          if (f.type && n.offset >= f.offset && n.offset - f.offset < f.type->size) in = &f;
        if (!in) break;
        n.expr += "." + in->name;
        n.offset -= in->offset;
        n.type = in->type;
      } else if (t->kind == Kind::Array && t->elem && t->elem->size) {
        uint64_t i = n.offset / t->elem->size;
        if (i >= t->len) break;
        n.expr += fmt::format("[{}]", i);
        n.offset -= i * t->elem->size;
        n.type = t->elem;
      } else {
        break;
      }
    }
    return n;
  }
  return std::nullopt;
}

}  // namespace gms
