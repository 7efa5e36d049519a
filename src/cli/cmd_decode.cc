// info, map, list, print: decode one thing and report it.
#include <map>

#include "cli/commands.h"
#include "goruntime/goroutines.h"
#include "goruntime/maps.h"
#include "report/json_writer.h"

namespace gms {

namespace {

struct DecodeOptions {
  TargetOptions target;
  OutputOptions out;
  std::string expr, type;
  LinkNames links;  // list: --next/--prev
};

int cmdInfo(DecodeOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  const Program& p = s->program();
  const Binary& b = s->binary();
  Out out(cliOut());
  std::vector<GoroutineInfo> gs;
  std::string gerr;
  size_t threads = 0;
  frozenRun(
      *s, out,
      [&] {
        threads = s->target().threads().size();
        try {
          gs = goroutines(p);
        } catch (const Error& e) {
          gerr = e.what();
        }
      },
      FreezeMode::Stop);  // a few pages: cheaper to read while stopped than to copy the heap
  std::map<std::string, int> byStatus;
  for (const auto& g : gs) byStatus[goroutineStatusName(g.status)]++;
  int liveG = 0;
  for (const auto& g : gs)
    if (g.status != 6 && g.status != 0) liveG++;
  const auto& bi = p.build();
  bool json = o.out.format == "json";
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
    w.field("dwarf", p.hasDwarf());
    if (!p.hasDwarf()) w.field("dwarfMissing", b.missingDebugInfo());
    w.field("typeSource", p.hasTypes() ? p.types().source() : "none");
    if (!b.debugFile().empty()) w.field("debugFile", b.debugFile());
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
            p.mapImpl() == MapImpl::Classic
                ? "classic (runtime.hmap, buckets of 8 with tophash)"
                : "swiss (internal/runtime/maps: directory, tables, groups)");
  out.print("{:<13}{}\n", "debug info",
            !p.hasDwarf()           ? b.missingDebugInfo()
            : b.debugFile().empty() ? "DWARF present (types and globals available)"
                                    : fmt::format("DWARF from {} (its code matches; types and "
                                                  "globals available)",
                                                  b.debugFile()));
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

int cmdMap(DecodeOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  Out out(cliOut());
  size_t problems = 0;
  frozenRun(*s, out, [&] {
    problems =
        reportMap(out, s->program(), locate(s->program(), o.expr, o.type), reportOptions(o.out));
  });
  return reportProblems(o.expr, problems);
}

int cmdList(DecodeOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  Out out(cliOut());
  size_t problems = 0;
  ReportOptions ro = reportOptions(o.out);
  ro.links = o.links;
  if (ro.links.next.empty() != ro.links.prev.empty())
    fail(ErrorKind::Usage, "--next and --prev go together (the element's two link fields)");
  frozenRun(*s, out, [&] {
    problems = reportList(out, s->program(),
                          locate(s->program(), o.expr, o.type,
                                 "--type 'container/list.List' (or '*container/list.Element')"),
                          ro);
  });
  return reportProblems(o.expr, problems);
}

int cmdPrint(DecodeOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  Out out(cliOut());
  frozenRun(*s, out, [&] {
    reportValue(
        out, s->program(),
        locate(s->program(), o.expr, o.type, "--type 'main.Config' (any type the program has)"),
        reportOptions(o.out));
  });
  return 0;
}

}  // namespace

void addInfoCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<DecodeOptions>();
  auto* c = app.add_subcommand("info", "Go version, map implementation, threads, goroutines");
  addTargetOptions(c, o->target);
  c->add_option("--format", o->out.format, "output format")->check(CLI::IsMember({"text", "json"}));
  c->callback([o, &run] { run = [o] { return cmdInfo(*o); }; });
}

void addMapCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<DecodeOptions>();
  auto* c = app.add_subcommand(
      "map",
      "a map's header, growth state, footprint, then its entries; a sync.Map's entries and "
      "structure");
  addTargetOptions(c, o->target);
  c->add_option("expr", o->expr, "main.name, main.x.field[2], or 0xADDR with --type")->required();
  c->add_option("--type", o->type, "the map type when expr is an address, e.g. 'map[string]int'");
  c->add_flag("--buckets", o->out.buckets,
              "per bucket/group: tophash or control bytes, overflow chain");
  addOutputOptions(c, o->out, true);
  c->callback([o, &run] { run = [o] { return cmdMap(*o); }; });
}

void addListCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<DecodeOptions>();
  auto* c = app.add_subcommand(
      "list",
      "a doubly linked list front to back, with integrity checks: container/list, "
      "container/ring, or any list of that shape (golang-lru's LruList, a program's own)");
  addTargetOptions(c, o->target);
  c->add_option("expr", o->expr,
                "a List, *List or *Element (e.g. main.queue), or 0xADDR with --type")
      ->required();
  c->add_option("--type", o->type, "the type when expr is an address, e.g. 'container/list.List'");
  c->add_option("--next", o->links.next,
                "the element's next link, when its field names do not say (with --prev)");
  c->add_option("--prev", o->links.prev, "the element's prev link (with --next)");
  addOutputOptions(c, o->out, true);
  c->callback([o, &run] { run = [o] { return cmdList(*o); }; });
}

void addPrintCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<DecodeOptions>();
  auto* c = app.add_subcommand(
      "print", "any global or part of one: .field, [i], [key], .(T), as top prints paths");
  addTargetOptions(c, o->target);
  c->add_option("expr", o->expr, "e.g. 'main.cfg.byName' or 'main.cfg.limits[1]'")->required();
  c->add_option("--type", o->type, "the type when expr is an address");
  addOutputOptions(c, o->out, false);
  c->callback([o, &run] { run = [o] { return cmdPrint(*o); }; });
}

}  // namespace gms
