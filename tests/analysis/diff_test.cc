// diff() over hand-made snapshots: the matching rules (path, then header
// address), the statuses, MemStats deltas, and page attribution (which map's
// memory covers a differing page, on which side). The decoders that fill
// snapshots are checked against real fixtures in tests/cli/diff_test.cc.
#include "analysis/diff.h"

#include <gtest/gtest.h>

namespace gms {
namespace {

Found map(const std::string& path, uint64_t addr, uint64_t len, uint64_t footprint,
          std::vector<Region> regions = {}) {
  Found f;
  f.kind = FoundKind::Map;
  f.path = Path::global(path);
  f.typeName = "map[int]int";
  f.addr = addr;
  f.len = len;
  f.footprint = footprint;
  f.regions = std::move(regions);
  return f;
}

PageDigest page(uint64_t addr, uint64_t hash, PageArea area = PageArea::Anonymous) {
  PageDigest p;
  p.addr = addr;
  p.hash = hash;
  p.area = area;
  return p;
}

const DiffItem& find(const Diff& d, const std::string& path) {
  for (const auto& i : d.items)
    if (i.path.str() == path) return i;
  throw std::runtime_error("no item " + path);
}

TEST(DiffAnalysis, MatchesByPathThenAddressAndSetsStatuses) {
  DiffSnapshot b, a;
  b.found.items = {map("main.grow", 0x1000, 10, 100),   map("main.shrink", 0x2000, 10, 100),
                   map("main.same", 0x3000, 5, 50),     map("main.gone", 0x4000, 1, 10),
                   map("main.old.name", 0x5000, 3, 30), map("main.churn", 0x6000, 7, 70)};
  a.found.items = {map("main.grow", 0x1000, 20, 300),   map("main.shrink", 0x2000, 4, 100),
                   map("main.same", 0x3000, 5, 50),     map("main.new", 0x7000, 2, 20),
                   map("main.new.name", 0x5000, 3, 30), map("main.churn", 0x6000, 7, 90)};
  Diff d = diff(b, a);
  ASSERT_EQ(d.items.size(), 7u);
  EXPECT_EQ(find(d, "main.grow").status, DiffStatus::Grown);
  EXPECT_EQ(find(d, "main.grow").lenDelta(), 10);
  EXPECT_EQ(find(d, "main.grow").footprintDelta(), 200);
  EXPECT_EQ(find(d, "main.shrink").status, DiffStatus::Shrunk);
  EXPECT_EQ(find(d, "main.shrink").lenDelta(), -6);
  EXPECT_EQ(find(d, "main.same").status, DiffStatus::Unchanged);
  EXPECT_EQ(find(d, "main.gone").status, DiffStatus::Vanished);
  EXPECT_EQ(find(d, "main.new").status, DiffStatus::New);
  EXPECT_EQ(find(d, "main.churn").status, DiffStatus::Grown);  // same len, bigger footprint
  const DiffItem& moved = find(d, "main.new.name");
  EXPECT_TRUE(moved.matchedByAddress);
  EXPECT_EQ(moved.beforePath.str(), "main.old.name");
  EXPECT_EQ(moved.status, DiffStatus::Unchanged);
  EXPECT_EQ(d.changedItems(), 5u);
  // Biggest |footprint delta| first.
  EXPECT_EQ(d.items[0].path.str(), "main.grow");
  EXPECT_FALSE(d.pages.available);
  EXPECT_FALSE(d.memstatsAvailable);
}

TEST(DiffAnalysis, MemStatsDeltasCoverEveryScalarField) {
  DiffSnapshot b, a;
  b.memstats = MemStats{};
  a.memstats = MemStats{};
  b.memstats->Mallocs = 100;
  a.memstats->Mallocs = 150;
  b.memstats->HeapAlloc = 5000;
  a.memstats->HeapAlloc = 1000;
  b.memstats->LastGC = 1795480116754493983ull;
  a.memstats->LastGC = 1795480116754493984ull;  // beyond a double's 53 bits
  Diff d = diff(b, a);
  ASSERT_TRUE(d.memstatsAvailable);
  EXPECT_EQ(d.memstats.size(), 27u);
  for (const auto& m : d.memstats) {
    if (m.name == "Mallocs")
      EXPECT_EQ(m.delta(), 50);
    else if (m.name == "HeapAlloc")
      EXPECT_EQ(m.delta(), -4000);
    else if (m.name == "LastGC")
      EXPECT_EQ(m.delta(), 1);
    else
      EXPECT_FALSE(m.changed()) << m.name;
  }
}

TEST(DiffAnalysis, PagesAreAttributedToTheMapsThatCoverThem) {
  DiffSnapshot b, a;
  b.pagesRead = a.pagesRead = true;
  // main.grow: buckets at 0x10000 (2 pages) before, 0x20000 (4 pages) after.
  // main.shrink: buckets at 0x30000 (2 pages) on both sides.
  b.found.items = {map("main.grow", 0x1000, 10, 8192, {{0x10000, 8192, "buckets"}}),
                   map("main.shrink", 0x2000, 10, 8192, {{0x30000, 8192, "buckets"}})};
  a.found.items = {map("main.grow", 0x1000, 20, 16384, {{0x20000, 16384, "buckets"}}),
                   map("main.shrink", 0x2000, 4, 8192, {{0x30000, 8192, "buckets"}})};
  for (uint64_t p = 0x10000; p < 0x40000; p += 0x1000) b.pages.push_back(page(p, p));
  b.pages.push_back(page(0x50000, 1, PageArea::Stack));
  b.pages.push_back(page(0x60000, 1, PageArea::File));
  a.pages = b.pages;
  auto set = [&](uint64_t addr, uint64_t h) {
    for (auto& p : a.pages)
      if (p.addr == addr) p.hash = h;
  };
  set(0x10000, 7);  // grow's old buckets, freed and reused
  set(0x20000, 7);  // grow's new buckets
  set(0x21000, 7);
  set(0x30000, 7);                      // shrink's emptied slots
  set(0x3f000, 7);                      // nobody's
  set(0x50000, 7);                      // a stack
  set(0x60000, 7);                      // a file mapping
  a.pages.push_back(page(0x70000, 1));  // added
  a.stacks = {{0x3f000, 0x40000}};
  Diff d = diff(b, a);
  ASSERT_TRUE(d.pages.available);
  EXPECT_EQ(d.pages.compared, b.pages.size());
  EXPECT_EQ(d.pages.changed, 7u);
  EXPECT_EQ(d.pages.added, 1u);
  EXPECT_EQ(d.pages.removed, 0u);
  const DiffItem& g = find(d, "main.grow");
  EXPECT_EQ(g.pagesChanged, 3u);
  EXPECT_EQ(g.pagesRetainedChanged, 0u);
  const DiffItem& s = find(d, "main.shrink");
  EXPECT_EQ(s.pagesChanged, 1u);
  EXPECT_EQ(s.pagesRetainedChanged, 1u);
  const auto& at = d.pages.attributed;
  EXPECT_EQ(at.maps, 4u);
  EXPECT_EQ(at.stacks, 2u);  // the [stack] page and the goroutine stack
  EXPECT_EQ(at.other, 1u);
  EXPECT_EQ(at.otherAnonymous, 1u);  // the added page
  EXPECT_EQ(at.maps + at.lists + at.stacks + at.globals + at.otherAnonymous + at.other,
            d.pages.changed + d.pages.added + d.pages.removed);
}

}  // namespace
}  // namespace gms
