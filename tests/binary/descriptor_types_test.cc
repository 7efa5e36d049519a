// The runtime's type descriptors as a second type source, checked against the
// first: each fixture is built with DWARF by every installed toolchain, and
// every type the descriptors give that DWARF names too must agree with it in
// kind, size, element/key types and struct fields (names, offsets, types),
// the synthesised map headers and their tables/groups included. This is the
// drift guard for the built-in runtime layouts in descriptor_types.cc (the
// moduledata field offsets, hmap, maps.Map/table/groupReference): a Go
// release that moves a field fails here before a stripped decode goes wrong.
#include "binary/descriptor_types.h"

#include <set>

#include "binary/binary.h"
#include "common/error.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

struct Opened {
  std::string path;
  std::unique_ptr<Binary> bin;
};

const Opened& opened(const Toolchain& tc, const std::string& fixture) {
  static std::map<std::string, Opened> cache;
  std::string key = tc.name + "/" + fixture;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  Opened o;
  o.path = buildFixture(tc, fixture);
  o.bin = Binary::open(o.path);
  return cache.emplace(key, std::move(o)).first->second;
}

// Names agree exactly, except a spelling of DWARF's that no --type argument
// uses: a struct literal's field names qualified by package
// ("struct { runtime.len int }"), also inside a shape name.
bool sameName(const std::string& d, const std::string& w) {
  if (d == w) return true;
  return d.find("struct {") != d.npos && w.find("struct {") != w.npos;
}

// Compares a descriptor type with the DWARF type of the same name, down
// through its fields and elements (each pair once). Records every difference.
class Comparer {
 public:
  void compare(const Type* d, const Type* w, const std::string& path, int depth = 0) {
    if (!d || !w) {
      if (d != w) diff(path, fmt::format("{} vs {}", d ? d->name : "none", w ? w->name : "none"));
      return;
    }
    if (depth > 6 || !seen_.insert({d, w}).second) return;
    compared_++;
    if (d->kind != w->kind)
      diff(path, fmt::format("kind {} vs {}", kindName(d->kind), kindName(w->kind)));
    if (d->size != w->size) diff(path, fmt::format("size {} vs {}", d->size, w->size));
    if (!sameName(d->name, w->name)) diff(path, fmt::format("name {} vs {}", d->name, w->name));
    if (d->kind != w->kind) return;
    if (d->kind == Kind::Array && d->len != w->len)
      diff(path, fmt::format("len {} vs {}", d->len, w->len));
    if (d->kind == Kind::Interface && d->nonEmptyInterface != w->nonEmptyInterface)
      diff(path, "empty vs non-empty interface");
    compare(d->elem, w->elem, path + ".elem", depth + 1);
    compare(d->key, w->key, path + ".key", depth + 1);
    if (d->kind == Kind::Map) compare(d->mapHeader, w->mapHeader, path + ".header", depth + 1);
    bool fieldsMatter = d->kind == Kind::Struct || d->kind == Kind::String ||
                        d->kind == Kind::Slice || d->kind == Kind::Interface;
    if (!fieldsMatter) return;
    if (d->fields.size() != w->fields.size()) {
      diff(path, fmt::format("{} fields vs {}", d->fields.size(), w->fields.size()));
      return;
    }
    for (size_t i = 0; i < d->fields.size(); i++) {
      const Field& a = d->fields[i];
      const Field& b = w->fields[i];
      std::string fp = path + "." + b.name;
      if (a.name != b.name) diff(fp, fmt::format("field name {} vs {}", a.name, b.name));
      if (a.offset != b.offset) diff(fp, fmt::format("offset {} vs {}", a.offset, b.offset));
      if (a.embedded != b.embedded) diff(fp, "embedded differs");
      // Interface and string internals: the data words' exact pointee types
      // differ between sources (DWARF says *uint8 or unsafe.Pointer); their
      // size and offset are what decoders use.
      if (d->kind == Kind::Struct)
        compare(a.type, b.type, fp, depth + 1);
      else if (a.type && b.type && a.type->size != b.type->size)
        diff(fp, fmt::format("size {} vs {}", a.type->size, b.type->size));
    }
  }
  const std::vector<std::string>& diffs() const { return diffs_; }
  size_t compared() const { return compared_; }

 private:
  void diff(const std::string& path, const std::string& what) {
    if (diffs_.size() < 40) diffs_.push_back(path + ": " + what);
  }
  std::set<std::pair<const Type*, const Type*>> seen_;
  std::vector<std::string> diffs_;
  size_t compared_ = 0;
};

class DescriptorTypesTest : public ::testing::TestWithParam<std::string> {
 protected:
  const Toolchain& tc() const { return toolchain(GetParam()); }
};

