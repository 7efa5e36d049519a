// Diagnosis: the rules of analysis/rules.h judged over a series of samples
// of one target (what `diagnose` and `check` print). Pure functions: the CLI
// takes the samples (MemStats + the maps reachable from globals, each sample
// read with the target frozen), this decides; nothing here reads a target.
//
// A series of one sample is "one moment" (a core, or `check` without --for):
// the rules that need a window (unbounded_map, heap_growth, the GC rate part
// of gc_pressure, map growth between samples) are reported as not evaluated
// ("needs --for"), never as holding; one-moment rules still run:
// GCCPUFraction, the absolute limits, and a classic map caught mid-growth.
//
// Every rule yields a RuleResult (held / breached / not evaluated, with the
// observed value and the threshold); a breached rule also yields a Finding
// (analysis/findings.h) with its evidence and the maps it cites.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/findings.h"
#include "analysis/rules.h"
#include "goruntime/discover.h"
#include "goruntime/memstats.h"

namespace gms {

// One map as observed in one sample (from discover + walkMap).
struct MapObservation {
  Path path;             // discover path, e.g. main.cache.items
  std::string type;      // map[string]*list.Element
  bool syncMap = false;  // a sync.Map: no buckets (shape unset, size() is 0)
  uint64_t addr = 0;     // header address: a change means the map was re-created
  uint64_t len = 0;
  uint64_t footprint = 0;  // bytes
  MapShape shape;          // built-in maps: as decoded
  // "classic" | "swiss" | "sync.Map"
  const char* impl() const { return syncMap ? "sync.Map" : mapImplName(shape.impl); }
  bool swiss() const { return !syncMap && shape.impl == MapImpl::Swiss; }
  // The count that rises when the map grows: buckets (classic), groups (swiss).
  uint64_t size() const { return swiss() ? shape.groups : shape.nbuckets; }
};

// A map as the rules see it, from what discovery already read (its decoded
// shape: B and the old array for classic maps; directory, tables, groups and
// capacity for Swiss maps).
MapObservation observationOf(const Found& f);

struct Sample {
  double t = 0;  // seconds since the first sample
  MemStats m;
  std::vector<MapObservation> maps;
  // Why maps could not be observed at all ("" when they were): the map
  // rules are then not evaluated, rather than held over no maps.
  std::string mapsUnavailable;
};

enum class RuleStatus { Held, Breached, NotEvaluated, Disabled };
const char* ruleStatusName(RuleStatus s);  // "held", "breached", "not evaluated", "disabled"

struct RuleResult {
  std::string rule;  // "rehash-storm", "unbounded-map", "gc-pressure", "heap-growth",
                     // "max-heap-alloc", "max-sys", "max-map-len"
  RuleStatus status = RuleStatus::Held;
  std::string observed;            // the value that decided, e.g. "7 growths in 2 maps"
  std::string threshold;           // e.g. ">= 3 growths"
  std::optional<Finding> finding;  // when breached
};

struct Diagnosis {
  double window = 0;  // seconds from the first to the last sample
  size_t samples = 0;
  std::vector<RuleResult> rules;  // in a fixed order: the rules as listed in rules.h
  std::vector<Finding> findings() const;
  size_t breached() const;
  size_t evaluated() const;  // held + breached
};

// Throws Error(Usage) when `samples` is empty.
Diagnosis diagnose(const std::vector<Sample>& samples, const Rules& rules);

// "1.5 MiB", "512 B": for evidence strings.
std::string evidenceBytes(uint64_t n);

}  // namespace gms
