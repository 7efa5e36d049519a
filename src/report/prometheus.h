// Prometheus text exposition format 0.0.4, for `gomemscope export`.
//
// PromWriter is the format itself: metric families (one `# HELP` and one
// `# TYPE` line, written just before the family's first sample, so a family
// without samples writes nothing), samples with escaped label values, and
// numbers as Prometheus parses them (integers exact, NaN, +Inf, -Inf).
//
// formatPrometheus renders one scrape (a ScrapeRecord: what the cli read
// from the target while it was frozen, plus the exporter's own counters) with
// the metric names of the official Go client (client_golang's Go collector:
// go_memstats_*, go_gc_duration_seconds, go_threads, go_info,
// go_gc_gogc_percent, go_gc_gomemlimit_bytes), so existing dashboards work,
// and gomemscope_* families for named maps and lists and for the exporter
// itself. docs/exporter.md lists every family.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "goruntime/list.h"
#include "goruntime/maps.h"
#include "goruntime/memstats.h"
#include "goruntime/sync_map.h"

namespace gms {

enum class PromType { Gauge, Counter, Summary, Untyped };

struct PromLabel {
  std::string_view name;
  std::string_view value;
};

// Label values: backslash, double quote and newline escaped (\\ \" \n).
std::string promEscapeLabel(std::string_view v);
// HELP text: backslash and newline escaped.
std::string promEscapeHelp(std::string_view v);
// A sample value as the format wants it: shortest round-trip decimal,
// "NaN", "+Inf", "-Inf".
std::string promNumber(double v);
// [a-zA-Z_:][a-zA-Z0-9_:]* (metric) / [a-zA-Z_][a-zA-Z0-9_]* (label).
bool promValidMetricName(std::string_view n);
bool promValidLabelName(std::string_view n);

class PromWriter {
 public:
  explicit PromWriter(std::string& out) : out_(out) {}
  // Starts a family. Its HELP/TYPE lines are written with its first sample.
  // Throws std::logic_error for an invalid name or a family started twice
  // (the format allows one group per family).
  void family(std::string_view name, PromType type, std::string_view help);
  // A sample of the current family; `suffix` is appended to the family name
  // (_sum, _count for summaries).
  void sample(const std::vector<PromLabel>& labels, double v, std::string_view suffix = {});
  void sample(const std::vector<PromLabel>& labels, uint64_t v, std::string_view suffix = {});
  void sample(double v) { sample({}, v); }
  void sample(uint64_t v) { sample({}, v); }

 private:
  void line(const std::vector<PromLabel>& labels, std::string_view value, std::string_view suffix);
  std::string& out_;
  std::string name_, help_;
  PromType type_ = PromType::Untyped;
  bool headerDone_ = true;
  std::vector<std::string> seen_;
};

// One named map as read in one scrape.
struct PromMap {
  std::string expr;      // as given with --map
  std::string type;      // map[K]V
  std::string error;     // non-empty: not read this time (then only _up is written)
  bool syncMap = false;  // a sync.Map: impl="sync.Map", no bucket/group families
  uint64_t len = 0;
  uint64_t footprint = 0;  // bytes
  uint64_t problems = 0;   // a torn or corrupt read
  MapShape shape;          // built-in maps: buckets (classic), groups and tables (swiss)
  bool classic() const { return !syncMap && shape.impl == MapImpl::Classic; }
  bool swiss() const { return !syncMap && shape.impl == MapImpl::Swiss; }
};
PromMap promMapOf(const std::string& expr, const MapSummary& s);
PromMap promMapOf(const std::string& expr, const SyncMapSummary& s);

// One named container/list.List as read in one scrape.
struct PromList {
  std::string expr;
  std::string error;
  uint64_t len = 0, found = 0, footprint = 0, problems = 0;
};
PromList promListOf(const std::string& expr, const ListSummary& s);

struct ScrapeRecord {
  int pid = 0;
  std::string goVersion;
  bool up = false;                                                  // MemStats were read
  MemStats mem;                                                     // valid when up
  std::optional<uint64_t> threads;                                  // OS threads of the target
  std::vector<std::pair<std::string, uint64_t>> goroutinesByState;  // empty: unknown
  std::vector<PromMap> maps;
  std::vector<PromList> lists;
  double scrapeSeconds = 0;   // this scrape, read to render
  double stoppedSeconds = 0;  // how long the target was stopped for it
  uint64_t scrapes = 0;       // scrapes so far, this one included
  uint64_t errors = 0;        // failed reads so far (target or a map/list)
};

// The whole /metrics body for one scrape.
std::string formatPrometheus(const ScrapeRecord& r);

}  // namespace gms