TEST_P(DescriptorTypesTest, ModuledataIsFoundWithoutItsSymbolAndItsLayoutIsDwarfs) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const Binary& b = *opened(tc(), "maps").bin;
  auto sym = b.symbol("runtime.firstmoduledata");
  ASSERT_TRUE(sym.has_value());
  ModuleInfo m = findModuledata(descriptorSourceOf(b));
  EXPECT_EQ(m.moduledata, sym->addr);
  EXPECT_EQ(m.layoutNote, "");
  // Each field the descriptor reader takes from moduledata is where DWARF says.
  ASSERT_NE(b.types(), nullptr);
  const Type* md = b.types()->findType("runtime.moduledata");
  ASSERT_NE(md, nullptr);
  const Memory& mem = b.fileMemory();
  auto word = [&](const char* name, uint64_t plus = 0) {
    const Field* f = md->field(name);
    EXPECT_NE(f, nullptr) << name;
    return f ? mem.readPtr(m.moduledata + f->offset + plus) : 0;
  };
  EXPECT_EQ(m.types, word("types"));
  EXPECT_EQ(m.etypes, word("etypes"));
  if (tc().name == "go1.27") {
    EXPECT_EQ(m.typedesclen, word("typedesclen"));
    EXPECT_EQ(m.itaboffset, word("itaboffset"));
    EXPECT_EQ(m.itabsize, word("itabsize"));
    EXPECT_GT(m.typedesclen, 0u);
  } else {
    EXPECT_EQ(m.typelinks, word("typelinks"));
    EXPECT_EQ(m.ntypelinks, word("typelinks", 8));
    EXPECT_EQ(m.itablinks, word("itablinks"));
    EXPECT_EQ(m.nitablinks, word("itablinks", 8));
    EXPECT_GT(m.ntypelinks, 0u);
  }
  EXPECT_EQ(b.moduledataAddress(), sym->addr);
}

TEST_P(DescriptorTypesTest, EveryTypeBothSourcesNameAgrees) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  for (const char* fixture : {"maps", "binary_types", "lists"}) {
    const Binary& b = *opened(tc(), fixture).bin;
    const TypeProvider* dwarf = b.types();
    const TypeProvider* desc = b.descriptorTypes();
    ASSERT_NE(dwarf, nullptr) << fixture;
    ASSERT_NE(desc, nullptr) << b.descriptorError();
    ASSERT_EQ(dwarf->source(), "DWARF");
    EXPECT_EQ(desc->source(), "type descriptors");
    Comparer c;
    size_t both = 0;
    std::vector<std::string_view> lacking;
    for (std::string_view n : desc->typeNames()) {
      const Type* w = dwarf->findType(n);
      if (!w) {
        // Literal structs and the runtime's group/bucket arrays have no
        // DWARF name to look up.
        bool literal =
            n.find('{') != n.npos || n.find('(') != n.npos || n.starts_with("map.group[");
        if (!literal) lacking.push_back(n);
        continue;
      }
      both++;
      c.compare(desc->findType(n), w, std::string(n));
    }
    EXPECT_TRUE(c.diffs().empty()) << fixture << " " << tc().name << ":\n"
                                   << fmt::format("{}", fmt::join(c.diffs(), "\n"));
    // Most of the descriptors' names are DWARF's too (DWARF omits types no
    // variable or field has; the descriptors omit types never converted).
    EXPECT_GT(both, 200u) << fixture;
    EXPECT_GT(both, 5 * lacking.size())
        << fixture << ": " << lacking.size() << " names DWARF lacks:\n"
        << fmt::format("{}", fmt::join(lacking, "\n"));
    EXPECT_GT(c.compared(), both);
  }
}

TEST_P(DescriptorTypesTest, TheFixturesMapTypesAndTheirHeadersAreThere) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const Binary& b = *opened(tc(), "maps").bin;
  const TypeProvider& desc = *b.descriptorTypes();
  for (const char* n :
       {"map[string]int", "map[int]string", "map[string]*main.Point", "map[main.Point]string"}) {
    const Type* t = desc.findType(n);
    ASSERT_NE(t, nullptr) << n;
    EXPECT_EQ(t->kind, Kind::Map);
    ASSERT_NE(t->mapHeader, nullptr) << n;
    ASSERT_NE(t->key, nullptr);
    ASSERT_NE(t->elem, nullptr);
    EXPECT_EQ(t->mapHeader->name, tc().swiss()
                                      ? fmt::format("map<{},{}>", t->key->name, t->elem->name)
                                      : fmt::format("hash<{},{}>", t->key->name, t->elem->name));
    // The descriptor's runtime offset leads back to the same type.
    ASSERT_GE(t->runtimeTypeOff, 0) << n;
    EXPECT_EQ(desc.findByRuntimeOffset(uint64_t(t->runtimeTypeOff)), t) << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Toolchains, DescriptorTypesTest, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
