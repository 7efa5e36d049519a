// `report -o report.html` on the maps fixture, live and from a core, both
// toolchains: the page is self-contained, has its sections, and its heatmap
// has exactly one cell per bucket (classic) or group (Swiss) that
// `map --buckets --format json` lists for the same map. Then headless
// Chromium loads it (no console errors, the SVG is in the DOM) and takes a
// screenshot of it.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "support/fixture.h"

namespace gms::test {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + what.size())) n++;
  return n;
}

// The heatmap's picture: from its data-cells attribute to the end of its <svg>.
std::string heatmapSvg(const std::string& html) {
  size_t a = html.find("data-cells=");
  if (a == std::string::npos) return "";
  return html.substr(a, html.find("</svg>", a) - a);
}

// Buckets (classic: main buckets, overflow buckets belong to their chain's
// cell) or groups (Swiss) that `map --buckets` reports for expr.
size_t expectedCells(const std::vector<std::string>& target, const std::string& expr) {
  std::vector<std::string> args = {"map"};
  args.insert(args.end(), target.begin(), target.end());
  args.insert(args.end(), {expr, "--buckets", "--format", "json", "--limit", "1"});
  auto r = runGomemscope(args);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  if (j.contains("groups")) return j["groups"].size();
  size_t n = 0;
  for (const auto& b : j["buckets"])
    if (b["chainPos"] == 0) n++;
  return n;
}

// Nothing is fetched: no URL in a src/href/url()/@import, no script element.
void expectSelfContained(const std::string& html) {
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
}

const char* kIds[] = {"top-maps", "heatmap", "chain-histogram", "memstats-series", "findings"};

class ReportCli : public ::testing::TestWithParam<std::string> {};

TEST_P(ReportCli, HeatmapMatchesBucketsLiveAndFromCore) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = buildFixture(tc, "maps");
  auto proc = RunningFixture::start(bin);
  std::string pid = std::to_string(proc->pid());
  std::string dir = tempDir();
  std::string core = dir + "/report-" + tc.name + ".core";
  ASSERT_EQ(runGomemscope({"core", "-p", pid, "-o", core}).exitCode, 0);
  for (bool live : {true, false}) {
    SCOPED_TRACE(live ? "live" : "core");
    std::vector<std::string> target = live ? std::vector<std::string>{"-p", pid}
                                           : std::vector<std::string>{"-c", core, "-e", bin};
    for (const std::string& expr :
         {std::string("main.MStrInt"), std::string("main.MDeleted"), std::string()}) {
      SCOPED_TRACE(expr.empty() ? "default map" : expr);
      std::string out = dir + "/r-" + tc.name + (live ? "-live" : "-core") +
                        (expr.empty() ? "" : "-" + expr) + ".html";
      std::vector<std::string> args = {"report"};
      args.insert(args.end(), target.begin(), target.end());
      args.insert(args.end(), {"-o", out, "--top", "100"});  // every map gets a bar
      if (!expr.empty()) args.insert(args.end(), {"--map", expr});
      auto r = runGomemscope(args);
      ASSERT_EQ(r.exitCode, 0) << r.err;
      EXPECT_EQ(r.out.rfind("wrote " + out + " (", 0), 0u) << r.out;
      std::string html = readFile(out);
      ASSERT_GT(html.size(), 1000u);
      expectSelfContained(html);
      for (const char* id : kIds) EXPECT_EQ(count(html, fmt::format("id=\"{}\"", id)), 1u) << id;
      EXPECT_NE(html.find(live ? "Findings: run with --every/--for"
                               : "Findings: a core holds one moment"),
                std::string::npos);
      EXPECT_NE(
          html.find(tc.name == "go1.19" ? "classic (runtime.hmap" : "swiss (internal/runtime/maps"),
          std::string::npos);
      // Every map of the fixture that has entries is in the bar chart with its len.
      for (const auto& [name, m] : proc->truth()["maps"].items()) {
        if (m["nil"].get<bool>() || m["len"].get<uint64_t>() == 0) continue;
        EXPECT_NE(html.find(fmt::format(">{}</text>", name)), std::string::npos) << name;
      }
      if (expr.empty()) {
        // The default heatmap is the largest map: the first bar.
        size_t bar = html.find("<g class=\"toprow\">");
        ASSERT_NE(bar, std::string::npos);
        size_t label = html.find("text-anchor=\"end\">", bar);
        std::string first = html.substr(label + 18, html.find("</text>", label) - label - 18);
        EXPECT_NE(html.find("<dt>heatmap of</dt><dd>" + first + " "), std::string::npos) << first;
        continue;
      }
      size_t want = expectedCells(target, expr);
      ASSERT_GT(want, 0u);
      ASSERT_LE(want, 4096u);  // under the cap: one cell per bucket/group
      std::string svg = heatmapSvg(html);
      EXPECT_EQ(count(svg, "<rect class=\"cell "), want);
      EXPECT_EQ(svg.rfind(fmt::format("data-cells=\"{}\" data-units=\"{}\"", want, want), 0), 0u)
          << svg.substr(0, 60);
      EXPECT_NE(
          html.find(fmt::format("len {},", proc->truth()["maps"][expr]["len"].get<uint64_t>())),
          std::string::npos);
    }
  }
  EXPECT_TRUE(proc->alive());
}

