// gomemscope's command line. Each command: parse options, open a Session,
// freeze a live target for exactly the read, report, and map errors to one
// "gomemscope: <message>" line. Exit codes: 0 ok, 1 decoded but problems
// found (corrupt or torn structure), 2 error (bad input, unreadable target).
#include "cli/cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>

#include "cli/session.h"
#include "control/core_writer.h"
#include "goruntime/goroutines.h"
#include "goruntime/maps.h"
#include "goruntime/memstats.h"
#include "report/json_writer.h"
#include "report/reports.h"
#include "report/stats_report.h"
#include "report/top_report.h"
#include "analysis/advice.h"
#include "goruntime/discover.h"
#include "goruntime/layout.h"

namespace gms {

namespace {

constexpr int kExitProblems = 1;
constexpr int kExitError = 2;

struct CommonOptions {
  TargetOptions target;
  std::string format = "text";
  int64_t limit = -1;       // -1: the format's default
  int64_t maxString = -1;
  int depth = -1;
  std::string type;
  bool buckets = false;
  std::string expr;
  std::string output;
  std::string every, forDur;  // stats time series
  // advise
  uint64_t keys = 0;
  int64_t hint = -1;
  std::string keyType, valueType;
  // top
  std::vector<std::string> skip, only;
  int64_t maxObjects = -1;
};

void addTargetOptions(CLI::App* c, CommonOptions& o) {
  c->add_option("-p,--pid", o.target.pid, "live process to read");
  c->add_option("-c,--core", o.target.core, "core dump to read");
  c->add_option("-e,--exe", o.target.exe,
                "the program's executable (default: /proc/PID/exe, or the path the core names)");
  c->add_flag("--no-stop", o.target.noStop,
              "read a live process without stopping it (the result may be torn)");
  c->add_flag("-v,--verbose", o.target.verbose, "say how long a live target was stopped");
}

void addOutputOptions(CLI::App* c, CommonOptions& o, bool entries) {
  c->add_option("--format", o.format, "output format")->check(CLI::IsMember({"text", "json"}));
  if (entries)
    c->add_option("--limit", o.limit,
                  "entries/elements shown (default: 50 in text, all in JSON; 0 = all)");
  c->add_option("--max-string", o.maxString,
                "bytes of each string shown (default: 200 in text, all in JSON; 0 = all)");
  c->add_option("--depth", o.depth, "pointer/interface nesting followed (default 4 text, 8 JSON)");
}

ReportOptions reportOptions(const CommonOptions& o) {
  ReportOptions r;
  bool json = o.format == "json";
  r.format = json ? Format::Json : Format::Text;
  r.limit = o.limit >= 0 ? uint64_t(o.limit) : (json ? 0 : 50);
  r.render.maxString = o.maxString >= 0 ? uint64_t(o.maxString) : (json ? 0 : 200);
  r.render.depth = o.depth >= 0 ? o.depth : (json ? 8 : 4);
  r.render.maxElems = json ? 0 : 20;
  r.buckets = o.buckets;
  return r;
}

Located locate(const Program& p, const CommonOptions& o) {
  if (isAddress(o.expr)) {
    if (o.type.empty()) fail(ErrorKind::Usage, "an address needs --type, e.g. --type 'map[string]int'");
    return resolveAddress(p, o.expr, o.type);
  }
  if (!o.type.empty()) fail(ErrorKind::Usage, "--type goes with an address (0x...), not a name");
  return resolve(p, o.expr);
}

void printWarnings(Session& s) {
  for (const auto& w : s.warnings()) fmt::print(stderr, "gomemscope: warning: {}\n", w);
  if (s.live() && s.options().noStop)
    fmt::print(stderr, "gomemscope: warning: pid {} was not stopped (--no-stop): the result may be torn\n",
               s.live()->pid());
}

// Runs a decode with the target frozen; output is held in memory while frozen
// so a slow consumer never keeps the target stopped.
template <typename F>
void frozenRun(Session& s, Out& out, F&& body) {
  Frozen fz(s);
  out.hold(fz.freezer() != nullptr);
  body();
  auto stopped = fz.release();
  out.hold(false);
  out.flush();
  if (s.options().verbose && s.live() && !s.options().noStop)
    fmt::print(stderr, "gomemscope: pid {} was stopped for {:.1f} ms\n", s.live()->pid(),
               std::chrono::duration<double, std::milli>(stopped).count());
}

int cmdInfo(CommonOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  const Program& p = s->program();
  const Binary& b = s->binary();
  Out out(stdout);
  std::vector<GoroutineInfo> gs;
  std::string gerr;
  size_t threads = 0;
  frozenRun(*s, out, [&] {
    threads = s->target().threads().size();
    try {
      gs = goroutines(p);
    } catch (const Error& e) {
      gerr = e.what();
    }
  });
  std::map<std::string, int> byStatus;
  for (const auto& g : gs) byStatus[goroutineStatusName(g.status)]++;
  int liveG = 0;
  for (const auto& g : gs)
    if (g.status != 6 && g.status != 0) liveG++;
  const auto& bi = p.build();
  bool json = o.format == "json";
  if (json) {
    JsonWriter w(out);
    w.beginObject();
    w.field("target", s->target().describe());
    w.field("live", s->target().isLive());
    w.field("pid", int64_t(s->target().pid()));
    w.field("executable", b.path());
    w.field("goVersion", bi.goVersion);
    w.field("mainModule", bi.mainPath);
    w.key("settings");
    w.beginObject();
    for (const auto& [k, v] : bi.settings) w.field(k, v);
    w.endObject();
    w.field("mapImpl", mapImplName(p.mapImpl()));
    w.field("dwarf", p.hasTypes());
    if (!p.hasTypes()) w.field("dwarfMissing", b.missingDebugInfo());
    w.field("goBuildId", b.goBuildId());
    w.field("threads", uint64_t(threads));
    w.key("goroutines");
    w.beginObject();
    w.field("total", uint64_t(gs.size()));
    w.field("live", int64_t(liveG));
    for (const auto& [k, v] : byStatus) w.field(k, int64_t(v));
    if (!gerr.empty()) w.field("error", gerr);
    w.endObject();
    w.endObject();
    w.newline();
    return 0;
  }
  out.print("{:<13}{}\n", "target", s->target().describe());
  out.print("{:<13}{}\n", "executable", b.path());
  out.print("{:<13}{}", "go", bi.goVersion);
  for (const char* k : {"GOEXPERIMENT", "CGO_ENABLED", "-buildmode", "-ldflags"}) {
    auto it = bi.settings.find(k);
    if (it != bi.settings.end()) out.print(" {}={}", k, it->second);
  }
  out.put('\n');
  if (!bi.mainPath.empty()) out.print("{:<13}{}\n", "module", bi.mainPath);
  out.print("{:<13}{}\n", "maps",
            p.mapImpl() == MapImpl::Classic ? "classic (runtime.hmap, buckets of 8 with tophash)"
                                            : "swiss (internal/runtime/maps: directory, tables, groups)");
  out.print("{:<13}{}\n", "debug info",
            p.hasTypes() ? "DWARF present (types and globals available)" : b.missingDebugInfo());
  out.print("{:<13}{}\n", "threads", threads);
  if (!gerr.empty()) {
    out.print("{:<13}unavailable: {}\n", "goroutines", gerr);
  } else {
    out.print("{:<13}{} live, {} total (", "goroutines", liveG, gs.size());
    bool first = true;
    for (const auto& [k, v] : byStatus) {
      out.print("{}{} {}", first ? "" : ", ", v, k);
      first = false;
    }
    out.print(")\n");
  }
  if (!b.goBuildId().empty()) out.print("{:<13}{}\n", "build id", b.goBuildId());
  return 0;
}

int reportProblems(const std::string& expr, size_t problems) {
  if (!problems) return 0;
  fmt::print(stderr, "gomemscope: {}: {} problem{} found (listed in the output)\n", expr, problems,
             problems == 1 ? "" : "s");
  return kExitProblems;
}

int cmdMap(CommonOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  Out out(stdout);
  size_t problems = 0;
  frozenRun(*s, out, [&] {
    problems = reportMap(out, s->program(), locate(s->program(), o), reportOptions(o));
  });
  return reportProblems(o.expr, problems);
}

int cmdList(CommonOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  Out out(stdout);
  size_t problems = 0;
  frozenRun(*s, out, [&] {
    problems = reportList(out, s->program(), locate(s->program(), o), reportOptions(o));
  });
  return reportProblems(o.expr, problems);
}

int cmdPrint(CommonOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  Out out(stdout);
  frozenRun(*s, out, [&] { reportValue(out, s->program(), locate(s->program(), o), reportOptions(o)); });
  return 0;
}

// "500ms", "2s", "1.5m", "1h" -> seconds.
double parseDuration(const std::string& s, const char* what) {
  size_t i = 0;
  double v = 0;
  try {
    v = std::stod(s, &i);
  } catch (const std::exception&) {
    fail(ErrorKind::Usage, "{} '{}' is not a duration (e.g. 500ms, 2s, 1m)", what, s);
  }
  std::string unit = s.substr(i);
  double mul = unit == "ms" ? 1e-3 : unit == "s" || unit.empty() ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : -1;
  if (mul < 0 || v <= 0) fail(ErrorKind::Usage, "{} '{}' is not a duration (e.g. 500ms, 2s, 1m)", what, s);
  return v * mul;
}

MemStats sampleMemStats(Session& s) {
  MemStats m;
  Out none(nullptr);
  frozenRun(s, none, [&] { m = readMemStats(s.program()); });
  return m;
}

int cmdStats(CommonOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  const std::string& fmtName = o.format;
  if (o.every.empty()) {
    if (!o.forDur.empty()) fail(ErrorKind::Usage, "--for goes with --every");
    MemStats m = sampleMemStats(*s);
    Out out(stdout);
    if (fmtName == "json") {
      JsonWriter w(out);
      writeMemStatsJson(w, m, true);
      w.newline();
    } else if (fmtName == "csv") {
      fail(ErrorKind::Usage, "--format csv is for time series (--every)");
    } else {
      reportMemStatsText(out, m, s->target().describe());
    }
    return 0;
  }
  if (!s->live()) fail(ErrorKind::Usage, "--every samples a live process (--pid); a core holds one moment");
  double every = parseDuration(o.every, "--every");
  double total = o.forDur.empty() ? 0 : parseDuration(o.forDur, "--for");
  // Samples at 0, every, 2*every, ... up to --for (rounded: 0.6/0.2 is 2.999...).
  uint64_t samples = total > 0 ? uint64_t(std::floor(total / every + 1e-9)) + 1 : UINT64_MAX;
  bool tty = isatty(2);
  auto t0 = std::chrono::steady_clock::now();
  MemStats prev{};
  double prevT = 0;
  Out out(stdout);
  if (fmtName == "csv")
    out.print("time_s,HeapAlloc,HeapInuse,HeapObjects,Sys,TotalAlloc,Mallocs,Frees,NumGC,NextGC,"
              "allocs_per_s,alloc_bytes_per_s,gc_per_min\n");
  else if (fmtName == "text")
    out.print("{:>8} {:>11} {:>11} {:>11} {:>11} {:>12} {:>12} {:>7} {:>11} {:>8}\n", "time", "HeapAlloc",
              "HeapInuse", "Sys", "NextGC", "allocs/s", "bytes/s", "NumGC", "objects", "GC/min");
  out.flush();
  for (uint64_t i = 0; i < samples; i++) {
    auto due = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(every * double(i)));
    std::this_thread::sleep_until(due);
    MemStats m = sampleMemStats(*s);
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double dt = i ? t - prevT : 0;
    double allocsPerS = dt > 0 ? double(m.Mallocs - prev.Mallocs) / dt : 0;
    double bytesPerS = dt > 0 ? double(m.TotalAlloc - prev.TotalAlloc) / dt : 0;
    double gcPerMin = dt > 0 ? double(m.NumGC - prev.NumGC) * 60 / dt : 0;
    if (fmtName == "json") {
      JsonWriter w(out);
      w.beginObject();
      w.field("time", t);
      w.key("rates");
      w.beginObject();
      w.field("allocsPerSecond", allocsPerS);
      w.field("allocBytesPerSecond", bytesPerS);
      w.field("gcPerMinute", gcPerMin);
      w.endObject();
      w.key("memstats");
      writeMemStatsJson(w, m, false);
      w.endObject();
      w.newline();
    } else if (fmtName == "csv") {
      out.print("{:.3f},{},{},{},{},{},{},{},{},{},{:.1f},{:.1f},{:.2f}\n", t, m.HeapAlloc, m.HeapInuse,
                m.HeapObjects, m.Sys, m.TotalAlloc, m.Mallocs, m.Frees, m.NumGC, m.NextGC, allocsPerS,
                bytesPerS, gcPerMin);
    } else {
      out.print("{:>7.1f}s {:>11} {:>11} {:>11} {:>11} {:>12.0f} {:>12} {:>7} {:>11} {:>8.1f}\n", t,
                humanBytes(m.HeapAlloc), humanBytes(m.HeapInuse), humanBytes(m.Sys), humanBytes(m.NextGC),
                allocsPerS, humanBytes(uint64_t(bytesPerS)) + "/s", m.NumGC, m.HeapObjects, gcPerMin);
    }
    out.flush();
    if (tty && samples != UINT64_MAX)
      fmt::print(stderr, "\r[sample {}/{}]{}", i + 1, samples, i + 1 == samples ? "\n" : "");
    prev = m;
    prevT = t;
  }
  return 0;
}

int cmdTop(CommonOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  DiscoverOptions d;
  if (!o.skip.empty()) d.skipPackages.insert(d.skipPackages.end(), o.skip.begin(), o.skip.end());
  d.onlyPackages = o.only;
  if (o.maxObjects >= 0) d.maxObjects = uint64_t(o.maxObjects);
  Out out(stdout);
  Discovery found;
  frozenRun(*s, out, [&] { found = discover(s->program(), d); });
  TopFormat f = o.format == "json" ? TopFormat::Json : o.format == "csv" ? TopFormat::Csv : TopFormat::Text;
  uint64_t limit = o.limit >= 0 ? uint64_t(o.limit) : (f == TopFormat::Text ? 30 : 0);
  reportTop(out, found, s->target().describe(), f, limit);
  return 0;
}

// The allocation-relevant shape of a DWARF type: size, alignment, pointers.
TypeShape shapeOf(const Type* t) {
  TypeShape sh;
  sh.size = t->size;
  sh.pointers = typeHasPointers(t);
  std::function<uint64_t(const Type*, int)> align = [&](const Type* x, int depth) -> uint64_t {
    if (!x || depth > 16) return 1;
    switch (x->kind) {
      case Kind::Struct: {
        uint64_t a = 1;
        for (const auto& f : x->fields) a = std::max(a, align(f.type, depth + 1));
        return a;
      }
      case Kind::Array: return x->len ? align(x->elem, depth + 1) : 1;
      case Kind::Complex64: return 4;
      case Kind::Complex128: return 8;
      default: return std::clamp<uint64_t>(x->size, 1, 8);
    }
  };
  sh.align = align(t, 0);
  return sh;
}

int cmdAdvise(CommonOptions& o) {
  std::optional<uint64_t> hint;
  if (o.hint >= 0) hint = uint64_t(o.hint);
  std::vector<MapAdvice> out;
  std::string title;
  if (o.target.pid || !o.target.core.empty()) {
    if (o.expr.empty()) fail(ErrorKind::Usage, "advise on a target needs a map expression, e.g. main.cache");
    auto s = Session::open(o.target);
    printWarnings(*s);
    const Program& p = s->program();
    MapSummary sum;
    const Type* mt = nullptr;
    Out none(nullptr);
    frozenRun(*s, none, [&] {
      Located l = locate(p, o);
      mt = l.type;
      uint64_t a = l.addr;
      if (!l.headerDirect)
        while (mt && mt->kind == Kind::Pointer) {
          a = p.mem().readPtr(a);
          mt = mt->elem;
        }
      if (!mt || mt->kind != Kind::Map) fail(ErrorKind::Usage, "{} is not a map", o.expr);
      Located m = l;
      m.addr = a;
      m.type = mt;
      sum = walkMap(p, mt, mapHeaderOf(p, m), {}, nullptr);
    });
    uint64_t keys = o.keys ? o.keys : sum.len;
    MapShape shape;
    shape.key = shapeOf(mt->key);
    shape.value = shapeOf(mt->elem);
    shape.goMinor = p.build().minor;
    shape.impl = mapImplOf(mt);
    out.push_back(adviseMap(shape, keys, hint));
    title = fmt::format("{} ({}) holds {} keys; footprint now {}{}", o.expr, mt->name, sum.len,
                        humanBytes(sum.footprint.total()), o.keys ? fmt::format("; advice for {} keys", keys) : "");
  } else {
    if (!o.keys) fail(ErrorKind::Usage, "give --keys N with --key and --value types, or a target and a map");
    if (o.keyType.empty() || o.valueType.empty()) fail(ErrorKind::Usage, "give --key and --value types");
    out.push_back(adviseMap(mapShapeFromGoTypes(o.keyType, o.valueType, 19, MapImpl::Classic), o.keys, hint));
    out.push_back(adviseMap(mapShapeFromGoTypes(o.keyType, o.valueType, 26, MapImpl::Swiss), o.keys, hint));
    title = fmt::format("map[{}]{} with {} keys", o.keyType, o.valueType, o.keys);
  }
  Out w(stdout);
  reportAdvice(w, out, title, o.format == "json" ? Format::Json : Format::Text);
  return 0;
}

int cmdCore(CommonOptions& o) {
  if (!o.target.core.empty()) fail(ErrorKind::Usage, "core needs a live process (--pid), not a core");
  if (!o.target.pid) fail(ErrorKind::Usage, "core needs --pid PID");
  if (o.output.empty()) o.output = fmt::format("core.{}", o.target.pid);
  auto lp = LiveProcess::open(o.target.pid);
  auto t0 = std::chrono::steady_clock::now();
  CoreWriteStats st;
  std::chrono::nanoseconds stopped{};
  {
    Freezer fz(o.target.pid);
    lp->setThreadStates(fz.threadStates());
    st = writeCore(*lp, fz, o.output);
    stopped = fz.release();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.format == "json") {
    Out out(stdout);
    JsonWriter w(out);
    w.beginObject();
    w.field("path", o.output);
    w.field("fileBytes", st.fileBytes);
    w.field("savedBytes", st.savedBytes);
    w.field("skippedBytes", st.skippedBytes);
    w.field("segments", st.segments);
    w.field("threads", st.threads);
    w.field("seconds", secs);
    w.field("stoppedMs", std::chrono::duration<double, std::milli>(stopped).count());
    w.endObject();
    w.newline();
  } else {
    fmt::print("wrote {}: {} ({} of memory saved, {} mapped but untouched or in files skipped), "
               "{} threads, {} segments, in {:.0f} ms (target stopped {:.0f} ms)\n",
               o.output, humanBytes(st.fileBytes), humanBytes(st.savedBytes),
               humanBytes(st.skippedBytes), st.threads, st.segments, secs * 1000,
               std::chrono::duration<double, std::milli>(stopped).count());
  }
  fmt::print(stderr, "gomemscope: note: {} holds the process's memory, secrets included (mode 0600)\n",
             o.output);
  return 0;
}

}  // namespace

