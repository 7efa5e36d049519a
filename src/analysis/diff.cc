#include "analysis/diff.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <string_view>
#include <unordered_map>

namespace gms {

const char* diffStatusName(DiffStatus s) {
  switch (s) {
    case DiffStatus::Grown:
      return "grown";
    case DiffStatus::Shrunk:
      return "shrunk";
    case DiffStatus::Unchanged:
      return "unchanged";
    case DiffStatus::New:
      return "new";
    case DiffStatus::Vanished:
      return "vanished";
  }
  return "?";
}

uint64_t Diff::changedItems() const {
  return uint64_t(std::count_if(items.begin(), items.end(), [](const DiffItem& i) {
    return i.status != DiffStatus::Unchanged;
  }));
}

namespace {

constexpr uint64_t kPagesPerChunk = 256;  // 1 MiB reads

PageArea areaOf(const Mapping& m) {
  if (m.path.empty()) return PageArea::Anonymous;
  if (m.path.rfind("[stack", 0) == 0) return PageArea::Stack;
  if (m.path == "[heap]") return PageArea::Heap;
  return PageArea::File;
}

uint64_t hashPage(const uint8_t* p) {
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(p), kDiffPageSize));
}

}  // namespace

std::vector<PageDigest> digestPages(const Memory& mem) {
  std::vector<PageDigest> out;
  std::vector<uint8_t> buf(kPagesPerChunk * kDiffPageSize);
  for (const Mapping& m : mem.mappings()) {
    if (!m.read || !m.write) continue;
    uint64_t lo = m.start & ~(kDiffPageSize - 1);
    uint64_t hi = m.end & ~(kDiffPageSize - 1);
    PageArea area = areaOf(m);
    for (uint64_t a = lo; a < hi;) {
      uint64_t n = std::min<uint64_t>(kPagesPerChunk, (hi - a) / kDiffPageSize);
      size_t bytes = size_t(n * kDiffPageSize);
      const uint8_t* data = mem.view(a, bytes);
      if (!data) {
        try {
          mem.read(a, buf.data(), bytes);
          data = buf.data();
        } catch (const Fault&) {
          data = nullptr;
        }
      }
      for (uint64_t i = 0; i < n; i++) {
        PageDigest d;
        d.addr = a + i * kDiffPageSize;
        d.area = area;
        if (data) {
          d.hash = hashPage(data + i * kDiffPageSize);
        } else {
          // Part of the chunk faults: page by page.
          const uint8_t* v = mem.view(d.addr, kDiffPageSize);
          if (!v) {
            try {
              mem.read(d.addr, buf.data(), kDiffPageSize);
              v = buf.data();
            } catch (const Fault&) {
              d.unreadable = true;
            }
          }
          if (v) d.hash = hashPage(v);
        }
        out.push_back(d);
      }
      a += n * kDiffPageSize;
    }
  }
  std::sort(out.begin(), out.end(),
            [](const PageDigest& x, const PageDigest& y) { return x.addr < y.addr; });
  // Overlapping mappings cannot happen in one address space; keep the first
  // digest of an address if a source reports one twice.
  out.erase(std::unique(out.begin(), out.end(),
                        [](const PageDigest& x, const PageDigest& y) { return x.addr == y.addr; }),
            out.end());
  return out;
}