TEST_P(ReportCli, MemStatsSeriesWhenSampled) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  std::string out = tempDir() + "/series-" + tc.name + ".html";
  auto r = runGomemscope({"report", "-p", std::to_string(proc->pid()), "-o", out, "--every",
                          "200ms", "--for", "600ms", "--map", "main.MStrInt"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::string html = readFile(out);
  expectSelfContained(html);
  EXPECT_NE(html.find("id=\"memstats-heap\""), std::string::npos);
  EXPECT_NE(html.find("id=\"memstats-gc\""), std::string::npos);
  EXPECT_NE(html.find("Heap over 4 samples"), std::string::npos);
  // The diagnosis rules ran over the same samples (the fixture is idle: none need fire).
  EXPECT_NE(html.find("rules evaluated over 4 samples"), std::string::npos);
  // Four points per series line.
  size_t line = html.find("<polyline class=\"line s0\" points=\"");
  ASSERT_NE(line, std::string::npos);
  std::string pts = html.substr(line, html.find("\">", line + 34) - line);
  EXPECT_EQ(count(pts, ","), 4u) << pts;
  EXPECT_TRUE(proc->alive());
}

INSTANTIATE_TEST_SUITE_P(Toolchains, ReportCli, ::testing::ValuesIn(toolchainNames()));

TEST(ReportCliErrors, OneLineAndExit2) {
  std::string out = tempDir() + "/never.html";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"report", "-p", "999999999", "-o", out},
        std::vector<std::string>{"report", "-c", "/nonexistent.core", "-o", out},
        std::vector<std::string>{"report", "-p", "1", "-o", out, "--for", "1s"},
        std::vector<std::string>{"report", "-p", "1", "-o", out, "--every", "1s"},
        std::vector<std::string>{"report", "-p", "1", "-o", out, "--every", "soon", "--for",
                                 "1s"}}) {
    auto r = runGomemscope(args);
    EXPECT_EQ(r.exitCode, 2) << args[2] << r.err;
    EXPECT_EQ(r.err.rfind("gomemscope: ", 0), 0u) << r.err;
  }
  EXPECT_NE(access(out.c_str(), F_OK), 0);
}

