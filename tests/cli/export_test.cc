// `gomemscope export`: the /metrics endpoint agrees with what the fixture
// says about itself (MemStats, map lens and shapes, list lens), a real
// Prometheus server scrapes it end to end, it stops cleanly on SIGTERM and
// when the target exits, leaves the target running and untraced, and bad
// input is one line and exit 2. Under Go 1.19 (classic maps) and 1.26 (Swiss).
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "support/child.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

// A running exporter and the port it serves on.
struct Exporter {
  std::unique_ptr<Child> child;
  int port = 0;
};

Exporter startExporter(int pid, const std::vector<std::string>& extra, const std::string& name) {
  std::vector<std::string> argv = {GMS_BINARY,          "export",   "-p",
                                   std::to_string(pid), "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Exporter e;
  e.child = std::make_unique<Child>(argv, tempDir() + "/" + name + ".err");
  std::string line = e.child->firstLine();
  std::smatch m;
  static const std::regex re(
      R"(serving metrics for pid (\d+) on http://127\.0\.0\.1:(\d+)/metrics)");
  if (std::regex_match(line, m, re) && std::stoi(m[1]) == pid) e.port = std::stoi(m[2]);
  EXPECT_GT(e.port, 0) << "start line: '" << line << "' stderr: " << e.child->err();
  return e;
}

void expectRunningUntraced(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  bool seen = false;
  while (std::getline(f, line)) {
    if (line.rfind("State:", 0) == 0) {
      EXPECT_EQ(line.find("(stopped)"), std::string::npos) << line;
    }
    if (line.rfind("TracerPid:", 0) == 0) {
      seen = true;
      EXPECT_EQ(std::stoi(line.substr(10)), 0) << "still traced";
    }
  }
  EXPECT_TRUE(seen);
}

class Export : public ::testing::TestWithParam<std::string> {};

TEST_P(Export, MemStatsAgreeWithReadMemStats) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "memstats"));
  const auto& want = proc->truth()["MemStats"];
  auto e = startExporter(proc->pid(), {"--map", "main.Map"}, "memstats-" + tc.name);
  ASSERT_GT(e.port, 0);
  std::string body = httpGet(e.port, "/metrics");
  EXPECT_EQ(metricValue(body, "gomemscope_up"), 1) << body;
  EXPECT_EQ(metricValue(body, "go_gc_cycles_total"), want["NumGC"].get<double>());
  EXPECT_EQ(metricValue(body, "go_gc_duration_seconds_count"), want["NumGC"].get<double>());
  EXPECT_EQ(metricValue(body, "go_memstats_last_gc_time_seconds"),
            want["LastGC"].get<double>() / 1e9);
  EXPECT_GE(metricValue(body, "go_memstats_mallocs_total"), want["Mallocs"].get<double>());
  EXPECT_GE(metricValue(body, "go_memstats_alloc_bytes_total"), want["TotalAlloc"].get<double>());
  EXPECT_GE(metricValue(body, "go_memstats_sys_bytes"), want["Sys"].get<double>() * 0.9);
  EXPECT_EQ(metricValue(body, "go_memstats_by_size_mallocs_total{size=\"8\"}"),
            want["BySize"][1]["Mallocs"].get<double>());
  EXPECT_EQ(
      metricValue(body, "go_info{version=\"" + proc->truth()["go"].get<std::string>() + "\"}"), 1);
  EXPECT_EQ(metricValue(body, "gomemscope_map_len{map=\"main.Map\","),
            50000);  // the fixture's loop
  EXPECT_GT(metricValue(body, "go_threads"), 0);
  // The scrape stopped the target (to copy its memory), briefly.
  EXPECT_GT(metricValue(body, "gomemscope_target_stopped_seconds"), 0);
  EXPECT_LT(metricValue(body, "gomemscope_target_stopped_seconds"), 5);
  EXPECT_EQ(metricValue(body, "gomemscope_scrapes_total"), 1);
  // Each scrape reads afresh.
  std::string again = httpGet(e.port, "/metrics");
  EXPECT_EQ(metricValue(again, "gomemscope_scrapes_total"), 2);
  EXPECT_EQ(metricValue(again, "gomemscope_scrape_errors_total"), 0);
  int status = 0;
  EXPECT_NE(httpGet(e.port, "/", &status).find("href=\"/metrics\""), std::string::npos);
  EXPECT_EQ(status, 200);
  httpGet(e.port, "/nothing", &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(e.child->stop(SIGTERM), 0) << e.child->err();
  EXPECT_TRUE(proc->alive());
  expectRunningUntraced(proc->pid());
}

