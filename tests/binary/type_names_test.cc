// Type names as people spell them: the rewriting rules on their own, then
// lookupType against the DWARF of the discover fixture (two packages whose
// last path element is "store", both with a Session; a generic Pair) built
// by each Go toolchain.
#include "binary/type_names.h"

#include "binary/binary.h"
#include "common/error.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

TEST(TypeNames, CanonicalDropsBlanksAndSpellsAnyAsTheEmptyInterface) {
  EXPECT_EQ(canonicalTypeName("main.LRU[string, int]"), "main.LRU[string,int]");
  EXPECT_EQ(canonicalTypeName("interface {}"), "interface{}");
  EXPECT_EQ(canonicalTypeName("map[string]any"), "map[string]interface{}");
  EXPECT_EQ(canonicalTypeName("[]any"), canonicalTypeName("[]interface {}"));
  // A blank between two words is part of the syntax and stays.
  EXPECT_EQ(canonicalTypeName("chan  int"), "chan int");
  EXPECT_EQ(canonicalTypeName("map[string] chan<- int"), "map[string]chan<-int");
  // "any" only as a whole word.
  EXPECT_EQ(canonicalTypeName("main.anything"), "main.anything");
  EXPECT_EQ(canonicalTypeName("main.company"), "main.company");
}

TEST(TypeNames, ShortCutsEveryImportPathToItsLastElement) {
  EXPECT_EQ(
      shortTypeName("map[string]*github.com/hashicorp/golang-lru/v2/internal.Entry[string,int]"),
      "map[string]*internal.Entry[string,int]");
  EXPECT_EQ(shortTypeName("map[example.com/a/k.Key]example.com/b/v.Val"), "map[k.Key]v.Val");
  EXPECT_EQ(shortTypeName("main.T"), "main.T");
  EXPECT_EQ(shortTypeName("int"), "int");
}

TEST(TypeNames, SameTypeNameAcceptsOneShortSideNeverTwoDifferentPaths) {
  EXPECT_TRUE(sameTypeName("*gmsfixture/discover/store.Session", "*store.Session"));
  EXPECT_TRUE(sameTypeName("*store.Session", "*gmsfixture/discover/store.Session"));
  EXPECT_TRUE(sameTypeName("main.Pair[string, int]", "main.Pair[string,int]"));
  EXPECT_FALSE(sameTypeName("*a/store.Session", "*b/store.Session"));
  EXPECT_FALSE(sameTypeName("*store.Session", "*store.Sessions"));
}

class TypeLookup : public ::testing::TestWithParam<std::string> {
 protected:
  const Toolchain& tc() const { return toolchain(GetParam()); }
  const TypeProvider& types() {
    static std::map<std::string, std::unique_ptr<Binary>> bins;
    auto& b = bins[tc().name];
    if (!b) b = Binary::open(buildFixture(tc(), "discover"));
    EXPECT_NE(b->types(), nullptr);
    return *b->types();
  }
  std::string name(std::string_view spelling) { return lookupType(types(), spelling)->name; }
  std::string error(std::string_view spelling) {
    try {
      return "found " + lookupType(types(), spelling)->name;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::NotFound) << e.what();
      return e.what();
    }
  }
};

TEST_P(TypeLookup, GoSpellingsResolveToTheProgramsNames) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const std::string session = "gmsfixture/discover/store.Session";
  const std::string pair = "gmsfixture/discover/internal/store.Pair[string,int]";
  EXPECT_EQ(name("map[string]*" + session), "map[string]*" + session);  // exact
  EXPECT_EQ(name("map[string]*store.Session"), "map[string]*" + session);
  EXPECT_EQ(name("map[string] *store.Session"), "map[string]*" + session);
  EXPECT_EQ(name(pair), pair);
  EXPECT_EQ(name("gmsfixture/discover/internal/store.Pair[string, int]"), pair);
  EXPECT_EQ(name("store.Pair[string, int]"), pair);  // only one package has a Pair
  EXPECT_EQ(name("*store.Pair[string,int]"), "*" + pair);
  EXPECT_EQ(name("list.Element"), "container/list.Element");
  EXPECT_EQ(name("*list.List"), "*container/list.List");
  EXPECT_EQ(name("any"), "interface {}");
  EXPECT_EQ(name("interface{}"), "interface {}");
  EXPECT_EQ(name("map[string]any"), "map[string]interface {}");
  // *T for a T whose pointer the program never uses is made from T.
  EXPECT_EQ(name("**list.List"), "**container/list.List");
}

TEST_P(TypeLookup, AmbiguousAndUnknownSpellingsSayWhatTheProgramHas) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  std::string amb = error("store.Session");
  EXPECT_NE(amb.find("ambiguous"), std::string::npos) << amb;
  EXPECT_NE(amb.find("gmsfixture/discover/store.Session"), std::string::npos) << amb;
  EXPECT_NE(amb.find("gmsfixture/discover/internal/store.Session"), std::string::npos) << amb;
  // Right name, wrong package: the candidates are named.
  std::string near = error("map[string]*sessions.Session");
  EXPECT_NE(near.find("did you mean map[string]*gmsfixture/discover/store.Session"),
            std::string::npos)
      << near;
  std::string none = error("main.NoSuchType");
  EXPECT_NE(none.find("gomemscope types"), std::string::npos) << none;
}

TEST_P(TypeLookup, TypesListsTheProgramsNamesByRegex) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  auto all = matchingTypeNames(types(), "");
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_GT(all.size(), 100u);
  auto sessions = matchingTypeNames(types(), "^(gmsfixture/discover/)(internal/)?store\\.Session$");
  EXPECT_EQ(sessions, (std::vector<std::string>{"gmsfixture/discover/internal/store.Session",
                                                "gmsfixture/discover/store.Session"}));
  EXPECT_THROW(matchingTypeNames(types(), "("), Error);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, TypeLookup, ::testing::ValuesIn(toolchainNames()),
                         [](const auto& info) { return paramName(info.param); });

}  // namespace
}  // namespace gms::test
