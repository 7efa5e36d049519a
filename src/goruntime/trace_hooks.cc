#include "goruntime/trace_hooks.h"

#include <set>

#include "common/error.h"
#include "goruntime/layout.h"
#include "goruntime/list.h"
#include "goruntime/maps.h"
#include "goruntime/sync_map.h"

namespace gms {

namespace {

uint64_t rd(const Memory& m, uint64_t addr, size_t len = 8) {
  uint64_t v = 0;
  m.read(addr, &v, len);
  return v;
}

uint64_t offsetOf(const Program& p, const char* type, const char* field) {
  const Type* t = p.types().findType(type);
  if (!t)
    fail(ErrorKind::MissingDebugInfo, "no type {} in {} ({})", type, p.binary().path(),
         p.types().source());
  return requireField(t, field).offset;
}

}  // namespace

const char* growFnName(GrowFn fn) {
  switch (fn) {
    case GrowFn::HashGrow:
      return "hashGrow";
    case GrowFn::TableGrow:
      return "table.grow";
    case GrowFn::TableSplit:
      return "table.split";
    case GrowFn::GrowToTable:
      break;
  }
  return "growToTable";
}

GrowthHooks growthHooks(const Program& p) {
  GrowthHooks g;
  auto entry = [&](const char* n) -> uint64_t {
    auto a = p.binary().functionEntry(n);  // the symbol, or stripped the pclntab's entry
    return a ? *a + p.loadBias() : 0;
  };
  if (p.mapImpl() == MapImpl::Classic) {
    g.entry[size_t(GrowFn::HashGrow)] = entry("runtime.hashGrow");
    if (!g.entry[size_t(GrowFn::HashGrow)])
      fail(ErrorKind::Unsupported, "{}: no function runtime.hashGrow in its symbols or pclntab",
           p.binary().path());
    g.countOff = offsetOf(p, "runtime.hmap", "count");
    g.bOff = offsetOf(p, "runtime.hmap", "B");
    g.oldbucketsOff = offsetOf(p, "runtime.hmap", "oldbuckets");
    return g;
  }
  g.classic = false;
  g.entry[size_t(GrowFn::TableGrow)] = entry("internal/runtime/maps.(*table).grow");
  g.entry[size_t(GrowFn::TableSplit)] = entry("internal/runtime/maps.(*table).split");
  g.entry[size_t(GrowFn::GrowToTable)] = entry("internal/runtime/maps.(*Map).growToTable");
  for (size_t f = 1; f < kGrowFns; f++)
    if (!g.entry[f])
      fail(ErrorKind::Unsupported,
           "{}: no function internal/runtime/maps.(*table).grow/split/growToTable in its "
           "symbols or pclntab",
           p.binary().path());
  const char* M = "internal/runtime/maps.Map";
  const char* T = "internal/runtime/maps.table";
  g.usedOff = offsetOf(p, M, "used");
  g.globalDepthOff = offsetOf(p, M, "globalDepth");
  g.dirLenOff = offsetOf(p, M, "dirLen");
  g.tableCapOff = offsetOf(p, T, "capacity");
  g.tableDepthOff = offsetOf(p, T, "localDepth");
  return g;
}

bool overLoadFactor(uint64_t count, uint64_t B) {
  return count > 8 && B < 63 && count > 13 * ((uint64_t(1) << B) / 2);
}

GrowthArgs readGrowthArgs(const GrowthHooks& g, GrowFn fn, const TrapRegs& R, const Memory& mem) {
  GrowthArgs a;
  switch (fn) {
    case GrowFn::HashGrow:  // hashGrow(t *maptype, h *hmap): RAX, RBX
      a.map = R.rbx;
      a.typeDesc = R.rax;
      break;
    case GrowFn::GrowToTable:  // (m *Map).growToTable(typ): RAX, RBX
      a.map = R.rax;
      a.typeDesc = R.rbx;
      break;
    case GrowFn::TableGrow:   // (t *table).grow(typ, m, newCapacity): RAX, RBX, RCX, RDI
    case GrowFn::TableSplit:  // (t *table).split(typ, m): RAX, RBX, RCX
      a.map = R.rcx;
      a.typeDesc = R.rbx;
      break;
  }
  try {
    if (fn == GrowFn::HashGrow) {
      uint64_t count = rd(mem, a.map + g.countOff);
      uint64_t B = rd(mem, a.map + g.bOff, 1);
      // hashGrow runs for the insert of key count+1: bigger when that insert
      // overloads the buckets, else a same-size grow (too many overflow buckets).
      bool bigger = overLoadFactor(count + 1, B);
      a.before = B;
      a.after = bigger ? B + 1 : B;
      a.len = count;
      a.sameSize = !bigger;
    } else if (fn == GrowFn::GrowToTable) {
      a.before = 8;  // abi.MapGroupSlots: a small map is one group
      a.after = 16;  // 2 * MapGroupSlots
      a.len = rd(mem, a.map + g.usedOff);
    } else {
      uint64_t cap = rd(mem, R.rax + g.tableCapOff, 2);  // the receiver t
      a.before = cap;
      a.after = fn == GrowFn::TableGrow ? (R.rdi & 0xffff) : cap;
      a.len = rd(mem, a.map + g.usedOff);
      if (fn == GrowFn::TableSplit) {
        uint64_t local = rd(mem, R.rax + g.tableDepthOff, 1);
        uint64_t global = rd(mem, a.map + g.globalDepthOff, 1);
        a.dirDoubles = local == global;
        a.dirLen = rd(mem, a.map + g.dirLenOff);
      }
    }
  } catch (const Error&) {
    // a header unreadable at the growth: the call is still reported (map, type) with 0 for
    // what could not be read
    a.complete = false;
  }
  a.identity = {uint64_t(fn), fn == GrowFn::HashGrow ? R.rbx : R.rax,
                fn == GrowFn::TableGrow || fn == GrowFn::TableSplit ? R.rcx : 0, a.before};
  return a;
}

bool classicGrowthEnded(const GrowthHooks& g, uint64_t map, const Memory& mem) {
  try {
    return rd(mem, map + g.oldbucketsOff) == 0;
  } catch (const Error&) {
    return true;  // the map is gone (freed): its growth has ended for us
  }
}

WriterFlag writerFlagOf(const Program& p, const MapRef& m) {
  const Type* h = m.type ? m.type->mapHeader : nullptr;
  if (!h)
    fail(ErrorKind::MissingDebugInfo, "no header struct for {} ({})",
         m.type ? m.type->name : "<map>", p.types().source());
  if (mapImplOf(m.type) == MapImpl::Classic)
    return {m.header, m.header + requireField(h, "flags").offset, 4};  // hashWriting
  return {m.header, m.header + requireField(h, "writing").offset, 1};
}

bool isIteratorInit(const std::string& function) { return function == "runtime.mapiterinit"; }

RemovedHooks removedHooks(const Program& p, const Located& l) {
  const Type* t = l.type;
  while (t && t->kind == Kind::Pointer) t = t->elem;
  if (!t || t->name != "container/list.List")
    fail(ErrorKind::Usage, "{} is a {}, not a container/list.List or *list.List", l.expr,
         l.type->name);
  ListRef r = locatedList(p, l);  // pointers followed, the List checked
  const ListShape& s = r.shape;
  RemovedHooks h;
  h.list = r.list;
  h.root = r.list + s.root;
  h.nextOff = s.next;
  h.rootNextOff = s.root + s.next;
  h.lenOff = s.len;
  h.listOff = s.back;
  h.valueOff = s.value;
  return h;
}

std::vector<uint64_t> listElements(const RemovedHooks& h, const Memory& mem, size_t limit,
                                   bool& truncated) {
  std::vector<uint64_t> out;
  std::set<uint64_t> seen;
  try {
    uint64_t e = rd(mem, h.list + h.rootNextOff);
    while (e && e != h.root) {
      if (out.size() >= limit || !seen.insert(e).second) {
        truncated = true;
        break;
      }
      out.push_back(e);
      e = rd(mem, e + h.nextOff);
    }
  } catch (const Error&) {
    // the list is unreadable mid-walk: the elements seen so far are the answer; the caller walks
    // again at the next len write
  }
  return out;
}

bool elementDetached(const RemovedHooks& h, uint64_t elem, const Memory& mem) {
  try {
    return rd(mem, elem + h.listOff) == 0;
  } catch (const Error&) {
    return false;  // an element that cannot be read is not judged removed: no false report
  }
}

// --- watch -----------------------------------------------------------------------

namespace {

bool pointerShaped(const Type* t) {
  switch (t->kind) {
    case Kind::Pointer:
    case Kind::UnsafePointer:
    case Kind::Map:
    case Kind::Chan:
    case Kind::Func:
      return true;
    default:
      return false;
  }
}

// A dotted path of struct fields ("root.next") inside struct type t at addr.
WatchField fieldPath(const std::string& base, const Type* t, uint64_t addr,
                     const std::string& path) {
  const Type* cur = t;
  uint64_t a = addr;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (cur->kind != Kind::Struct)
      fail(ErrorKind::Usage, "{} is a {}, which has no field {:?}", base, cur->name, part);
    const Field* f = cur->field(part);
    if (!f || !f->type) {
      std::string names;
      for (const auto& x : cur->fields) names += (names.empty() ? "" : ", ") + x.name;
      fail(ErrorKind::NotFound, "{} ({}) has no field {:?} (fields: {})", base, cur->name, part,
           names);
    }
    a += f->offset;
    cur = f->type;
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  if (cur->size != 1 && cur->size != 2 && cur->size != 4 && cur->size != 8)
    fail(ErrorKind::Usage, "{}.{} is a {} of {} bytes; a watchpoint covers 1, 2, 4 or 8 bytes",
         base, path, cur->name, cur->size);
  return WatchField{base + "." + path, a, uint8_t(cur->size), pointerShaped(cur)};
}

}  // namespace

std::vector<WatchField> watchFields(const Program& p, const Located& l,
                                    std::vector<std::string> sel) {
  const Type* t = l.type;
  std::string base = l.expr;
  if (t->kind == Kind::Map) {
    uint64_t hdr = mapHeaderOf(p, l);
    if (!hdr) fail(ErrorKind::Usage, "{} is a nil map: there is no header to watch yet", base);
    requirePlausibleMap(p, t, hdr, base);
    const Type* h = t->mapHeader;
    if (!h)
      fail(ErrorKind::MissingDebugInfo, "no header struct for {} ({})", t->name,
           p.types().source());
    MapImpl impl = mapImplOf(t);
    if (sel.empty()) sel = mapWatchFields(impl);
    std::vector<WatchField> out;
    for (const auto& f : sel) out.push_back(fieldPath(base, h, hdr, mapHeaderField(impl, f)));
    return out;
  }
  uint64_t addr = l.addr;
  const Type* st = t;
  if (t->kind == Kind::Pointer && t->elem && t->elem->name == "container/list.List") {
    addr = rd(p.mem(), l.addr);
    if (!addr) fail(ErrorKind::Usage, "{} is a nil *list.List", base);
    st = t->elem;
  }
  if (st->name == "container/list.List") {
    requirePlausibleList(p, containerListShape(p), addr, base);
    if (sel.empty()) sel = {"len", "root.next"};
  }
  if (auto sm = syncMapAt(p, l)) {
    // Go <= 1.23: a new dirty map (after a promotion) and each miss are
    // writes to the Map itself. Go >= 1.24's hash-trie stores into its
    // nodes: nothing of the Map's own changes but the root, once.
    std::tie(st, addr) = *sm;
    if (sel.empty() && !st->field("dirty"))
      fail(ErrorKind::Usage,
           "{} is a sync.Map of Go >= 1.24 (a hash-trie): its stores land in trie nodes, not in "
           "a field a watchpoint can follow; name one with --field (e.g. m.root.v), or follow "
           "its len with `gomemscope diagnose`",
           base);
    if (sel.empty()) sel = {"dirty", "misses"};
  }
  if (!sel.empty()) {
    if (st->kind == Kind::Pointer && st->elem) {
      addr = rd(p.mem(), addr);
      if (!addr) fail(ErrorKind::Usage, "{} is a nil pointer", base);
      st = st->elem;
    }
    std::vector<WatchField> out;
    for (const auto& f : sel) out.push_back(fieldPath(base, st, addr, f));
    return out;
  }
  if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8)
    fail(ErrorKind::Usage,
         "{} is a {} of {} bytes; watch a map, a list, or a 1/2/4/8-byte word (pick fields with "
         "--field)",
         base, t->name, t->size);
  return {WatchField{base, l.addr, uint8_t(t->size), pointerShaped(t)}};
}

}  // namespace gms
