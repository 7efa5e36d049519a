// core: write a compact core dump of a live process.
#include "cli/commands.h"
#include "control/core_writer.h"
#include "report/json_writer.h"

namespace gms {

namespace {

struct CoreOptions {
  TargetOptions target;
  std::string format = "text";
  std::string output;
};

int cmdCore(CoreOptions& o) {
  if (!o.target.core.empty())
    fail(ErrorKind::Usage, "core needs a live process (--pid), not a core");
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
    Out out(cliOut());
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
    fmt::print(
        "wrote {}: {} ({} of memory saved, {} mapped but untouched or in files skipped), "
        "{} threads, {} segments, in {:.0f} ms (target stopped {:.0f} ms)\n",
        o.output, humanBytes(st.fileBytes), humanBytes(st.savedBytes), humanBytes(st.skippedBytes),
        st.threads, st.segments, secs * 1000,
        std::chrono::duration<double, std::milli>(stopped).count());
  }
  fmt::print(cliErr(),
             "gomemscope: note: {} holds the process's memory, secrets included (mode 0600)\n",
             o.output);
  return 0;
}

}  // namespace

void addCoreCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<CoreOptions>();
  auto* c = app.add_subcommand("core", "write a core dump of a live process (no gdb needed)");
  c->add_option("-p,--pid", o->target.pid, "live process")->required();
  c->add_option("-o,--output", o->output, "core file to write (default core.PID)");
  c->add_option("--format", o->format, "output format")->check(CLI::IsMember({"text", "json"}));
  c->callback([o, &run] { run = [o] { return cmdCore(*o); }; });
}

}  // namespace gms
