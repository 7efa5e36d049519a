// The built-in runtime layouts (used when a stripped binary has no DWARF for
// runtime.mstats, mheap, gcControllerState, ...) against the DWARF of a
// fixture built by each installed toolchain: the table verified for that
// release must agree with DWARF in every struct size, field offset, field
// size and array length. A new Go release fails here until its table is
// added (or an existing one is verified for it).
#include "goruntime/builtin_layouts.h"

#include "binary/binary.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

bool isScalarLike(const Type* t) { return t && t->kind != Kind::Struct && t->kind != Kind::Array; }

// DWARF wraps atomics as struct { noCopy; _ align64; value T } and names
// sysMemStat and spanClass: the payload is what the table describes.
const Type* unwrap(const Type* t) {
  for (int i = 0; t && t->kind == Kind::Struct && i < 4; ++i) {
    const Field* v = t->field("value");
    if (!v || v->offset != 0) break;
    t = v->type;
  }
  return t;
}

void compare(const Type* b, const Type* d, const std::string& path,
             std::vector<std::string>& diffs) {
  if (!d) {
    diffs.push_back(path + ": not in DWARF");
    return;
  }
  if (b->kind != Kind::Struct) d = unwrap(d);
  if (b->size != d->size) {
    diffs.push_back(
        fmt::format("{}: size {} in the table, {} in DWARF ({})", path, b->size, d->size, d->name));
    return;
  }
  if (b->kind == Kind::Struct) {
    if (d->kind != Kind::Struct)
      diffs.push_back(fmt::format("{}: a struct in the table, {} in DWARF", path, d->name));
    for (const auto& f : b->fields) {
      const Field* df = d->field(f.name);
      if (!df) {
        diffs.push_back(fmt::format("{}.{}: no such field in DWARF", path, f.name));
        continue;
      }
      if (df->offset != f.offset)
        diffs.push_back(fmt::format("{}.{}: offset {} in the table, {} in DWARF", path, f.name,
                                    f.offset, df->offset));
      compare(f.type, df->type, path + "." + f.name, diffs);
    }
  } else if (b->kind == Kind::Array) {
    if (d->kind != Kind::Array || d->len != b->len)
      diffs.push_back(fmt::format("{}: {} in the table, {} in DWARF", path, b->name, d->name));
    else
      compare(b->elem, d->elem, path + "[]", diffs);
  } else if (!isScalarLike(d)) {
    diffs.push_back(fmt::format("{}: {} in the table, {} in DWARF", path, b->name, d->name));
  }
}

class BuiltinLayoutsDrift : public ::testing::TestWithParam<std::string> {};

TEST_P(BuiltinLayoutsDrift, TableForTheReleaseEqualsItsDwarf) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto bin = Binary::open(buildFixture(tc, "memstats"));
  ASSERT_TRUE(bin->types() && bin->types()->source() == "DWARF") << bin->missingDebugInfo();
  EXPECT_EQ(runtimeLayoutNote(tc.minor), "")
      << "no built-in layout table is verified for go1." << tc.minor
      << ": add one to goruntime/builtin_layouts.cc";
  const LayoutTable& table = builtinLayoutFor(tc.minor);
  BuiltinTypes types(table);
  std::vector<std::string> diffs;
  size_t fields = 0;
  for (const auto& s : table.structs) {
    const Type* b = types.find(s.name);
    ASSERT_NE(b, nullptr) << s.name;
    fields += s.fields.size();
    compare(b, bin->types()->findType(s.name), std::string(s.name), diffs);
  }
  EXPECT_TRUE(diffs.empty()) << table.name << " vs " << tc.name << " DWARF:\n"
                             << fmt::format("{}", fmt::join(diffs, "\n"));
  EXPECT_GE(fields, 40u);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, BuiltinLayoutsDrift, ::testing::ValuesIn(toolchainNames()),
                         [](const auto& i) { return paramName(i.param); });

// The nearest table stands in for an unverified release, and says so.
TEST(BuiltinLayouts, UnverifiedReleaseGetsTheNearestTableAndANote) {
  EXPECT_EQ(builtinLayoutFor(19).name, "go1.19");
  EXPECT_EQ(builtinLayoutFor(21).name, "go1.19");
  EXPECT_EQ(builtinLayoutFor(25).name, "go1.26");
  EXPECT_EQ(builtinLayoutFor(30).name, "go1.26");
  EXPECT_EQ(runtimeLayoutNote(27), "");
  std::string n = runtimeLayoutNote(24);
  EXPECT_NE(n.find("go1.24"), std::string::npos) << n;
  EXPECT_NE(n.find("go1.26's"), std::string::npos) << n;
  EXPECT_EQ(n.find('\n'), std::string::npos) << n;
  // Every table builds: each field inside its struct, every type known.
  for (const auto& t : builtinLayoutTables()) {
    BuiltinTypes types(t);
    const Type* ms = types.find("runtime.mstats");
    ASSERT_NE(ms, nullptr) << t.name;
    EXPECT_EQ(ms->field("pause_ns")->type->len, 256u);
  }
}

}  // namespace
}  // namespace gms::test
