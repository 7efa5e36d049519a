// stats: runtime.MemStats from raw memory, once or as a time series.
#include <unistd.h>

#include <cmath>
#include <thread>

#include "cli/commands.h"
#include "report/json_writer.h"
#include "report/stats_report.h"

namespace gms {

namespace {

struct StatsOptions {
  TargetOptions target;
  std::string format = "text";
  std::string every, forDur;
};

int cmdStats(StatsOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  const std::string& fmtName = o.format;
  if (o.every.empty()) {
    if (!o.forDur.empty()) fail(ErrorKind::Usage, "--for goes with --every");
    MemStats m = sampleMemStats(*s);
    Out out(cliOut());
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
  if (!s->live())
    fail(ErrorKind::Usage, "--every samples a live process (--pid); a core holds one moment");
  double every = parseDuration(o.every, "--every");
  double total = o.forDur.empty() ? 0 : parseDuration(o.forDur, "--for");
  // Samples at 0, every, 2*every, ... up to --for (rounded: 0.6/0.2 is 2.999...).
  uint64_t samples = total > 0 ? uint64_t(std::floor(total / every + 1e-9)) + 1 : UINT64_MAX;
  bool tty = isatty(fileno(cliErr()));
  auto t0 = std::chrono::steady_clock::now();
  MemStats prev{};
  double prevT = 0;
  Out out(cliOut());
  if (fmtName == "csv")
    out.print(
        "time_s,HeapAlloc,HeapInuse,HeapObjects,Sys,TotalAlloc,Mallocs,Frees,NumGC,NextGC,"
        "allocs_per_s,alloc_bytes_per_s,gc_per_min\n");
  else if (fmtName == "text")
    out.print("{:>8} {:>11} {:>11} {:>11} {:>11} {:>12} {:>12} {:>7} {:>11} {:>8}\n", "time",
              "HeapAlloc", "HeapInuse", "Sys", "NextGC", "allocs/s", "bytes/s", "NumGC", "objects",
              "GC/min");
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
      out.print("{:.3f},{},{},{},{},{},{},{},{},{},{:.1f},{:.1f},{:.2f}\n", t, m.HeapAlloc,
                m.HeapInuse, m.HeapObjects, m.Sys, m.TotalAlloc, m.Mallocs, m.Frees, m.NumGC,
                m.NextGC, allocsPerS, bytesPerS, gcPerMin);
    } else {
      out.print("{:>7.1f}s {:>11} {:>11} {:>11} {:>11} {:>12.0f} {:>12} {:>7} {:>11} {:>8.1f}\n", t,
                humanBytes(m.HeapAlloc), humanBytes(m.HeapInuse), humanBytes(m.Sys),
                humanBytes(m.NextGC), allocsPerS, humanBytes(uint64_t(bytesPerS)) + "/s", m.NumGC,
                m.HeapObjects, gcPerMin);
    }
    out.flush();
    if (tty && samples != UINT64_MAX)
      fmt::print(cliErr(), "\r[sample {}/{}]{}", i + 1, samples, i + 1 == samples ? "\n" : "");
    prev = m;
    prevT = t;
  }
  return 0;
}

}  // namespace

void addStatsCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<StatsOptions>();
  auto* c = app.add_subcommand(
      "stats", "runtime.MemStats from raw memory (no agent), once or as a time series");
  addTargetOptions(c, o->target);
  c->add_option("--format", o->format, "output format (csv: time series only)")
      ->check(CLI::IsMember({"text", "json", "csv"}));
  c->add_option("--every", o->every, "sample a live process at this interval (e.g. 1s, 500ms)");
  c->add_option("--for", o->forDur, "stop sampling after this long (default: until Ctrl-C)");
  c->callback([o, &run] { run = [o] { return cmdStats(*o); }; });
}

}  // namespace gms
