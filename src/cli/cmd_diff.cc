// diff: what changed between two snapshots of the same program — two cores,
// or a core and a live process (analysis/diff.h, report/diff_report.h).
#include <sys/stat.h>

#include <algorithm>
#include <chrono>

#include "analysis/diff.h"
#include "cli/commands.h"
#include "goruntime/discover.h"
#include "goruntime/goroutines.h"
#include "goruntime/layout.h"
#include "report/diff_report.h"

namespace gms {

namespace {

struct DiffOptions {
  std::string before, after;
  std::string exe;
  std::string debugFile;
  std::string format = "text";
  bool all = false;
  bool noPages = false;
  bool noStop = false;
  bool verbose = false;
  std::vector<std::string> skip, only;
  int64_t maxObjects = -1;
  MaskOptions mask;
};

// "pid:1234" or "1234" is a live process; anything else a core file (write
// ./1234 for a core file whose name is all digits).
TargetOptions targetOf(const std::string& arg, const DiffOptions& o) {
  TargetOptions t;
  t.exe = o.exe;
  t.debugFile = o.debugFile;
  t.noStop = o.noStop;
  t.verbose = o.verbose;
  std::string digits = arg.rfind("pid:", 0) == 0 ? arg.substr(4) : arg;
  bool isPid =
      !digits.empty() && digits.size() <= 9 &&
      std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (arg.rfind("pid:", 0) == 0 && !isPid)
    fail(ErrorKind::Usage, "'{}' is not a pid (pid:1234)", arg);
  if (isPid)
    t.pid = std::stoi(digits);
  else
    t.core = arg;
  return t;
}

// The build's identity for "same binary?": the Go build ID, else the GNU one.
std::string buildIdentity(const Binary& b) {
  if (!b.goBuildId().empty()) return "Go build ID " + b.goBuildId();
  if (!b.gnuBuildId().empty()) return "GNU build ID " + b.gnuBuildId();
  return "";
}

// [stack.lo, stack.hi) of every goroutine (runtime.g.stack); empty when the
// runtime layout is not as expected (the pages then count as other heap).
std::vector<AddrRange> goroutineStacks(const Program& p) {
  std::vector<AddrRange> out;
  try {
    const Type* g = p.types().findType("runtime.g");
    if (!g) return out;
    const Field* st = optionalField(g, "stack");
    if (!st || !st->type) return out;
    const Field* lo = optionalField(st->type, "lo");
    const Field* hi = optionalField(st->type, "hi");
    if (!lo || !hi) return out;
    for (const auto& gi : goroutines(p)) {
      try {
        AddrRange r;
        r.lo = p.mem().readPtr(gi.addr + st->offset + lo->offset);
        r.hi = p.mem().readPtr(gi.addr + st->offset + hi->offset);
        if (r.lo && r.hi > r.lo && r.hi - r.lo <= (uint64_t(1) << 30)) out.push_back(r);
      } catch (const Fault&) {
        // a g unreadable in this snapshot: its stack pages are attributed to "other" instead
      }
    }
  } catch (const Error&) {
    // no goroutine list (e.g. allgs unreadable): no stack ranges, their pages count as "other"
  }
  return out;
}

// The executable's writable data, where package-level variables live.
std::vector<AddrRange> globalsOf(const Program& p) {
  std::vector<AddrRange> out;
  for (const char* name : {".data", ".bss", ".noptrdata", ".noptrbss"})
    if (const Section* s = p.binary().section(name); s && s->addr && s->size)
      out.push_back({s->addr + p.loadBias(), s->addr + p.loadBias() + s->size});
  return out;
}

void snapshot(Session& s, const DiffOptions& o, DiffSnapshot& snap) {
  snap.target = s.target().describe();
  DiscoverOptions d;
  d.keepRegions = !o.noPages;
  if (!o.skip.empty()) d.skipPackages.insert(d.skipPackages.end(), o.skip.begin(), o.skip.end());
  d.onlyPackages = o.only;
  if (o.maxObjects >= 0) d.maxObjects = uint64_t(o.maxObjects);
  if (s.core()) {
    struct stat st;
    if (stat(s.options().core.c_str(), &st) == 0)
      snap.unixTime = double(st.st_mtim.tv_sec) + double(st.st_mtim.tv_nsec) * 1e-9;
  } else {
    snap.unixTime =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  Out none(nullptr);
  frozenRun(s, none, [&] {
    const Program& p = s.program();
    snap.found = discover(p, d);
    try {
      snap.memstats = readMemStats(p);
    } catch (const Error& e) {
      snap.memstatsError = fmt::format("{}: {}", snap.target, e.what());
    }
    if (!o.noPages) {
      snap.pages = digestPages(p.mem());
      snap.pagesRead = true;
      snap.stacks = goroutineStacks(p);
      snap.globals = globalsOf(p);
    }
  });
}

int cmdDiff(DiffOptions& o) {
  applyMaskOptions(o.mask);
  auto a = Session::open(targetOf(o.before, o));
  printWarnings(*a);
  auto b = Session::open(targetOf(o.after, o));
  printWarnings(*b);
  std::string ia = buildIdentity(a->binary()), ib = buildIdentity(b->binary());
  if (ia != ib ||
      (ia.empty() && a->binary().buildInfo()->modinfo != b->binary().buildInfo()->modinfo))
    fail(ErrorKind::Mismatch,
         "{} and {} are not the same binary ({} vs {}); diff compares two snapshots of one build",
         a->target().describe(), b->target().describe(), ia.empty() ? "no build ID" : ia,
         ib.empty() ? "no build ID" : ib);
  DiffSnapshot before, after;
  snapshot(*a, o, before);
  snapshot(*b, o, after);
  Diff d = diff(before, after);
  // Without DWARF, maps and lists are found by their shape and named by the
  // word that holds them: two snapshots of one process name them alike.
  Out out(cliOut());
  reportDiff(out, d, o.format == "json" ? Format::Json : Format::Text, o.all);
  return kExitOk;
}

}  // namespace

void addDiffCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<DiffOptions>();
  auto* c = app.add_subcommand(
      "diff",
      "what changed between two snapshots of one program: maps/lists, MemStats, memory pages");
  c->add_option("before", o->before,
                "the earlier snapshot: a core file, or a live pid (1234 or pid:1234)")
      ->required();
  c->add_option("after", o->after, "the later snapshot: a core file, or a live pid")->required();
  c->add_option("-e,--exe", o->exe,
                "the program's executable (default: the path each core names, /proc/PID/exe)");
  c->add_option("--debug-file", o->debugFile,
                "DWARF and symbols for a stripped executable (see gomemscope map --help)");
  c->add_option("--format", o->format, "output format")->check(CLI::IsMember({"text", "json"}));
  c->add_flag("--all", o->all, "text: also list maps and lists that did not change");
  c->add_flag("--no-pages", o->noPages, "do not compare memory pages");
  c->add_option("--skip", o->skip, "also skip globals of these packages (prefix/... patterns)");
  c->add_option("--only", o->only, "walk only globals of these packages");
  c->add_option("--max-objects", o->maxObjects,
                "stop discovery after this many objects per side (budget)");
  c->add_flag("--no-stop", o->noStop,
              "read a live side without stopping it (the result may be torn)");
  c->add_flag("-v,--verbose", o->verbose, "say how long a live side was stopped");
  addMaskOptions(c, o->mask);
  c->callback([o, &run] { run = [o] { return cmdDiff(*o); }; });
}

}  // namespace gms
