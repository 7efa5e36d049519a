// Output of `trace growth|writers|removed` and `watch`: one line (text) or
// one JSON object (jsonl) per event as it arrives, and the closing summary
// (docs/trace.md, docs/watch.md). Events come symbolized: the frames of
// their stacks (goruntime/stack.h), innermost first.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "goruntime/stack.h"
#include "goruntime/tracers.h"
#include "report/out.h"

namespace gms {

// "15:04:05.000123" (local time) or, iso, "2026-12-07T15:04:05.000123Z".
std::string clockTime(int64_t ns, bool iso = false);
// The first frame of the program's own code (outside the runtime and
// container/list): where it happened. frames.size() when none.
size_t siteIndex(const std::vector<GoFrame>& frames);
// "main.f (/src/main.go:12)", or "runtime.x (runtime only)", or "?".
std::string siteText(const std::vector<GoFrame>& frames);

// How a trace or watch ended, for its summary.
struct TraceEndFigures {
  double seconds = 0;
  bool confirmed = false;  // the keeper's End frame arrived
  bool processExited = false;
  uint64_t threadsAtStart = 0, threadsCreated = 0, threadsExited = 0;
  uint64_t threadsNotArmed = 0;  // at start and later
  uint64_t dr6Lost = 0;
  TraceTotals totals;
};

class TraceReport {
 public:
  // what: "growth", "writers" or "removed"; subject: the map or list traced
  // ("every map" for growth).
  // out: the events (on stdout); stdoutFile/stderrFile: where the summary
  // and the notes go.
  TraceReport(Out& out, std::FILE* stdoutFile, std::FILE* stderrFile, std::string what,
              std::string subject, bool jsonl, bool verbose)
      : out_(out),
        stdout_(stdoutFile),
        stderr_(stderrFile),
        what_(std::move(what)),
        subject_(std::move(subject)),
        json_(jsonl),
        verbose_(verbose) {}
  // jsonl: the ready event; text: a note on stderr.
  void ready(int pid, uint64_t threads);
  // f2: the second stack's frames (use: the removal; overlap: the other
  // goroutine). mapType: a Grow's map type as Go prints it ("?" unknown).
  void event(const TraceEvent& e, const std::vector<GoFrame>& f1, const std::vector<GoFrame>& f2,
             const std::string& mapType);
  // The summary (text: on out; jsonl: on stderr, then the end event on
  // out). True when a fault was seen (a use after removal, a concurrent write).
  bool summary(const TraceEndFigures& end);

 private:
  Out& out_;
  std::FILE *stdout_, *stderr_;
  std::string what_, subject_;
  bool json_, verbose_;
  struct MapStat {
    std::string type;
    uint64_t growths = 0, measured = 0, ns = 0;
  };
  std::map<uint64_t, MapStat> byMap_;
  std::map<std::string, uint64_t> bySite_;
  std::map<uint64_t, uint64_t> mapOfId_;
};

class WatchReport {
 public:
  WatchReport(Out& out, std::FILE* stdoutFile, std::FILE* stderrFile,
              std::vector<WatchField> fields, bool jsonl, bool verbose)
      : out_(out),
        stdout_(stdoutFile),
        stderr_(stderrFile),
        fields_(std::move(fields)),
        json_(jsonl),
        verbose_(verbose) {}
  // The note on stderr (text only).
  void ready(int pid, uint64_t threads);
  void event(const TraceEvent& e, const std::vector<GoFrame>& frames);
  // On stdout (text) or stderr (jsonl).
  void summary(const TraceEndFigures& end);

 private:
  Out& out_;
  std::FILE *stdout_, *stderr_;
  std::vector<WatchField> fields_;
  bool json_, verbose_;
  uint64_t events_ = 0, multi_ = 0, unchanged_ = 0, truncated_ = 0;
  std::map<std::string, uint64_t> sites_;
};

}  // namespace gms
