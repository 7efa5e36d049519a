// top, heap and advise: every map and list reachable from globals, goroutine
// stacks and typed heap objects; the live heap by reference chain; map sizing.
#include <algorithm>
#include <optional>

#include "analysis/advice.h"
#include "cli/commands.h"
#include "goruntime/discover.h"
#include "goruntime/heap_graph.h"
#include "goruntime/layout.h"
#include "goruntime/maps.h"
#include "report/heap_report.h"
#include "report/top_report.h"

namespace gms {

namespace {

struct TopOptions {
  TargetOptions target;
  std::string format = "text";
  int64_t limit = -1;
  std::vector<std::string> skip, only;
  int64_t maxObjects = -1;
  std::vector<std::string> roots;
  MaskOptions mask;
  bool retained = false;
};

struct HeapOptions {
  TargetOptions target;
  std::string format = "text";
  std::string output;
  int64_t limit = -1;
  int64_t maxObjects = -1;
};

struct AdviseOptions {
  TargetOptions target;
  std::string format = "text";
  std::string expr, type;
  uint64_t keys = 0;
  int64_t hint = -1;
  std::string keyType, valueType;
};

int cmdTop(TopOptions& o) {
  applyMaskOptions(o.mask);
  auto s = Session::open(o.target);
  printWarnings(*s);
  DiscoverOptions d;
  auto asked = [&](const char* r) {
    return std::find(o.roots.begin(), o.roots.end(), r) != o.roots.end();
  };
  if (!o.roots.empty()) {
    d.roots.globals = asked("globals");
    d.roots.stacks = asked("stacks");
    d.roots.heap = asked("heap");
  }
  // Without DWARF nothing is named: the words of .data/.bss, the live
  // pointer words of goroutine stacks and the untyped objects they reach
  // are searched for maps and lists by their shape, and heap objects are
  // typed where the runtime records their type (goruntime/discover.h).
  if (!o.skip.empty()) d.skipPackages.insert(d.skipPackages.end(), o.skip.begin(), o.skip.end());
  d.onlyPackages = o.only;
  if (o.maxObjects >= 0) d.maxObjects = uint64_t(o.maxObjects);
  d.retained = o.retained;
  Out out(cliOut());
  Discovery found;
  frozenRun(*s, out, [&] { found = discover(s->program(), d); });
  TopFormat f = o.format == "json"  ? TopFormat::Json
                : o.format == "csv" ? TopFormat::Csv
                                    : TopFormat::Text;
  uint64_t limit = o.limit >= 0 ? uint64_t(o.limit) : (f == TopFormat::Text ? 30 : 0);
  reportTop(out, found, s->target().describe(), f, limit);
  return 0;
}

int cmdHeap(HeapOptions& o) {
  auto s = Session::open(o.target);
  printWarnings(*s);
  HeapGraphOptions h;
  if (o.maxObjects >= 0) h.maxObjects = uint64_t(o.maxObjects);
  HeapGraph g;
  Out none(nullptr);
  frozenRun(*s, none, [&] { g = heapGraph(s->program(), h); });
  if (!o.output.empty()) {
    std::vector<uint8_t> pb = heapPprof(g, !o.output.ends_with(".pb"));
    writeFile(o.output, std::string_view(reinterpret_cast<const char*>(pb.data()), pb.size()));
    fmt::print(cliErr(),
               "gomemscope: wrote {} ({} chains, {} in {} objects); open it with: go tool pprof "
               "-top {}\n",
               o.output,
               std::count_if(g.nodes.begin(), g.nodes.end(),
                             [](const HeapChainNode& n) { return n.objects != 0; }),
               humanBytes(g.bytes), g.objects, o.output);
    if (o.format == "text" && o.limit < 0) return 0;
  }
  Out out(cliOut());
  uint64_t limit = o.limit >= 0 ? uint64_t(o.limit) : (o.format == "text" ? 20 : 0);
  reportHeap(out, g, s->target().describe(), o.format == "json" ? Format::Json : Format::Text,
             limit);
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
      case Kind::Array:
        return x->len ? align(x->elem, depth + 1) : 1;
      case Kind::Complex64:
        return 4;
      case Kind::Complex128:
        return 8;
      default:
        return std::clamp<uint64_t>(x->size, 1, 8);
    }
  };
  sh.align = align(t, 0);
  return sh;
}

