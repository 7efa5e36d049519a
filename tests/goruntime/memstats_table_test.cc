// memStatsScalars(), the one table every MemStats sink iterates: each row
// reads the field it names, the rows are runtime.MemStats' integer fields in
// Go's declaration order, and the units agree with the names the exporter
// gives them.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "goruntime/memstats.h"

namespace gms {
namespace {

TEST(MemStatsScalars, EachRowReadsTheFieldItNamesInDeclarationOrder) {
  MemStats m;
  std::vector<std::pair<std::string, uint64_t*>> fields = {{"Alloc", &m.Alloc},
                                                           {"TotalAlloc", &m.TotalAlloc},
                                                           {"Sys", &m.Sys},
                                                           {"Lookups", &m.Lookups},
                                                           {"Mallocs", &m.Mallocs},
                                                           {"Frees", &m.Frees},
                                                           {"HeapAlloc", &m.HeapAlloc},
                                                           {"HeapSys", &m.HeapSys},
                                                           {"HeapIdle", &m.HeapIdle},
                                                           {"HeapInuse", &m.HeapInuse},
                                                           {"HeapReleased", &m.HeapReleased},
                                                           {"HeapObjects", &m.HeapObjects},
                                                           {"StackInuse", &m.StackInuse},
                                                           {"StackSys", &m.StackSys},
                                                           {"MSpanInuse", &m.MSpanInuse},
                                                           {"MSpanSys", &m.MSpanSys},
                                                           {"MCacheInuse", &m.MCacheInuse},
                                                           {"MCacheSys", &m.MCacheSys},
                                                           {"BuckHashSys", &m.BuckHashSys},
                                                           {"GCSys", &m.GCSys},
                                                           {"OtherSys", &m.OtherSys},
                                                           {"NextGC", &m.NextGC},
                                                           {"LastGC", &m.LastGC},
                                                           {"PauseTotalNs", &m.PauseTotalNs}};
  std::vector<std::pair<std::string, uint64_t>> want;
  uint64_t v = 1000;
  for (auto& [name, p] : fields) {
    *p = ++v;
    want.push_back({name, v});
  }
  m.NumGC = uint32_t(++v);
  want.push_back({"NumGC", v});
  m.NumForcedGC = uint32_t(++v);
  want.push_back({"NumForcedGC", v});

  const auto& t = memStatsScalars();
  ASSERT_EQ(t.size(), want.size());
  for (size_t i = 0; i < t.size(); i++) {
    EXPECT_EQ(t[i].name, want[i].first) << "row " << i;
    EXPECT_EQ(t[i].get(m), want[i].second) << t[i].name;
  }
}

TEST(MemStatsScalars, UnitsAgreeWithPrometheusNamesAndHtmlRowsAreDistinct) {
  std::set<int> rows;
  for (const auto& f : memStatsScalars()) {
    std::string name = f.name;
    if (f.prometheus) {
      std::string p = f.prometheus;
      ASSERT_NE(f.help, nullptr) << name;
      EXPECT_EQ(p.rfind("go_memstats_", 0), 0u) << p;
      bool bytes = p.find("_bytes") != std::string::npos;
      EXPECT_EQ(bytes, f.unit == MemStatsUnit::Bytes) << name << " " << p;
      EXPECT_EQ(p.size() > 6 && p.compare(p.size() - 6, 6, "_total") == 0, f.cumulative) << p;
    }
    if (f.htmlRow) {
      EXPECT_TRUE(rows.insert(f.htmlRow).second) << name << " shares HTML row " << f.htmlRow;
    }
  }
  EXPECT_EQ(rows.size(), 14u);  // the HTML report's MemStats table
}

}  // namespace
}  // namespace gms