TEST_P(Export, MapsAndListsAgreeWithTheFixture) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  bool swiss = tc.name != "go1.19";
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  const auto& maps = proc->truth()["maps"];
  auto e = startExporter(proc->pid(),
                         {"--map", "main.MStrInt", "--map", "main.MGrowing", "--map",
                          "main.MSwissDir", "--map", "main.MNil", "--map", "main.Cfg.ByName"},
                         "maps-" + tc.name);
  ASSERT_GT(e.port, 0);
  std::string body = httpGet(e.port, "/metrics");
  std::string impl = swiss ? "swiss" : "classic";
  for (const char* m : {"main.MStrInt", "main.MGrowing", "main.MSwissDir", "main.MNil"}) {
    EXPECT_EQ(metricValue(body, std::string("gomemscope_map_len{map=\"") + m + "\","),
              maps[m]["len"].get<double>())
        << m << "\n"
        << body;
    EXPECT_EQ(metricValue(body, std::string("gomemscope_map_up{map=\"") + m + "\"}"), 1) << m;
  }
  EXPECT_NE(body.find("gomemscope_map_len{map=\"main.MStrInt\",type=\"map[string]int\",impl=\"" +
                      impl + "\"}"),
            std::string::npos)
      << body;
  EXPECT_EQ(metricValue(body, "gomemscope_map_len{map=\"main.Cfg.ByName\","), 3);
  if (swiss) {
    EXPECT_EQ(metricValue(body, "gomemscope_map_tables{map=\"main.MSwissDir\","),
              maps["main.MSwissDir"]["tables"].get<double>());
    EXPECT_GT(metricValue(body, "gomemscope_map_groups{map=\"main.MSwissDir\","), 0);
    EXPECT_TRUE(std::isnan(metricValue(body, "gomemscope_map_buckets")));
  } else {
    EXPECT_EQ(metricValue(body, "gomemscope_map_growing{map=\"main.MGrowing\","), 1);
    EXPECT_EQ(metricValue(body, "gomemscope_map_buckets{map=\"main.MGrowing\","),
              double(1ull << maps["main.MGrowing"]["B"].get<int>()));
    EXPECT_EQ(metricValue(body, "gomemscope_map_growing{map=\"main.MStrInt\","), 0);
    EXPECT_TRUE(std::isnan(metricValue(body, "gomemscope_map_groups")));
  }
  EXPECT_GT(metricValue(body, "gomemscope_map_footprint_bytes{map=\"main.MStrInt\","), 0);
  EXPECT_EQ(metricValue(body, "gomemscope_map_problems{map=\"main.MStrInt\","), 0);
  EXPECT_EQ(e.child->stop(SIGINT), 0) << e.child->err();
  expectRunningUntraced(proc->pid());

  auto lists = RunningFixture::start(buildFixture(tc, "lists"));
  auto le = startExporter(lists->pid(),
                          {"--list", "main.LLong", "--list", "main.LZero", "--list", "main.LMixed"},
                          "lists-" + tc.name);
  ASSERT_GT(le.port, 0);
  std::string lb = httpGet(le.port, "/metrics");
  for (const char* l : {"main.LLong", "main.LMixed"})
    EXPECT_EQ(metricValue(lb, std::string("gomemscope_list_len{list=\"") + l + "\"}"),
              lists->truth()["lists"][l]["len"].get<double>())
        << l << "\n"
        << lb;
  EXPECT_EQ(metricValue(lb, "gomemscope_list_len{list=\"main.LZero\"}"), 0);
  EXPECT_EQ(metricValue(lb, "gomemscope_list_problems{list=\"main.LLong\"}"), 0);
  EXPECT_EQ(le.child->stop(SIGTERM), 0) << le.child->err();
}

