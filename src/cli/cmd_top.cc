// top and advise: every map and list reachable from globals and goroutine
// stacks, and map sizing.
#include <algorithm>
#include <optional>

#include "analysis/advice.h"
#include "cli/commands.h"
#include "goruntime/discover.h"
#include "goruntime/layout.h"
#include "goruntime/maps.h"
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
  // Program globals are top's roots, found by name: a binary that names
  // none would list nothing, which is not the answer.
  if (!s->program().hasDwarf())
    fail(ErrorKind::MissingDebugInfo,
         "top walks the program's globals by name, and {}; give --debug-file, or decode a map by "
         "address "
         "(map 0xADDR --type 'map[K]V')",
         s->program().binary().missingDebugInfo());
  DiscoverOptions d;
  if (!o.roots.empty()) {
    d.roots.globals = std::find(o.roots.begin(), o.roots.end(), "globals") != o.roots.end();
    d.roots.stacks = std::find(o.roots.begin(), o.roots.end(), "stacks") != o.roots.end();
  }
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

int cmdAdvise(AdviseOptions& o) {
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
      MapRef m = locatedMap(p, locate(p, o.expr, o.type));
      mt = m.type;
      sum = walkMap(p, mt, m.header, {}, nullptr);
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

}  // namespace

void addTopCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<TopOptions>();
  auto* c = app.add_subcommand(
      "top", "every map and list reachable from globals and goroutine stacks, ranked by footprint");
  addTargetOptions(c, o->target);
  c->add_option("--format", o->format, "output format")->check(CLI::IsMember({"text", "json", "csv"}));
  c->add_option("--limit", o->limit, "rows shown (default 30 in text, all otherwise; 0 = all)");
  c->add_option("--skip", o->skip, "also skip globals of these packages (prefix/... patterns)");
  c->add_option("--only", o->only, "walk only globals of these packages");
  c->add_option("--max-objects", o->maxObjects, "stop after visiting this many objects (budget)");
  c->add_option("--roots", o->roots,
                "where the walk starts: globals, stacks (locals and parameters of every "
                "goroutine's frames), or both (the default); comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember({"globals", "stacks"}));
  addMaskOptions(c, o->mask);
  c->callback([o, &run] { run = [o] { return cmdTop(*o); }; });
}

void addAdviseCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<AdviseOptions>();
  auto* c = app.add_subcommand("advise", "map sizing advice: what make(map[K]V, hint) allocates, classic and Swiss");
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
