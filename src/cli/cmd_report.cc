// report: one self-contained HTML page (report/html_report.h) with the
// largest maps and lists, a bucket/group heatmap of one map, its chain-length
// histogram, runtime.MemStats (a time series with --every/--for) and the
// findings of the diagnosis rules when samples were taken.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <thread>

#include "analysis/diagnose.h"
#include "cli/commands.h"
#include "goruntime/discover.h"
#include "goruntime/layout.h"
#include "goruntime/maps.h"
#include "report/html_report.h"

namespace gms {

namespace {

struct ReportCmdOptions {
  TargetOptions target;
  std::string output;
  std::string mapExpr, type;
  std::string every, forDur;
  int64_t maxCells = 4096;
  int64_t top = 20;
  MaskOptions mask;
};

std::string utcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// The map named by --map: its type and header address (pointers to maps followed).
std::pair<const Type*, uint64_t> namedMap(const Program& p, const std::string& expr,
                                          const std::string& type) {
  Located l = locate(p, expr, type);
  if (syncMapAt(p, l))
    fail(ErrorKind::Usage,
         "{} is a sync.Map: --map draws a built-in map's buckets or groups; the report's table "
         "lists the sync.Map (len, footprint), and `gomemscope map {}` decodes it",
         expr, expr);
  MapRef m = locatedMap(p, l);
  return {m.type, m.header};
}

Sample diagnosisSample(const Discovery& found, const MemStats& m, double t) {
  Sample smp;
  smp.t = t;
  smp.m = m;
  for (const auto& f : found.items)
    if (f.kind != FoundKind::List) smp.maps.push_back(observationOf(f));
  return smp;
}

int cmdReport(ReportCmdOptions& o) {
  applyMaskOptions(o.mask);
  if (o.output.empty()) fail(ErrorKind::Usage, "give the output file with -o report.html");
  if (o.maxCells < 16) fail(ErrorKind::Usage, "--max-cells must be at least 16");
  if (o.top < 1) fail(ErrorKind::Usage, "--top must be at least 1");
  if (!o.forDur.empty() && o.every.empty()) fail(ErrorKind::Usage, "--for goes with --every");
  if (!o.every.empty() && o.forDur.empty())
    fail(ErrorKind::Usage, "--every needs --for (e.g. --every 1s --for 10s)");
  if (!o.type.empty() && o.mapExpr.empty()) fail(ErrorKind::Usage, "--type goes with --map 0xADDR");
  double every = o.every.empty() ? 0 : parseDuration(o.every, "--every");
  double total = o.forDur.empty() ? 0 : parseDuration(o.forDur, "--for");
  auto s = Session::open(o.target);
  printWarnings(*s);
  if (every > 0 && !s->live())
    fail(ErrorKind::Usage, "--every samples a live process (--pid); a core holds one moment");
  const Program& p = s->program();

  HtmlReportData d;
  d.target = s->target().describe();
  d.generatedAt = utcNow();
  d.goVersion = p.build().goVersion;
  d.mapImpl = mapImplName(p.mapImpl());
  d.toolVersion = "gomemscope 0.1.0";
  for (const auto& w : s->warnings()) d.notes.push_back(w);
  if (s->live() && s->options().noStop)
    d.notes.push_back("read without stopping the process (--no-stop): the pictures may be torn");

  Discovery found;
  MemStats first;
  bool haveStats = false;
  Out none(nullptr);
  // One freeze for the picture of the heap: discovery, the chosen map's
  // buckets, and the first MemStats sample are read at the same instant.
  auto t0 = std::chrono::steady_clock::now();
  frozenRun(*s, none, [&] {
    found = discover(p);
    const Type* mt = nullptr;
    uint64_t hdr = 0;
    if (!o.mapExpr.empty()) {
      std::tie(mt, hdr) = namedMap(p, o.mapExpr, o.type);
      d.mapPath = o.mapExpr;
    } else {
      for (const auto& f : found.items)
        if (f.kind == FoundKind::Map && f.addr && f.type && f.type->kind == Kind::Map) {
          mt = f.type;
          hdr = f.addr;
          d.mapPath = f.path.display();
          break;
        }
    }
    if (mt) {
      WalkOptions wo;
      wo.buckets = true;
      d.map = walkMap(p, mt, hdr, wo, nullptr);
      d.mapType = mt->name;
      d.hasMap = true;
    } else {
      d.mapNote = "No map is reachable from the program's globals; name one with --map EXPR.";
    }
    try {
      first = readMemStats(p);
      haveStats = true;
    } catch (const Error& e) {
      d.memStatsNote = fmt::format("runtime.MemStats could not be read: {}", e.what());
    }
  });
  d.items = found.items;
  if (!p.hasDwarf())
    d.discoverNote =
        "The executable names no globals (no DWARF): maps and lists were recognised by their "
        "shape, each named by the word that holds it; a type followed by others in parentheses "
        "is one of several that fit (give --debug-file for names).";
  else if (found.stats.budgetHit)
    d.discoverNote =
        fmt::format("Discovery stopped at its {} budget: the ranking may be incomplete.",
                    found.stats.budgetReason);
  if (haveStats) d.samples.push_back({0, first});

  if (every > 0 && haveStats) {
    // Each sample: MemStats and every map's size, read in one freeze, for
    // the charts and for the diagnosis rules (analysis/diagnose.h).
    std::vector<Sample> series;
    series.push_back(diagnosisSample(found, first, 0));
    uint64_t n = uint64_t(std::floor(total / every + 1e-9)) + 1;
    bool tty = isatty(fileno(cliErr()));
    DiscoverOptions dopt;
    dopt.maxTime = std::chrono::milliseconds(10'000);  // a live target stays stopped meanwhile
    for (uint64_t i = 1; i < n; i++) {
      auto due = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(every * double(i)));
      std::this_thread::sleep_until(due);
      MemStats m;
      Discovery again;
      frozenRun(*s, none, [&] {
        m = readMemStats(p);
        again = discover(p, dopt);
      });
      double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      d.samples.push_back({t, m});
      series.push_back(diagnosisSample(again, m, t));
      if (tty) fmt::print(cliErr(), "\r[sample {}/{}]{}", i + 1, n, i + 1 == n ? "\n" : "");
    }
    Diagnosis dg = diagnose(series, Rules{});
    d.findingsAvailable = true;
    d.findings = dg.findings();
    d.findingsNote = fmt::format("{} rules evaluated over {} samples ({:.1f} s), {} breached.",
                                 dg.evaluated(), dg.samples, dg.window, dg.breached());
  } else {
    d.findingsNote =
        s->live() ? "Findings: run with --every/--for (the rules judge a series of samples)."
                  : "Findings: a core holds one moment; run report -p PID --every 1s --for 30s.";
  }
  HtmlReportOptions ho;
  ho.maxCells = size_t(o.maxCells);
  ho.maxBars = size_t(o.top);
  std::string html = renderHtmlReport(d, ho);
  writeFile(o.output, html);
  fmt::print(cliOut(), "wrote {} ({} KiB)\n", o.output, (html.size() + 1023) / 1024);
  return kExitOk;
}

}  // namespace

void addReportCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<ReportCmdOptions>();
  auto* c = app.add_subcommand(
      "report", "a self-contained HTML report: top maps, a bucket heatmap, MemStats charts");
  addTargetOptions(c, o->target);
  c->add_option("-o,--output", o->output, "the HTML file to write")->required();
  c->add_option("--map", o->mapExpr, "the map pictured by the heatmap (default: the largest map)");
  c->add_option("--type", o->type, "the map type when --map is an address");
  c->add_option("--every", o->every,
                "sample MemStats of a live process at this interval (e.g. 1s)");
  c->add_option("--for", o->forDur, "sample for this long (with --every)");
  c->add_option("--max-cells", o->maxCells,
                "heatmap cells before buckets/groups are aggregated (default 4096)");
  c->add_option("--top", o->top, "maps and lists in the bar chart (default 20)");
  addMaskOptions(c, o->mask);
  c->callback([o, &run] { run = [o] { return cmdReport(*o); }; });
}

}  // namespace gms
