// Finding: what a diagnosis rule concluded, with the evidence a user needs to
// believe it. Produced by the rules (diagnose/check), rendered by report/
// (text, JSON, HTML). Plain data: no target or DWARF types leak in here.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gms {

// A map cited by a finding, as observed over the samples.
struct MapEvidence {
  std::string path;        // how it is reached: main.srv.sessions
  std::string type;        // map[string]*list.Element
  std::string impl;        // "classic" | "swiss"
  std::vector<uint64_t> lens;  // len at each sample, oldest first
  uint64_t footprint = 0;      // bytes at the last sample
  std::string shape;           // "B=12 (4096 buckets)" or "dirLen=8, 8 tables, 1024 groups"
  bool growing = false;        // a growth was in progress at the last sample
  uint64_t growths = 0;        // growths observed between samples (B or group count increases)
  std::vector<uint64_t> sizes;  // bucket (classic) or group (swiss) count at each sample
  uint64_t addresses = 0;       // distinct map headers seen at this path (> 1: re-created)
};

struct Finding {
  std::string rule;      // "rehash-storm", "unbounded-map", "gc-pressure", "heap-growth"
  std::string severity;  // "warning" | "critical"
  std::string summary;   // one line, e.g. "main.cache grew 6 times in 10 s without a size hint"
  std::vector<std::pair<std::string, std::string>> evidence;  // label, observed value vs threshold
  std::vector<MapEvidence> maps;
};

}  // namespace gms
