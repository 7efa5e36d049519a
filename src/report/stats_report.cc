#include "report/stats_report.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>

#include "report/reports.h"

namespace gms {

void writeMemStatsJson(JsonWriter& w, const MemStats& m, bool withPauses) {
  w.beginObject();
  for (const auto& f : memStatsScalars())
    if (!f.afterPauses) w.field(f.name, f.get(m));
  if (withPauses) {
    w.key("PauseNs");
    w.beginArray();
    for (uint64_t v : m.PauseNs) w.uinteger(v);
    w.endArray();
    w.key("PauseEnd");
    w.beginArray();
    for (uint64_t v : m.PauseEnd) w.uinteger(v);
    w.endArray();
  }
  for (const auto& f : memStatsScalars())
    if (f.afterPauses) w.field(f.name, f.get(m));
  w.field("GCCPUFraction", m.GCCPUFraction);
  w.field("EnableGC", m.EnableGC);
  w.field("DebugGC", m.DebugGC);
  w.key("BySize");
  w.beginArray();
  for (const auto& c : m.BySize) {
    w.beginObject();
    w.field("Size", uint64_t(c.Size));
    w.field("Mallocs", c.Mallocs);
    w.field("Frees", c.Frees);
    w.endObject();
  }
  w.endArray();
  const auto& e = m.extras;
  w.key("extras");
  w.beginObject();
  w.field("tinyAllocs", e.tinyAllocs);
  w.field("smallAllocs", e.smallAllocs);
  w.field("smallAllocBytes", e.smallAllocBytes);
  w.field("smallFrees", e.smallFrees);
  w.field("smallFreeBytes", e.smallFreeBytes);
  w.field("largeAllocs", e.largeAllocs);
  w.field("largeAllocBytes", e.largeAllocBytes);
  w.field("largeFrees", e.largeFrees);
  w.field("largeFreeBytes", e.largeFreeBytes);
  w.field("procs", uint64_t(e.procs));
  w.field("cachedSpans", e.cachedSpans);
  w.field("unflushedTinyAllocs", e.unflushedTinyAllocs);
  w.field("unflushedSmallAllocs", e.unflushedSmallAllocs);
  w.field("unflushedSmallBytes", e.unflushedSmallBytes);
  w.field("gcPercent", int64_t(e.gcPercent));
  w.field("memoryLimit", e.memoryLimit);
  w.field("heapMarked", e.heapMarked);
  w.field("heapLive", e.heapLive);
  w.field("gcPercentHeapGoal", e.gcPercentHeapGoal);
  w.field("memoryLimitHeapGoal", e.memoryLimitHeapGoal);
  w.field("goalFromMemoryLimit", e.goalFromMemoryLimit);
  w.field("mappedReady", e.mappedReady);
  w.field("lastPauseNs", e.lastPauseNs);
  w.field("layout", e.layout);
  w.stringArray("notes", e.notes);
  w.endObject();
  w.endObject();
}

namespace {
std::string count(uint64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); i++) {
    if (i && (s.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(s[i]);
  }
  return out;
}
std::string duration(uint64_t ns) {
  if (ns < 1000) return fmt::format("{} ns", ns);
  if (ns < 1000000) return fmt::format("{:.1f} µs", ns / 1e3);
  if (ns < 1000000000) return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}
}  // namespace

void reportMemStatsText(Out& o, const MemStats& m, const std::string& target) {
  const auto& e = m.extras;
  o.print("memstats of {} (as runtime.ReadMemStats would report now)\n", target);
  o.print("  {:<13}HeapAlloc {} in {} objects; HeapInuse {}, HeapIdle {} (released {}), HeapSys {}\n",
          "heap", humanBytes(m.HeapAlloc), count(m.HeapObjects), humanBytes(m.HeapInuse),
          humanBytes(m.HeapIdle), humanBytes(m.HeapReleased), humanBytes(m.HeapSys));
  o.print("  {:<13}TotalAlloc {}, Mallocs {}, Frees {}\n", "cumulative", humanBytes(m.TotalAlloc),
          count(m.Mallocs), count(m.Frees));
  o.print("  {:<13}tiny {} (packed into 16 B blocks), small {} ({}), large {} ({})\n", "allocations",
          count(e.tinyAllocs), count(e.smallAllocs), humanBytes(e.smallAllocBytes), count(e.largeAllocs),
          humanBytes(e.largeAllocBytes));
  std::string limit = e.memoryLimit == INT64_MAX ? "none" : humanBytes(uint64_t(e.memoryLimit));
  o.print("  {:<13}NumGC {} (forced {}), last pause {}, total pauses {}, GC CPU {:.3f}%\n", "gc", m.NumGC,
          m.NumForcedGC, duration(e.lastPauseNs), duration(m.PauseTotalNs), m.GCCPUFraction * 100);
  o.print("  {:<13}NextGC {} ({}), GOGC {}, memory limit {}\n", "pacer", humanBytes(m.NextGC),
          e.goalFromMemoryLimit ? "set by the memory limit" : "set by GOGC",
          e.gcPercent < 0 ? std::string("off") : std::to_string(e.gcPercent), limit);
  o.print("  {:<13}Sys {} = heap {}, stacks {}, mspan {}, mcache {}, buckhash {}, gc {}, other {}\n",
          "from the OS", humanBytes(m.Sys), humanBytes(m.HeapSys), humanBytes(m.StackSys),
          humanBytes(m.MSpanSys), humanBytes(m.MCacheSys), humanBytes(m.BuckHashSys),
          humanBytes(m.GCSys), humanBytes(m.OtherSys));
  o.print("  {:<13}{} Ps flushed: {} cached spans, +{} tiny, +{} small allocations not yet in the totals\n",
          "mcaches", e.procs, e.cachedSpans, count(e.unflushedTinyAllocs), count(e.unflushedSmallAllocs));
  // The size classes holding the most live bytes.
  std::vector<MemStatsSizeClass> cls(m.BySize.begin(), m.BySize.end());
  if (!e.sizeClasses.empty()) cls = e.sizeClasses;
  std::sort(cls.begin(), cls.end(), [](const auto& a, const auto& b) {
    return (a.Mallocs - std::min(a.Mallocs, a.Frees)) * a.Size > (b.Mallocs - std::min(b.Mallocs, b.Frees)) * b.Size;
  });
  o.print("  size classes by live bytes (small objects):\n");
  o.print("    {:>7} {:>12} {:>12} {:>12} {:>10}\n", "size", "mallocs", "frees", "live", "live bytes");
  int shown = 0;
  for (const auto& c : cls) {
    if (c.Size == 0 || c.Mallocs <= c.Frees || shown == 12) continue;
    uint64_t live = c.Mallocs - c.Frees;
    o.print("    {:>7} {:>12} {:>12} {:>12} {:>10}\n", c.Size, count(c.Mallocs), count(c.Frees),
            count(live), humanBytes(live * c.Size));
    shown++;
  }
  if (!e.layout.empty() && e.layout != "DWARF") o.print("  {:<13}{}\n", "layouts", e.layout);
  for (const auto& n : e.notes) o.print("  note: {}\n", n);
}

}  // namespace gms
