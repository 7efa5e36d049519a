#include "report/reports.h"

#include <cstring>

#include "goruntime/layout.h"
#include "goruntime/list.h"
#include "report/json_writer.h"
#include "report/sinks.h"

namespace gms {

std::string humanBytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = double(n);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    u++;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

namespace {

const char* tophashName(uint8_t t) {
  switch (t) {
    case 0: return "emptyRest";
    case 1: return "emptyOne";
    case 2: return "evacuatedX";
    case 3: return "evacuatedY";
    case 4: return "evacuatedEmpty";
    default: return "full";
  }
}

const char* ctrlName(uint8_t c) {
  if (c == 0x80) return "empty";
  if (c == 0xFE) return "deleted";
  if (c & 0x80) return "invalid";
  return "full";
}

// Resolves a located map to its type and header, dereferencing pointers to maps.
std::pair<const Type*, uint64_t> mapTarget(const Program& p, const Located& l) {
  const Type* t = l.type;
  uint64_t addr = l.addr;
  if (!l.headerDirect) {
    while (t && t->kind == Kind::Pointer) {
      addr = p.mem().readPtr(addr);
      if (!addr) fail(ErrorKind::NotFound, "{} is a nil pointer", l.expr);
      t = t->elem;
    }
  }
  if (!t || t->kind != Kind::Map)
    fail(ErrorKind::Usage, "{} is a {}, not a map", l.expr, t ? t->name : "value of unknown type");
  Located m = l;
  m.addr = addr;
  m.type = t;
  return {t, mapHeaderOf(p, m)};
}

void jsonSummary(JsonWriter& w, const Located& l, const MapSummary& s) {
  w.field("expr", l.expr);
  w.field("type", s.type->name);
  w.field("impl", mapImplName(s.impl));
  w.key("address");
  w.hex(s.addr);
  w.field("nil", s.nil);
  w.field("len", s.len);
  w.key("header");
  w.beginObject();
  for (const auto& h : s.header) {
    if (h.pointer) {
      w.key(h.name);
      w.hex(h.value);
    } else {
      w.field(h.name, h.value);
    }
  }
  w.endObject();
  w.key("growth");
  w.beginObject();
  w.field("growing", s.growing);
  w.field("loadFactor", s.loadFactor());
  if (s.impl == MapImpl::Classic) {
    w.field("B", s.B);
    w.field("buckets", s.nbuckets);
    w.field("overflowBuckets", s.overflowBuckets);
    w.field("longestChain", s.maxChain);
    w.field("sameSizeGrow", s.sameSizeGrow);
    w.field("oldBuckets", s.oldBucketCount);
    w.field("oldBucketsEvacuated", s.evacuated);
    w.field("nevacuate", s.nevacuate);
  } else {
    w.field("small", s.small);
    w.field("dirLen", s.dirLen);
    w.field("globalDepth", s.globalDepth);
    w.field("tables", uint64_t(s.tables.size()));
    w.field("groups", s.groups);
    w.field("capacity", s.capacity);
    w.field("tombstones", s.tombstones);
  }
  w.endObject();
  w.key("footprint");
  w.beginObject();
  const auto& f = s.footprint;
  w.field("header", f.header);
  w.field("buckets", f.buckets);
  if (s.impl == MapImpl::Classic) {
    w.field("oldBuckets", f.oldBuckets);
    w.field("overflow", f.overflow);
  } else {
    w.field("directory", f.directory);
    w.field("tables", f.tables);
  }
  w.field("indirect", f.indirect);
  w.field("total", f.total());
  w.endObject();
  w.field("indirectKey", s.indirectKey);
  w.field("indirectValue", s.indirectValue);
  w.field("torn", s.torn);
  if (!s.tables.empty()) {
    w.key("tables");
    w.beginArray();
    for (const auto& t : s.tables) {
      w.beginObject();
      w.key("address");
      w.hex(t.addr);
      w.field("index", t.index);
      w.field("dirEntries", t.dirEntries);
      w.field("localDepth", t.localDepth);
      w.field("used", t.used);
      w.field("capacity", t.capacity);
      w.field("growthLeft", t.growthLeft);
      w.field("groups", t.groups);
      w.field("tombstones", t.tombstones);
      w.endObject();
    }
    w.endArray();
  }
}

void jsonBuckets(JsonWriter& w, const MapSummary& s) {
  w.key(s.impl == MapImpl::Classic ? "buckets" : "groups");
  w.beginArray();
  for (const auto& b : s.buckets) {
    w.beginObject();
    if (s.impl == MapImpl::Classic) {
      w.field("old", b.old);
      w.field("index", b.index);
      w.field("chainPos", int64_t(b.chainPos));
    } else {
      w.field("table", int64_t(b.table));
      w.field("index", b.index);
    }
    w.key("address");
    w.hex(b.addr);
    w.key(s.impl == MapImpl::Classic ? "tophash" : "ctrl");
    w.beginArray();
    for (uint8_t c : b.ctrl) w.uinteger(c);
    w.endArray();
    w.key("slots");
    w.beginArray();
    for (uint8_t c : b.ctrl) w.string(s.impl == MapImpl::Classic ? tophashName(c) : ctrlName(c));
    w.endArray();
    w.field("used", int64_t(b.used));
    if (s.impl == MapImpl::Classic) {
      w.key("overflow");
      w.hex(b.overflow);
    }
    w.endObject();
  }
  w.endArray();
}

void textSummary(Out& o, const Program& p, const Located& l, const MapSummary& s) {
  o.print("{}  {}  ", l.expr, s.type->name);
  if (s.nil) {
    o.print("nil map\n");
    return;
  }
  o.print("at {:#x}\n", s.addr);
  const auto& b = p.build();
  o.print("  {:<16}{} ({}, {})\n", "implementation", mapImplName(s.impl), b.goVersion,
          s.impl == MapImpl::Classic ? "runtime.hmap/bmap" : "internal/runtime/maps");
  o.print("  {:<16}", "header");
  for (size_t i = 0; i < s.header.size(); i++) {
    const auto& h = s.header[i];
    if (h.pointer) o.print("{}{}={:#x}", i ? " " : "", h.name, h.value);
    else o.print("{}{}={}", i ? " " : "", h.name, h.value);
  }
  o.put('\n');
  if (s.impl == MapImpl::Classic) {
    o.print("  {:<16}2^{} = {} buckets, {} overflow, longest chain {}, load {:.2f}/bucket (grows past 6.5)\n",
            "structure", s.B, s.nbuckets, s.overflowBuckets, s.maxChain, s.loadFactor());
    if (s.growing)
      o.print("  {:<16}GROWING ({}): {}/{} old buckets evacuated (nevacuate={})\n", "growth",
              s.sameSizeGrow ? "same-size, too many overflow buckets" : "doubling", s.evacuated,
              s.oldBucketCount, s.nevacuate);
    else
      o.print("  {:<16}not growing\n", "growth");
  } else {
    if (s.small)
      o.print("  {:<16}small map: one group of 8 slots, load {:.2f}\n", "structure", s.loadFactor());
    else
      o.print("  {:<16}directory of {} (depth {}) -> {} tables, {} groups, {} slots, load {:.2f} "
              "(tables grow past 7/8), {} tombstones\n",
              "structure", s.dirLen, s.globalDepth, s.tables.size(), s.groups, s.capacity,
              s.loadFactor(), s.tombstones);
    o.print("  {:<16}not growing (Swiss tables grow all at once)\n", "growth");
  }
  const auto& f = s.footprint;
  o.print("  {:<16}{} = header {}", "footprint", humanBytes(f.total()), humanBytes(f.header));
  if (s.impl == MapImpl::Classic) {
    o.print(", buckets {}", humanBytes(f.buckets));
    if (f.oldBuckets) o.print(", old buckets {}", humanBytes(f.oldBuckets));
    o.print(", overflow {}", humanBytes(f.overflow));
  } else {
    if (f.directory) o.print(", directory {}", humanBytes(f.directory));
    if (f.tables) o.print(", tables {}", humanBytes(f.tables));
    o.print(", groups {}", humanBytes(f.buckets));
  }
  if (f.indirect || s.indirectKey || s.indirectValue)
    o.print(", out-of-line {}{}", s.indirectKey ? "keys" : "", s.indirectValue ? (s.indirectKey ? "+values " : "values ") : " ");
  if (f.indirect) o.print("{}", humanBytes(f.indirect));
  o.put('\n');
}

void textTables(Out& o, const MapSummary& s, bool all) {
  if (s.tables.empty()) return;
  const size_t shown = all ? s.tables.size() : std::min<size_t>(s.tables.size(), 16);
  o.print("  tables:\n");
  o.print("    {:>3}  {:<18} {:>5} {:>5} {:>5} {:>9} {:>10} {:>10}\n", "#", "address", "index",
          "depth", "dir", "used/cap", "growthLeft", "tombstones");
  for (size_t i = 0; i < shown; i++) {
    const auto& t = s.tables[i];
    o.print("    {:>3}  {:<#18x} {:>5} {:>5} {:>5} {:>9} {:>10} {:>10}\n", i, t.addr, t.index,
            t.localDepth, t.dirEntries, fmt::format("{}/{}", t.used, t.capacity), t.growthLeft,
            t.tombstones);
  }
  if (shown < s.tables.size())
    o.print("    ... {} more tables (--buckets or --format json lists all)\n", s.tables.size() - shown);
}

void textBuckets(Out& o, const MapSummary& s) {
  o.print("  {}:\n", s.impl == MapImpl::Classic ? "buckets (tophash per slot: . empty, E evacuated, hex = full)"
                                                  : "groups (ctrl per slot: . empty, D deleted, hex = H2 of full)");
  for (const auto& b : s.buckets) {
    if (s.impl == MapImpl::Classic)
      o.print("    {}{:>6}{} {:#x}  [", b.old ? "old " : "", b.index,
              b.chainPos ? fmt::format("+{}", b.chainPos) : std::string("  "), b.addr);
    else
      o.print("    t{} g{:<5} {:#x}  [", b.table, b.index, b.addr);
    for (int i = 0; i < 8; i++) {
      uint8_t c = b.ctrl[i];
      if (i) o.put(' ');
      if (s.impl == MapImpl::Classic) {
        if (c >= 5) o.print("{:02x}", c);
        else if (c >= 2) o.print("E{}", c == 2 ? 'X' : c == 3 ? 'Y' : '.');
        else o.write(c == 0 ? " ." : " -");
      } else {
        if (!(c & 0x80)) o.print("{:02x}", c);
        else o.write(c == 0xFE ? " D" : c == 0x80 ? " ." : "??");
      }
    }
    o.print("]  used {}", b.used);
    if (b.overflow) o.print("  -> overflow {:#x}", b.overflow);
    o.put('\n');
  }
}

void textProblems(Out& o, const std::vector<std::string>& problems) {
  if (problems.empty()) {
    o.print("  {:<16}none\n", "problems");
    return;
  }
  o.print("  {:<16}{}\n", "problems", problems.size());
  for (const auto& p : problems) o.print("    - {}\n", p);
}

// Walks the map's entries, at most `limit`, and calls render(k, v) with the
// addresses of each key and value, a batch at a time: the string data of a
// whole batch is prefetched first, so its cache misses (random accesses all
// over the heap, in hash order) overlap instead of stalling one by one.
// Returns how many entries the walk offered (one past the limit when cut).
template <typename Render>
uint64_t walkInBatches(const Program& p, const Type* type, uint64_t hdr, uint64_t limit,
                       Render render) {
  constexpr size_t kBatch = 64;
  const Memory& mem = p.mem();
  bool keyString = type->key && type->key->kind == Kind::String;
  bool elemString = type->elem && type->elem->kind == Kind::String;
  auto prefetchString = [&](uint64_t addr) {
    const uint8_t* h = mem.view(addr, 16);
    if (!h) return;
    uint64_t str[2];
    std::memcpy(str, h, sizeof str);
    if (str[1] == 0) return;
    if (const uint8_t* d = mem.view(str[0], 1)) __builtin_prefetch(d);
  };
  std::vector<std::pair<uint64_t, uint64_t>> batch;
  batch.reserve(kBatch);
  auto flush = [&] {
    for (const auto& [k, v] : batch) {
      if (keyString) prefetchString(k);
      if (elemString) prefetchString(v);
    }
    for (const auto& [k, v] : batch) render(k, v);
    batch.clear();
  };
  uint64_t n = 0;
  walkMap(p, type, hdr, {}, [&](uint64_t k, uint64_t v) {
    if (n++ >= limit) return false;
    batch.push_back({k, v});
    if (batch.size() == kBatch) flush();
    return true;
  });
  flush();
  return n;
}

}  // namespace

size_t reportMap(Out& out, const Program& p, const Located& l, const ReportOptions& o) {
  // Not a structured binding: clang 14 cannot capture those in the lambdas below.
  const auto [mapType, mapHdr] = mapTarget(p, l);
  const Type* type = mapType;
  uint64_t hdr = mapHdr;
  WalkOptions wo;
  wo.buckets = o.buckets;
  MapSummary s = walkMap(p, type, hdr, wo, nullptr);
  ValueRenderer r(p, o.render);
  uint64_t limit = o.limit ? o.limit : UINT64_MAX;
  if (o.format == Format::Json) {
    JsonWriter w(out);
    JsonValueSink sink(w);
    w.beginObject();
    jsonSummary(w, l, s);
    if (o.buckets) jsonBuckets(w, s);
    w.key("entries");
    w.beginArray();
    uint64_t n = 0;
    if (!s.nil)
      n = walkInBatches(p, type, hdr, limit, [&](uint64_t k, uint64_t v) {
        sink.entryKey();
        r.render(k, type->key, sink);
        sink.entryValue();
        r.render(v, type->elem, sink);
        sink.endEntry();
      });
    w.endArray();
    w.field("shown", std::min<uint64_t>(n, std::min(limit, s.found)));
    w.stringArray("problems", s.problems);
    w.endObject();
    w.newline();
    return s.problems.size();
  }
  textSummary(out, p, l, s);
  if (s.nil) return 0;
  textTables(out, s, o.buckets);
  if (o.buckets) textBuckets(out, s);
  uint64_t shown = std::min(limit, s.found);
  out.print("  {:<16}{}{}\n", "entries", s.found,
            shown < s.found ? fmt::format(" (showing {}; --limit 0 shows all)", shown) : "");
  TextValueSink sink(out);
  walkInBatches(p, type, hdr, limit, [&](uint64_t k, uint64_t v) {
    out.write("    ");
    sink.topLevelKey();
    r.render(k, type->key, sink);
    out.write(": ");
    sink.topLevelValue();
    r.render(v, type->elem, sink);
    out.put('\n');
    out.maybeFlush();
  });
  textProblems(out, s.problems);
  return s.problems.size();
}

// ---- lists ----

namespace {

struct ListTarget {
  uint64_t listAddr = 0;    // when a List
  uint64_t elementAddr = 0; // when an Element
};

ListTarget listTarget(const Program& p, const Located& l) {
  const Type* t = l.type;
  uint64_t addr = l.addr;
  while (t && t->kind == Kind::Pointer) {
    addr = p.mem().readPtr(addr);
    if (!addr) fail(ErrorKind::NotFound, "{} is a nil pointer", l.expr);
    t = t->elem;
  }
  if (t && t->name == "container/list.List") return {addr, 0};
  if (t && t->name == "container/list.Element") return {0, addr};
  fail(ErrorKind::Usage, "{} is a {}, not a container/list.List or *list.Element", l.expr,
       t ? t->name : "value of unknown type");
}

// Renders the dynamic value held by the eface at valueAddr (its type is reported separately).
void renderDynamic(const Program& p, ValueRenderer& r, uint64_t valueAddr, ValueSink& sink) {
  uint64_t tp = p.mem().readPtr(valueAddr);
  if (!tp) {
    sink.nil();
    return;
  }
  const DynType& dt = p.dynamicType(tp);
  uint64_t data = p.mem().readPtr(valueAddr + 8);
  if (!dt.type) sink.unreadable(data, fmt::format("no DWARF type for {}", dt.name));
  else if (dt.directIface) r.render(valueAddr + 8, dt.type, sink);
  else r.render(data, dt.type, sink);
}

const Type* efaceType(const Program& p) {
  const Field& v = requireField(elementType(p), "Value");
  return v.type;
}

}  // namespace

size_t reportList(Out& out, const Program& p, const Located& l, const ReportOptions& o) {
  ListTarget lt = listTarget(p, l);
  ValueRenderer r(p, o.render);
  const Type* any = efaceType(p);
  uint64_t limit = o.limit ? o.limit : UINT64_MAX;
  auto dynName = [&](uint64_t valueAddr) -> std::string {
    uint64_t t = p.mem().readPtr(valueAddr);
    return t ? p.dynamicType(t).name : "nil";
  };
  if (lt.elementAddr) {
    ElementState e = readElement(p, lt.elementAddr);
    std::string state = e.removed ? "removed (Remove ran: next, prev and list are nil; Value kept)"
                        : e.list ? "in list" : "detached (list is nil but links are set)";
    if (o.format == Format::Json) {
      JsonWriter w(out);
      JsonValueSink sink(w);
      w.beginObject();
      w.field("expr", l.expr);
      w.key("address");
      w.hex(e.addr);
      w.field("removed", e.removed);
      w.key("list");
      w.hex(e.list);
      w.key("next");
      w.hex(e.next);
      w.key("prev");
      w.hex(e.prev);
      w.field("type", dynName(e.valueAddr));
      w.key("value");
      renderDynamic(p, r, e.valueAddr, sink);
      w.endObject();
      w.newline();
      return 0;
    }
    out.print("{}  *container/list.Element at {:#x}: {}\n", l.expr, e.addr, state);
    out.print("  list={:#x} next={:#x} prev={:#x}\n  value ", e.list, e.next, e.prev);
    TextValueSink sink(out);
    r.render(e.valueAddr, any, sink);
    out.put('\n');
    return 0;
  }
  uint64_t n = 0;
  if (o.format == Format::Json) {
    JsonWriter w(out);
    JsonValueSink sink(w);
    w.beginObject();
    w.field("expr", l.expr);
    w.key("address");
    w.hex(lt.listAddr);
    w.key("elements");
    w.beginArray();
    ListSummary s = walkList(p, lt.listAddr, [&](const ListElementRef& e) {
      if (n++ >= limit) return false;
      w.beginObject();
      w.key("address");
      w.hex(e.addr);
      w.field("type", dynName(e.valueAddr));
      w.key("value");
      renderDynamic(p, r, e.valueAddr, sink);
      w.endObject();
      return true;
    });
    w.endArray();
    w.field("len", s.len);
    w.field("found", s.found);
    w.field("zeroValue", s.lazyZero);
    w.field("footprint", s.footprint);
    w.stringArray("problems", s.problems);
    w.endObject();
    w.newline();
    return s.problems.size();
  }
  // Text: the summary needs the walk first; elements are printed on a second walk.
  ListSummary s = walkList(p, lt.listAddr, nullptr);
  out.print("{}  container/list.List at {:#x}\n", l.expr, lt.listAddr);
  out.print("  {:<16}{}{}\n", "len", s.len, s.lazyZero ? " (zero value, never initialised)" : "");
  out.print("  {:<16}{} ({} elements)\n", "footprint", humanBytes(s.footprint), s.found);
  uint64_t shown = std::min(limit, s.found);
  out.print("  {:<16}{}{}\n", "elements", s.found,
            shown < s.found ? fmt::format(" (showing {}; --limit 0 shows all)", shown) : "");
  TextValueSink sink(out);
  walkList(p, lt.listAddr, [&](const ListElementRef& e) {
    if (n >= limit) return false;
    out.print("    [{}] {:#x}  ", n++, e.addr);
    r.render(e.valueAddr, any, sink);
    out.put('\n');
    out.maybeFlush();
    return true;
  });
  textProblems(out, s.problems);
  return s.problems.size();
}

void reportValue(Out& out, const Program& p, const Located& l, const ReportOptions& o) {
  ValueRenderer r(p, o.render);
  if (o.format == Format::Json) {
    JsonWriter w(out);
    JsonValueSink sink(w);
    w.beginObject();
    w.field("expr", l.expr);
    w.field("type", l.type ? l.type->name : "");
    w.key("address");
    w.hex(l.addr);
    w.key("value");
    r.render(l.addr, l.type, sink);
    w.endObject();
    w.newline();
    return;
  }
  out.print("{} ({}) = ", l.expr, l.type ? l.type->name : "?");
  TextValueSink sink(out);
  r.render(l.addr, l.type, sink);
  out.put('\n');
}

}  // namespace gms
