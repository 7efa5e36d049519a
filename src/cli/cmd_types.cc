// types: the program's Go type names, as --type and .(T) accept them.
#include "binary/type_names.h"
#include "cli/commands.h"
#include "report/json_writer.h"

namespace gms {

namespace {

struct TypesOptions {
  TargetOptions target;
  std::string pattern;
  std::string format = "text";
};

int cmdTypes(const TypesOptions& o) {
  // Only the executable is read: -e alone will do, and a live target is
  // never stopped.
  std::unique_ptr<Session> s;
  std::unique_ptr<Binary> own;
  const Binary* b = nullptr;
  if (!o.target.pid && o.target.core.empty() && !o.target.exe.empty()) {
    own = Binary::openWithDebugFile(o.target.exe, o.target.debugFile);
    b = own.get();
  } else {
    s = Session::open(o.target);
    printWarnings(*s);
    b = &s->binary();
  }
  if (!b->types()) fail(ErrorKind::MissingDebugInfo, "{}", b->missingDebugInfo());
  std::vector<std::string> names = matchingTypeNames(*b->types(), o.pattern);
  Out out(cliOut());
  if (o.format == "json") {
    JsonWriter w(out);
    w.beginObject();
    w.field("pattern", o.pattern);
    w.field("count", uint64_t(names.size()));
    w.stringArray("types", names);
    w.endObject();
    w.newline();
  } else {
    for (const auto& n : names) out.print("{}\n", n);
  }
  if (names.empty() && !o.pattern.empty()) {
    fmt::print(cliErr(), "gomemscope: no type name matches '{}'\n", o.pattern);
    return kExitProblems;
  }
  return kExitOk;
}

}  // namespace

void addTypesCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<TypesOptions>();
  auto* c = app.add_subcommand(
      "types", "the program's type names (as --type accepts them), filtered by a regex");
  addTargetOptions(c, o->target);
  c->add_option("regex", o->pattern,
                "ECMAScript regex searched in each name, e.g. 'Session' or '^map\\[string\\]'");
  c->add_option("--format", o->format, "output format")->check(CLI::IsMember({"text", "json"}));
  c->footer(
      "Names are printed as the program spells them; --type also takes Go's short spellings "
      "(store.Session for example.com/app/store.Session, any, blanks), and -e BINARY alone "
      "is enough.");
  c->callback([o, &run] { run = [o] { return cmdTypes(*o); }; });
}

}  // namespace gms
