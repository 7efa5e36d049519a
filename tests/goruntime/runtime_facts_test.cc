// The drift guard: every runtime type, field, global, function and constant
// the decoders read (goruntime/runtime_facts.cc) exists, as listed, in the
// DWARF and symbol table of fixtures built by each toolchain. A release that
// renames or drops one fails here with its name, before any decoder meets it.
#include "goruntime/runtime_facts.h"

#include <algorithm>
#include <set>

#include "binary/binary.h"
#include "common/error.h"
#include "goruntime/layout.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

struct DriftCase {
  std::string toolchain;
  BuildFlags flags;
};

class RuntimeFactsDrift : public ::testing::TestWithParam<DriftCase> {
 protected:
  const Toolchain& tc() { return toolchain(GetParam().toolchain); }
};

// The types the linker synthesises for one map type (hash<K,V>, bucket<K,V>;
// or map<K,V>, table<K,V>, groupReference<K,V>, the group and its slot),
// reached from the header struct of `mapType`.
std::vector<const Type*> synthesisedMapTypes(const Type* mapType) {
  std::vector<const Type*> out;
  const Type* h = mapType ? mapType->mapHeader : nullptr;
  if (!h) return out;
  out.push_back(h);
  auto pointee = [](const Field* f) { return f && f->type ? f->type->elem : nullptr; };
  if (const Type* b = pointee(h->field("buckets"))) out.push_back(b);
  if (const Field* dir = h->field("dirPtr"); dir && dir->type && dir->type->elem) {
    const Type* table = dir->type->elem->elem;
    if (!table) return out;
    out.push_back(table);
    const Field* groups = table->field("groups");
    if (!groups || !groups->type) return out;
    out.push_back(groups->type);
    const Type* group = pointee(groups->type->field("data"));
    if (!group) return out;
    out.push_back(group);
    if (const Field* slots = group->field("slots"); slots && slots->type && slots->type->elem)
      out.push_back(slots->type->elem);
  }
  return out;
}

TEST_P(RuntimeFactsDrift, EveryListedRuntimeFactExists) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const int minor = tc().minor;
  // Runtime and map types from the maps fixture; container/list from lists.
  auto maps = Binary::open(buildFixture(tc(), "maps", GetParam().flags));
  auto lists = Binary::open(buildFixture(tc(), "lists", GetParam().flags));
  ASSERT_TRUE(maps->types()) << maps->missingDebugInfo();
  ASSERT_TRUE(lists->types()) << lists->missingDebugInfo();
  const TypeProvider& tp = *maps->types();

  // Every DWARF type a listed entry names, found by name or, for the
  // synthesised ones, through the fixture's map[string]int.
  auto mapGlobal = tp.findGlobal("main.MStrInt");
  ASSERT_TRUE(mapGlobal && mapGlobal->type) << "maps fixture has no main.MStrInt";
  std::vector<const Type*> synthesised = synthesisedMapTypes(mapGlobal->type);
  auto typesFor = [&](const RuntimeStruct& s) {
    std::vector<const Type*> found;
    if (s.type.ends_with('*')) {
      for (const Type* t : synthesised)
        if (runtimeStructFor(t->name) == &s) found.push_back(t);
    } else if (const Type* t = tp.findType(s.type)) {
      found.push_back(t);
    } else if (const Type* t = lists->types()->findType(s.type)) {
      found.push_back(t);
    }
    return found;
  };

  int checked = 0;
  for (const auto& s : runtimeStructs()) {
    if (!s.releases.has(minor)) continue;
    SCOPED_TRACE(std::string(s.type) + " (" + std::string(s.source) + ", read by " +
                 std::string(s.usedBy) + ")");
    auto found = typesFor(s);
    if (found.empty() && s.optional) continue;
    ASSERT_FALSE(found.empty()) << tc().name << " has no DWARF type " << s.type;
    for (const Type* t : found) {
      for (const auto& f : s.fields) {
        if (f.optional || !f.releases.has(minor)) continue;
        EXPECT_NE(t->field(f.name), nullptr)
            << tc().name << ": " << t->name << " has no field " << f.name;
        checked++;
      }
    }
  }
  EXPECT_GT(checked, 70) << "fewer runtime fields than the decoders read";
  // What Session::open checks: nothing missing in a release the table knows.
  for (const auto& m : missingRuntimeFacts(tp, minor)) ADD_FAILURE() << tc().name << ": " << m;

  // Alternatives where one of several fields must exist.
  bool split = GetParam().flags.experiment == "mapsplitgroup";
  for (const Type* t : synthesised) {
    if (t->name.starts_with("bucket<")) {
      EXPECT_TRUE(t->field("values") || t->field("elems"))
          << t->name << " has neither values nor elems";
    }
    if (t->name.starts_with("noalg.map.group[")) {
      EXPECT_EQ(synthesised.back()->name.starts_with("noalg.struct { key "), !split) << "slot type";
      EXPECT_EQ(t->field("slots") != nullptr, !split) << t->name;
      EXPECT_EQ(t->field("keys") && t->field("elems"), split) << t->name;
    }
  }
  // Every synthesised map type is one the table lists.
  EXPECT_EQ(synthesised.size(), !tc().swiss() ? 2u : split ? 4u : 5u);
  for (const Type* t : synthesised)
    EXPECT_NE(runtimeStructFor(t->name), nullptr) << t->name << " not listed";

  for (const auto& sym : runtimeSymbols()) {
    if (!sym.releases.has(minor) || sym.optional) continue;
    SCOPED_TRACE(std::string(sym.name) + " (read by " + std::string(sym.usedBy) + ")");
    EXPECT_TRUE(maps->symbol(sym.name)) << tc().name << " has no symbol " << sym.name;
    if (sym.kind == RuntimeSymbolKind::Global) {
      EXPECT_TRUE(tp.findGlobal(sym.name)) << tc().name << " has no DWARF variable " << sym.name;
    }
  }

  for (const auto& c : runtimeConstants()) {
    if (!c.releases.has(minor)) continue;
    SCOPED_TRACE(std::string(c.type) + "." + std::string(c.field) + " (" + std::string(c.usedBy) +
                 ")");
    const Type* t = tp.findType(c.type);
    ASSERT_NE(t, nullptr) << tc().name << " has no DWARF type " << c.type;
    const Field* f = t->field(c.field);
    ASSERT_NE(f, nullptr) << tc().name << ": " << c.type << " has no field " << c.field;
    EXPECT_EQ(f->offset, c.offset) << tc().name << ": " << c.type << "." << c.field << " moved";
    EXPECT_EQ(runtimeConstant(c.type, c.field, minor), f->offset);
  }
}

