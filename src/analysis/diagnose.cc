#include "analysis/diagnose.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"
#include "goruntime/maps.h"

namespace gms {

namespace {

// Every observation of one map path, in sample order.
struct MapSeries {
  std::string key;   // Path::str(): the identity, and what rule patterns match
  std::string path;  // Path::display(): what findings show (secret keys masked)
  std::vector<std::pair<size_t, const MapObservation*>> obs;  // sample index, observation
  uint64_t maxFootprint() const {
    uint64_t m = 0;
    for (const auto& o : obs) m = std::max(m, o.second->footprint);
    return m;
  }
};

std::vector<MapSeries> seriesByPath(const std::vector<Sample>& samples) {
  std::vector<MapSeries> out;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < samples.size(); i++)
    for (const auto& m : samples[i].maps) {
      auto [it, fresh] = index.emplace(m.path.str(), out.size());
      if (fresh) out.push_back({it->first, m.path.display(), {}});
      out[it->second].obs.push_back({i, &m});
    }
  return out;
}

std::string shapeText(const MapObservation& o) {
  if (o.syncMap) return "sync.Map";
  const MapShape& m = o.shape;
  if (m.impl == MapImpl::Swiss) {
    if (m.small) return fmt::format("small (1 group, {} slots)", m.capacity);
    return fmt::format("dirLen={}, {} table{}, {} groups ({} slots)", m.dirLen, m.tables,
                       m.tables == 1 ? "" : "s", m.groups, m.capacity);
  }
  std::string s = fmt::format("B={} ({} buckets)", m.B, m.nbuckets);
  if (m.overflowBuckets) s += fmt::format(", {} overflow", m.overflowBuckets);
  if (m.growing) s += fmt::format(", growing from {} buckets", m.oldBuckets);
  return s;
}

// Growth steps of one map: each doubling of its bucket/group count between
// two observations (B 12 -> 15 is three; a Swiss count that rose by less
// than half a doubling, e.g. one table split, is one), plus one when the
// first observation caught it evacuating.
uint64_t growthsOf(const MapSeries& s) {
  uint64_t g = 0;
  for (size_t i = 0; i < s.obs.size(); i++) {
    const MapObservation& o = *s.obs[i].second;
    if (i == 0) {
      g += o.shape.growing;
      continue;
    }
    uint64_t before = s.obs[i - 1].second->size(), after = o.size();
    if (after <= before) continue;
    double steps = before ? std::round(std::log2(double(after) / double(before))) : 1;
    g += std::max<uint64_t>(1, uint64_t(steps));
  }
  return g;
}

MapEvidence evidenceOf(const MapSeries& s) {
  MapEvidence e;
  const MapObservation& last = *s.obs.back().second;
  e.path = s.path;
  e.type = last.type;
  e.impl = last.impl();
  e.footprint = last.footprint;
  e.shape = shapeText(last);
  e.growing = last.shape.growing;
  e.growths = growthsOf(s);
  std::vector<uint64_t> addrs;
  for (const auto& [i, o] : s.obs) {
    e.lens.push_back(o->len);
    e.sizes.push_back(o->size());
    if (std::find(addrs.begin(), addrs.end(), o->addr) == addrs.end()) addrs.push_back(o->addr);
  }
  e.addresses = addrs.size();
  return e;
}

std::string fmtNum(double v) {
  if (v == double(int64_t(v))) return fmt::format("{}", int64_t(v));
  return fmt::format("{:.3g}", v);
}

std::string seriesText(const std::vector<uint64_t>& v, size_t max = 12) {
  std::string s;
  size_t n = v.size();
  for (size_t i = 0; i < n; i++) {
    if (n > max && i == max / 2) {
      s += fmt::format(" … ({} more)", n - max);
      i = n - max / 2;
    }
    s += (s.empty() ? "" : " ") + fmt::format("{}", v[i]);
  }
  return s;
}

RuleResult rehashStorm(const std::vector<Sample>& S, const Diagnosis& d,
                       const std::vector<MapSeries>& maps, const RehashStormRule& r) {
  RuleResult res{"rehash-storm"};
  if (!r.enabled) {
    res.status = RuleStatus::Disabled;
    return res;
  }
  bool moment = S.size() == 1;
  uint64_t total = 0;
  std::vector<const MapSeries*> cited;
  for (const auto& s : maps) {
    if (s.maxFootprint() < r.minMapFootprint) continue;
    uint64_t g = growthsOf(s);
    if (!g) continue;
    total += g;
    cited.push_back(&s);
  }
  std::stable_sort(cited.begin(), cited.end(), [](const MapSeries* a, const MapSeries* b) {
    return growthsOf(*a) > growthsOf(*b);
  });
  std::string big = evidenceBytes(r.minMapFootprint);
  if (moment) {
    res.threshold = fmt::format("no map of >= {} mid-growth", big);
    if (!total) {
      res.status = RuleStatus::NotEvaluated;
      res.observed = "no map mid-growth now; growth over time needs --for";
      return res;
    }
  } else {
    res.threshold = fmt::format(">= {} growths of maps of >= {}", r.minGrowths, big);
    res.observed = fmt::format("{} growth{} in {} map{}", total, total == 1 ? "" : "s",
                               cited.size(), cited.size() == 1 ? "" : "s");
    if (total < r.minGrowths) return res;
  }
  res.status = RuleStatus::Breached;
  if (moment)
    res.observed = fmt::format("{} map{} mid-growth", cited.size(), cited.size() == 1 ? "" : "s");
  Finding f;
  f.rule = res.rule;
  // Sys rising in steps while live objects accumulate: the growths cost the
  // process memory it keeps, not just CPU.
  const MemStats &a = S.front().m, &b = S.back().m;
  uint64_t sysSteps = 0;
  for (size_t i = 1; i < S.size(); i++)
    if (S[i].m.Sys > S[i - 1].m.Sys) sysSteps++;
  auto liveObjs = [](const MemStats& m) { return m.Mallocs >= m.Frees ? m.Mallocs - m.Frees : 0; };
  bool sysRose = sysSteps >= 2 && b.Sys > a.Sys && liveObjs(b) > liveObjs(a);
  f.severity = sysRose ? "critical" : "warning";
  const MapSeries& top = *cited.front();
  MapEvidence te = evidenceOf(top);
  if (moment) {
    f.summary = fmt::format(
        "{} is growing now ({}): a map built without a size hint rehashes every time it doubles",
        top.path, te.shape);
  } else {
    // Over the window: the group count (Swiss) or B as decoded (classic).
    bool swiss = top.obs.back().second->swiss();
    uint64_t lo = UINT64_MAX, hi = 0;
    for (const auto& o : top.obs) {
      uint64_t v = swiss ? o.second->shape.groups : o.second->shape.B;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    std::string range =
        swiss ? fmt::format("{}..{} groups", lo, hi) : fmt::format("B {}..{}", lo, hi);
    std::string recreated = te.addresses <= 1 ? ""
                            : te.addresses == 2
                                ? ", re-created once"
                                : fmt::format(", re-created {} times", te.addresses - 1);
    f.summary = fmt::format(
        "{} grew {} time{} in {:.1f} s ({}{}){}: size it with make(map[K]V, hint)", top.path,
        te.growths, te.growths == 1 ? "" : "s", d.window, range, recreated,
        cited.size() > 1
            ? fmt::format("; {} more map{} growing", cited.size() - 1, cited.size() == 2 ? "" : "s")
            : "");
  }
  f.evidence.push_back(
      {"map growths", fmt::format("{} (threshold {})", res.observed, res.threshold)});
  if (!moment) {
    f.evidence.push_back(
        {"Sys", fmt::format("{} -> {}, rose in {} of {} intervals", evidenceBytes(a.Sys),
                            evidenceBytes(b.Sys), sysSteps, S.size() - 1)});
    f.evidence.push_back(
        {"HeapSys", fmt::format("{} -> {}", evidenceBytes(a.HeapSys), evidenceBytes(b.HeapSys))});
    f.evidence.push_back(
        {"Mallocs - Frees", fmt::format("{} -> {} live objects", liveObjs(a), liveObjs(b))});
    uint64_t alloc = b.TotalAlloc >= a.TotalAlloc ? b.TotalAlloc - a.TotalAlloc : 0;
    f.evidence.push_back(
        {"allocated",
         fmt::format("{} in {:.1f} s ({}/s)", evidenceBytes(alloc), d.window,
                     evidenceBytes(uint64_t(d.window > 0 ? double(alloc) / d.window : 0)))});
  }
  for (const MapSeries* s : cited) f.maps.push_back(evidenceOf(*s));
  res.finding = std::move(f);
  return res;
}

RuleResult unboundedMap(const std::vector<Sample>& S, const std::vector<MapSeries>& maps,
                        const UnboundedMapRule& r) {
  RuleResult res{"unbounded-map"};
  if (!r.enabled) {
    res.status = RuleStatus::Disabled;
    return res;
  }
  res.threshold = fmt::format("len only rising across >= {} samples, by >= {}% to >= {}",
                              r.minSamples, fmtNum(r.minGrowthPct), r.minLen);
  if (S.size() < r.minSamples) {
    res.status = RuleStatus::NotEvaluated;
    res.observed = fmt::format("{} sample{}; needs >= {} (--for/--every)", S.size(),
                               S.size() == 1 ? "" : "s", r.minSamples);
    return res;
  }
  std::vector<std::pair<const MapSeries*, double>> hits;
  for (const auto& s : maps) {
    if (s.obs.size() < r.minSamples) continue;
    bool rising = true;
    for (size_t i = 1; i < s.obs.size() && rising; i++)
      rising = s.obs[i].second->len >= s.obs[i - 1].second->len;
    uint64_t first = s.obs.front().second->len, last = s.obs.back().second->len;
    if (!rising || last <= first || last < r.minLen) continue;
    double pct = first ? double(last - first) * 100 / double(first) : 1e9;
    if (pct >= r.minGrowthPct) hits.push_back({&s, pct});
  }
  if (hits.empty()) {
    res.observed = "no map's len only rose by that much";
    return res;
  }
  std::stable_sort(hits.begin(), hits.end(), [](auto& a, auto& b) { return a.second > b.second; });
  res.status = RuleStatus::Breached;
  const MapSeries& top = *hits.front().first;
  uint64_t first = top.obs.front().second->len, last = top.obs.back().second->len;
  double dt = S[top.obs.back().first].t - S[top.obs.front().first].t;
  std::string pct = first ? fmt::format("+{:.0f}%", hits.front().second) : "from empty";
  res.observed =
      fmt::format("{}: {} -> {} ({}) over {} samples", top.path, first, last, pct, top.obs.size());
  Finding f;
  f.rule = res.rule;
  f.severity = "warning";
  f.summary = fmt::format("{} only grows: len {} -> {} ({}) in {:.1f} s, never shrinking{}",
                          top.path, first, last, pct, dt,
                          hits.size() > 1 ? fmt::format("; {} more map{} like it", hits.size() - 1,
                                                        hits.size() == 2 ? "" : "s")
                                          : "");
  for (const auto& [s, p] : hits) {
    uint64_t a = s->obs.front().second->len, b = s->obs.back().second->len;
    double t = S[s->obs.back().first].t - S[s->obs.front().first].t;
    f.evidence.push_back(
        {s->path, fmt::format("len {} -> {} ({}, {:.0f} entries/s) over {} samples (threshold {})",
                              a, b, a ? fmt::format("+{:.0f}%", p) : "from empty",
                              t > 0 ? double(b - a) / t : 0.0, s->obs.size(), res.threshold)});
    f.maps.push_back(evidenceOf(*s));
  }
  res.finding = std::move(f);
  return res;
}

RuleResult gcPressure(const std::vector<Sample>& S, const Diagnosis& d, const GcPressureRule& r) {
  RuleResult res{"gc-pressure"};
  if (!r.enabled) {
    res.status = RuleStatus::Disabled;
    return res;
  }
  const MemStats &a = S.front().m, &b = S.back().m;
  double frac = b.GCCPUFraction;
  bool window = S.size() > 1 && d.window > 0;
  // GCCPUFraction is a lifetime average. Over a window, a falling value
  // means the GC's share now is below that average (e.g. a start-up burst
  // wearing off): not pressure now.
  bool falling = window && frac < a.GCCPUFraction;
  bool fracBad = frac > r.maxGcCpuFraction && !falling;
  uint64_t gcs = b.NumGC >= a.NumGC ? b.NumGC - a.NumGC : 0;
  double perMin = window ? double(gcs) * 60 / d.window : 0;
  bool rateBad = window && perMin > r.maxGcPerMin;
  res.threshold = fmt::format("GCCPUFraction <= {}, GC/min <= {}", fmtNum(r.maxGcCpuFraction),
                              fmtNum(r.maxGcPerMin));
  res.observed = fmt::format(
      "GCCPUFraction {:.4f}{}, {}", frac,
      falling ? fmt::format(" (falling from {:.4f})", a.GCCPUFraction) : std::string(),
      window ? fmt::format("{:.1f} GC/min", perMin) : std::string("GC/min needs --for"));
  if (!fracBad && !rateBad) return res;
  res.status = RuleStatus::Breached;
  Finding f;
  f.rule = res.rule;
  f.severity = fracBad && rateBad ? "critical" : "warning";
  if (fracBad)
    f.summary = fmt::format(
        "the GC has used {:.1f}% of the CPU available to the program since it started", frac * 100);
  else
    f.summary = fmt::format("{:.0f} GC cycles per minute over {:.1f} s", perMin, d.window);
  f.evidence.push_back(
      {"GCCPUFraction", fmt::format("{:.4f} (threshold <= {})", frac, fmtNum(r.maxGcCpuFraction))});
  if (window)
    f.evidence.push_back(
        {"GC cycles", fmt::format("{} in {:.1f} s = {:.1f}/min (threshold <= {}/min)", gcs,
                                  d.window, perMin, fmtNum(r.maxGcPerMin))});
  f.evidence.push_back({"NumGC", fmt::format("{} (forced {})", b.NumGC, b.NumForcedGC)});
  f.evidence.push_back({"GOGC", b.extras.gcPercent < 0 ? std::string("off")
                                                       : fmt::format("{}", b.extras.gcPercent)});
  f.evidence.push_back(
      {"heap goal", fmt::format("NextGC {} for HeapAlloc {}", evidenceBytes(b.NextGC),
                                evidenceBytes(b.HeapAlloc))});
  f.evidence.push_back(
      {"pauses", fmt::format("total {:.1f} ms, last {:.3f} ms", double(b.PauseTotalNs) / 1e6,
                             double(b.extras.lastPauseNs) / 1e6)});
  res.finding = std::move(f);
  return res;
}

RuleResult heapGrowth(const std::vector<Sample>& S, const HeapGrowthRule& r) {
  RuleResult res{"heap-growth"};
  if (!r.enabled) {
    res.status = RuleStatus::Disabled;
    return res;
  }
  res.threshold = fmt::format("lowest live heap after GC, last half vs first half: +{}% and +{}",
                              fmtNum(r.maxGrowthPct), evidenceBytes(r.minGrowthBytes));
  // The live heap after each GC seen: heapMarked changes only when a GC ends.
  std::vector<std::pair<double, uint64_t>> marked;  // time, bytes
  // Only GCs that ended inside the window count: the first sample's value
  // may be from long before (e.g. start-up, before the working set existed).
  for (size_t i = 1; i < S.size(); i++)
    if (S[i].m.NumGC != S[i - 1].m.NumGC) marked.push_back({S[i].t, S[i].m.extras.heapMarked});
  if (S.size() == 1 || marked.size() < r.minGcs) {
    res.status = RuleStatus::NotEvaluated;
    res.observed = S.size() == 1
                       ? std::string("needs --for")
                       : fmt::format("{} GC{} seen; needs >= {} (a longer --for)", marked.size(),
                                     marked.size() == 1 ? "" : "s", r.minGcs);
    return res;
  }
  size_t half = marked.size() / 2;
  uint64_t lowFirst = UINT64_MAX, lowLast = UINT64_MAX;
  for (size_t i = 0; i < marked.size(); i++) {
    uint64_t& low = i < half ? lowFirst : lowLast;
    low = std::min(low, marked[i].second);
  }
  uint64_t grew = lowLast > lowFirst ? lowLast - lowFirst : 0;
  double pct = lowFirst ? double(grew) * 100 / double(lowFirst) : 0;
  res.observed =
      fmt::format("{} -> {} ({}{:.0f}%) over {} GCs", evidenceBytes(lowFirst),
                  evidenceBytes(lowLast), lowLast >= lowFirst ? "+" : "-",
                  lowFirst ? double(lowLast >= lowFirst ? lowLast - lowFirst : lowFirst - lowLast) *
                                 100 / double(lowFirst)
                           : 0.0,
                  marked.size());
  if (!(pct > r.maxGrowthPct && grew >= r.minGrowthBytes)) return res;
  res.status = RuleStatus::Breached;
  const MemStats &a = S.front().m, &b = S.back().m;
  double dt = marked.back().first - marked.front().first;
  Finding f;
  f.rule = res.rule;
  f.severity = pct > 4 * r.maxGrowthPct ? "critical" : "warning";
  f.summary = fmt::format(
      "the live heap after GC rose from {} to {} (+{:.0f}%, {}/s) and did not come back down",
      evidenceBytes(lowFirst), evidenceBytes(lowLast), pct,
      evidenceBytes(uint64_t(dt > 0 ? double(grew) / dt : 0)));
  f.evidence.push_back(
      {"live heap after GC", fmt::format("{} (threshold {})", res.observed, res.threshold)});
  std::vector<uint64_t> mb;
  for (const auto& m : marked) mb.push_back(m.second >> 10);
  f.evidence.push_back({"after each GC (KiB)", seriesText(mb)});
  f.evidence.push_back({"HeapAlloc", fmt::format("{} -> {}", evidenceBytes(a.HeapAlloc),
                                                 evidenceBytes(b.HeapAlloc))});
  f.evidence.push_back({"HeapInuse", fmt::format("{} -> {}", evidenceBytes(a.HeapInuse),
                                                 evidenceBytes(b.HeapInuse))});
  f.evidence.push_back({"HeapObjects", fmt::format("{} -> {}", a.HeapObjects, b.HeapObjects)});
  f.evidence.push_back(
      {"Sys", fmt::format("{} -> {}", evidenceBytes(a.Sys), evidenceBytes(b.Sys))});
  res.finding = std::move(f);
  return res;
}

// max-heap-alloc and max-sys: the peak over all samples against a ceiling.
RuleResult ceiling(const std::vector<Sample>& S, const char* rule, const char* field,
                   uint64_t limit, uint64_t MemStats::*member) {
  RuleResult res{rule};
  if (!limit) {
    res.status = RuleStatus::Disabled;
    return res;
  }
  uint64_t peak = 0;
  double at = 0;
  for (const auto& s : S)
    if (s.m.*member > peak) {
      peak = s.m.*member;
      at = s.t;
    }
  res.threshold = fmt::format("{} <= {}", field, evidenceBytes(limit));
  res.observed = fmt::format("{} peak {}{}", field, evidenceBytes(peak),
                             S.size() > 1 ? fmt::format(" at {:.1f} s", at) : "");
  if (peak <= limit) return res;
  res.status = RuleStatus::Breached;
  Finding f;
  f.rule = rule;
  f.severity = "critical";
  f.summary = fmt::format("{} reached {}, above the limit of {}", field, evidenceBytes(peak),
                          evidenceBytes(limit));
  f.evidence.push_back({field, fmt::format("{} (threshold {})", res.observed, res.threshold)});
  f.evidence.push_back({"now", fmt::format("{}", evidenceBytes(S.back().m.*member))});
  res.finding = std::move(f);
  return res;
}

RuleResult maxMapLen(const std::vector<MapSeries>& maps, const LimitsRule& r) {
  RuleResult res{"max-map-len"};
  if (r.maxMapLen.empty()) {
    res.status = RuleStatus::Disabled;
    return res;
  }
  for (const auto& l : r.maxMapLen)
    res.threshold +=
        (res.threshold.empty() ? "" : ", ") + fmt::format("len({}) <= {}", l.path, l.maxLen);
  Finding f;
  f.rule = res.rule;
  f.severity = "critical";
  std::vector<std::string> unmatched;
  uint64_t matched = 0;
  for (const auto& l : r.maxMapLen) {
    bool any = false;
    for (const auto& s : maps) {
      if (!pathMatches(s.key, l.path)) continue;
      any = true;
      matched++;
      uint64_t peak = 0;
      for (const auto& o : s.obs) peak = std::max(peak, o.second->len);
      if (peak <= l.maxLen) continue;
      f.evidence.push_back(
          {s.path, fmt::format("len {} (threshold <= {} for {})", peak, l.maxLen, l.path)});
      f.maps.push_back(evidenceOf(s));
    }
    if (!any) unmatched.push_back(l.path);
  }
  std::string none;
  for (const auto& u : unmatched) none += (none.empty() ? "" : ", ") + u;
  if (f.maps.empty()) {
    res.observed = fmt::format("{} map{} within limits", matched, matched == 1 ? "" : "s");
    if (!none.empty()) res.observed += fmt::format("; no reachable map matches {}", none);
    return res;
  }
  res.status = RuleStatus::Breached;
  res.observed =
      fmt::format("{} over its limit ({})", f.maps.front().path, f.evidence.front().second);
  f.summary =
      fmt::format("{} map{} over {} len limit: {}", f.maps.size(), f.maps.size() == 1 ? "" : "s",
                  f.maps.size() == 1 ? "its" : "their", res.observed);
  res.finding = std::move(f);
  return res;
}

}  // namespace

const char* ruleStatusName(RuleStatus s) {
  switch (s) {
    case RuleStatus::Held:
      return "held";
    case RuleStatus::Breached:
      return "breached";
    case RuleStatus::NotEvaluated:
      return "not evaluated";
    case RuleStatus::Disabled:
      return "disabled";
  }
  return "?";
}

std::string evidenceBytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = double(n);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    u++;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::vector<Finding> Diagnosis::findings() const {
  std::vector<Finding> out;
  for (const auto& r : rules)
    if (r.finding) out.push_back(*r.finding);
  return out;
}

size_t Diagnosis::breached() const {
  return size_t(std::count_if(rules.begin(), rules.end(),
                              [](auto& r) { return r.status == RuleStatus::Breached; }));
}

size_t Diagnosis::evaluated() const {
  return size_t(std::count_if(rules.begin(), rules.end(), [](auto& r) {
    return r.status == RuleStatus::Breached || r.status == RuleStatus::Held;
  }));
}

Diagnosis diagnose(const std::vector<Sample>& samples, const Rules& rules) {
  if (samples.empty()) fail(ErrorKind::Usage, "diagnose needs at least one sample");
  Diagnosis d;
  d.samples = samples.size();
  d.window = std::max(0.0, samples.back().t - samples.front().t);
  auto maps = seriesByPath(samples);
  d.rules.push_back(rehashStorm(samples, d, maps, rules.rehashStorm));
  d.rules.push_back(unboundedMap(samples, maps, rules.unboundedMap));
  d.rules.push_back(gcPressure(samples, d, rules.gcPressure));
  d.rules.push_back(heapGrowth(samples, rules.heapGrowth));
  d.rules.push_back(ceiling(samples, "max-heap-alloc", "HeapAlloc", rules.limits.maxHeapAlloc,
                            &MemStats::HeapAlloc));
  d.rules.push_back(ceiling(samples, "max-sys", "Sys", rules.limits.maxSys, &MemStats::Sys));
  d.rules.push_back(maxMapLen(maps, rules.limits));
  for (const auto& smp : samples) {
    if (smp.mapsUnavailable.empty()) continue;
    for (auto& r : d.rules)
      if ((r.rule == "rehash-storm" || r.rule == "unbounded-map" || r.rule == "max-map-len") &&
          r.status != RuleStatus::Disabled) {
        r.status = RuleStatus::NotEvaluated;
        r.observed = "maps not observed: " + smp.mapsUnavailable;
        r.finding.reset();
      }
    break;
  }
  return d;
}

MapObservation observationOf(const Found& f) {
  MapObservation o;
  o.path = f.path;
  o.type = f.typeName;
  o.syncMap = f.kind == FoundKind::SyncMap;
  o.addr = f.addr;
  o.len = f.len;
  o.footprint = f.footprint;
  if (!o.syncMap) o.shape = f.shape;  // a sync.Map has no buckets: len and footprint say it all
  return o;
}

}  // namespace gms
