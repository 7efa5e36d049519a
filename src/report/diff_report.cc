#include "report/diff_report.h"

#include <algorithm>
#include <cstdlib>

#include "report/json_writer.h"

namespace gms {

namespace {

const char* kindName(FoundKind k) {
  return k == FoundKind::Map ? "map" : k == FoundKind::SyncMap ? "sync.Map" : "list";
}

std::string signedCount(int64_t v) { return v > 0 ? fmt::format("+{}", v) : fmt::format("{}", v); }

std::string signedBytes(int64_t v) {
  if (v == 0) return "0 B";
  return (v > 0 ? "+" : "-") + humanBytes(uint64_t(std::llabs(v)));
}

const MemStatsDelta* field(const Diff& d, const char* name) {
  for (const auto& m : d.memstats)
    if (m.name == name) return &m;
  return nullptr;
}

void sideJson(JsonWriter& w, const char* key, const std::string& target,
              const std::optional<double>& t) {
  w.key(key);
  w.beginObject();
  w.field("target", target);
  w.key("time");
  if (t)
    w.number(*t);
  else
    w.null();
  w.endObject();
}

void pairJson(JsonWriter& w, const char* key, const DiffItem& x, uint64_t b, uint64_t a, bool hex) {
  bool hasB = x.status != DiffStatus::New, hasA = x.status != DiffStatus::Vanished;
  w.key(key);
  w.beginObject();
  w.key("before");
  if (!hasB)
    w.null();
  else if (hex)
    w.hex(b);
  else
    w.uinteger(b);
  w.key("after");
  if (!hasA)
    w.null();
  else if (hex)
    w.hex(a);
  else
    w.uinteger(a);
  if (!hex) w.field("delta", int64_t(a) - int64_t(b));
  w.endObject();
}

void reportJson(Out& o, const Diff& d) {
  JsonWriter w(o);
  w.beginObject();
  sideJson(w, "before", d.before, d.beforeTime);
  sideJson(w, "after", d.after, d.afterTime);
  w.key("seconds");
  if (d.seconds)
    w.number(*d.seconds);
  else
    w.null();
  w.key("maps");
  w.beginArray();
  for (const auto& x : d.items) {
    w.beginObject();
    w.field("path", x.path.display());
    if (!x.beforePath.empty()) w.field("beforePath", x.beforePath.display());
    w.field("type", x.typeName);
    w.field("kind", std::string(kindName(x.kind)));
    w.field("status", std::string(diffStatusName(x.status)));
    if (x.status != DiffStatus::New && x.status != DiffStatus::Vanished)
      w.field("matchedBy", std::string(x.matchedByAddress ? "address" : "path"));
    pairJson(w, "address", x, x.addrBefore, x.addrAfter, true);
    pairJson(w, "len", x, x.lenBefore, x.lenAfter, false);
    pairJson(w, "footprint", x, x.footprintBefore, x.footprintAfter, false);
    if (d.pages.available) {
      w.field("pagesChanged", x.pagesChanged);
      w.field("pagesRetainedChanged", x.pagesRetainedChanged);
    }
    w.endObject();
  }
  w.endArray();
  if (!d.itemsUnavailable.empty()) w.field("itemsUnavailable", d.itemsUnavailable);
  w.key("memstats");
  if (!d.memstatsAvailable) {
    w.null();
    w.field("memstatsError", d.memstatsError);
  } else {
    w.beginObject();
    for (const auto& m : d.memstats) {
      w.key(m.name);
      w.beginObject();
      if (m.integer) {
        w.field("before", m.before);
        w.field("after", m.after);
        w.field("delta", m.delta());
      } else {
        w.field("before", m.fbefore);
        w.field("after", m.fafter);
        w.field("delta", m.fafter - m.fbefore);
      }
      w.endObject();
    }
    w.endObject();
    if (d.seconds && *d.seconds > 0) {
      const auto *mallocs = field(d, "Mallocs"), *total = field(d, "TotalAlloc"),
                 *gcs = field(d, "NumGC");
      w.key("rates");
      w.beginObject();
      w.field("allocsPerSecond", double(mallocs->delta()) / *d.seconds);
      w.field("bytesPerSecond", double(total->delta()) / *d.seconds);
      w.field("gcPerMinute", double(gcs->delta()) * 60 / *d.seconds);
      w.endObject();
    }
  }
  w.key("pages");
  if (!d.pages.available) {
    w.null();
  } else {
    const auto& p = d.pages;
    w.beginObject();
    w.field("pageSize", kDiffPageSize);
    w.field("compared", p.compared);
    w.field("changed", p.changed);
    w.field("added", p.added);
    w.field("removed", p.removed);
    w.field("unreadable", p.unreadable);
    w.key("attributed");
    w.beginObject();
    w.field("maps", p.attributed.maps);
    w.field("lists", p.attributed.lists);
    w.field("stacks", p.attributed.stacks);
    w.field("globals", p.attributed.globals);
    w.field("otherHeap", p.attributed.otherAnonymous);
    w.field("other", p.attributed.other);
    w.endObject();
    w.endObject();
  }
  w.endObject();
  w.newline();
}

void reportText(Out& o, const Diff& d, bool all) {
  o.print("diff {} -> {}", d.before, d.after);
  if (d.seconds) o.print(" ({:.1f} s apart)", *d.seconds);
  o.print("\n");
  uint64_t changed = d.changedItems();
  uint64_t unchanged = d.items.size() - changed;
  if (!d.itemsUnavailable.empty())
    o.print("maps and lists: not compared ({})\n", d.itemsUnavailable);
  else
    o.print("maps and lists: {} changed, {} unchanged{}\n", changed, unchanged,
            unchanged && !all ? " (--all shows them)" : "");
  struct Row {
    std::string status, len, fp, pages, path, type;
  };
  std::vector<Row> rows;
  rows.push_back({"status", "len before -> after (delta)", "footprint before -> after (delta)",
                  d.pages.available ? "pages" : "", "path", "type"});
  for (const auto& x : d.items) {
    if (!all && x.status == DiffStatus::Unchanged) continue;
    bool hasB = x.status != DiffStatus::New, hasA = x.status != DiffStatus::Vanished;
    Row r;
    r.status = diffStatusName(x.status);
    r.len = fmt::format("{} -> {} ({})", hasB ? std::to_string(x.lenBefore) : "-",
                        hasA ? std::to_string(x.lenAfter) : "-", signedCount(x.lenDelta()));
    r.fp = fmt::format("{} -> {} ({})", hasB ? humanBytes(x.footprintBefore) : "-",
                       hasA ? humanBytes(x.footprintAfter) : "-", signedBytes(x.footprintDelta()));
    if (d.pages.available)
      r.pages = x.pagesRetainedChanged && x.status == DiffStatus::Shrunk
                    ? fmt::format("{} ({} kept)", x.pagesChanged, x.pagesRetainedChanged)
                    : std::to_string(x.pagesChanged);
    r.path = x.path.display() +
             (x.beforePath.empty() ? "" : fmt::format(" (was {})", x.beforePath.display()));
    r.type = x.typeName;
    rows.push_back(std::move(r));
  }
  if (rows.size() > 1) {
    size_t w0 = 0, w1 = 0, w2 = 0, w3 = 0, w4 = 0;
    for (const auto& r : rows) {
      w0 = std::max(w0, r.status.size());
      w1 = std::max(w1, r.len.size());
      w2 = std::max(w2, r.fp.size());
      w3 = std::max(w3, r.pages.size());
      w4 = std::max(w4, r.path.size());
    }
    for (const auto& r : rows)
      o.print("  {:<{}}  {:>{}}  {:>{}}  {:>{}}  {:<{}}  {}\n", r.status, w0, r.len, w1, r.fp, w2,
              r.pages, w3, r.path, w4, r.type);
  }
  if (!d.memstatsAvailable) {
    o.print("memstats: not compared ({})\n", d.memstatsError);
  } else {
    std::vector<const MemStatsDelta*> ch;
    for (const auto& m : d.memstats)
      if (m.changed()) ch.push_back(&m);
    o.print("memstats: {} of {} fields changed\n", ch.size(), d.memstats.size());
    size_t wn = 0;
    for (auto* m : ch) wn = std::max(wn, m->name.size());
    for (auto* m : ch) {
      if (!m->integer) {
        o.print("  {:<{}}  {:.6f} -> {:.6f}\n", m->name, wn, m->fbefore, m->fafter);
      } else if (m->unit == MemStatsUnit::Bytes) {
        o.print("  {:<{}}  {} -> {} ({})\n", m->name, wn, humanBytes(m->before),
                humanBytes(m->after), signedBytes(m->delta()));
      } else {
        o.print("  {:<{}}  {} -> {} ({})\n", m->name, wn, m->before, m->after,
                signedCount(m->delta()));
      }
    }
    if (d.seconds && *d.seconds > 0) {
      const auto *mallocs = field(d, "Mallocs"), *total = field(d, "TotalAlloc"),
                 *gcs = field(d, "NumGC");
      o.print("  rates: {:.0f} allocs/s, {}/s, {:.1f} GC/min\n",
              double(mallocs->delta()) / *d.seconds,
              humanBytes(uint64_t(std::max<double>(0, double(total->delta()) / *d.seconds))),
              double(gcs->delta()) * 60 / *d.seconds);
    }
  }
  if (!d.pages.available) {
    o.print("pages: not compared (--no-pages)\n");
  } else {
    const auto& p = d.pages;
    const auto& a = p.attributed;
    o.print("pages: {} of 4 KiB compared ({}): {} changed, {} added, {} removed{}\n", p.compared,
            humanBytes(p.bytesCompared()), p.changed, p.added, p.removed,
            p.unreadable ? fmt::format(", {} unreadable", p.unreadable) : "");
    o.print(
        "  attributed to: maps {}, lists {}, goroutine stacks {}, globals {}, other heap {}, other "
        "{}\n",
        a.maps, a.lists, a.stacks, a.globals, a.otherAnonymous, a.other);
  }
}

}  // namespace

void reportDiff(Out& out, const Diff& d, Format f, bool all) {
  if (f == Format::Json)
    reportJson(out, d);
  else
    reportText(out, d, all);
}

}  // namespace gms
