// The rules over hand-built sample series (analysis inputs, not target
// memory): edge cases of each rule. tests/cli/diagnose_test.cc checks the
// same rules against real Go programs.
#include "analysis/diagnose.h"

#include <gtest/gtest.h>

namespace gms {
namespace {

MapObservation classic(const std::string& path, uint64_t len, uint64_t B, uint64_t addr = 0x1000,
                       uint64_t footprint = 4 << 20) {
  MapObservation o;
  o.path = Path::global(path);
  o.type = "map[string]int";
  o.shape.impl = MapImpl::Classic;
  o.addr = addr;
  o.len = len;
  o.shape.B = B;
  o.shape.nbuckets = uint64_t(1) << B;
  o.footprint = footprint;
  return o;
}

MapObservation swiss(const std::string& path, uint64_t len, uint64_t groups,
                     uint64_t footprint = 4 << 20) {
  MapObservation o;
  o.path = Path::global(path);
  o.type = "map[string]int";
  o.shape.impl = MapImpl::Swiss;
  o.addr = 0x2000;
  o.len = len;
  o.shape.groups = groups;
  o.shape.capacity = groups * 8;
  o.shape.tables = groups / 128 ? groups / 128 : 1;
  o.shape.dirLen = o.shape.tables;
  o.footprint = footprint;
  return o;
}

Sample at(double t, std::vector<MapObservation> maps = {}) {
  Sample s;
  s.t = t;
  s.m.Sys = 64 << 20;
  s.m.HeapAlloc = 10 << 20;
  s.m.extras.heapMarked = 10 << 20;
  s.maps = std::move(maps);
  return s;
}

RuleResult rule(const Diagnosis& d, const std::string& name) {
  for (const auto& r : d.rules)
    if (r.rule == name) return r;
  throw std::runtime_error("no rule " + name);
}

TEST(Diagnose, RehashStormCountsBucketGrowthAcrossSamples) {
  std::vector<Sample> s;
  uint64_t Bs[] = {11, 12, 13, 13, 14, 15};
  for (int i = 0; i < 6; i++) {
    s.push_back(at(i, {classic("main.m", 10000u << i, Bs[i]),
                       classic("main.small", 10u * (i + 1), Bs[i], 0x5000, 4096)}));
    s.back().m.Sys = (64u + 4 * i) << 20;
    s.back().m.Mallocs = 1000 * (i + 1);
  }
  Diagnosis d = diagnose(s, Rules{});
  const RuleResult& r = rule(d, "rehash-storm");
  ASSERT_EQ(r.status, RuleStatus::Breached) << r.observed;
  ASSERT_TRUE(r.finding);
  EXPECT_EQ(r.finding->severity, "critical");  // Sys rose in steps as live objects grew
  ASSERT_EQ(r.finding->maps.size(), 1u);       // main.small is below min_map_footprint
  const MapEvidence& m = r.finding->maps[0];
  EXPECT_EQ(m.path, "main.m");
  EXPECT_EQ(m.growths, 4u);
  EXPECT_EQ(m.sizes, (std::vector<uint64_t>{2048, 4096, 8192, 8192, 16384, 32768}));
  EXPECT_EQ(m.lens.size(), 6u);
  EXPECT_EQ(m.addresses, 1u);
  EXPECT_NE(r.finding->summary.find("main.m grew 4 times"), std::string::npos)
      << r.finding->summary;
  EXPECT_NE(r.finding->summary.find("(B 11..15)"), std::string::npos) << r.finding->summary;

  Rules strict;
  strict.rehashStorm.minGrowths = 5;
  EXPECT_EQ(rule(diagnose(s, strict), "rehash-storm").status, RuleStatus::Held);
  strict.rehashStorm.enabled = false;
  EXPECT_EQ(rule(diagnose(s, strict), "rehash-storm").status, RuleStatus::Disabled);
}

TEST(Diagnose, RehashStormQuietForAPresizedMapRecreatedEachRound) {
  // The same path, a new header every sample, the same bucket count: a map
  // made with a correct hint. Lens go up and down.
  std::vector<Sample> s;
  uint64_t lens[] = {5000, 90000, 150000, 20000, 120000, 60000, 140000};
  for (int i = 0; i < 7; i++)
    s.push_back(at(i * 0.5, {classic("main.Cache", lens[i], 15, 0x1000 * (i + 1))}));
  Diagnosis d = diagnose(s, Rules{});
  EXPECT_EQ(rule(d, "rehash-storm").status, RuleStatus::Held);
  EXPECT_EQ(rule(d, "unbounded-map").status, RuleStatus::Held);
  EXPECT_TRUE(d.findings().empty());
}

TEST(Diagnose, SwissGroupGrowthAndRecreation) {
  std::vector<Sample> s;
  uint64_t groups[] = {256, 1024, 4096, 128, 2048};
  for (int i = 0; i < 5; i++) {
    s.push_back(at(i, {swiss("main.S", groups[i] * 6, groups[i])}));
    s.back().maps[0].addr = i < 3 ? 0x2000 : 0x3000;
  }
  const RuleResult& r = rule(diagnose(s, Rules{}), "rehash-storm");
  ASSERT_EQ(r.status, RuleStatus::Breached);
  EXPECT_EQ(r.finding->severity, "warning");  // Sys flat
  EXPECT_EQ(r.finding->maps[0].growths, 8u);  // 2 + 2 + 4 doublings
  EXPECT_EQ(r.finding->maps[0].addresses, 2u);
  EXPECT_NE(r.finding->maps[0].shape.find("2048 groups"), std::string::npos);
}

TEST(Diagnose, OneMomentEvaluatesOnlyOneMomentRules) {
  Rules rules;
  rules.limits.maxHeapAlloc = 1 << 20;
  rules.limits.maxMapLen.push_back({"main.c*", 100});
  rules.limits.maxMapLen.push_back({"main.nothing", 1});
  Sample one = at(0, {classic("main.cache", 500, 7), classic("main.other", 5000, 10)});
  one.m.GCCPUFraction = 0.01;
  Diagnosis d = diagnose({one}, rules);
  EXPECT_EQ(d.samples, 1u);
  EXPECT_EQ(rule(d, "rehash-storm").status, RuleStatus::NotEvaluated);
  EXPECT_EQ(rule(d, "unbounded-map").status, RuleStatus::NotEvaluated);
  EXPECT_EQ(rule(d, "heap-growth").status, RuleStatus::NotEvaluated);
  EXPECT_NE(rule(d, "heap-growth").observed.find("needs --for"), std::string::npos);
  EXPECT_EQ(rule(d, "gc-pressure").status, RuleStatus::Held);
  EXPECT_NE(rule(d, "gc-pressure").observed.find("GC/min needs --for"), std::string::npos);
  EXPECT_EQ(rule(d, "max-heap-alloc").status, RuleStatus::Breached);
  EXPECT_EQ(rule(d, "max-sys").status, RuleStatus::Disabled);
  const RuleResult& ml = rule(d, "max-map-len");
  ASSERT_EQ(ml.status, RuleStatus::Breached);
  ASSERT_EQ(ml.finding->maps.size(), 1u);
  EXPECT_EQ(ml.finding->maps[0].path, "main.cache");
  EXPECT_EQ(d.breached(), 2u);
  EXPECT_EQ(d.evaluated(), 3u);

  // A big classic map caught evacuating is a one-moment rehash storm.
  one.maps[1].shape.growing = true;
  one.maps[1].shape.oldBuckets = 512;
  const RuleResult& rs = rule(diagnose({one}, Rules{}), "rehash-storm");
  ASSERT_EQ(rs.status, RuleStatus::Breached);
  EXPECT_NE(rs.finding->summary.find("main.other is growing now"), std::string::npos);
  EXPECT_NE(rs.finding->maps[0].shape.find("growing from 512 buckets"), std::string::npos);
  EXPECT_THROW(diagnose({}, Rules{}), Error);
}

TEST(Diagnose, UnboundedMapNeedsMonotonicGrowthOverEnoughSamples) {
  std::vector<Sample> s;
  for (int i = 0; i < 6; i++) s.push_back(at(i, {classic("main.leak", 1000 + 500 * i, 10)}));
  const RuleResult& r = rule(diagnose(s, Rules{}), "unbounded-map");
  ASSERT_EQ(r.status, RuleStatus::Breached);
  EXPECT_NE(r.finding->summary.find("main.leak only grows: len 1000 -> 3500 (+250%)"),
            std::string::npos)
      << r.finding->summary;
  // One dip and it is not unbounded.
  s[3].maps[0].len = 1100;
  EXPECT_EQ(rule(diagnose(s, Rules{}), "unbounded-map").status, RuleStatus::Held);
  // Too few samples: not evaluated, never "held".
  std::vector<Sample> few(s.begin(), s.begin() + 3);
  EXPECT_EQ(rule(diagnose(few, Rules{}), "unbounded-map").status, RuleStatus::NotEvaluated);
  // Growth below the threshold percentage, or a small map.
  std::vector<Sample> slow;
  for (int i = 0; i < 6; i++)
    slow.push_back(
        at(i, {classic("main.slow", 10000 + 100 * i, 12), classic("main.tiny", 1 + i, 0)}));
  EXPECT_EQ(rule(diagnose(slow, Rules{}), "unbounded-map").status, RuleStatus::Held);
}

TEST(Diagnose, GcPressureByFractionOrRate) {
  std::vector<Sample> s = {at(0), at(10)};
  s[0].m.NumGC = 10;
  s[1].m.NumGC = 20;  // 60/min
  s[1].m.GCCPUFraction = 0.02;
  EXPECT_EQ(rule(diagnose(s, Rules{}), "gc-pressure").status, RuleStatus::Held);
  s[1].m.NumGC = 160;  // 900/min
  const RuleResult& r = rule(diagnose(s, Rules{}), "gc-pressure");
  ASSERT_EQ(r.status, RuleStatus::Breached);
  EXPECT_EQ(r.finding->severity, "warning");
  EXPECT_NE(r.finding->evidence[1].second.find("150 in 10.0 s = 900.0/min (threshold <= 600/min)"),
            std::string::npos)
      << r.finding->evidence[1].second;
  s[1].m.GCCPUFraction = 0.3;
  EXPECT_EQ(rule(diagnose(s, Rules{}), "gc-pressure").finding->severity, "critical");
  // A lifetime average that is falling (a start-up burst wearing off) is
  // not pressure now; in one moment it cannot be told apart.
  s[0].m.GCCPUFraction = 0.4;
  s[1].m.NumGC = 20;
  RuleResult falling = rule(diagnose(s, Rules{}), "gc-pressure");
  EXPECT_EQ(falling.status, RuleStatus::Held);
  EXPECT_NE(falling.observed.find("GCCPUFraction 0.3000 (falling from 0.4000)"), std::string::npos)
      << falling.observed;
  EXPECT_EQ(rule(diagnose({s[1]}, Rules{}), "gc-pressure").status, RuleStatus::Breached);
}

TEST(Diagnose, HeapGrowthUsesTheLowestLiveHeapAfterGc) {
  // Live heap after GC oscillating (a map rebuilt each round) but not rising.
  std::vector<Sample> s;
  uint64_t marked[] = {10, 30, 12, 28, 10, 31, 11, 29};
  for (int i = 0; i < 8; i++) {
    s.push_back(at(i));
    s.back().m.NumGC = 1 + i;
    s.back().m.extras.heapMarked = marked[i] << 20;
  }
  EXPECT_EQ(rule(diagnose(s, Rules{}), "heap-growth").status, RuleStatus::Held);
  // A leak: the floor rises.
  for (int i = 0; i < 8; i++) s[i].m.extras.heapMarked = uint64_t(10 + 5 * i) << 20;
  const RuleResult& r = rule(diagnose(s, Rules{}), "heap-growth");
  ASSERT_EQ(r.status, RuleStatus::Breached) << r.observed;
  EXPECT_NE(r.observed.find("15.0 MiB -> 30.0 MiB (+100%) over 7 GCs"), std::string::npos)
      << r.observed;
  // The first sample's value predates the window (seen on go1.26: 16 MiB
  // after a start-up GC, then 29 MiB at every GC of the steady state).
  std::vector<Sample> steady;
  uint64_t seen[] = {16, 29, 29, 29};
  for (int i = 0; i < 4; i++) {
    steady.push_back(at(i));
    steady.back().m.NumGC = 1 + i;
    steady.back().m.extras.heapMarked = seen[i] << 20;
  }
  EXPECT_EQ(rule(diagnose(steady, Rules{}), "heap-growth").status, RuleStatus::NotEvaluated);
  steady.push_back(steady.back());
  steady.back().t = 4;
  steady.back().m.NumGC++;
  EXPECT_EQ(rule(diagnose(steady, Rules{}), "heap-growth").status, RuleStatus::Held);
  // No GC during the window: not evaluated.
  for (auto& x : s) x.m.NumGC = 5;
  EXPECT_EQ(rule(diagnose(s, Rules{}), "heap-growth").status, RuleStatus::NotEvaluated);
}

TEST(Diagnose, CeilingsUseThePeak) {
  Rules rules;
  rules.limits.maxSys = 100 << 20;
  std::vector<Sample> s = {at(0), at(1), at(2)};
  s[1].m.Sys = 150 << 20;
  const RuleResult& r = rule(diagnose(s, rules), "max-sys");
  ASSERT_EQ(r.status, RuleStatus::Breached);
  EXPECT_EQ(r.observed, "Sys peak 150.0 MiB at 1.0 s");
  EXPECT_EQ(r.threshold, "Sys <= 100.0 MiB");
}

// The observation carries the shape discovery decoded, not one guessed from
// the slot count: a Swiss map's directory and tables, a small map's one
// group, a classic map's B and old array mid-growth.
TEST(Observation, CarriesTheDecodedShape) {
  Found sw;
  sw.shape.impl = MapImpl::Swiss;
  sw.shape.capacity = 8192;  // slot capacity
  sw.shape.groups = 1024;
  sw.shape.dirLen = 8;
  sw.shape.tables = 5;  // fewer tables than directory entries (tables not yet split)
  MapObservation o = observationOf(sw);
  EXPECT_EQ(o.shape.capacity, 8192u);
  EXPECT_EQ(o.shape.groups, 1024u);
  EXPECT_EQ(o.shape.dirLen, 8u);
  EXPECT_EQ(o.shape.tables, 5u);
  EXPECT_FALSE(o.shape.small);
  EXPECT_EQ(o.size(), 1024u);

  Found small;
  small.shape.impl = MapImpl::Swiss;
  small.shape.capacity = 8;
  small.shape.groups = 1;
  small.shape.small = true;
  o = observationOf(small);
  EXPECT_TRUE(o.shape.small);
  EXPECT_EQ(o.shape.groups, 1u);
  EXPECT_EQ(o.shape.tables, 0u);

  Found cl;
  cl.shape.impl = MapImpl::Classic;
  cl.shape.nbuckets = 32;
  cl.shape.B = 5;
  cl.shape.growing = true;
  cl.shape.oldBuckets = 16;
  o = observationOf(cl);
  EXPECT_EQ(o.shape.B, 5u);
  EXPECT_EQ(o.shape.nbuckets, 32u);
  EXPECT_EQ(o.shape.oldBuckets, 16u);
  EXPECT_TRUE(o.shape.growing);
  EXPECT_EQ(o.size(), 32u);
}

}  // namespace
}  // namespace gms
