// watch: hardware watchpoints on words of a live Go process (map headers,
// list heads, any 1/2/4/8-byte word of a global), one event per write with
// old -> new value, thread, goroutine and the writing stack.
//
// This file parses and prints (docs/watch.md): the words to watch come from
// goruntime/trace_hooks.h (watchFields), the tracer that reports their writes
// from goruntime/tracers.h (fieldTracer), and it runs in a keeper process
// (cli/tracing.h) that disarms every thread whenever this process ends, even
// by SIGKILL, because the kernel leaves debug registers armed when a tracer
// dies. The output is report/trace_report.h's WatchReport.
#include "cli/commands.h"
#include "cli/tracing.h"
#include "goruntime/trace_hooks.h"
#include "goruntime/tracers.h"
#include "report/trace_report.h"
#include "target/proc_fs.h"

namespace gms {

namespace {

struct WatchOptions {
  TargetOptions target;
  std::string expr, type, format = "text", forDur;
  std::vector<std::string> fields;
  int64_t count = 0;
  bool rw = false;
};

int cmdWatch(WatchOptions& o) {
  if (!o.target.core.empty())
    fail(ErrorKind::Usage, "watch needs a live process (-p PID); a core dump cannot be watched");
  if (o.target.pid <= 0) fail(ErrorKind::Usage, "watch needs a live process: give -p PID");
  if (o.count < 0) fail(ErrorKind::Usage, "--count must be positive");
  double forSecs = o.forDur.empty() ? 0 : parseDuration(o.forDur, "--for");
  if (auto tracer = proc::statusField(o.target.pid, "TracerPid"); tracer && *tracer != "0")
    fail(ErrorKind::Permission,
         "process {} is already traced by pid {} (a debugger, or another gomemscope watch)",
         o.target.pid, *tracer);
  auto s = Session::open(o.target);
  printWarnings(*s);
  if (!s->live()) fail(ErrorKind::Usage, "watch needs a live process");
  const Program& p = s->program();
  Located l = locate(p, o.expr, o.type,
                     "--type 'map[string]int' (a map's header), --type 'container/list.List' or "
                     "--type int64 (a word)");
  std::vector<WatchField> fields = watchFields(p, l, o.fields);
  if (fields.size() > size_t(kDebugSlots))
    fail(ErrorKind::Usage,
         "{} fields need {} hardware watchpoints; x86-64 has {} debug registers (choose with "
         "--field)",
         fields.size(), fields.size(), kDebugSlots);
  for (const auto& f : fields) {
    HwBreakpoint bp{f.addr, o.rw ? BreakKind::ReadWrite : BreakKind::Write, f.len};
    if (std::string why = validate(bp); !why.empty()) fail(ErrorKind::Usage, "{}: {}", f.name, why);
  }
  StackUnwinder unwinder(p);
  UnwoundStacks stacks(unwinder, p.mem());
  auto tracer = fieldTracer(fields, o.rw, stacks, p.mem(), o.count);
  DebugRegs regs = armTracer(*tracer);

  Out out(cliOut());
  WatchReport report(out, cliOut(), cliErr(), fields, o.format == "jsonl", o.target.verbose);
  TraceRun run = runTracer(
      o.target.pid, *tracer, regs, {forSecs, o.count}, "watch",
      [&](const WatcherStats& st) { report.ready(o.target.pid, st.threadsAttached); },
      [&](const TraceEvent& e) {
        report.event(e, unwinder.symbolizeInline(e.stack()));
        return true;
      });
  TraceEndFigures end;
  end.seconds = run.seconds;
  end.confirmed = run.end.has_value();
  end.threadsAtStart = run.ready.threadsAttached;
  end.threadsNotArmed = run.ready.threadsNotArmed;
  if (run.end) {
    end.processExited = run.end->processExited;
    end.threadsCreated = run.end->stats.threadsCreated;
    end.threadsExited = run.end->stats.threadsExited;
    end.threadsNotArmed += run.end->stats.threadsNotArmed;
    end.dr6Lost = run.end->stats.dr6Lost;
  }
  report.summary(end);
  if (end.processExited)
    fmt::print(cliErr(), "gomemscope: pid {} exited; watch ended\n", o.target.pid);
  return kExitOk;
}

}  // namespace

void addWatchCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<WatchOptions>();
  auto* c = app.add_subcommand(
      "watch",
      "hardware watchpoints: every write to a map header, list head or word, with its stack");
  addTargetOptions(c, o->target);
  c->add_option("expr", o->expr, "a map, a list, or any 1/2/4/8-byte word (main.M, main.q.len)")
      ->required();
  c->add_option("--type", o->type, "type of an object given by address");
  c->add_option("--field", o->fields,
                "header field(s) to watch (map: len, the length on either implementation; classic "
                "count, B, buckets, oldbuckets; Swiss used, dirPtr, dirLen; list: len, root.next)");
  c->add_option("--count", o->count, "stop after N events");
  c->add_option("--for", o->forDur, "stop after this long (e.g. 10s)");
  c->add_option("--format", o->format, "text or jsonl (one JSON object per event)")
      ->check(CLI::IsMember({"text", "jsonl"}));
  c->add_flag("--rw", o->rw, "also stop on reads (read/write watchpoints)");
  c->callback([o, &run] { run = [o] { return cmdWatch(*o); }; });
}

}  // namespace gms