// A sync.Map exports as a map (impl="sync.Map", its len what Range visits),
// and a generic list (golang-lru/v2's LruList) and a ring as lists.
TEST_P(Export, SyncMapsAndListsOfAnyShape) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto sm = RunningFixture::start(buildFixture(tc, "syncmap"));
  auto e = startExporter(sm->pid(), {"--map", "main.SOps", "--map", "main.SMany"},
                         "syncmap-" + tc.name);
  ASSERT_GT(e.port, 0);
  std::string body = httpGet(e.port, "/metrics");
  for (const char* m : {"main.SOps", "main.SMany"}) {
    EXPECT_EQ(metricValue(body, std::string("gomemscope_map_len{map=\"") + m +
                                    "\",type=\"sync.Map\",impl=\"sync.Map\"}"),
              sm->truth()["maps"][m]["len"].get<double>())
        << m << "\n"
        << body;
    EXPECT_GT(metricValue(body, std::string("gomemscope_map_footprint_bytes{map=\"") + m + "\","),
              0);
  }
  EXPECT_TRUE(std::isnan(metricValue(body, "gomemscope_map_buckets")));
  EXPECT_TRUE(std::isnan(metricValue(body, "gomemscope_map_groups")));
  EXPECT_EQ(e.child->stop(SIGINT), 0) << e.child->err();

  auto lru = RunningFixture::start(buildFixture(tc, "lrulibs"));
  auto le = startExporter(lru->pid(), {"--list", "main.V2.lru.evictList", "--list", "main.R"},
                          "lrulibs-" + tc.name);
  ASSERT_GT(le.port, 0);
  std::string lb = httpGet(le.port, "/metrics");
  for (const char* l : {"main.V2.lru.evictList", "main.R"}) {
    EXPECT_EQ(metricValue(lb, std::string("gomemscope_list_len{list=\"") + l + "\"}"),
              lru->truth()["lists"][l]["len"].get<double>())
        << l << "\n"
        << lb;
    EXPECT_EQ(metricValue(lb, std::string("gomemscope_list_problems{list=\"") + l + "\"}"), 0);
  }
  EXPECT_EQ(le.child->stop(SIGTERM), 0) << le.child->err();
}

// A binary without names: a map given as 0xADDR:TYPE (the type
// from the runtime's descriptors), its len as the fixture says.
TEST_P(Export, TypedAddressesOnAStrippedBinary) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "maps", BuildFlags{.stripped = true}));
  const auto& m = proc->truth()["maps"]["main.MStrInt"];
  std::string spec = m["addr"].get<std::string>() + ":map[string]int";
  auto e = startExporter(proc->pid(), {"--map", spec}, "typed-" + tc.name);
  ASSERT_GT(e.port, 0);
  std::string body = httpGet(e.port, "/metrics");
  EXPECT_EQ(metricValue(body, "gomemscope_map_up{map=\"" + spec + "\"}"), 1) << body;
  EXPECT_EQ(metricValue(body, "gomemscope_map_len{map=\"" + spec + "\","), m["len"].get<double>())
      << body;
  EXPECT_EQ(metricValue(body, "gomemscope_up"), 1) << body;
  EXPECT_GT(metricValue(body, "go_memstats_heap_alloc_bytes"), 0) << body;  // stats without names
  EXPECT_EQ(e.child->stop(SIGTERM), 0) << e.child->err();
}