namespace {

DiffStatus statusOf(const DiffItem& d) {
  if (d.lenAfter != d.lenBefore)
    return d.lenAfter > d.lenBefore ? DiffStatus::Grown : DiffStatus::Shrunk;
  if (d.footprintAfter != d.footprintBefore)
    return d.footprintAfter > d.footprintBefore ? DiffStatus::Grown : DiffStatus::Shrunk;
  return DiffStatus::Unchanged;
}

void matchItems(const Discovery& b, const Discovery& a, Diff& out,
                std::vector<std::pair<const Found*, const Found*>>& pairs) {
  std::vector<bool> usedA(a.items.size()), usedB(b.items.size());
  std::unordered_multimap<std::string, size_t> byPath;
  for (size_t i = 0; i < a.items.size(); i++) byPath.emplace(a.items[i].path.str(), i);
  auto add = [&](const Found* fb, const Found* fa, bool byAddr) {
    DiffItem d;
    const Found& any = fa ? *fa : *fb;
    d.kind = any.kind;
    d.path = any.path;
    d.typeName = any.typeName;
    if (fb) {
      d.addrBefore = fb->addr;
      d.lenBefore = fb->len;
      d.footprintBefore = fb->footprint;
    }
    if (fa) {
      d.addrAfter = fa->addr;
      d.lenAfter = fa->len;
      d.footprintAfter = fa->footprint;
    }
    d.matchedByAddress = byAddr;
    if (fb && fa && fb->path != fa->path) d.beforePath = fb->path;
    d.status = !fb ? DiffStatus::New : !fa ? DiffStatus::Vanished : statusOf(d);
    out.items.push_back(std::move(d));
    pairs.emplace_back(fb, fa);
  };
  // 1. Same path (and kind).
  for (size_t i = 0; i < b.items.size(); i++) {
    const Found& fb = b.items[i];
    auto [lo, hi] = byPath.equal_range(fb.path.str());
    for (auto it = lo; it != hi; ++it) {
      const Found& fa = a.items[it->second];
      if (usedA[it->second] || fa.kind != fb.kind) continue;
      usedA[it->second] = usedB[i] = true;
      add(&fb, &fa, false);
      break;
    }
  }
  // 2. Same header address, kind and type, under another path.
  std::unordered_multimap<uint64_t, size_t> byAddr;
  for (size_t i = 0; i < a.items.size(); i++)
    if (!usedA[i]) byAddr.emplace(a.items[i].addr, i);
  for (size_t i = 0; i < b.items.size(); i++) {
    if (usedB[i]) continue;
    const Found& fb = b.items[i];
    auto [lo, hi] = byAddr.equal_range(fb.addr);
    for (auto it = lo; it != hi; ++it) {
      const Found& fa = a.items[it->second];
      if (usedA[it->second] || fa.kind != fb.kind || fa.typeName != fb.typeName) continue;
      usedA[it->second] = usedB[i] = true;
      add(&fb, &fa, true);
      break;
    }
  }
  // 3. The rest vanished or are new.
  for (size_t i = 0; i < b.items.size(); i++)
    if (!usedB[i]) add(&b.items[i], nullptr, false);
  for (size_t i = 0; i < a.items.size(); i++)
    if (!usedA[i]) add(nullptr, &a.items[i], false);
}

void memstatsDeltas(const MemStats& b, const MemStats& a, std::vector<MemStatsDelta>& out) {
  for (const auto& f : memStatsScalars()) {
    MemStatsDelta d;
    d.name = f.name;
    d.unit = f.unit;
    d.before = f.get(b);
    d.after = f.get(a);
    out.push_back(std::move(d));
  }
  MemStatsDelta f;
  f.name = "GCCPUFraction";
  f.integer = false;
  f.fbefore = b.GCCPUFraction;
  f.fafter = a.GCCPUFraction;
  out.push_back(std::move(f));
}

enum class PageChange : uint8_t { Changed, Added, Removed };

struct DiffPage {
  uint64_t addr;
  PageChange change;
  PageArea area;
};

// Sorted, merged [lo, hi) ranges with a containment test.
class Ranges {
 public:
  void add(const std::vector<AddrRange>& v) {
    for (const auto& r : v)
      if (r.hi > r.lo) r_.push_back(r);
  }
  void seal() {
    std::sort(r_.begin(), r_.end(),
              [](const AddrRange& x, const AddrRange& y) { return x.lo < y.lo; });
    std::vector<AddrRange> m;
    for (const auto& r : r_) {
      if (!m.empty() && r.lo <= m.back().hi)
        m.back().hi = std::max(m.back().hi, r.hi);
      else
        m.push_back(r);
    }
    r_.swap(m);
  }
  // Does [lo, hi) overlap any range?
  bool overlaps(uint64_t lo, uint64_t hi) const {
    auto it = std::upper_bound(r_.begin(), r_.end(), lo,
                               [](uint64_t a, const AddrRange& r) { return a < r.hi; });
    return it != r_.end() && it->lo < hi;
  }

