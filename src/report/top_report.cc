#include "report/top_report.h"

#include <algorithm>

#include "report/json_writer.h"

namespace gms {

namespace {

const char* kindName(FoundKind k) {
  return k == FoundKind::Map ? "map" : k == FoundKind::SyncMap ? "sync.Map" : "list";
}

// " (or map[int64]int64, ...)": the other types a map recognised by its
// shape decodes as (at most 2 named).
std::string candidatesText(const Found& f) {
  if (f.candidates.empty()) return "";
  std::string s = " (or ";
  for (size_t i = 0; i < f.candidates.size() && i < 2; i++) s += (i ? ", " : "") + f.candidates[i];
  if (f.candidates.size() > 2) s += fmt::format(", +{}", f.candidates.size() - 2);
  return s + ")";
}

std::string growthText(const Found& f) {
  if (f.kind != FoundKind::Map) return "-";
  if (f.shape.growing) return f.shape.sameSizeGrow ? "same-size" : "growing";
  return "-";
}

std::string csvQuote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

void planJson(JsonWriter& w, const MapPlan& p) {
  w.beginObject();
  if (p.hint)
    w.field("hint", *p.hint);
  else {
    w.key("hint");
    w.null();
  }
  w.field("totalBytes", p.total());
  w.field("liveBytes", p.live());
  w.field("exact", p.exact);
  w.field("stddevBytes", p.stddevBytes);
  w.field("B", uint64_t(p.B));
  w.field("buckets", p.buckets);
  w.field("spareOverflow", p.spareOverflow);
  w.field("overflowBuckets", p.overflowBuckets);
  w.field("growths", uint64_t(p.growths));
  w.field("small", p.small);
  w.field("dirLen", p.dirLen);
  w.field("tables", p.tables);
  w.field("groups", p.groups);
  w.field("capacity", p.capacity);
  w.field("grows", p.grows);
  w.field("splits", p.splits);
  w.key("allocations");
  w.beginArray();
  for (const auto& i : p.items) {
    w.beginObject();
    w.field("what", i.what);
    w.field("count", i.count);
    w.field("each", i.each);
    w.field("bytes", i.bytes);
    w.field("liveBytes", i.liveBytes);
    w.field("estimated", i.estimated);
    w.endObject();
  }
  w.endArray();
  w.endObject();
}

std::string planText(const MapAdvice& a, const MapPlan& p) {
  std::string s;
  if (a.shape.impl == MapImpl::Classic) {
    s = p.buckets ? fmt::format("B={} ({} buckets + {} spare overflow), {} growth{}", p.B,
                                p.buckets, p.spareOverflow, p.growths, p.growths == 1 ? "" : "s")
                  : std::string("no buckets yet");
    if (p.overflowBuckets >= 0.5) s += fmt::format(", ~{:.0f} overflow buckets", p.overflowBuckets);
  } else if (p.small) {
    s = "small map: one 8-slot group";
  } else {
    s = fmt::format(
        "directory {:.0f}, {:.0f} tables, {:.0f} groups ({:.0f} slots), {:.0f} grows, {:.0f} "
        "splits",
        p.dirLen, p.tables, p.groups, p.capacity, p.grows, p.splits);
  }
  return s;
}

}  // namespace

void reportTop(Out& o, const Discovery& d, const std::string& target, TopFormat f, uint64_t limit) {
  const auto& st = d.stats;
  size_t n = limit ? std::min<size_t>(limit, d.items.size()) : d.items.size();
  if (f == TopFormat::Json) {
    JsonWriter w(o);
    w.beginObject();
    w.field("target", target);
    w.key("items");
    w.beginArray();
    for (size_t i = 0; i < n; i++) {
      const Found& x = d.items[i];
      w.beginObject();
      w.field("path", x.path.display());
      w.field("kind", std::string(kindName(x.kind)));
      w.field("type", x.typeName);
      if (x.byShape) {
        // Without DWARF: a map recognised by its shape (goruntime/recognize.h).
        w.field("typeExact", x.typeExact);
        w.key("candidates");
        w.beginArray();
        for (const std::string& c : x.candidates) w.string(c);
        w.endArray();
      }
      w.key("address");
      w.hex(x.addr);
      w.field("len", x.len);
      w.field("found", x.found);
      w.field("footprint", x.footprint);
      if (x.retained) w.field("retained", *x.retained);
      if (x.kind == FoundKind::Map) {
        const MapShape& m = x.shape;
        w.field("impl", std::string(mapImplName(m.impl)));
        w.field("loadFactor", m.loadFactor());
        w.field("load", m.load());
        w.field("buckets", m.impl == MapImpl::Classic ? m.nbuckets : m.capacity);
        w.field("overflowBuckets", m.overflowBuckets);
        w.field("tombstones", m.tombstones);
        w.field("growing", m.growing);
        w.field("torn", m.torn);
      }
      w.field("problems", x.problems);
      if (!x.firstProblem.empty()) w.field("firstProblem", x.firstProblem);
      w.field("otherRefs", x.otherRefs);
      w.endObject();
    }
    w.endArray();
    w.key("stats");
    w.beginObject();
    w.field("globals", st.globals);
    w.field("globalsSkipped", st.globalsSkipped);
    w.field("goroutines", st.goroutines);
    w.field("stackVars", st.stackVars);
    w.field("stackVarsUnavailable", st.stackVarsUnavailable);
    w.field("staleStackValues", st.staleStackValues);
    w.field("heapObjects", st.heapObjects);
    w.field("heapRoots", st.heapRoots);
    if (st.untypedObjects) w.field("untypedObjects", st.untypedObjects);
    if (st.plumbingMaps) w.field("plumbingMaps", st.plumbingMaps);
    if (st.unknownMaps) w.field("unknownMaps", st.unknownMaps);
    if (st.stackFrames || st.stackFramesWhole) {
      w.field("stackFrames", st.stackFrames);
      w.field("stackFramesWhole", st.stackFramesWhole);
    }
    if (!st.heapNote.empty()) w.field("heapNote", st.heapNote);
    if (!st.retainedNote.empty()) w.field("retainedNote", st.retainedNote);
    w.field("objects", st.objects);
    w.field("bytesRead", st.bytesRead);
    w.field("maps", st.maps);
    w.field("lists", st.lists);
    w.field("errors", st.errors);
    w.field("seconds", std::chrono::duration<double>(st.elapsed).count());
    w.field("budgetHit", st.budgetHit);
    if (st.budgetHit) w.field("budgetReason", st.budgetReason);
    w.endObject();
    w.key("errors");
    w.beginArray();
    for (const auto& e : d.errors) {
      w.beginObject();
      w.field("path", e.path);
      w.field("message", e.message);
      w.endObject();
    }
    w.endArray();
    w.endObject();
    w.newline();
    return;
  }
  if (f == TopFormat::Csv) {
    o.print(
        "rank,kind,path,type,address,len,footprint,impl,load,overflow_buckets,tombstones,growing,"
        "problems\n");
    for (size_t i = 0; i < n; i++) {
      const Found& x = d.items[i];
      bool m = x.kind == FoundKind::Map;
      o.print("{},{},{},{},{:#x},{},{},{},{:.3f},{},{},{},{}\n", i + 1, kindName(x.kind),
              csvQuote(x.path.display()), csvQuote(x.typeName), x.addr, x.len, x.footprint,
              m ? mapImplName(x.shape.impl) : "", m ? x.shape.load() : 0.0, x.shape.overflowBuckets,
              x.shape.tombstones, x.shape.growing ? 1 : 0, x.problems);
    }
    return;
  }
  o.print(
      "{}: {} maps and {} lists reachable from {} globals, {} locals of {} goroutines and {} "
      "typed heap objects ({} objects visited, {} read, {:.2f} s){}\n",
      target, st.maps, st.lists, st.globals, st.stackVars, st.goroutines, st.heapRoots, st.objects,
      humanBytes(st.bytesRead), std::chrono::duration<double>(st.elapsed).count(),
      st.budgetHit ? fmt::format(" — budget hit ({}): results are partial", st.budgetReason) : "");
  // A retained column when sizes were computed (top --retained).
  const bool retained = std::any_of(d.items.begin(), d.items.end(),
                                    [](const Found& x) { return x.retained.has_value(); });
  auto retainedCell = [&](const Found& x) -> std::string {
    if (!retained) return "";
    return fmt::format("{:>10}  ", x.retained ? humanBytes(*x.retained) : "-");
  };
  o.print("  {:>3}  {:>10}  {}{:<8}  {:>9}  {:<7} {:>5}  {:<9}  {:<40}  {}\n", "#", "footprint",
          retained ? fmt::format("{:>10}  ", "retained") : "", "kind", "len", "impl", "load",
          "growth", "path", "type");
  for (size_t i = 0; i < n; i++) {
    const Found& x = d.items[i];
    bool m = x.kind == FoundKind::Map;
    o.print("  {:>3}  {:>10}  {}{:<8}  {:>9}  {:<7} {:>5}  {:<9}  {:<40}  {}{}{}\n", i + 1,
            humanBytes(x.footprint), retainedCell(x), kindName(x.kind), x.len,
            m ? mapImplName(x.shape.impl) : "", m ? fmt::format("{:.2f}", x.shape.load()) : "",
            growthText(x), x.path.display(), x.typeName + candidatesText(x),
            x.otherRefs ? fmt::format("  (+{} refs)", x.otherRefs) : "",
            x.problems ? fmt::format("  [{} problems: {}]", x.problems, x.firstProblem) : "");
  }
  if (n < d.items.size()) o.print("  ... {} more (--limit 0 shows all)\n", d.items.size() - n);
  if (n)
    o.print(
        "  load: how full each map is against the load it grows at (1.00; classic 6.5 per bucket, "
        "Swiss 7/8 of a table)\n");
  if (!st.heapNote.empty()) o.print("  heap: {}\n", st.heapNote);
  if (retained)
    o.print(
        "  retained: the bytes freed with the map's header or the list's own object (what only "
        "it keeps alive); - where it is not a heap object of its own\n");
  if (!st.retainedNote.empty()) o.print("  retained sizes: {}\n", st.retainedNote);
  if (st.untypedObjects)
    o.print(
        "  without DWARF, maps and lists were recognised by their shape in .data/.bss and {} "
        "untyped heap objects; a map's type is the first that decodes it (\"or\": others that "
        "do too){}\n",
        st.untypedObjects,
        st.plumbingMaps ? fmt::format("; {} maps of the runtime's types left out", st.plumbingMaps)
                        : "");
  if (st.unknownMaps)
    o.print(
        "  {} empty map{} never written: no bucket or group tells {} key and value types ({})\n",
        st.unknownMaps, st.unknownMaps == 1 ? "" : "s", st.unknownMaps == 1 ? "its" : "their",
        kUnknownMapName);
  if (st.errors) o.print("  {} objects could not be read (--format json lists them)\n", st.errors);
}

void reportAdvice(Out& o, const std::vector<MapAdvice>& advice, const std::string& title,
                  Format f) {
  if (f == Format::Json) {
    JsonWriter w(o);
    w.beginObject();
    w.field("question", title);
    w.key("advice");
    w.beginArray();
    for (const auto& a : advice) {
      w.beginObject();
      w.field("impl", std::string(mapImplName(a.shape.impl)));
      w.field("goMinor", int64_t(a.shape.goMinor));
      w.field("keys", a.keys);
      w.key("layout");
      w.beginObject();
      w.field("indirectKey", a.layout.indirectKey);
      w.field("indirectValue", a.layout.indirectValue);
      w.field("bucketSize", a.layout.bucketSize);
      w.field("groupSize", a.layout.groupSize);
      w.field("slotSize", a.layout.slotSize);
      w.endObject();
      w.key("withoutHint");
      planJson(w, a.withoutHint);
      w.key("withHint");
      planJson(w, a.withHint);
      w.field("recommendedHint", a.recommendedHint);
      w.field("bytesSaved", a.bytesSaved);
      w.stringArray("notes", a.notes);
      w.endObject();
    }
    w.endArray();
    w.endObject();
    w.newline();
    return;
  }
  o.print("{}\n", title);
  for (const auto& a : advice) {
    o.print("  {} maps (Go 1.{} layout{}):\n", mapImplName(a.shape.impl), a.shape.goMinor,
            a.layout.indirectKey || a.layout.indirectValue
                ? ", keys/values over 128 B stored out of line"
                : "");
    auto line = [&](const char* label, const MapPlan& p) {
      o.print("    {:<27}{} allocated in total{}, {} live at the end; {}\n", label,
              humanBytes(p.total()),
              p.exact ? "" : fmt::format(" (±{})", humanBytes(uint64_t(p.stddevBytes))),
              humanBytes(p.live()), planText(a, p));
    };
    line("make(map[K]V)", a.withoutHint);
    line(fmt::format("make(map[K]V, {})", a.withHint.hint.value_or(0)).c_str(), a.withHint);
    o.print(
        "    {:<27}{} — saves {} of allocation{}\n", "recommended hint", a.recommendedHint,
        humanBytes(uint64_t(std::max(0.0, a.bytesSaved))),
        a.withoutHint.growths || a.withoutHint.grows >= 1
            ? fmt::format(" and ~{:.0f} rehashes", a.shape.impl == MapImpl::Classic
                                                       ? double(a.withoutHint.growths)
                                                       : a.withoutHint.grows + a.withoutHint.splits)
            : "");
    for (const auto& n : a.notes) o.print("    note: {}\n", n);
  }
}

}  // namespace gms
