#include "goruntime/expr.h"

#include <charconv>
#include <vector>

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

Located resolveAddress(const Program& p, std::string_view addr, std::string_view typeName) {
  Located l;
  l.expr = std::string(addr);
  l.addr = parseNumber(addr, "address");
  l.type = p.types().findType(typeName);
  if (!l.type) fail(ErrorKind::NotFound, "no type named '{}' in the program's DWARF", typeName);
  l.headerDirect = l.type->kind == Kind::Map;
  return l;
}

Located resolve(const Program& p, std::string_view expr) {
  (void)p.types();  // fails clearly when the binary has no DWARF
  // The longest prefix ending at a '.' or '[' (or the end) that names a global.
  size_t slash = expr.rfind('/');
  size_t from = slash == std::string_view::npos ? 0 : slash;
  std::vector<size_t> cuts;
  for (size_t i = from; i < expr.size(); i++)
    if (expr[i] == '.' || expr[i] == '[') cuts.push_back(i);
  cuts.push_back(expr.size());
  std::optional<Global> g;
  size_t rest = 0;
  for (auto it = cuts.rbegin(); it != cuts.rend(); ++it) {
    if (auto found = p.findGlobal(expr.substr(0, *it))) {
      g = found;
      rest = *it;
      break;
    }
  }
  if (!g) {
    if (expr.find('.') == std::string_view::npos)
      fail(ErrorKind::NotFound, "no global variable '{}' (globals are named with their package, e.g. main.{})",
           expr, expr);
    fail(ErrorKind::NotFound, "no global variable matches '{}'", expr);
  }
  Located l{std::string(expr), g->addr, g->type, false};
  const Memory& m = p.mem();
  auto deref = [&](const char* why) {
    while (l.type && l.type->kind == Kind::Pointer) {
      uint64_t target = m.readPtr(l.addr);
      if (!target)
        fail(ErrorKind::NotFound, "{}: nil pointer before {}", expr.substr(0, rest), why);
      l.addr = target;
      l.type = l.type->elem;
    }
  };
  while (rest < expr.size()) {
    if (!l.type) fail(ErrorKind::MissingDebugInfo, "no type information for {}", expr.substr(0, rest));
    if (expr[rest] == '.') {
      size_t end = expr.find_first_of(".[", rest + 1);
      if (end == std::string_view::npos) end = expr.size();
      std::string_view name = expr.substr(rest + 1, end - rest - 1);
      deref("a field");
      const Field* f = l.type && l.type->kind == Kind::Struct ? l.type->field(name) : nullptr;
      if (!f) {
        std::string have;
        if (l.type && l.type->kind == Kind::Struct)
          for (const auto& ff : l.type->fields) have += (have.empty() ? "" : ", ") + ff.name;
        fail(ErrorKind::NotFound, "{} ({}) has no field '{}'{}", expr.substr(0, rest),
             l.type ? l.type->name : "?", name, have.empty() ? "" : "; fields: " + have);
      }
      l.addr += f->offset;
      l.type = f->type;
      rest = end;
    } else if (expr[rest] == '[') {
      size_t end = expr.find(']', rest);
      if (end == std::string_view::npos) fail(ErrorKind::Usage, "missing ']' in '{}'", expr);
      uint64_t idx = parseNumber(expr.substr(rest + 1, end - rest - 1), "index");
      deref("an index");
      if (l.type->kind == Kind::Array) {
        if (idx >= l.type->len)
          fail(ErrorKind::NotFound, "{}: index {} out of range [0, {})", expr.substr(0, rest), idx, l.type->len);
        l.addr += idx * l.type->elem->size;
      } else if (l.type->kind == Kind::Slice) {
        uint64_t hdr[2];
        m.read(l.addr, hdr, sizeof hdr);
        if (idx >= hdr[1])
          fail(ErrorKind::NotFound, "{}: index {} out of range (len {})", expr.substr(0, rest), idx, hdr[1]);
        l.addr = hdr[0] + idx * l.type->elem->size;
      } else {
        fail(ErrorKind::Usage, "{} is a {}, not an array or slice", expr.substr(0, rest), l.type->name);
      }
      l.type = l.type->elem;
      rest = end + 1;
    } else {
      fail(ErrorKind::Usage, "unexpected '{}' in '{}'", expr[rest], expr);
    }
  }
  return l;
}

uint64_t mapHeaderOf(const Program& p, const Located& l) {
  return l.headerDirect ? l.addr : p.mem().readPtr(l.addr);
}

}  // namespace gms