TEST(ReportCliErrors, BadMapAndCoreSamplingExit2) {
  const Toolchain& tc = toolchain("go1.26").available ? toolchain("go1.26") : toolchain("go1.19");
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = buildFixture(tc, "maps");
  auto proc = RunningFixture::start(bin);
  std::string pid = std::to_string(proc->pid());
  std::string dir = tempDir();
  auto r = runGomemscope({"report", "-p", pid, "-o", dir + "/x.html", "--map", "main.Cfg"});
  EXPECT_EQ(r.exitCode, 2) << r.err;
  EXPECT_NE(r.err.find("not a map"), std::string::npos) << r.err;
  r = runGomemscope({"report", "-p", pid, "-o", dir + "/x.html", "--map", "main.NoSuchThing"});
  EXPECT_EQ(r.exitCode, 2) << r.err;
  std::string core = dir + "/e.core";
  ASSERT_EQ(runGomemscope({"core", "-p", pid, "-o", core}).exitCode, 0);
  r = runGomemscope(
      {"report", "-c", core, "-e", bin, "-o", dir + "/x.html", "--every", "1s", "--for", "2s"});
  EXPECT_EQ(r.exitCode, 2) << r.err;
  r = runGomemscope({"report", "-p", pid, "-o", dir + "/no/such/dir/x.html"});
  EXPECT_EQ(r.exitCode, 2) << r.err;
  EXPECT_EQ(r.err.rfind("gomemscope: cannot write ", 0), 0u) << r.err;
  EXPECT_TRUE(proc->alive());
}

// ---- headless Chromium --------------------------------------------------------

std::string chromiumPath() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

#define GMS_REQUIRE_CHROMIUM(path) \
  if ((path).empty()) GTEST_SKIP() << "chromium not installed (apt-get install chromium)"

// A report of the maps fixture (live), for the browser tests.
std::string fixtureReport(const Toolchain& tc, const std::string& name) {
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  std::string out = tempDir() + "/" + name + "-" + tc.name + ".html";
  auto r = runGomemscope({"report", "-p", std::to_string(proc->pid()), "-o", out, "--map",
                          "main.MStrInt", "--every", "200ms", "--for", "400ms"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  return out;
}

std::vector<std::string> chromiumArgs(const std::string& chromium, const std::string& profile) {
  return {chromium,
          "--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--user-data-dir=" + profile,
          "--enable-logging=stderr",
          "--v=0"};
}

TEST_P(ReportCli, RendersInHeadlessChromium) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string chromium = chromiumPath();
  GMS_REQUIRE_CHROMIUM(chromium);
  std::string page = fixtureReport(tc, "dom");
  std::string html = readFile(page);
  auto args = chromiumArgs(chromium, tempDir() + "/chromium-dom-" + tc.name);
  args.insert(args.end(), {"--dump-dom", "file://" + page});
  auto r = runCommand(args, 180);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  for (const char* id : kIds)
    EXPECT_NE(r.out.find(fmt::format("id=\"{}\"", id)), std::string::npos) << id;
  EXPECT_NE(r.out.find("<svg"), std::string::npos);
  // The browser parsed every heatmap cell as an element of the SVG.
  size_t want = count(heatmapSvg(html), "<rect class=\"cell ");
  ASSERT_GT(want, 0u);
  EXPECT_EQ(count(heatmapSvg(r.out), "<rect class=\"cell "), want);
  EXPECT_EQ(r.err.find("Uncaught"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("ERROR:CONSOLE"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(":CONSOLE("), std::string::npos) << r.err;  // no console output at all
}

uint32_t be32(const std::string& s, size_t off) {
  auto b = [&](size_t i) { return uint32_t(static_cast<unsigned char>(s[off + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

TEST_P(ReportCli, ScreenshotInHeadlessChromium) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string chromium = chromiumPath();
  GMS_REQUIRE_CHROMIUM(chromium);
  std::string page = fixtureReport(tc, "shot");
  std::string png = tempDir() + "/shot-" + tc.name + ".png";
  auto args = chromiumArgs(chromium, tempDir() + "/chromium-shot-" + tc.name);
  args.insert(args.end(), {"--hide-scrollbars", "--screenshot=" + png, "--window-size=1280,2000",
                           "file://" + page});
  auto r = runCommand(args, 180);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::string img = readFile(png);
  // A PNG (signature, then IHDR) of the window's size.
  ASSERT_GT(img.size(), 33u);
  EXPECT_EQ(img.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(img.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(img, 16), 1280u);
  EXPECT_EQ(be32(img, 20), 2000u);
  // A blank 1280x2000 page compresses to a few KiB; text, bars and cells do not.
  EXPECT_GT(img.size(), 40u * 1024) << "screenshot looks empty: " << png;
}

}  // namespace
}  // namespace gms::test
