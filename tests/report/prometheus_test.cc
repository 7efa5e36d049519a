// The Prometheus text format writer (report/prometheus.h): escaping, one
// HELP/TYPE pair per family before its samples, every MemStats field
// exported exactly once under client_golang's names, per-map families by
// implementation; the output is parsed back by a small strict parser of the
// 0.0.4 text format.
#include "report/prometheus.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace gms {
namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

struct Parsed {
  std::map<std::string, std::string> type, help;
  std::vector<Sample> samples;
};

// A strict parser of the text format: comments are HELP/TYPE only, each
// family's TYPE before its samples, families contiguous, label values
// unescaped. Fails the test on anything else.
Parsed parse(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line, current;
  std::set<std::string> closed;
  static const std::regex meta(R"(# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))");
  static const std::regex name(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{|\s))");
  auto familyOf = [&](const std::string& n) {
    for (const char* suf : {"_sum", "_count", ""}) {
      std::string s = suf;
      if (n.size() > s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0) {
        std::string base = n.substr(0, n.size() - s.size());
        if (p.type.count(base) && (s.empty() || p.type[base] == "summary")) return base;
      }
    }
    return n;
  };
  auto enter = [&](const std::string& fam) {
    if (fam == current) return;
    EXPECT_FALSE(closed.count(fam)) << "family " << fam << " is not contiguous";
    if (!current.empty()) closed.insert(current);
    current = fam;
  };
  while (std::getline(in, line)) {
    EXPECT_FALSE(line.empty()) << "empty line";
    std::smatch m;
    if (line[0] == '#') {
      EXPECT_TRUE(std::regex_match(line, m, meta)) << line;
      if (m.empty()) continue;
      auto& dst = m[1] == "HELP" ? p.help : p.type;
      EXPECT_FALSE(dst.count(m[2])) << "second " << m[1] << " for " << m[2];
      dst[m[2]] = m[3];
      enter(m[2]);
      if (m[1] == "TYPE") {
        EXPECT_TRUE(std::set<std::string>({"gauge", "counter", "summary", "untyped", "histogram"})
                        .count(m[3]))
            << line;
      }
      continue;
    }
    Sample s;
    bool named = std::regex_search(line, m, name) && m.position(0) == 0;
    EXPECT_TRUE(named) << line;
    if (!named) continue;
    s.name = m[1];
    size_t i = s.name.size();
    if (line[i] == '{') {
      i++;
      while (line[i] != '}') {
        size_t eq = line.find('=', i);
        EXPECT_NE(eq, std::string::npos) << line;
        std::string ln = line.substr(i, eq - i);
        EXPECT_TRUE(std::regex_match(ln, std::regex("[a-zA-Z_][a-zA-Z0-9_]*"))) << line;
        i = eq + 1;
        EXPECT_EQ(line[i], '"') << line;
        i++;
        std::string v;
        for (; i < line.size() && line[i] != '"'; i++) {
          if (line[i] == '\\') {
            char c = line[++i];
            EXPECT_TRUE(c == '\\' || c == '"' || c == 'n') << "bad escape in " << line;
            v.push_back(c == 'n' ? '\n' : c);
          } else {
            v.push_back(line[i]);
          }
        }
        EXPECT_LT(i, line.size()) << "unterminated label value: " << line;
        if (i >= line.size()) return p;
        i++;
        EXPECT_FALSE(s.labels.count(ln)) << "duplicate label " << ln;
        s.labels[ln] = v;
        if (line[i] == ',') i++;
      }
      i++;
    }
    EXPECT_EQ(line[i], ' ') << line;
    s.value = line.substr(i + 1);
    EXPECT_TRUE(
        std::regex_match(s.value, std::regex(R"(NaN|[+-]Inf|-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?)")))
        << line;
    std::string fam = familyOf(s.name);
    EXPECT_TRUE(p.type.count(fam)) << "no TYPE before " << s.name;
    EXPECT_TRUE(p.help.count(fam)) << "no HELP before " << s.name;
    enter(fam);
    p.samples.push_back(s);
  }
  return p;
}

std::vector<const Sample*> find(const Parsed& p, const std::string& name) {
  std::vector<const Sample*> out;
  for (const auto& s : p.samples)
    if (s.name == name) out.push_back(&s);
  return out;
}