int cliMain(int argc, char** argv) {
  CLI::App app{"gomemscope: see inside a Go program's maps, lists and heap, live or from a core"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gomemscope 0.1.0");
  app.footer(
      "Targets: -p PID (live; stopped only while read) or -c CORE [-e BINARY].\n"
      "Exit codes: 0 ok, 1 decoded but the structure has problems (listed), 2 error.\n"
      "Examples:\n"
      "  gomemscope info -p 4242\n"
      "  gomemscope map -p 4242 main.cache --limit 10\n"
      "  gomemscope map -c app.core -e ./app main.cache --format json\n"
      "  gomemscope list -p 4242 main.queue\n"
      "  gomemscope core -p 4242 -o app.core");
  CommonOptions o;
  std::function<int()> run;

  auto* info = app.add_subcommand("info", "Go version, map implementation, threads, goroutines");
  addTargetOptions(info, o);
  info->add_option("--format", o.format, "output format")->check(CLI::IsMember({"text", "json"}));
  info->callback([&] { run = [&] { return cmdInfo(o); }; });

  auto* map = app.add_subcommand("map", "a map's header, growth state, footprint, then its entries");
  addTargetOptions(map, o);
  map->add_option("expr", o.expr, "main.name, main.x.field[2], or 0xADDR with --type")->required();
  map->add_option("--type", o.type, "the map type when expr is an address, e.g. 'map[string]int'");
  map->add_flag("--buckets", o.buckets, "per bucket/group: tophash or control bytes, overflow chain");
  addOutputOptions(map, o, true);
  map->callback([&] { run = [&] { return cmdMap(o); }; });

  auto* list = app.add_subcommand("list", "a container/list.List front to back, with integrity checks");
  addTargetOptions(list, o);
  list->add_option("expr", o.expr, "a List, *List or *Element (e.g. main.queue)")->required();
  list->add_option("--type", o.type, "the type when expr is an address, e.g. 'container/list.List'");
  addOutputOptions(list, o, true);
  list->callback([&] { run = [&] { return cmdList(o); }; });

  auto* print = app.add_subcommand("print", "any global; fields with '.', elements with [i]");
  addTargetOptions(print, o);
  print->add_option("expr", o.expr, "e.g. 'main.cfg.byName' or 'main.cfg.limits[1]'")->required();
  print->add_option("--type", o.type, "the type when expr is an address");
  addOutputOptions(print, o, false);
  print->callback([&] { run = [&] { return cmdPrint(o); }; });

  auto* stats = app.add_subcommand("stats", "runtime.MemStats from raw memory (no agent), once or as a time series");
  addTargetOptions(stats, o);
  stats->add_option("--format", o.format, "output format (csv: time series only)")
      ->check(CLI::IsMember({"text", "json", "csv"}));
  stats->add_option("--every", o.every, "sample a live process at this interval (e.g. 1s, 500ms)");
  stats->add_option("--for", o.forDur, "stop sampling after this long (default: until Ctrl-C)");
  stats->callback([&] { run = [&] { return cmdStats(o); }; });

  auto* top = app.add_subcommand("top", "every map and list reachable from globals, ranked by footprint");
  addTargetOptions(top, o);
  top->add_option("--format", o.format, "output format")->check(CLI::IsMember({"text", "json", "csv"}));
  top->add_option("--limit", o.limit, "rows shown (default 30 in text, all otherwise; 0 = all)");
  top->add_option("--skip", o.skip, "also skip globals of these packages (prefix/... patterns)");
  top->add_option("--only", o.only, "walk only globals of these packages");
  top->add_option("--max-objects", o.maxObjects, "stop after visiting this many objects (budget)");
  top->callback([&] { run = [&] { return cmdTop(o); }; });

  auto* advise = app.add_subcommand("advise", "map sizing advice: what make(map[K]V, hint) allocates, classic and Swiss");
  addTargetOptions(advise, o);
  advise->add_option("expr", o.expr, "a map in the target (with -p or -c), e.g. main.cache");
  advise->add_option("--keys", o.keys, "number of keys (default: the map's current len)");
  advise->add_option("--key", o.keyType, "key type without a target, e.g. string, int64, [16]byte");
  advise->add_option("--value", o.valueType, "value type without a target, e.g. int, struct{}");
  advise->add_option("--hint", o.hint, "the make() hint to evaluate (default: --keys)");
  advise->add_option("--type", o.type, "the map type when expr is an address");
  advise->add_option("--format", o.format, "output format")->check(CLI::IsMember({"text", "json"}));
  advise->callback([&] { run = [&] { return cmdAdvise(o); }; });

  auto* core = app.add_subcommand("core", "write a core dump of a live process (no gdb needed)");
  core->add_option("-p,--pid", o.target.pid, "live process")->required();
  core->add_option("-o,--output", o.output, "core file to write (default core.PID)");
  core->add_option("--format", o.format, "output format")->check(CLI::IsMember({"text", "json"}));
  core->callback([&] { run = [&] { return cmdCore(o); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "gomemscope: {}\n", e.what());
    fmt::print(stderr, "run 'gomemscope --help' for usage\n");
    return kExitError;
  }
  Freezer::installSignalHandlers();
  try {
    return run ? run() : 0;
  } catch (const Error& e) {
    fmt::print(stderr, "gomemscope: {}\n", e.what());
    return kExitError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "gomemscope: internal error: {}\n", e.what());
    return kExitError;
  }
}

}  // namespace gms
