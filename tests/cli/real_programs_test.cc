// Real programs, not fixtures: Debian's own Go servers, stripped as Debian
// ships them (no DWARF, no symbol table). /usr/bin/prometheus is go1.19,
// externally linked with cgo, and exports its own runtime statistics at
// /metrics: what gomemscope reads from its raw memory must agree with them.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/child.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

using nlohmann::json;

constexpr const char* kPrometheus = "/usr/bin/prometheus";

struct Prometheus {
  std::unique_ptr<Child> child;
  int port = 0;
};

// Started on loopback, scraping nothing (a scrape would allocate on its own
// schedule), and ready.
Prometheus startPrometheus(const std::string& name) {
  Prometheus p;
  std::string dir = tempDir() + "/" + name;
  std::filesystem::create_directories(dir + "/data");
  std::ofstream(dir + "/prometheus.yml") << "global:\n  scrape_interval: 1h\n";
  p.port = freeLoopbackPort();
  p.child = std::make_unique<Child>(
      std::vector<std::string>{kPrometheus, "--config.file=" + dir + "/prometheus.yml",
                               "--storage.tsdb.path=" + dir + "/data",
                               "--web.listen-address=127.0.0.1:" + std::to_string(p.port)},
      dir + "/prometheus.log");
  // A bounded wait for readiness (not a timing assertion).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    httpGet(p.port, "/-/ready", &status);
    if (status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(status, 200) << "prometheus not ready; its log:\n" << p.child->err();
  return p;
}

json stats(int pid) {
  auto r = runGomemscope({"stats", "-p", std::to_string(pid), "--format", "json"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  return r.exitCode == 0 ? json::parse(r.out) : json::object();
}

uint64_t u(const json& j, const char* f) { return j.at(f).get<uint64_t>(); }

TEST(RealPrograms, DebianPrometheusStatsAgreeWithTheMetricsItExportsAboutItself) {
  if (access(kPrometheus, X_OK) != 0)
    GTEST_SKIP() << kPrometheus << " not installed (Debian package prometheus)";
  Prometheus prom = startPrometheus("prometheus-stats");
  ASSERT_GT(prom.child->pid(), 0);
  const int pid = prom.child->pid();
  httpGet(prom.port, "/metrics");  // the first scrape registers its collectors

  auto info = runGomemscope({"info", "-p", std::to_string(pid), "--format", "json"});
  ASSERT_EQ(info.exitCode, 0) << info.err;
  json ij = json::parse(info.out);
  EXPECT_FALSE(ij["dwarf"].get<bool>()) << "Debian's prometheus was expected stripped";
  EXPECT_EQ(ij["typeSource"], "type descriptors");
  EXPECT_FALSE(ij["goroutines"].contains("error")) << ij["goroutines"].dump();
  EXPECT_GE(ij["goroutines"]["live"].get<int>(), 10) << ij["goroutines"].dump();

  // Ours before the scrape (a), the scrape (m), ours after (b): the scrape's
  // own figures lie between, less what our read counts and a scrape may not
  // (allocations still in the mcaches: runtime/metrics does not flush them,
  // ReadMemStats does). A GC in between moves Sys and the heap: try again.
  bool compared = false;
  for (int attempt = 0; attempt < 5 && !compared; ++attempt) {
    json a = stats(pid);
    std::string body = httpGet(prom.port, "/metrics");
    json b = stats(pid);
    ASSERT_FALSE(a.empty() || b.empty() || body.empty());
    if (u(a, "NumGC") != u(b, "NumGC")) continue;
    compared = true;
    const json& x = a["extras"];
    EXPECT_NE(x["layout"].get<std::string>().find("located by the runtime's own invariants"),
              std::string::npos)
        << x["layout"];
    auto between = [&](const char* metric, double lo, double hi) {
      double m = metricValue(body, metric);
      EXPECT_TRUE(m >= lo && m <= hi) << metric << " = " << m << ", ours " << lo << " .. " << hi;
    };
    uint64_t unflushed = u(x, "unflushedSmallAllocs") + u(x, "unflushedTinyAllocs");
    between("go_memstats_mallocs_total", double(u(a, "Mallocs") - unflushed),
            double(u(b, "Mallocs")));
    between("go_memstats_frees_total", double(u(a, "Frees") - u(x, "unflushedTinyAllocs")),
            double(u(b, "Frees")));
    between("go_memstats_alloc_bytes_total",
            double(u(a, "TotalAlloc") - u(x, "unflushedSmallBytes")), double(u(b, "TotalAlloc")));
    between("go_gc_duration_seconds_count", double(u(a, "NumGC")), double(u(b, "NumGC")));
    for (auto [metric, field] : {std::pair{"go_memstats_sys_bytes", "Sys"},
                                 {"go_memstats_heap_sys_bytes", "HeapSys"},
                                 {"go_memstats_stack_sys_bytes", "StackSys"},
                                 {"go_memstats_buck_hash_sys_bytes", "BuckHashSys"}})
      between(metric, double(std::min(u(a, field), u(b, field))),
              double(std::max(u(a, field), u(b, field))));
    // Not a crude agreement: the counters are large, the window small.
    EXPECT_GT(u(a, "Mallocs"), 10000u);
    EXPECT_LT(u(b, "Mallocs") - u(a, "Mallocs"), u(a, "Mallocs") / 10);
  }
  EXPECT_TRUE(compared) << "a GC ran between our two reads in every attempt";
  EXPECT_TRUE(kill(pid, 0) == 0) << "prometheus did not survive";
  EXPECT_EQ(prom.child->stop(), 0) << prom.child->err();
}

// top on the stripped server: no name anywhere, so its maps are recognised
// by their shape (goruntime/recognize.h) and typed from its own type
// descriptors; the largest come back through map by the path top printed.
TEST(RealPrograms, DebianPrometheusTopListsItsMapsWithGoTypeNames) {
  if (access(kPrometheus, X_OK) != 0)
    GTEST_SKIP() << kPrometheus << " not installed (Debian package prometheus)";
  Prometheus prom = startPrometheus("prometheus-top");
  ASSERT_GT(prom.child->pid(), 0);
  const std::string pid = std::to_string(prom.child->pid());
  httpGet(prom.port, "/metrics");
  auto r = runGomemscope({"top", "-p", pid, "--format", "json", "--limit", "0"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json top = json::parse(r.out);
  const json& items = top["items"];
  ASSERT_GE(items.size(), 100u) << r.out.substr(0, 3000);
  int prometheusTypes = 0, exact = 0;
  for (const json& it : items) {
    const std::string type = it["type"];
    EXPECT_FALSE(type.empty()) << it.dump();  // map[...] or a named map type
    if (type.find("github.com/prometheus/") != std::string::npos) prometheusTypes++;
    if (it.value("typeExact", true)) exact++;
    EXPECT_EQ(it["problems"], 0) << it.dump();
  }
  EXPECT_GE(prometheusTypes, 5) << r.out.substr(0, 3000);
  EXPECT_GE(exact, 50);
  for (size_t i = 0; i < 5; i++) {
    SCOPED_TRACE(items[i].dump());
    auto m =
        runGomemscope({"map", "-p", pid, items[i]["path"], "--format", "json", "--limit", "1"});
    ASSERT_EQ(m.exitCode, 0) << m.err;
    json b = json::parse(m.out);
    EXPECT_EQ(b["address"], items[i]["address"]);
    EXPECT_EQ(b["len"], items[i]["len"]);
  }
  EXPECT_EQ(prom.child->stop(), 0) << prom.child->err();
}

}  // namespace
}  // namespace gms::test