 private:
  std::vector<AddrRange> r_;
};

void pageDiff(const DiffSnapshot& b, const DiffSnapshot& a,
              const std::vector<std::pair<const Found*, const Found*>>& pairs, Diff& out) {
  PageDiff& pd = out.pages;
  pd.available = b.pagesRead && a.pagesRead;
  if (!pd.available) return;
  std::vector<DiffPage> pages;
  size_t i = 0, j = 0;
  const auto& B = b.pages;
  const auto& A = a.pages;
  while (i < B.size() || j < A.size()) {
    if (j == A.size() || (i < B.size() && B[i].addr < A[j].addr)) {
      if (!B[i].unreadable) pages.push_back({B[i].addr, PageChange::Removed, B[i].area});
      i++;
    } else if (i == B.size() || A[j].addr < B[i].addr) {
      if (!A[j].unreadable) pages.push_back({A[j].addr, PageChange::Added, A[j].area});
      j++;
    } else {
      if (B[i].unreadable || A[j].unreadable) {
        pd.unreadable++;
      } else {
        pd.compared++;
        if (B[i].hash != A[j].hash) pages.push_back({A[j].addr, PageChange::Changed, A[j].area});
      }
      i++;
      j++;
    }
  }
  for (const auto& p : pages) {
    if (p.change == PageChange::Changed)
      pd.changed++;
    else if (p.change == PageChange::Added)
      pd.added++;
    else
      pd.removed++;
  }
  // Owners: bit 0 a map, bit 1 a list.
  std::vector<uint8_t> owner(pages.size());
  auto hits = [&](const std::vector<Region>& regions, std::vector<uint32_t>& idx) {
    for (const Region& r : regions) {
      if (!r.size) continue;
      uint64_t lo = r.addr & ~(kDiffPageSize - 1);
      uint64_t hi = r.addr + r.size;
      if (hi < r.addr) hi = UINT64_MAX;
      auto it = std::lower_bound(pages.begin(), pages.end(), lo,
                                 [](const DiffPage& p, uint64_t x) { return p.addr < x; });
      for (; it != pages.end() && it->addr < hi; ++it) idx.push_back(uint32_t(it - pages.begin()));
    }
    std::sort(idx.begin(), idx.end());
    idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  };
  std::vector<uint32_t> bi, ai, both;
  for (size_t k = 0; k < pairs.size(); k++) {
    bi.clear();
    ai.clear();
    both.clear();
    if (pairs[k].first) hits(pairs[k].first->regions, bi);
    if (pairs[k].second) hits(pairs[k].second->regions, ai);
    std::set_intersection(bi.begin(), bi.end(), ai.begin(), ai.end(), std::back_inserter(both));
    DiffItem& d = out.items[k];
    d.pagesChanged = bi.size() + ai.size() - both.size();
    d.pagesRetainedChanged = both.size();
    uint8_t bit = d.kind == FoundKind::List ? 2 : 1;
    for (uint32_t x : bi) owner[x] |= bit;
    for (uint32_t x : ai) owner[x] |= bit;
  }
  Ranges stacks, globals;
  stacks.add(b.stacks);
  stacks.add(a.stacks);
  globals.add(b.globals);
  globals.add(a.globals);
  stacks.seal();
  globals.seal();
  PageAttribution& at = pd.attributed;
  for (size_t k = 0; k < pages.size(); k++) {
    const DiffPage& p = pages[k];
    uint64_t end = p.addr + kDiffPageSize;
    if (owner[k] & 1)
      at.maps++;
    else if (owner[k] & 2)
      at.lists++;
    else if (p.area == PageArea::Stack || stacks.overlaps(p.addr, end))
      at.stacks++;
    else if (globals.overlaps(p.addr, end))
      at.globals++;
    else if (p.area == PageArea::Anonymous || p.area == PageArea::Heap)
      at.otherAnonymous++;
    else
      at.other++;
  }
}

}  // namespace

Diff diff(const DiffSnapshot& before, const DiffSnapshot& after) {
  Diff out;
  out.before = before.target;
  out.after = after.target;
  out.beforeTime = before.unixTime;
  out.afterTime = after.unixTime;
  if (before.unixTime && after.unixTime) out.seconds = *after.unixTime - *before.unixTime;
  std::vector<std::pair<const Found*, const Found*>> pairs;
  matchItems(before.found, after.found, out, pairs);
  if (before.memstats && after.memstats) {
    out.memstatsAvailable = true;
    memstatsDeltas(*before.memstats, *after.memstats, out.memstats);
  } else {
    out.memstatsError = !before.memstats ? before.memstatsError : after.memstatsError;
  }
  pageDiff(before, after, pairs, out);
  // Biggest footprint change first; then changed before unchanged; then path.
  std::vector<size_t> order(out.items.size());
  for (size_t k = 0; k < order.size(); k++) order[k] = k;
  auto mag = [](const DiffItem& d) { return uint64_t(std::llabs(d.footprintDelta())); };
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const DiffItem &a = out.items[x], &b = out.items[y];
    if (mag(a) != mag(b)) return mag(a) > mag(b);
    bool ca = a.status != DiffStatus::Unchanged, cb = b.status != DiffStatus::Unchanged;
    if (ca != cb) return ca;
    return a.path.str() < b.path.str();
  });
  std::vector<DiffItem> sorted;
  sorted.reserve(order.size());
  for (size_t k : order) sorted.push_back(std::move(out.items[k]));
  out.items = std::move(sorted);
  return out;
}

}  // namespace gms
