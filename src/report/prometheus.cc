#include "report/prometheus.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace gms {

std::string promEscapeLabel(std::string_view v) {
  std::string o;
  o.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      o += "\\\\";
    else if (c == '"')
      o += "\\\"";
    else if (c == '\n')
      o += "\\n";
    else
      o.push_back(c);
  }
  return o;
}

std::string promEscapeHelp(std::string_view v) {
  std::string o;
  o.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      o += "\\\\";
    else if (c == '\n')
      o += "\\n";
    else
      o.push_back(c);
  }
  return o;
}

std::string promNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

namespace {

bool nameChar(char c, bool first, bool colon) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

bool validName(std::string_view n, bool colon) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); i++)
    if (!nameChar(n[i], i == 0, colon)) return false;
  return true;
}

const char* typeName(PromType t) {
  switch (t) {
    case PromType::Gauge:
      return "gauge";
    case PromType::Counter:
      return "counter";
    case PromType::Summary:
      return "summary";
    case PromType::Untyped:
      break;
  }
  return "untyped";
}

}  // namespace

bool promValidMetricName(std::string_view n) { return validName(n, true); }
bool promValidLabelName(std::string_view n) {
  return validName(n, false) && n.substr(0, 2) != "__";
}

void PromWriter::family(std::string_view name, PromType type, std::string_view help) {
  if (!promValidMetricName(name)) throw std::logic_error(fmt::format("bad metric name '{}'", name));
  if (std::find(seen_.begin(), seen_.end(), name) != seen_.end())
    throw std::logic_error(fmt::format("metric family '{}' written twice", name));
  seen_.emplace_back(name);
  name_ = name;
  help_ = help;
  type_ = type;
  headerDone_ = false;
}

