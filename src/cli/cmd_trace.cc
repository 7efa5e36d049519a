// trace: event tracers built on hardware breakpoints/watchpoints (docs/trace.md).
//
//   trace growth  -p PID            every map growth in the process: which map
//                                    (address, type), size before -> after, the
//                                    call site, how long it took
//   trace writers -p PID main.M     two goroutines inside a write of one map
//   trace removed -p PID main.L     list elements used after list.Remove
//
// This file parses and prints. Where each tracer hooks in (functions,
// argument registers, fields) is goruntime/trace_hooks.h, what each trap
// means is goruntime/tracers.h, running one in a keeper process (which
// disarms the target even if gomemscope is SIGKILLed) is cli/tracing.h, the
// output report/trace_report.h.
#include "cli/commands.h"
#include "cli/tracing.h"
#include "goruntime/trace_hooks.h"
#include "goruntime/tracers.h"
#include "report/trace_report.h"
#include "target/proc_fs.h"

namespace gms {

namespace {

struct TraceOptions {
  TargetOptions target;
  std::string what, expr, type, format = "text", forDur;
  int64_t count = 0;
};

MapRef mapOf(const Program& p, const Located& l) {
  if (syncMapAt(p, l))
    fail(ErrorKind::Usage,
         "{} is a sync.Map, made for concurrent writers: there is no unsafe write to catch "
         "(trace follows built-in maps; `gomemscope watch {}` follows a Go <= 1.23 sync.Map)",
         l.expr, l.expr);
  MapRef m = locatedMap(p, l);
  if (!m.header) fail(ErrorKind::Usage, "{} is a nil map: nothing to trace yet", l.expr);
  return m;
}

int cmdTrace(TraceOptions& o) {
  if (!o.target.core.empty())
    fail(ErrorKind::Usage, "trace needs a live process (-p PID); a core dump cannot be traced");
  if (o.target.pid <= 0) fail(ErrorKind::Usage, "trace needs a live process: give -p PID");
  if (o.count < 0) fail(ErrorKind::Usage, "--count must be positive");
  if (o.what != "growth" && o.expr.empty())
    fail(ErrorKind::Usage, "trace {} needs a {} (e.g. main.{})", o.what,
         o.what == "writers" ? "map" : "list", o.what == "writers" ? "M" : "L");
  double forSecs = o.forDur.empty() ? 0 : parseDuration(o.forDur, "--for");
  if (auto tracer = proc::statusField(o.target.pid, "TracerPid"); tracer && *tracer != "0")
    fail(ErrorKind::Permission,
         "process {} is already traced by pid {} (a debugger, or another gomemscope watch/trace)",
         o.target.pid, *tracer);
  auto s = Session::open(o.target);
  printWarnings(*s);
  if (!s->live()) fail(ErrorKind::Usage, "trace needs a live process");
  const Program& p = s->program();
  StackUnwinder unwinder(p);
  UnwoundStacks stacks(unwinder, p.mem());
  std::unique_ptr<Tracer> tracer;
  std::string subject = "every map";
  if (o.what == "growth") {
    if (!o.expr.empty())
      fail(ErrorKind::Usage, "trace growth takes no expression (it traces every map)");
    tracer = growthTracer(growthHooks(p), stacks, p.mem());
  } else if (o.what == "writers") {
    subject = o.expr;
    tracer = writersTracer(writerFlagOf(p, mapOf(p, locate(p, o.expr, o.type))), stacks, p.mem());
  } else {
    subject = o.expr;
    Located l = locate(p, o.expr, o.type, "--type 'container/list.List'");
    tracer = removedTracer(removedHooks(p, l), stacks, p.mem());
  }
  DebugRegs regs = armTracer(*tracer);

  Out out(cliOut());
  TraceReport report(out, cliOut(), cliErr(), o.what, subject, o.format == "jsonl",
                     o.target.verbose);
  auto typeName = [&](uint64_t desc) -> std::string {
    if (!desc) return "?";
    try {
      return p.dynamicType(desc).name;
    } catch (const Error&) {
      return "?";  // the event still carries the descriptor's address
    }
  };
  TraceRun run = runTracer(
      o.target.pid, *tracer, regs, {forSecs, o.count}, "trace",
      [&](const WatcherStats& st) { report.ready(o.target.pid, st.threadsAttached); },
      [&](const TraceEvent& e) {
        report.event(e, unwinder.symbolizeInline(e.stack()), unwinder.symbolizeInline(e.stack2()),
                     e.kind == TraceEvent::Kind::Grow ? typeName(e.grow.typeDesc) : "");
        return e.kind != TraceEvent::Kind::GrowEnd;  // an end is not an event of its own
      });
  TraceEndFigures end;
  end.seconds = run.seconds;
  end.confirmed = run.end.has_value();
  if (run.end) {
    end.processExited = run.end->processExited;
    end.threadsNotArmed = run.end->stats.threadsNotArmed;
    end.totals = run.end->totals;
  }
  bool fault = report.summary(end);
  if (end.processExited)
    fmt::print(cliErr(), "gomemscope: pid {} exited; trace ended\n", o.target.pid);
  return fault ? kExitProblems : kExitOk;
}

}  // namespace

void addTraceCommand(CLI::App& app, Runner& run) {
  auto* c = app.add_subcommand(
      "trace",
      "event tracers on a live process: map growth, concurrent writers, removed list elements");
  c->require_subcommand(1);
  struct Sub {
    const char* name;
    const char* help;
    const char* arg;
  };
  for (Sub sub :
       {Sub{"growth",
            "every growth of every map: which map, size before/after, call site, duration",
            nullptr},
        Sub{"writers", "two goroutines writing one map at once (exit 1 when seen)",
            "a map (main.M)"},
        Sub{"removed", "list elements used after list.Remove (exit 1 when seen)",
            "a list (main.L)"}}) {
    auto o = std::make_shared<TraceOptions>();
    o->what = sub.name;
    auto* s = c->add_subcommand(sub.name, sub.help);
    addTargetOptions(s, o->target);
    if (sub.arg) {
      s->add_option("expr", o->expr, sub.arg)->required();
      s->add_option("--type", o->type, "type of an object given by address");
    }
    s->add_option("--count", o->count, "stop after N events");
    s->add_option("--for", o->forDur, "stop after this long (e.g. 30s)");
    s->add_option("--format", o->format, "text or jsonl (one JSON object per event)")
        ->check(CLI::IsMember({"text", "jsonl"}));
    s->callback([o, &run] { run = [o] { return cmdTrace(*o); }; });
  }
}

}  // namespace gms
