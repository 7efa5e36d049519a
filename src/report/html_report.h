// The HTML report ("gomemscope report -o report.html"): one self-contained
// page — inline CSS and inline SVG, no script, no network — that pictures a
// Go program's memory at a glance:
//
//   #top-maps          maps and lists reachable from globals, ranked by
//                      footprint (horizontal bars labelled with path and len)
//   #heatmap           one cell per bucket (classic: colour = slots used in
//                      the main bucket, a corner marker for its overflow
//                      chain, old buckets shown evacuated or pending while
//                      the map grows) or per group (Swiss: colour = full
//                      slots, grouped per table, tombstones marked); beyond
//                      HtmlReportOptions::maxCells, each cell aggregates k
//                      consecutive buckets/groups and the page says so
//   #chain-histogram   classic: overflow chain lengths; Swiss: group fill
//   #memstats-series   the latest runtime.MemStats, and line charts when
//                      more than one sample was taken (--every/--for)
//   #findings          what the diagnosis rules concluded, when available
//
// The renderer takes plain data (HtmlReportData) gathered by the CLI; it
// reads no target memory. Every string that came from the target (paths,
// type names, map keys in findings) is HTML-escaped. Each heatmap cell is an
// SVG <rect> of class "cell" (plus u0..u8, old, evac, pending, agg), with a
// <title> tooltip, so tests and browsers can find them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/findings.h"
#include "goruntime/discover.h"
#include "goruntime/maps.h"
#include "goruntime/memstats.h"

namespace gms {

struct MemStatsSample {
  double seconds = 0;  // since the first sample
  MemStats stats;
};

struct HtmlReportData {
  std::string target;        // "pid 1234" / "core app.core"
  std::string generatedAt;   // e.g. "2026-11-24 00:12:03 UTC"
  std::string goVersion;     // "go1.26.8"
  std::string mapImpl;       // "classic" | "swiss"
  std::string toolVersion;   // "gomemscope 0.1.0"
  std::vector<Found> items;  // discovery, footprint descending
  std::string discoverNote;  // e.g. a budget that was hit; empty if none
  // The map pictured by the heatmap (walked with WalkOptions::buckets).
  bool hasMap = false;
  std::string mapPath;  // how it was chosen: main.cache.items
  std::string mapType;  // map[string]*container/list.Element
  MapSummary map;
  std::string mapNote;  // why there is no map, when hasMap is false
  // MemStats: one sample (a table) or a series (charts); empty if unreadable.
  std::vector<MemStatsSample> samples;
  std::string memStatsNote;
  // Findings: available only when the rules ran.
  bool findingsAvailable = false;
  std::vector<Finding> findings;
  std::string findingsNote;        // shown when not available
  std::vector<std::string> notes;  // warnings about the target or the read
};

struct HtmlReportOptions {
  size_t maxCells = 4096;  // heatmap cells before buckets/groups are aggregated
  size_t maxBars = 20;     // bars in the top-maps chart
};

// The whole page.
std::string renderHtmlReport(const HtmlReportData& d, const HtmlReportOptions& o = {});

// & < > " ' escaped, and bytes that are not valid in HTML text (control
// characters other than tab/newline) replaced by U+FFFD.
std::string htmlEscape(std::string_view s);

}  // namespace gms