void PromWriter::line(const std::vector<PromLabel>& labels, std::string_view value,
                      std::string_view suffix) {
  if (name_.empty()) throw std::logic_error("sample before family");
  if (!headerDone_) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, promEscapeHelp(help_), name_,
                        typeName(type_));
    headerDone_ = true;
  }
  out_ += name_;
  out_ += suffix;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& l : labels) {
      if (!promValidLabelName(l.name))
        throw std::logic_error(fmt::format("bad label name '{}'", l.name));
      if (!first) out_ += ',';
      first = false;
      out_ += l.name;
      out_ += "=\"";
      out_ += promEscapeLabel(l.value);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void PromWriter::sample(const std::vector<PromLabel>& labels, double v, std::string_view suffix) {
  line(labels, promNumber(v), suffix);
}

void PromWriter::sample(const std::vector<PromLabel>& labels, uint64_t v, std::string_view suffix) {
  line(labels, fmt::format("{}", v), suffix);
}

PromMap promMapOf(const std::string& expr, const MapSummary& s) {
  PromMap m;
  m.expr = expr;
  m.type = s.type ? s.type->name : "";
  m.len = s.len;
  m.footprint = s.footprint.total();
  m.shape = shapeOf(s);
  m.problems = s.problems.size();
  return m;
}

PromMap promMapOf(const std::string& expr, const SyncMapSummary& s) {
  PromMap m;
  m.expr = expr;
  m.type = "sync.Map";
  m.syncMap = true;
  m.len = s.len;
  m.footprint = s.footprint;
  m.problems = s.problems.size();
  return m;
}

PromList promListOf(const std::string& expr, const ListSummary& s) {
  PromList l;
  l.expr = expr;
  l.len = s.len;
  l.found = s.found;
  l.footprint = s.footprint;
  l.problems = s.problems.size();
  return l;
}

namespace {

using G = PromType;

// Every runtime.MemStats field but the arrays, under client_golang's names.
void writeMemStats(PromWriter& w, const MemStats& m) {
  for (const auto& f : memStatsScalars()) {
    if (!f.prometheus) continue;
    w.family(f.prometheus, f.cumulative ? G::Counter : G::Gauge, f.help);
    w.sample(f.get(m));
  }
  w.family(
      "go_memstats_last_gc_time_seconds", G::Gauge,
      "Number of seconds since 1970 of last garbage collection (MemStats.LastGC; 0: none yet).");
  w.sample(double(m.LastGC) / 1e9);
  w.family("go_memstats_gc_cpu_fraction", G::Gauge,
           "The fraction of this program's available CPU time used by the GC since the program "
           "started (MemStats.GCCPUFraction).");
  w.sample(m.GCCPUFraction);

  // As client_golang: min, quartiles and max of the most recent pauses (up
  // to 256, what MemStats.PauseNs keeps), _sum = PauseTotalNs, _count = NumGC.
  std::vector<uint64_t> pauses;
  uint32_t n = std::min<uint32_t>(m.NumGC, 256);
  for (uint32_t i = 0; i < n; i++) pauses.push_back(m.PauseNs[(m.NumGC - 1 - i) % 256]);
  std::sort(pauses.begin(), pauses.end());
  w.family("go_gc_duration_seconds", G::Summary,
           "A summary of the pause duration of garbage collection cycles (MemStats.PauseNs, "
           "PauseTotalNs, NumGC).");
  const char* qs[] = {"0", "0.25", "0.5", "0.75", "1"};
  for (size_t i = 0; i < 5; i++) {
    double v = 0;
    if (!pauses.empty())
      v = double(pauses[i == 4 ? pauses.size() - 1 : pauses.size() * i / 4]) / 1e9;
    w.sample({{"quantile", qs[i]}}, v);
  }
  w.sample({}, double(m.PauseTotalNs) / 1e9, "_sum");
  w.sample({}, uint64_t(m.NumGC), "_count");
  w.family("go_gc_cycles_total", G::Counter, "Completed GC cycles (MemStats.NumGC).");
  w.sample(uint64_t(m.NumGC));
  w.family("go_gc_cycles_forced_total", G::Counter,
           "GC cycles forced by the application calling runtime.GC (MemStats.NumForcedGC).");
  w.sample(uint64_t(m.NumForcedGC));

  w.family("go_gc_gogc_percent", G::Gauge, "Heap size target percentage (GOGC; -1: GC off).");
  w.sample(double(m.extras.gcPercent));
  w.family("go_gc_gomemlimit_bytes", G::Gauge,
           "Go runtime memory limit (GOMEMLIMIT; 9223372036854775807: none).");
  if (m.extras.memoryLimit > 0) w.sample(uint64_t(m.extras.memoryLimit));

  w.family("go_memstats_by_size_mallocs_total", G::Counter,
           "Allocations per size class (MemStats.BySize[].Mallocs); size is the class's object "
           "size in bytes.");
  for (const auto& c : m.BySize)
    if (c.Size) w.sample({{"size", fmt::format("{}", c.Size)}}, c.Mallocs);
  w.family("go_memstats_by_size_frees_total", G::Counter,
           "Frees per size class (MemStats.BySize[].Frees); size is the class's object size in "
           "bytes.");
  for (const auto& c : m.BySize)
    if (c.Size) w.sample({{"size", fmt::format("{}", c.Size)}}, c.Frees);
}

}  // namespace

std::string formatPrometheus(const ScrapeRecord& r) {
  std::string out;
  PromWriter w(out);
  std::string pid = fmt::format("{}", r.pid);

  w.family("gomemscope_up", G::Gauge,
           "1 when the target's memory was read in this scrape, 0 when the read failed.");
  w.sample(uint64_t(r.up ? 1 : 0));
  w.family("gomemscope_scrape_duration_seconds", G::Gauge,
           "How long this scrape took (freeze, read, resume, render).");
  w.sample(r.scrapeSeconds);
  w.family("gomemscope_target_stopped_seconds", G::Gauge,
           "How long the target was stopped for this scrape's read.");
  w.sample(r.stoppedSeconds);
  w.family("gomemscope_scrapes_total", G::Counter, "Scrapes served since the exporter started.");
  w.sample(r.scrapes);
  w.family("gomemscope_scrape_errors_total", G::Counter,
           "Failed reads since the exporter started (the target, or one named map or list).");
  w.sample(r.errors);
  w.family("gomemscope_target_info", G::Gauge, "The target process: pid and Go version.");
  w.sample({{"pid", pid}, {"go_version", r.goVersion}}, uint64_t(1));
  if (!r.goVersion.empty()) {
    w.family("go_info", G::Gauge, "Information about the Go environment.");
    w.sample({{"version", r.goVersion}}, uint64_t(1));
  }

  if (r.up) {
    writeMemStats(w, r.mem);
    if (r.threads) {
      w.family("go_threads", G::Gauge, "Number of OS threads of the target (/proc/PID/task).");
      w.sample(*r.threads);
    }
    w.family("gomemscope_goroutines", G::Gauge,
             "Goroutines in runtime.allgs by status, the runtime's own included (dead ones are "
             "kept for reuse).");
    for (const auto& [state, n] : r.goroutinesByState) w.sample({{"state", state}}, n);
  }

  // Per map: metric-major, so that each family is one group.
  auto mapFamily = [&](const char* name, PromType t, const char* help, auto pick) {
    w.family(name, t, help);
    for (const auto& m : r.maps) {
      if (!m.error.empty()) continue;
      auto v = pick(m);
      if (!v) continue;
      w.sample({{"map", m.expr},
                {"type", m.type},
                {"impl", m.syncMap ? "sync.Map" : mapImplName(m.shape.impl)}},
               *v);
    }
  };
  using O = std::optional<uint64_t>;
  w.family("gomemscope_map_up", G::Gauge, "1 when the named map was read in this scrape.");
  for (const auto& m : r.maps) w.sample({{"map", m.expr}}, uint64_t(m.error.empty() ? 1 : 0));
  mapFamily("gomemscope_map_len", G::Gauge, "Entries in the map (len(m)).",
            [](const PromMap& m) { return O(m.len); });
  mapFamily("gomemscope_map_buckets", G::Gauge, "Classic maps: buckets in the bucket array (2^B).",
            [](const PromMap& m) { return m.classic() ? O(m.shape.nbuckets) : O(); });
  mapFamily("gomemscope_map_overflow_buckets", G::Gauge,
            "Classic maps: overflow buckets in use (reached through overflow chains).",
            [](const PromMap& m) { return m.classic() ? O(m.shape.overflowBuckets) : O(); });
  mapFamily("gomemscope_map_growing", G::Gauge,
            "Classic maps: 1 while old buckets are being evacuated into a new array.",
            [](const PromMap& m) { return m.classic() ? O(m.shape.growing ? 1 : 0) : O(); });
  mapFamily("gomemscope_map_groups", G::Gauge, "Swiss maps: groups of 8 slots in all tables.",
            [](const PromMap& m) { return m.swiss() ? O(m.shape.groups) : O(); });
  mapFamily("gomemscope_map_tables", G::Gauge,
            "Swiss maps: distinct tables (0 for a small map of one group).",
            [](const PromMap& m) { return m.swiss() ? O(m.shape.tables) : O(); });
  mapFamily("gomemscope_map_tombstones", G::Gauge, "Swiss maps: deleted slots not yet reused.",
            [](const PromMap& m) { return m.swiss() ? O(m.shape.tombstones) : O(); });
  mapFamily("gomemscope_map_footprint_bytes", G::Gauge,
            "Bytes the map's runtime structures occupy (header, buckets or directory, tables and "
            "groups, overflow, out-of-line keys and values).",
            [](const PromMap& m) { return O(m.footprint); });
  mapFamily("gomemscope_map_problems", G::Gauge,
            "Problems met reading the map (torn by a concurrent write, corrupt); 0 normally.",
            [](const PromMap& m) { return O(m.problems); });

  w.family("gomemscope_list_up", G::Gauge,
           "1 when the named container/list was read in this scrape.");
  for (const auto& l : r.lists) w.sample({{"list", l.expr}}, uint64_t(l.error.empty() ? 1 : 0));
  auto listFamily = [&](const char* name, const char* help, auto pick) {
    w.family(name, G::Gauge, help);
    for (const auto& l : r.lists)
      if (l.error.empty()) w.sample({{"list", l.expr}}, uint64_t(pick(l)));
  };
  listFamily("gomemscope_list_len", "Elements in the list (its len field).",
             [](const PromList& l) { return l.len; });
  listFamily("gomemscope_list_footprint_bytes", "Bytes of the list's elements and boxed values.",
             [](const PromList& l) { return l.footprint; });
  listFamily("gomemscope_list_problems", "Integrity problems met walking the list; 0 normally.",
             [](const PromList& l) { return l.problems; });
  return out;
}

}  // namespace gms