// A program whose runtime renamed a field the decoders read: named, one
// entry per field; a type the program does not use is not looked for.
class OneTypeProvider : public TypeProvider {
 public:
  explicit OneTypeProvider(Type t) : t_(std::move(t)) {}
  const Type* findType(std::string_view name) const override {
    return name == t_.name ? &t_ : nullptr;
  }
  std::optional<Global> findGlobal(std::string_view) const override { return std::nullopt; }
  const std::vector<Global>& globals() const override { return none_; }
  const Type* findByRuntimeOffset(uint64_t) const override { return nullptr; }
  std::vector<std::string_view> typeNames() const override { return {t_.name}; }

 private:
  Type t_;
  std::vector<Global> none_;
};

TEST(RuntimeFacts, ARenamedFieldIsNamedAtOpen) {
  Type g;
  g.name = "runtime.g";
  g.kind = Kind::Struct;
  for (const auto& s : runtimeStructs())
    if (s.type == "runtime.g")
      for (const auto& f : s.fields)
        if (f.name != "goid") g.fields.push_back(Field{std::string(f.name), 0, nullptr});
  Field renamed;
  renamed.name = "goID";
  g.fields.push_back(renamed);
  OneTypeProvider tp(g);
  auto missing = missingRuntimeFacts(tp, 26);
  ASSERT_EQ(missing.size(), 2u) << ::testing::PrintToString(missing);
  std::sort(missing.begin(), missing.end());
  EXPECT_EQ(missing[0], "no type runtime.mspan");
  EXPECT_EQ(missing[1], "runtime.g has no field goid");
}

std::vector<DriftCase> driftCases() {
  std::vector<DriftCase> v;
  for (const auto& t : toolchainNames()) v.push_back({t, {}});
  v.push_back({"go1.27", experimentBuild("mapsplitgroup")});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Toolchains, RuntimeFactsDrift, ::testing::ValuesIn(driftCases()),
                         [](const auto& i) {
                           return paramName(i.param.toolchain + "_" + i.param.flags.key());
                         });

// A decoder that reads a field of a runtime type the table does not list is
// stopped at once (the drift test would not check that field).
TEST(RuntimeFacts, UnlistedRuntimeFieldIsRefused) {
  Type g;
  g.name = "runtime.g";
  g.fields.push_back({"goid", 0, nullptr});
  g.fields.push_back({"lockedm", 8, nullptr});
  EXPECT_EQ(requireField(&g, "goid").offset, 0u);
  try {
    requireField(&g, "lockedm");
    FAIL() << "an unlisted runtime.g field was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Internal);
    EXPECT_NE(std::string(e.what()).find("runtime.g.lockedm"), std::string::npos) << e.what();
  }
  EXPECT_THROW(optionalField(&g, "lockedm"), Error);
  // User types are not the table's business.
  Type user;
  user.name = "main.T";
  user.fields.push_back({"m", 0, nullptr});
  EXPECT_EQ(requireField(&user, "m").offset, 0u);
  // Synthesised map types match by prefix.
  EXPECT_NE(runtimeStructFor("hash<string,int>"), nullptr);
  EXPECT_NE(runtimeStructFor("noalg.map.group[string]int"), nullptr);
  EXPECT_EQ(runtimeStructFor("main.hash"), nullptr);
  EXPECT_THROW(runtimeConstant("internal/abi.Type", "TFlag", 5), Error);
}

}  // namespace
}  // namespace gms::test