TEST_P(Export, ScrapedByARealPrometheus) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  const char* prom = "/usr/bin/prometheus";
  if (access(prom, X_OK) != 0) GTEST_SKIP() << prom << " not installed (Debian package prometheus)";
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  double wantLen = proc->truth()["maps"]["main.MStrInt"]["len"].get<double>();
  auto e = startExporter(proc->pid(), {"--map", "main.MStrInt"}, "prom-exporter-" + tc.name);
  ASSERT_GT(e.port, 0);

  std::string dir = tempDir() + "/prom-" + tc.name;
  std::filesystem::create_directories(dir + "/data");
  {
    std::ofstream y(dir + "/prometheus.yml");
    y << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      << "scrape_configs:\n  - job_name: gomemscope\n    static_configs:\n"
      << "      - targets: ['127.0.0.1:" << e.port << "']\n";
  }
  int pport = freeLoopbackPort();
  Child p({prom, "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
           "--web.listen-address=127.0.0.1:" + std::to_string(pport)},
          dir + "/prometheus.log");
  // Bounded waits (not timing assertions): ready, then a first sample.
  auto until = [&](int boundSec, auto done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(boundSec);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  };
  int status = 0;
  ASSERT_TRUE(until(90, [&] {
    httpGet(pport, "/-/ready", &status);
    return status == 200;
  })) << p.err();
  auto query = [&](const std::string& q) -> nlohmann::json {
    std::string body =
        httpGet(pport, "/api/v1/query?query=" + httplib::detail::encode_query_param(q));
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || j["status"] != "success") return nlohmann::json::array();
    return j["data"]["result"];
  };
  nlohmann::json lenResult, upResult;
  ASSERT_TRUE(until(90,
                    [&] {
                      lenResult = query("gomemscope_map_len");
                      upResult = query("up{job=\"gomemscope\"}");
                      return lenResult.size() == 1 && upResult.size() == 1;
                    }))
      << "no sample; prometheus log:\n"
      << p.err() << "\nexporter:\n"
      << e.child->err();
  EXPECT_EQ(lenResult[0]["metric"]["map"], "main.MStrInt");
  EXPECT_EQ(lenResult[0]["metric"]["impl"], tc.name == "go1.19" ? "classic" : "swiss");
  EXPECT_EQ(std::stod(lenResult[0]["value"][1].get<std::string>()), wantLen);
  EXPECT_EQ(upResult[0]["value"][1], "1");
  auto gc = query("go_gc_duration_seconds_count");
  ASSERT_EQ(gc.size(), 1u);
  EXPECT_GE(std::stod(gc[0]["value"][1].get<std::string>()), 0);

  EXPECT_EQ(p.stop(SIGTERM), 0) << p.err();
  EXPECT_EQ(e.child->stop(SIGTERM), 0) << e.child->err();
  EXPECT_TRUE(proc->alive());
  expectRunningUntraced(proc->pid());
}

TEST_P(Export, StopsWhenTheTargetExits) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  auto e = startExporter(proc->pid(), {}, "exit-" + tc.name);
  ASSERT_GT(e.port, 0);
  EXPECT_EQ(metricValue(httpGet(e.port, "/metrics"), "gomemscope_up"), 1);
  int pid = proc->pid();
  proc.reset();  // SIGKILL + reap
  EXPECT_EQ(e.child->wait(60), 0);
  std::string err = e.child->err();
  EXPECT_NE(err.find("pid " + std::to_string(pid) + " exited"), std::string::npos) << err;
}

TEST_P(Export, BadInputIsOneLineAndExit2) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  std::string pid = std::to_string(proc->pid());
  auto oneLine = [](const CommandResult& r, const std::string& needle) {
    EXPECT_EQ(r.exitCode, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("gomemscope: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  };
  oneLine(runGomemscope({"export", "-c", tempDir() + "/app.core"}), "export needs a live process");
  for (const char* bad : {"9187", "127.0.0.1:http", "127.0.0.1:70000", "::1:9187", "[::1]9187"})
    oneLine(runGomemscope({"export", "-p", pid, "--listen", bad}), "--listen");
  oneLine(
      runGomemscope({"export", "-p", pid, "--listen", "127.0.0.1:0", "--map", "main.NoSuchMap"}),
      "main.NoSuchMap");
  oneLine(runGomemscope({"export", "-p", pid, "--listen", "127.0.0.1:0", "--map", "main.Cfg.Name"}),
          "not a map");
  oneLine(runGomemscope({"export", "-p", pid, "--listen", "127.0.0.1:0", "--list", "main.MStrInt"}),
          "not a container/list.List");
  // Port in use: a listener of our own holds it.
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s, 1), 0);
  socklen_t n = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
  oneLine(runGomemscope(
              {"export", "-p", pid, "--listen", "127.0.0.1:" + std::to_string(ntohs(a.sin_port))}),
          "address already in use");
  close(s);
  EXPECT_TRUE(proc->alive());
  expectRunningUntraced(proc->pid());
}

INSTANTIATE_TEST_SUITE_P(Toolchains, Export, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
