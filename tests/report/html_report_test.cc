// The HTML renderer on synthetic records (no target): target strings are
// escaped everywhere they appear, the heatmap has one cell per bucket/group
// up to the cap and aggregates beyond it, and the page loads nothing.
#include "report/html_report.h"

#include <gtest/gtest.h>

namespace gms {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + what.size())) n++;
  return n;
}

// The heatmap's picture (not its legend).
std::string heatmapSvg(const std::string& html) {
  size_t a = html.find("data-cells=");
  EXPECT_NE(a, std::string::npos);
  if (a == std::string::npos) return "";
  return html.substr(a, html.find("</svg>", a) - a);
}
size_t heatmapCells(const std::string& html) {
  return count(heatmapSvg(html), "<rect class=\"cell ");
}

BucketRecord bucket(uint64_t index, int used, int chainPos = 0, bool old = false) {
  BucketRecord r;
  r.index = index;
  r.used = used;
  r.chainPos = chainPos;
  r.old = old;
  r.addr = 0xc000100000 + index * 144;
  for (int i = 0; i < used && i < 8; i++) r.ctrl[i] = 0x80 | uint8_t(i);
  return r;
}

HtmlReportData classicData(uint64_t nbuckets) {
  HtmlReportData d;
  d.target = "pid 1";
  d.mapImpl = "classic";
  d.hasMap = true;
  d.mapPath = "main.m";
  d.mapType = "map[string]int";
  d.map.impl = MapImpl::Classic;
  d.map.nbuckets = nbuckets;
  for (uint64_t i = 0; i < nbuckets; i++) {
    d.map.buckets.push_back(bucket(i, int(i % 9)));
    if (i % 7 == 0) d.map.buckets.push_back(bucket(i, 3, 1));  // one overflow bucket
  }
  return d;
}

TEST(HtmlReport, EscapesEveryTargetString) {
  const std::string evil = "<script>alert('x')</script>&\"";
  HtmlReportData d = classicData(4);
  d.target = evil;
  d.mapPath = evil;
  d.mapType = "map[" + evil + "]int";
  Found f;
  f.path = Path::global("main.m[\"" + evil + "\"]");
  f.typeName = evil;
  f.len = 3;
  f.footprint = 100;
  d.items.push_back(f);
  d.map.problems.push_back(evil);
  d.notes.push_back(evil);
  d.findingsAvailable = true;
  Finding fi;
  fi.rule = evil;
  fi.severity = "critical";
  fi.summary = evil;
  fi.evidence.push_back({evil, evil});
  MapEvidence me;
  me.path = evil;
  me.type = evil;
  fi.maps.push_back(me);
  d.findings.push_back(fi);
  std::string html = renderHtmlReport(d);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("alert('x')"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"),
            std::string::npos);
  EXPECT_EQ(htmlEscape(std::string("a\x01z", 3)), "a\xEF\xBF\xBDz");
  EXPECT_EQ(htmlEscape("tab\tnl\n"), "tab\tnl\n");
}

TEST(HtmlReport, NoExternalResourcesAndStableIds) {
  HtmlReportData d = classicData(16);
  d.samples.push_back({0, MemStats{}});
  d.samples.push_back({1, MemStats{}});
  d.samples[1].stats.HeapAlloc = 1 << 20;
  std::string html = renderHtmlReport(d);
  EXPECT_EQ(html.find("http:"), std::string::npos);
  EXPECT_EQ(html.find("https:"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  for (const char* id : {"top-maps", "heatmap", "chain-histogram", "memstats-series", "findings"})
    EXPECT_EQ(count(html, fmt::format("id=\"{}\"", id)), 1u) << id;
  EXPECT_NE(html.find("id=\"memstats-heap\""), std::string::npos);
  EXPECT_NE(html.find("Findings: run with --every/--for"), std::string::npos);
}

TEST(HtmlReport, OneCellPerBucketUnderTheCap) {
  HtmlReportData d = classicData(512);
  std::string html = renderHtmlReport(d);
  EXPECT_EQ(heatmapCells(html), 512u);
  // Overflow markers: every 7th bucket has a chain.
  EXPECT_EQ(count(heatmapSvg(html), "<polygon class=\"ovf1\""), (512 + 6) / 7);
  EXPECT_EQ(html.find("consecutive buckets"), std::string::npos);
}

TEST(HtmlReport, AggregatesBeyondTheCap) {
  HtmlReportData d = classicData(10000);
  HtmlReportOptions o;
  o.maxCells = 4096;
  std::string html = renderHtmlReport(d, o);
  size_t cells = heatmapCells(html);
  EXPECT_LE(cells, 4096u);
  EXPECT_GE(cells, 10000u / 3);  // k = 3: ceil(10000/3) = 3334 cells
  EXPECT_EQ(count(html, " agg\""), cells);
  EXPECT_NE(html.find("10000 buckets are drawn as 3334 cells"), std::string::npos);
}

TEST(HtmlReport, GrowingClassicDistinguishesEvacuatedAndPending) {
  HtmlReportData d = classicData(8);
  d.map.growing = true;
  d.map.oldBucketCount = 4;
  d.map.evacuated = 2;
  for (uint64_t i = 0; i < 4; i++) {
    BucketRecord r = bucket(i, i < 2 ? 0 : 5, 0, true);
    if (i < 2) r.ctrl[0] = 2;  // evacuatedX
    d.map.buckets.push_back(r);
  }
  std::string html = renderHtmlReport(d);
  EXPECT_EQ(heatmapCells(html), 12u);
  EXPECT_EQ(count(html, " old evac\""), 2u);
  EXPECT_EQ(count(html, " old pending\""), 2u);
}

TEST(HtmlReport, SwissGroupsPerTableWithTombstones) {
  HtmlReportData d;
  d.mapImpl = "swiss";
  d.hasMap = true;
  d.mapPath = "main.s";
  d.mapType = "map[int]int";
  d.map.impl = MapImpl::Swiss;
  d.map.tables.resize(2);
  for (int t = 0; t < 2; t++) {
    d.map.tables[size_t(t)].groups = 32;
    for (uint64_t g = 0; g < 32; g++) {
      BucketRecord r = bucket(g, int(g % 9));
      r.table = t;
      for (auto& c : r.ctrl) c = 0x80;
      for (int i = 0; i < r.used; i++) r.ctrl[i] = 0x11;
      if (g == 3) r.ctrl[7] = 0xFE;
      d.map.buckets.push_back(r);
    }
  }
  std::string html = renderHtmlReport(d);
  EXPECT_EQ(heatmapCells(html), 64u);
  EXPECT_EQ(count(heatmapSvg(html), "<circle class=\"tomb\""), 2u);
  EXPECT_NE(html.find("table 0 (localDepth"), std::string::npos);
  EXPECT_NE(html.find("table 1 (localDepth"), std::string::npos);
  EXPECT_NE(html.find("2 groups with tombstones"), std::string::npos);
  EXPECT_NE(html.find("Group fill"), std::string::npos);
}

}  // namespace
}  // namespace gms