TEST(PromFormat, EscapesLabelsAndHelp) {
  EXPECT_EQ(promEscapeLabel(R"(a"b\c)"
                            "\n"
                            "d"),
            R"(a\"b\\c\nd)");
  EXPECT_EQ(promEscapeHelp("x\\y\nz\"q"), "x\\\\y\\nz\"q");
  std::string out;
  PromWriter w(out);
  w.family("m", PromType::Gauge, "help with \\ and\nnewline");
  w.sample({{"k", "v\"\\\n"}}, uint64_t(3));
  EXPECT_EQ(out,
            "# HELP m help with \\\\ and\\nnewline\n# TYPE m gauge\n"
            "m{k=\"v\\\"\\\\\\n\"} 3\n");
  Parsed p = parse(out);
  ASSERT_EQ(p.samples.size(), 1u);
  EXPECT_EQ(p.samples[0].labels.at("k"), "v\"\\\n");
}

TEST(PromFormat, NumbersAsPrometheusParsesThem) {
  EXPECT_EQ(promNumber(0), "0");
  EXPECT_EQ(promNumber(0.25), "0.25");
  EXPECT_EQ(promNumber(1.5e-06), "1.5e-06");
  EXPECT_EQ(promNumber(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(promNumber(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(promNumber(-std::numeric_limits<double>::infinity()), "-Inf");
  std::string out;
  PromWriter w(out);
  w.family("big", PromType::Counter, "h");
  w.sample(uint64_t(18446744073709551615u));  // exact, not rounded through a double
  EXPECT_NE(out.find("big 18446744073709551615\n"), std::string::npos) << out;
}

TEST(PromFormat, RejectsBadNamesAndRepeatedFamilies) {
  EXPECT_TRUE(promValidMetricName("go_memstats_alloc_bytes"));
  EXPECT_TRUE(promValidMetricName("a:b_c9"));
  EXPECT_FALSE(promValidMetricName("9a"));
  EXPECT_FALSE(promValidMetricName("a-b"));
  EXPECT_FALSE(promValidMetricName(""));
  EXPECT_FALSE(promValidLabelName("a:b"));
  EXPECT_FALSE(promValidLabelName("__reserved"));
  std::string out;
  PromWriter w(out);
  EXPECT_THROW(w.family("bad-name", PromType::Gauge, "h"), std::logic_error);
  w.family("once", PromType::Gauge, "h");
  EXPECT_THROW(w.family("once", PromType::Gauge, "h"), std::logic_error);
  w.family("x", PromType::Gauge, "h");
  EXPECT_THROW(w.sample({{"bad:label", "v"}}, uint64_t(1)), std::logic_error);
  std::string empty;
  PromWriter e(empty);
  e.family("nothing", PromType::Gauge, "h");
  EXPECT_EQ(empty, "") << "a family without samples writes nothing";
}

ScrapeRecord sampleRecord() {
  ScrapeRecord r;
  r.pid = 42;
  r.goVersion = "go1.26.0";
  r.up = true;
  MemStats& m = r.mem;
  uint64_t v = 1000;
  for (uint64_t* f :
       {&m.Alloc,    &m.TotalAlloc, &m.Sys,       &m.Mallocs,      &m.Frees,       &m.HeapAlloc,
        &m.HeapSys,  &m.HeapIdle,   &m.HeapInuse, &m.HeapReleased, &m.HeapObjects, &m.StackInuse,
        &m.StackSys, &m.MSpanInuse, &m.MSpanSys,  &m.MCacheInuse,  &m.MCacheSys,   &m.BuckHashSys,
        &m.GCSys,    &m.OtherSys,   &m.NextGC})
    *f = v++;
  m.LastGC = 1700000000500000000;
  m.NumGC = 300;  // the ring has wrapped: only the last 256 pauses count
  m.NumForcedGC = 2;
  m.PauseTotalNs = 123456789;
  for (uint32_t i = 0; i < 256; i++) m.PauseNs[i] = 1000 * (i + 1);
  m.GCCPUFraction = 0.125;
  for (size_t i = 1; i < 61; i++) m.BySize[i] = {uint32_t(8 * i), 10 * i, 5 * i};
  m.extras.gcPercent = -1;
  m.extras.memoryLimit = 1 << 30;
  r.threads = 7;
  r.goroutinesByState = {{"running", 1}, {"waiting", 3}};
  PromMap classic;
  classic.expr = "main.cache";
  classic.type = "map[string]*main.entry";
  classic.shape.impl = MapImpl::Classic;
  classic.len = 5000;
  classic.shape.nbuckets = 1024;
  classic.shape.overflowBuckets = 12;
  classic.shape.growing = true;
  classic.footprint = 300000;
  PromMap swiss;
  swiss.expr = "main.odd\"name\\";  // label escaping end to end
  swiss.type = "map[int]int";
  swiss.shape.impl = MapImpl::Swiss;
  swiss.len = 9;
  swiss.shape.groups = 4;
  swiss.shape.tables = 1;
  swiss.footprint = 700;
  PromMap broken;
  broken.expr = "main.gone";
  broken.error = "main.gone is a nil pointer";
  r.maps = {classic, swiss, broken};
  PromList l;
  l.expr = "main.queue";
  l.len = 17;
  l.footprint = 900;
  r.lists = {l};
  r.scrapeSeconds = 0.0125;
  r.stoppedSeconds = 0.004;
  r.scrapes = 5;
  r.errors = 1;
  return r;
}

TEST(PromFormat, EveryMemStatsFieldOnceUnderClientGolangNames) {
  ScrapeRecord r = sampleRecord();
  Parsed p = parse(formatPrometheus(r));
  // Each scalar MemStats field, with the value put in it.
  const std::vector<std::pair<std::string, uint64_t>> want = {
      {"go_memstats_alloc_bytes", r.mem.Alloc},
      {"go_memstats_alloc_bytes_total", r.mem.TotalAlloc},
      {"go_memstats_sys_bytes", r.mem.Sys},
      {"go_memstats_lookups_total", r.mem.Lookups},
      {"go_memstats_mallocs_total", r.mem.Mallocs},
      {"go_memstats_frees_total", r.mem.Frees},
      {"go_memstats_heap_alloc_bytes", r.mem.HeapAlloc},
      {"go_memstats_heap_sys_bytes", r.mem.HeapSys},
      {"go_memstats_heap_idle_bytes", r.mem.HeapIdle},
      {"go_memstats_heap_inuse_bytes", r.mem.HeapInuse},
      {"go_memstats_heap_released_bytes", r.mem.HeapReleased},
      {"go_memstats_heap_objects", r.mem.HeapObjects},
      {"go_memstats_stack_inuse_bytes", r.mem.StackInuse},
      {"go_memstats_stack_sys_bytes", r.mem.StackSys},
      {"go_memstats_mspan_inuse_bytes", r.mem.MSpanInuse},
      {"go_memstats_mspan_sys_bytes", r.mem.MSpanSys},
      {"go_memstats_mcache_inuse_bytes", r.mem.MCacheInuse},
      {"go_memstats_mcache_sys_bytes", r.mem.MCacheSys},
      {"go_memstats_buck_hash_sys_bytes", r.mem.BuckHashSys},
      {"go_memstats_gc_sys_bytes", r.mem.GCSys},
      {"go_memstats_other_sys_bytes", r.mem.OtherSys},
      {"go_memstats_next_gc_bytes", r.mem.NextGC},
      {"go_gc_cycles_total", r.mem.NumGC},
      {"go_gc_cycles_forced_total", r.mem.NumForcedGC},
      {"go_gc_duration_seconds_count", r.mem.NumGC},
      {"go_gc_gomemlimit_bytes", uint64_t(1) << 30},
      {"go_threads", 7},
      {"gomemscope_up", 1},
      {"gomemscope_scrapes_total", 5},
      {"gomemscope_scrape_errors_total", 1},
  };
  for (const auto& [name, v] : want) {
    auto s = find(p, name);
    ASSERT_EQ(s.size(), 1u) << name;
    EXPECT_EQ(s[0]->value, std::to_string(v)) << name;
    EXPECT_TRUE(s[0]->labels.empty()) << name;
  }
  for (const char* counter : {"go_memstats_alloc_bytes_total", "go_memstats_mallocs_total",
                              "go_memstats_frees_total", "go_memstats_lookups_total"})
    EXPECT_EQ(p.type[counter], "counter") << counter;
  EXPECT_EQ(p.type["go_memstats_heap_alloc_bytes"], "gauge");
  EXPECT_EQ(find(p, "go_memstats_last_gc_time_seconds")[0]->value, "1700000000.5");
  EXPECT_EQ(find(p, "go_memstats_gc_cpu_fraction")[0]->value, "0.125");
  EXPECT_EQ(find(p, "go_gc_gogc_percent")[0]->value, "-1");
  EXPECT_DOUBLE_EQ(std::stod(find(p, "go_gc_duration_seconds_sum")[0]->value), 0.123456789);
  // Pauses: the last 256 of 300 GCs are the whole ring, 1..256 µs.
  EXPECT_EQ(p.type["go_gc_duration_seconds"], "summary");
  std::map<std::string, std::string> q;
  for (const auto* s : find(p, "go_gc_duration_seconds")) q[s->labels.at("quantile")] = s->value;
  EXPECT_EQ(q["0"], "1e-06");
  EXPECT_EQ(q["1"], "0.000256");
  EXPECT_EQ(q["0.5"], "0.000129");
  // BySize: 60 classes (class 0 has no size), counters labelled by size.
  auto by = find(p, "go_memstats_by_size_mallocs_total");
  ASSERT_EQ(by.size(), 60u);
  EXPECT_EQ(by[0]->labels.at("size"), "8");
  EXPECT_EQ(by[0]->value, "10");
  EXPECT_EQ(find(p, "go_memstats_by_size_frees_total").size(), 60u);
  auto info = find(p, "go_info");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0]->labels.at("version"), "go1.26.0");
  auto gs = find(p, "gomemscope_goroutines");
  ASSERT_EQ(gs.size(), 2u);
  EXPECT_EQ(gs[1]->labels.at("state"), "waiting");
  EXPECT_EQ(gs[1]->value, "3");
}

TEST(PromFormat, MapsByImplementationAndFailedReads) {
  Parsed p = parse(formatPrometheus(sampleRecord()));
  auto byMap = [&](const std::string& name) {
    std::map<std::string, std::string> out;
    for (const auto* s : find(p, name)) out[s->labels.at("map")] = s->value;
    return out;
  };
  auto len = byMap("gomemscope_map_len");
  EXPECT_EQ(
      len, (std::map<std::string, std::string>{{"main.cache", "5000"}, {"main.odd\"name\\", "9"}}));
  auto l0 = find(p, "gomemscope_map_len")[0];
  EXPECT_EQ(l0->labels.at("type"), "map[string]*main.entry");
  EXPECT_EQ(l0->labels.at("impl"), "classic");
  EXPECT_EQ(byMap("gomemscope_map_buckets"),
            (std::map<std::string, std::string>{{"main.cache", "1024"}}));
  EXPECT_EQ(byMap("gomemscope_map_overflow_buckets")["main.cache"], "12");
  EXPECT_EQ(byMap("gomemscope_map_growing"),
            (std::map<std::string, std::string>{{"main.cache", "1"}}));
  EXPECT_EQ(byMap("gomemscope_map_groups"),
            (std::map<std::string, std::string>{{"main.odd\"name\\", "4"}}));
  EXPECT_EQ(byMap("gomemscope_map_tables")["main.odd\"name\\"], "1");
  EXPECT_EQ(byMap("gomemscope_map_footprint_bytes").size(), 2u);
  EXPECT_EQ(byMap("gomemscope_map_up"),
            (std::map<std::string, std::string>{
                {"main.cache", "1"}, {"main.odd\"name\\", "1"}, {"main.gone", "0"}}));
  auto ll = find(p, "gomemscope_list_len");
  ASSERT_EQ(ll.size(), 1u);
  EXPECT_EQ(ll[0]->labels.at("list"), "main.queue");
  EXPECT_EQ(ll[0]->value, "17");
}

TEST(PromFormat, TargetDownWritesOnlyTheExportersOwnMetrics) {
  ScrapeRecord r = sampleRecord();
  r.up = false;
  for (auto& m : r.maps) m.error = "no such process";
  Parsed p = parse(formatPrometheus(r));
  EXPECT_EQ(find(p, "gomemscope_up")[0]->value, "0");
  EXPECT_TRUE(find(p, "go_memstats_alloc_bytes").empty());
  EXPECT_TRUE(find(p, "gomemscope_map_len").empty());
  EXPECT_EQ(find(p, "gomemscope_map_up").size(), 3u);
  EXPECT_EQ(find(p, "gomemscope_scrape_errors_total")[0]->value, "1");
  EXPECT_EQ(find(p, "gomemscope_scrape_duration_seconds")[0]->value, "0.0125");
}

}  // namespace
}  // namespace gms
