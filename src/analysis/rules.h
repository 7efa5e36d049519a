// Rules: the thresholds `diagnose` and `check` judge a target by. Every rule
// has built-in defaults (docs/rules.yaml is the documented default file, key
// for key); a YAML file given with --rules overrides any subset of them.
//
// The rules (docs/rules.md explains each one and the evidence it cites):
//   rehash_storm   maps observed growing their bucket/group count again and
//                  again (or caught mid-growth) while the heap churns
//   unbounded_map  a map whose len only grows across the samples
//   gc_pressure    GC CPU fraction or GC cycles per minute above a threshold
//   heap_growth    the live heap after GC keeps rising over the window
//   limits         absolute ceilings for one moment: HeapAlloc, Sys, and the
//                  len of maps whose path matches a pattern
//
// To add a rule: a struct here with `enabled` and its thresholds, its keys in
// rules.cc (parse) and docs/rules.yaml, its evaluation in diagnose.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gms {

struct RehashStormRule {
  bool enabled = true;
  // Growth steps over the window, all cited maps together: each doubling of
  // a map's bucket (classic) or group (Swiss) count between two samples, or
  // (first sample / one moment) a classic map caught evacuating.
  uint64_t minGrowths = 3;
  // Maps whose footprint never reaches this are not considered.
  uint64_t minMapFootprint = 1 << 20;
};

struct UnboundedMapRule {
  bool enabled = true;
  uint64_t minSamples = 5;   // samples the map must be seen in
  double minGrowthPct = 50;  // last len vs first len
  uint64_t minLen = 1000;    // last len at least this
};

struct GcPressureRule {
  bool enabled = true;
  double maxGcCpuFraction = 0.10;  // runtime.MemStats.GCCPUFraction (0..1)
  double maxGcPerMin = 600;        // GC cycles per minute over the window
};

struct HeapGrowthRule {
  bool enabled = true;
  // The live heap after a GC (the pacer's heapMarked) is sampled each time
  // NumGC moves between samples; the rule needs this many such values (at
  // least 2 in each half of the window).
  uint64_t minGcs = 4;
  double maxGrowthPct = 50;           // lowest post-GC heap, last half vs first half
  uint64_t minGrowthBytes = 8 << 20;  // ... and by at least this many bytes
};

struct MapLenLimit {
  std::string path;  // a discover path, '*' matches any run of characters
  uint64_t maxLen = 0;
};

struct LimitsRule {
  uint64_t maxHeapAlloc = 0;  // 0: no limit
  uint64_t maxSys = 0;        // 0: no limit
  std::vector<MapLenLimit> maxMapLen;
};

struct Rules {
  RehashStormRule rehashStorm;
  UnboundedMapRule unboundedMap;
  GcPressureRule gcPressure;
  HeapGrowthRule heapGrowth;
  LimitsRule limits;
};

// Parses YAML text; `source` names it in errors. Throws Error(Usage) with one
// line naming the source and the key for unknown keys, wrong types and bad
// values ("rules.yaml: gc_pressure.max_gc_cpu_fraction: 1.5 is not a
// fraction in 0..1"), and for YAML syntax errors (with the line).
Rules parseRules(std::string_view yaml, const std::string& source);
// Reads and parses a file (Error(Usage) when it cannot be read).
Rules loadRules(const std::string& path);

// "64MiB" / "1.5GB" / 1048576 -> bytes (KB/MB/GB are 1000-based, KiB/MiB/GiB
// 1024-based). Throws Error(Usage) naming `what`.
uint64_t parseByteSize(std::string_view s, const std::string& what);

// A '*' glob over a whole path.
bool pathMatches(std::string_view path, std::string_view pattern);

}  // namespace gms