int cmdAdvise(AdviseOptions& o) {
  std::optional<uint64_t> hint;
  if (o.hint >= 0) hint = uint64_t(o.hint);
  std::vector<MapAdvice> out;
  std::string title;
  if (o.target.pid || !o.target.core.empty()) {
    if (o.expr.empty())
      fail(ErrorKind::Usage, "advise on a target needs a map expression, e.g. main.cache");
    auto s = Session::open(o.target);
    printWarnings(*s);
    const Program& p = s->program();
    MapSummary sum;
    const Type* mt = nullptr;
    Out none(nullptr);
    frozenRun(*s, none, [&] {
      MapRef m = locatedMap(p, locate(p, o.expr, o.type));
      mt = m.type;
      sum = walkMap(p, mt, m.header, {}, nullptr);
    });
    if (mt->key && mt->key->kind == Kind::Invalid)
      fail(ErrorKind::Usage,
           "{} is a map whose key and value types are unknown (empty, never written): sizing "
           "depends on them; give its type: 0x{:x} --type 'map[K]V', or advise --key K --value V",
           o.expr, sum.addr);
    uint64_t keys = o.keys ? o.keys : sum.len;
    MapTypeShape shape;
    shape.key = shapeOf(mt->key);
    shape.value = shapeOf(mt->elem);
    shape.goMinor = p.build().minor;
    shape.impl = mapImplOf(mt);
    out.push_back(adviseMap(shape, keys, hint));
    title = fmt::format("{} ({}) holds {} keys; footprint now {}{}", o.expr, mt->name, sum.len,
                        humanBytes(sum.footprint.total()),
                        o.keys ? fmt::format("; advice for {} keys", keys) : "");
  } else {
    if (!o.keys)
      fail(ErrorKind::Usage, "give --keys N with --key and --value types, or a target and a map");
    if (o.keyType.empty() || o.valueType.empty())
      fail(ErrorKind::Usage, "give --key and --value types");
    out.push_back(
        adviseMap(mapShapeFromGoTypes(o.keyType, o.valueType, 19, MapImpl::Classic), o.keys, hint));
    out.push_back(
        adviseMap(mapShapeFromGoTypes(o.keyType, o.valueType, 26, MapImpl::Swiss), o.keys, hint));
    title = fmt::format("map[{}]{} with {} keys", o.keyType, o.valueType, o.keys);
  }
  Out w(cliOut());
  reportAdvice(w, out, title, o.format == "json" ? Format::Json : Format::Text);
  return 0;
}

}  // namespace

void addTopCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<TopOptions>();
  auto* c = app.add_subcommand(
      "top",
      "every map and list reachable from globals, goroutine stacks and typed heap objects, "
      "ranked by footprint");
  addTargetOptions(c, o->target);
  c->add_option("--format", o->format, "output format")
      ->check(CLI::IsMember({"text", "json", "csv"}));
  c->add_option("--limit", o->limit, "rows shown (default 30 in text, all otherwise; 0 = all)");
  c->add_option("--skip", o->skip, "also skip globals of these packages (prefix/... patterns)");
  c->add_option("--only", o->only, "walk only globals of these packages");
  c->add_option("--max-objects", o->maxObjects, "stop after visiting this many objects (budget)");
  c->add_flag("--retained", o->retained,
              "also each map's and list's retained bytes: what would be freed with it (one walk "
              "of the whole live heap and its dominator tree)");
  c->add_option("--roots", o->roots,
                "where the walk starts: globals, stacks (locals and parameters of every "
                "goroutine's frames), heap (every heap object whose type the runtime records, "
                "Go >= 1.22: path (*T)(0xADDR)), comma-separated; default all three. Without "
                "DWARF, globals are the words of .data/.bss and the untyped objects they reach, "
                "searched for maps and lists by their shape (path (*map[K]V)(0xWORD)), and "
                "so are the live pointer words of goroutine stacks (their stack maps)")
      ->delimiter(',')
      ->check(CLI::IsMember({"globals", "stacks", "heap"}));
  addMaskOptions(c, o->mask);
  c->callback([o, &run] { run = [o] { return cmdTop(*o); }; });
}

void addHeapCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<HeapOptions>();
  auto* c = app.add_subcommand(
      "heap",
      "the live heap by reference chain: every heap object attributed to the chain through which "
      "a global or a goroutine stack reaches it; -o writes a pprof profile");
  addTargetOptions(c, o->target);
  c->add_option("-o,--output", o->output,
                "write a pprof profile (inuse_space, inuse_objects) for go tool pprof; gzip "
                "unless the name ends in .pb; the text report is then printed only with --limit");
  c->add_option("--format", o->format, "output format")->check(CLI::IsMember({"text", "json"}));
  c->add_option("--limit", o->limit,
                "roots and chains shown (default 20 in text, all in JSON; 0 = all)");
  c->add_option("--max-objects", o->maxObjects,
                "stop after reaching this many objects (budget; the result says it is partial)");
  c->callback([o, &run] { run = [o] { return cmdHeap(*o); }; });
}

void addAdviseCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<AdviseOptions>();
  auto* c = app.add_subcommand(
      "advise", "map sizing advice: what make(map[K]V, hint) allocates, classic and Swiss");
  addTargetOptions(c, o->target);
  c->add_option("expr", o->expr, "a map in the target (with -p or -c), e.g. main.cache");
  c->add_option("--keys", o->keys, "number of keys (default: the map's current len)");
  c->add_option("--key", o->keyType, "key type without a target, e.g. string, int64, [16]byte");
  c->add_option("--value", o->valueType, "value type without a target, e.g. int, struct{}");
  c->add_option("--hint", o->hint, "the make() hint to evaluate (default: --keys)");
  c->add_option("--type", o->type, "the map type when expr is an address");
  c->add_option("--format", o->format, "output format")->check(CLI::IsMember({"text", "json"}));
  c->callback([o, &run] { run = [o] { return cmdAdvise(*o); }; });
}

}  // namespace gms
