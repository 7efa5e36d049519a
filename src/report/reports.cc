#include "report/reports.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "goruntime/layout.h"
#include "goruntime/sync_map.h"
#include "report/entry_pipeline.h"
#include "report/json_writer.h"
#include "report/masking.h"
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

// What is known before the walk: the expression, its type, where the map is.
void jsonIdentity(JsonWriter& w, const Located& l, const Type* type, MapImpl impl, uint64_t hdr) {
  w.field("expr", l.expr);
  w.field("type", type->name);
  w.field("impl", mapImplName(impl));
  w.key("address");
  w.hex(hdr);
  w.field("nil", hdr == 0);
}

// What the walk found: the header it read, growth state, footprint, tables.
void jsonWalked(JsonWriter& w, const MapSummary& s) {
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
  w.field("load", s.load());
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
    for (uint8_t c : b.ctrl) w.string(slotStateName(slotState(s.impl, c)));
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
    o.print(
        "  {:<16}2^{} = {} buckets, {} overflow, longest chain {}, load {:.2f} ({:.2f} "
        "entries/bucket; "
        "1.00 = 6.5, where it grows)\n",
        "structure", s.B, s.nbuckets, s.overflowBuckets, s.maxChain, s.load(), s.loadFactor());
    if (s.growing)
      o.print("  {:<16}GROWING ({}): {}/{} old buckets evacuated (nevacuate={})\n", "growth",
              s.sameSizeGrow ? "same-size, too many overflow buckets" : "doubling", s.evacuated,
              s.oldBucketCount, s.nevacuate);
    else
      o.print("  {:<16}not growing\n", "growth");
  } else {
    if (s.small)
      o.print(
          "  {:<16}small map: one group of 8 slots, load {:.2f} (1.00 = all 8, then it becomes a "
          "table)\n",
          "structure", s.load());
    else
      o.print(
          "  {:<16}directory of {} (depth {}) -> {} tables, {} groups, {} slots, load {:.2f} "
          "({:.2f} of the slots; 1.00 = 7/8, where tables grow), {} tombstones\n",
          "structure", s.dirLen, s.globalDepth, s.tables.size(), s.groups, s.capacity, s.load(),
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
      switch (slotState(s.impl, c)) {
        case SlotState::Full: o.print("{:02x}", c); break;
        case SlotState::EvacuatedX: o.write("EX"); break;
        case SlotState::EvacuatedY: o.write("EY"); break;
        case SlotState::EvacuatedEmpty: o.write("E."); break;
        case SlotState::EmptyRest: case SlotState::Empty: o.write(" ."); break;
        case SlotState::EmptyOne: o.write(" -"); break;
        case SlotState::Deleted: o.write(" D"); break;
        case SlotState::Invalid: o.write("??"); break;
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


constexpr size_t kPrefetchBatch = 64;

// One thread's JSON renderer of map entries: {"key": K, "value": V}, ...
//
// Entries whose key and value are both scalars (bool, integers, floats,
// strings: map[string]int and its kin, the maps that get big) are written
// straight from views of memory, skipping the general renderer's per-value
// dispatch, copies and sink calls; the bytes are the same (the JSON writer
// and the masking policy are shared, and tests/cli/decode_test.cc compares
// with the general path). Anything unusual — memory that cannot be viewed in
// place, an implausible string length — takes the general path.
class JsonEntries : public EntryRenderer {
 public:
  JsonEntries(const Program& p, const Type* type, const RenderLimits& lim, bool fast)
      : type_(type),
        lim_(lim),
        r_(p, lim),
        prefetch_(p.mem(), type),
        reader_(p.mem(), lim.maxString),
        fast_(fast && ScalarReader::isScalar(type->key) && ScalarReader::isScalar(type->elem)) {}
  void render(const EntryAddrs* e, size_t n, bool first, Out& out) override {
    if (&out != out_) {
      out_ = &out;
      sink_.reset();
      w_.emplace(out);
      sink_.emplace(*w_);
    }
    w_->resumeArray(first);
    for (size_t i = 0; i < n; i += kPrefetchBatch) {
      size_t m = std::min(kPrefetchBatch, n - i);
      if (!fast_) {
        prefetch_(e + i, m);
        for (size_t j = i; j < i + m; j++) general(e[j]);
        continue;
      }
      // Views of the whole batch first (prefetching the strings' bytes), so
      // that their cache misses overlap; then the entries.
      for (size_t j = 0; j < m; j++)
        ok_[j] = reader_.load(e[i + j].first, type_->key, keys_[j]) &&
                 reader_.load(e[i + j].second, type_->elem, vals_[j]);
      for (size_t j = 0; j < m; j++) {
        if (ok_[j]) scalarEntry(keys_[j], vals_[j]);
        else general(e[i + j]);
      }
    }
  }

 private:
  void general(const EntryAddrs& e) {
    sink_->entryKey();
    r_.render(e.first, type_->key, *sink_);
    sink_->entryValue();
    r_.render(e.second, type_->elem, *sink_);
    sink_->endEntry();
  }

  // Appends x as JSON to d when that needs no escaping nor formatting
  // library (integers, bools, strings of plain ASCII); nullptr otherwise.
  static char* raw(char* d, const ScalarView& x, Kind k) {
    switch (k) {
      case Kind::Bool:
        if (x.p[0]) return static_cast<char*>(std::memcpy(d, "true", 4)) + 4;
        return static_cast<char*>(std::memcpy(d, "false", 5)) + 5;
      case Kind::Int8: return std::to_chars(d, d + 24, as<int8_t>(x.p)).ptr;
      case Kind::Int16: return std::to_chars(d, d + 24, as<int16_t>(x.p)).ptr;
      case Kind::Int32: return std::to_chars(d, d + 24, as<int32_t>(x.p)).ptr;
      case Kind::Int:
      case Kind::Int64: return std::to_chars(d, d + 24, as<int64_t>(x.p)).ptr;
      case Kind::Uint8: return std::to_chars(d, d + 24, as<uint8_t>(x.p)).ptr;
      case Kind::Uint16: return std::to_chars(d, d + 24, as<uint16_t>(x.p)).ptr;
      case Kind::Uint32: return std::to_chars(d, d + 24, as<uint32_t>(x.p)).ptr;
      case Kind::Uint:
      case Kind::Uint64:
      case Kind::Uintptr: return std::to_chars(d, d + 24, as<uint64_t>(x.p)).ptr;
      case Kind::String: {
        *d++ = '"';
        for (char c : x.s) {
          auto u = static_cast<unsigned char>(c);
          if (u < 0x20 || u == '"' || u == '\\' || u >= 0x80) return nullptr;
          *d++ = c;
        }
        *d++ = '"';
        return d;
      }
      default: return nullptr;  // floats: the writer formats them
    }
  }

  template <typename T>
  static T as(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }

  void emit(const ScalarView& x, Kind k, bool masked) {
    JsonWriter& w = *w_;
    switch (k) {
      case Kind::Bool: w.boolean(x.p[0] != 0); return;
      case Kind::Int8: w.integer(as<int8_t>(x.p)); return;
      case Kind::Int16: w.integer(as<int16_t>(x.p)); return;
      case Kind::Int32: w.integer(as<int32_t>(x.p)); return;
      case Kind::Int:
      case Kind::Int64: w.integer(as<int64_t>(x.p)); return;
      case Kind::Uint8: w.uinteger(as<uint8_t>(x.p)); return;
      case Kind::Uint16: w.uinteger(as<uint16_t>(x.p)); return;
      case Kind::Uint32: w.uinteger(as<uint32_t>(x.p)); return;
      case Kind::Float32: w.number(as<float>(x.p), true); return;
      case Kind::Float64: w.number(as<double>(x.p), false); return;
      case Kind::String:
        if (masked) w.string(maskedText(x.len));
        else w.string(x.s);
        return;
      default: w.uinteger(as<uint64_t>(x.p)); return;  // Uint, Uint64, Uintptr
    }
  }

  void scalarEntry(const ScalarView& key, const ScalarView& val) {
    const Type* kt = type_->key;
    const Type* vt = type_->elem;
    auto mask = policy_.entry(kt->kind == Kind::String ? &key.s : nullptr,
                              vt->kind == Kind::String ? &val.s : nullptr);
    bool keyMasked = mask.key, valMasked = mask.value;
    JsonWriter& w = *w_;
    if (!keyMasked && !valMasked) {
      // The common case, formatted in place at the end of the output buffer
      // (room for the punctuation, two numbers of up to 24 characters and the strings).
      auto& b = out_->buffer();
      size_t at = b.size(), room = 96 + key.s.size() + val.s.size();
      b.try_resize(at + room);
      if (b.size() == at + room) {
        char* d = b.data() + at;
        char* p = d;
        if (w.pendingComma()) *p++ = ',';
        p = static_cast<char*>(std::memcpy(p, "{\"key\":", 7)) + 7;
        p = raw(p, key, kt->kind);
        if (p) {
          p = static_cast<char*>(std::memcpy(p, ",\"value\":", 9)) + 9;
          p = raw(p, val, vt->kind);
        }
        if (p) {
          *p++ = '}';
          b.try_resize(at + size_t(p - d));
          w.valueWritten();
          return;
        }
      }
      b.try_resize(at);  // not plain after all: the writer formats it
    }
    w.beginObject();
    w.key("key");
    emit(key, kt->kind, keyMasked);
    w.key("value");
    emit(val, vt->kind, valMasked);
    w.endObject();
  }

  const MaskPolicy& policy_ = activeMaskPolicy();
  const Type* type_;
  RenderLimits lim_;
  ValueRenderer r_;
  StringPrefetch prefetch_;
  ScalarReader reader_;
  bool fast_;
  bool ok_[kPrefetchBatch];
  ScalarView keys_[kPrefetchBatch], vals_[kPrefetchBatch];
  Out* out_ = nullptr;
  std::optional<JsonWriter> w_;
  std::optional<JsonValueSink> sink_;
};

// One thread's text renderer of map entries: a "    key: value" line each.
class TextEntries : public EntryRenderer {
 public:
  TextEntries(const Program& p, const Type* type, const RenderLimits& lim)
      : type_(type), r_(p, lim), prefetch_(p.mem(), type) {}
  void render(const EntryAddrs* e, size_t n, bool, Out& out) override {
    if (&out != out_) {
      out_ = &out;
      sink_.emplace(out);
    }
    for (size_t i = 0; i < n; i += kPrefetchBatch) {
      size_t m = std::min(kPrefetchBatch, n - i);
      prefetch_(e + i, m);
      for (size_t j = i; j < i + m; j++) {
        out.write("    ");
        sink_->topLevelKey();
        r_.render(e[j].first, type_->key, *sink_);
        out.write(": ");
        sink_->topLevelValue();
        r_.render(e[j].second, type_->elem, *sink_);
        out.put('\n');
      }
    }
  }

 private:
  const Type* type_;
  ValueRenderer r_;
  StringPrefetch prefetch_;
  Out* out_ = nullptr;
  std::optional<TextValueSink> sink_;
};

// Threads rendering entries: one per core, but one when target memory is
// read under a lock (a live target read while stopped), where more only
// contend for it, and one when entries can share objects (each object is
// rendered once, where the walk order first reaches it: see value.h).
unsigned renderThreads(const Program& p, const Type* mapType) {
  if (mayReferToObjects(mapType->key) || mayReferToObjects(mapType->elem)) return 1;
  return p.mem().concurrentReads() ? EntryPipeline::defaultThreads() : 1;
}

// Walks the map once: its entries, at most `limit`, go through `pipe` (they
// are rendered on every core and written in walk order) while the walk builds
// the summary it returns. *offered: how many entries the walk offered (one
// past the limit when cut).
MapSummary walkEntries(const Program& p, const Type* type, uint64_t hdr, const WalkOptions& wo,
                       uint64_t limit, EntryPipeline& pipe, uint64_t* offered) {
  uint64_t n = 0;
  MapSummary s = walkMap(p, type, hdr, wo, [&](uint64_t k, uint64_t v) {
    if (n++ >= limit) return false;
    pipe.add(k, v);
    return true;
  });
  pipe.finish();
  *offered = n;
  return s;
}

}  // namespace

namespace {

// A sync.Map: its structure (read/dirty or the hash-trie), then the entries
// Range would visit, keys and values rendered by their dynamic types.
size_t reportSyncMap(Out& out, const Program& p, const Located& l, const Type* t, uint64_t addr,
                     const ReportOptions& o) {
  uint64_t limit = o.limit ? o.limit : UINT64_MAX;
  std::vector<std::pair<uint64_t, uint64_t>> slots;
  SyncMapSummary s = walkSyncMap(p, t, addr, [&](uint64_t k, uint64_t v) {
    if (slots.size() >= limit) return false;
    slots.emplace_back(k, v);
    return true;
  });
  if (!s.invalidHeader.empty())
    fail(ErrorKind::Corrupt, "{}: no sync.Map at {:#x}: {}", l.expr, addr, s.invalidHeader);
  const bool trie = s.impl == SyncMapSummary::Impl::HashTrie;
  ValueRenderer r(p, o.render);
  if (o.format == Format::Json) {
    JsonWriter w(out);
    JsonValueSink sink(w);
    w.beginObject();
    w.field("expr", l.expr);
    w.field("type", t->name);
    w.field("impl", syncMapImplName(s.impl));
    w.key("address");
    w.hex(addr);
    w.key("entries");
    w.beginArray();
    for (auto [k, v] : slots) {
      sink.entryKey();
      r.render(k, s.anyType, sink);
      sink.entryValue();
      r.render(v, s.anyType, sink);
      sink.endEntry();
    }
    w.endArray();
    w.field("shown", uint64_t(slots.size()));
    w.field("len", s.len);
    w.key("structure");
    w.beginObject();
    if (trie) {
      w.field("uninitialised", s.uninitialised);
      w.field("depth", s.depth);
      w.field("indirectNodes", s.indirectNodes);
      w.field("entryNodes", s.entryNodes);
      w.field("overflowEntries", s.overflowEntries);
    } else {
      w.field("readEntries", s.readSlots);
      w.field("dirtyEntries", s.dirtySlots);
      w.field("dirtyNil", s.dirtyNil);
      w.field("amended", s.amended);
      w.field("misses", s.misses);
      w.field("deleted", s.deleted);
      w.field("expunged", s.expunged);
    }
    w.endObject();
    w.key("footprint");
    w.beginObject();
    w.field("total", s.footprint);
    w.endObject();
    w.field("torn", s.torn);
    w.stringArray("problems", s.problems);
    w.endObject();
    w.newline();
    return s.problems.size();
  }
  out.print("{}  sync.Map at {:#x} ({})\n", l.expr, addr,
            trie ? "hash-trie, Go >= 1.24" : "read/dirty, Go <= 1.23");
  out.print("  {:<16}{} (what Range visits)\n", "len", s.len);
  if (trie) {
    out.print("  {:<16}{} levels, {} indirect nodes, {} entry nodes{}\n", "trie", s.depth,
              s.indirectNodes, s.entryNodes,
              s.overflowEntries ? fmt::format(" ({} in hash-collision chains)", s.overflowEntries)
                                : "");
  } else {
    out.print("  {:<16}{} entries{}\n", "read", s.readSlots, s.amended ? " (amended: dirty has more)" : "");
    out.print("  {:<16}{}\n", "dirty",
              s.dirtyNil ? std::string("nil") : fmt::format("{} entries", s.dirtySlots));
    out.print("  {:<16}{} (dirty is promoted to read when misses reach its len)\n", "misses",
              s.misses);
    if (s.deleted || s.expunged)
      out.print("  {:<16}{} deleted, {} expunged (not counted)\n", "removed", s.deleted,
                s.expunged);
  }
  out.print("  {:<16}{}\n", "footprint", humanBytes(s.footprint));
  if (s.torn) out.print("  {:<16}a store was in progress: the entries may be torn\n", "torn");
  out.print("  {:<16}{}{}\n", "entries", s.len,
            slots.size() < s.len ? fmt::format(" (showing {}; --limit 0 shows all)", slots.size())
                                 : "");
  TextValueSink sink(out);
  for (auto [k, v] : slots) {
    out.write("    ");
    sink.topLevelKey();
    r.render(k, s.anyType, sink);
    out.write(": ");
    sink.topLevelValue();
    r.render(v, s.anyType, sink);
    out.put('\n');
  }
  textProblems(out, s.problems);
  return s.problems.size();
}

}  // namespace

size_t reportMap(Out& out, const Program& p, const Located& l, const ReportOptions& o) {
  // A sync.Map (or a pointer to one) is a map too.
  if (auto sm = syncMapAt(p, l)) return reportSyncMap(out, p, l, sm->first, sm->second, o);
  // Not a structured binding: clang 14 cannot capture those in the lambdas below.
  const MapRef m = locatedMap(p, l);
  const Type* type = m.type;
  uint64_t hdr = m.header;
  WalkOptions wo;
  wo.buckets = o.buckets;
  uint64_t limit = o.limit ? o.limit : UINT64_MAX;
  if (o.format == Format::Json) {
    // One walk: the fields that need none come first, then the entries as
    // they are found, then everything the walk measured.
    MapImpl impl = mapImplOf(type);  // throws before anything is written
    JsonWriter w(out);
    w.beginObject();
    jsonIdentity(w, l, type, impl, hdr);
    w.key("entries");
    w.beginArray();
    uint64_t n = 0;
    MapSummary s;
    // GOMEMSCOPE_GENERIC_RENDER=1 turns the scalar fast path off (tests compare the two).
    const char* generic = std::getenv("GOMEMSCOPE_GENERIC_RENDER");
    bool fast = !(generic && std::string_view(generic) == "1");
    {
      EntryPipeline pipe(out, [&] { return std::make_unique<JsonEntries>(p, type, o.render, fast); },
                         renderThreads(p, type));
      s = walkEntries(p, type, hdr, wo, limit, pipe, &n);
    }
    w.endArray();
    w.field("shown", std::min<uint64_t>(n, std::min(limit, s.found)));
    jsonWalked(w, s);
    if (o.buckets) jsonBuckets(w, s);
    w.stringArray("problems", s.problems);
    w.endObject();
    w.newline();
    return s.problems.size();
  }
  // Text: people read the summary first, so the summary walk comes before
  // the entries' walk.
  MapSummary s = walkMap(p, type, hdr, wo, nullptr);
  textSummary(out, p, l, s);
  if (s.nil) return 0;
  textTables(out, s, o.buckets);
  if (o.buckets) textBuckets(out, s);
  uint64_t shown = std::min(limit, s.found);
  out.print("  {:<16}{}{}\n", "entries", s.found,
            shown < s.found ? fmt::format(" (showing {}; --limit 0 shows all)", shown) : "");
  {
    EntryPipeline pipe(out, [&] { return std::make_unique<TextEntries>(p, type, o.render); },
                       renderThreads(p, type));
    uint64_t n = 0;
    walkEntries(p, type, hdr, {}, limit, pipe, &n);
  }
  textProblems(out, s.problems);
  return s.problems.size();
}

// ---- lists ----

namespace {

// Renders the dynamic value held by the eface at valueAddr (its type is reported separately).
void renderDynamic(const Program& p, ValueRenderer& r, uint64_t valueAddr, ValueSink& sink) {
  InterfaceValue v = interfaceValue(p, valueAddr, false);
  if (!v.type) sink.nil();
  else if (!v.type->type) sink.unreadable(v.data, fmt::format("no DWARF type for {}", v.type->name));
  else r.render(v.valueAddr, v.type->type, sink);
}


}  // namespace

size_t reportList(Out& out, const Program& p, const Located& l, const ReportOptions& o) {
  ListRef lt = locatedList(p, l, o.links);
  const ListShape& shape = lt.shape;
  ValueRenderer r(p, o.render);
  if (!shape.efaceValue) r.linkFields(shape.elem, shape.linkFlags());
  uint64_t limit = o.limit ? o.limit : UINT64_MAX;
  // container/list and container/ring hold an `any`: its dynamic type and
  // value; other lists' elements are shown whole (their links as addresses).
  auto dynName = [&](uint64_t valueAddr) -> std::string {
    if (!shape.efaceValue) return shape.elem->name;
    InterfaceValue v = interfaceValue(p, valueAddr, false);
    return v.type ? v.type->name : "nil";
  };
  auto renderElement = [&](uint64_t valueAddr, ValueSink& sink) {
    if (shape.efaceValue) renderDynamic(p, r, valueAddr, sink);
    else r.render(valueAddr, shape.elem, sink);
  };
  if (lt.element) {
    const Type* any = shape.valueType;
    ElementState e = readElement(p, shape, lt.element);
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
    w.hex(lt.list);
    w.key("elements");
    w.beginArray();
    ListSummary s = walkList(p, shape, lt.list, [&](const ListElementRef& e) {
      if (n++ >= limit) return false;
      w.beginObject();
      w.key("address");
      w.hex(e.addr);
      w.field("type", dynName(e.valueAddr));
      w.key("value");
      renderElement(e.valueAddr, sink);
      w.endObject();
      return true;
    });
    w.endArray();
    if (!shape.containerList()) w.field("shape", shape.describe());
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
  ListSummary s = walkList(p, shape, lt.list, nullptr);
  out.print("{}  {} at {:#x}\n", l.expr, shape.describe(), lt.list);
  out.print("  {:<16}{}{}{}\n", "len", s.len,
            s.hasLen ? "" : " (elements found: the list keeps no length)",
            s.lazyZero ? " (zero value, never initialised)" : "");
  out.print("  {:<16}{} ({} elements)\n", "footprint", humanBytes(s.footprint), s.found);
  uint64_t shown = std::min(limit, s.found);
  out.print("  {:<16}{}{}\n", "elements", s.found,
            shown < s.found ? fmt::format(" (showing {}; --limit 0 shows all)", shown) : "");
  TextValueSink sink(out);
  const Type* valueType = shape.efaceValue ? shape.elem->field("Value")->type : shape.elem;
  walkList(p, shape, lt.list, [&](const ListElementRef& e) {
    if (n >= limit) return false;
    out.print("    [{}] {:#x}  ", n++, e.addr);
    r.render(e.valueAddr, valueType, sink);
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
