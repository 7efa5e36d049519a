// Paths as data (goruntime/path.h): rendered, masked, parsed back.
#include "goruntime/path.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/error.h"

namespace gms {
namespace {

PathKey str(std::string s, bool truncated = false) {
  PathKey k;
  k.kind = PathKey::Kind::String;
  k.len = s.size() + (truncated ? 10 : 0);
  k.text = std::move(s);
  k.truncated = truncated;
  return k;
}

PathKey num(PathKey::Kind kind, uint64_t bits) {
  PathKey k;
  k.kind = kind;
  k.bits = bits;
  return k;
}

PathKey dbl(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return num(PathKey::Kind::Float, b);
}

Path path(std::initializer_list<PathStep> steps) {
  Path p;
  p.steps = steps;
  return p;
}

PathStep global(std::string n) { return {PathStep::Kind::Global, std::move(n)}; }
PathStep field(std::string n) { return {PathStep::Kind::Field, std::move(n)}; }
PathStep value(PathKey k) { return {PathStep::Kind::MapValue, "", 0, std::move(k)}; }
PathStep keyOf(PathKey k) { return {PathStep::Kind::MapKey, "", 0, std::move(k)}; }

TEST(Path, RendersEveryNotation) {
  PathKey st;
  st.kind = PathKey::Kind::Struct;
  st.parts = {{"X", num(PathKey::Kind::Int, uint64_t(-1))}, {"Y", str("a")}};
  PathKey arr;
  arr.kind = PathKey::Kind::Array;
  arr.parts = {{"", num(PathKey::Kind::Uint, 1)}, {"", num(PathKey::Kind::Uint, 2)}};
  Path p = path({global("net/http.DefaultServeMux"),
                 field("m"),
                 value(str("a\"b\n")),
                 {PathStep::Kind::Index, "", 3},
                 {PathStep::Kind::Assert, "*main.T"},
                 value(st),
                 value(arr),
                 value(dbl(0.1)),
                 value(num(PathKey::Kind::Bool, 1)),
                 keyOf(num(PathKey::Kind::Pointer, 0xc000010000)),
                 value(PathKey{}),
                 value(str("long", true))});
  EXPECT_EQ(
      p.str(),
      "net/http.DefaultServeMux.m[\"a\\\"b\\n\"][3].(*main.T)[{X:-1,Y:\"a\"}][[1,2]][0.1][true]"
      "{0xc000010000}[*][\"long…\"]");
}

TEST(Path, MasksSecretKeysAndKeysUnderSecretNames) {
  MaskPolicy policy;
  Path byContent = path({global("main.S"), value(str("AKIAIOSFODNN7EXAMPLE")), field("m")});
  EXPECT_EQ(byContent.display(policy), "main.S[<masked: 20 bytes>].m");
  EXPECT_EQ(byContent.str(), "main.S[\"AKIAIOSFODNN7EXAMPLE\"].m");
  Path byField =
      path({global("main.cfg"), field("APITokens"), value(str("plain")), value(str("x"))});
  EXPECT_EQ(byField.display(policy), "main.cfg.APITokens[<masked: 5 bytes>][<masked: 1 bytes>]");
  Path byKey = path({global("main.m"), value(str("password")), value(str("inner"))});
  EXPECT_EQ(byKey.display(policy), "main.m[\"password\"][<masked: 5 bytes>]");
  Path plain = path({global("main.m"), value(str("alice")), value(num(PathKey::Kind::Int, 7))});
  EXPECT_EQ(plain.display(policy), "main.m[\"alice\"][7]");
  policy.reveal = true;
  EXPECT_EQ(byContent.display(policy), byContent.str());
  MaskPolicy user;
  user.addPattern("^ali");
  EXPECT_EQ(plain.display(user), "main.m[<masked: 5 bytes>][7]");
}

TEST(Path, KeysParseBackAndMatchByValue) {
  EXPECT_TRUE(matchesKey(parsePathKey("\"a\\\"b\\n\""), str("a\"b\n")));
  EXPECT_TRUE(matchesKey(parsePathKey("`raw\\n`"), str("raw\\n")));
  EXPECT_TRUE(matchesKey(parsePathKey("\"\\u65e5\\x41\""), str("日A")));
  EXPECT_TRUE(matchesKey(parsePathKey("42"), num(PathKey::Kind::Int, 42)));
  EXPECT_TRUE(matchesKey(parsePathKey("42"), num(PathKey::Kind::Uint, 42)));
  EXPECT_TRUE(matchesKey(parsePathKey("-5"), num(PathKey::Kind::Int, uint64_t(-5))));
  EXPECT_FALSE(matchesKey(parsePathKey("-5"), num(PathKey::Kind::Uint, uint64_t(-5))));
  EXPECT_TRUE(matchesKey(parsePathKey("1.5"), dbl(1.5)));
  EXPECT_TRUE(matchesKey(parsePathKey("2"), dbl(2.0)));
  EXPECT_TRUE(matchesKey(parsePathKey("NaN"), dbl(std::nan(""))));
  EXPECT_TRUE(matchesKey(parsePathKey("0xc000010000"), num(PathKey::Kind::Pointer, 0xc000010000)));
  EXPECT_TRUE(matchesKey(parsePathKey("true"), num(PathKey::Kind::Bool, 1)));
  EXPECT_FALSE(matchesKey(parsePathKey("false"), num(PathKey::Kind::Bool, 1)));
  PathKey st;
  st.kind = PathKey::Kind::Struct;
  st.parts = {{"X", num(PathKey::Kind::Int, 1)}, {"Y", str("a")}};
  EXPECT_TRUE(matchesKey(parsePathKey("{X:1,Y:\"a\"}"), st));
  EXPECT_TRUE(matchesKey(parsePathKey("{ Y: \"a\", X: 1 }"), st));
  EXPECT_FALSE(matchesKey(parsePathKey("{X:1,Y:\"b\"}"), st));
  EXPECT_FALSE(matchesKey(parsePathKey("{X:1}"), st));
  // A key shown cut short matches by its prefix; one written in full does not.
  EXPECT_TRUE(matchesKey(parsePathKey("\"lon…\""), str("longer key")));
  EXPECT_FALSE(matchesKey(parsePathKey("\"lon\""), str("longer key")));
  EXPECT_EQ(parsePathKey("*").kind, PathKey::Kind::Opaque);
  // What a path prints parses back to the same key.
  for (const PathKey& k : {str("q\"\\\t"), num(PathKey::Kind::Int, uint64_t(-9)), dbl(1e300),
                           dbl(0.30000000000000004), st})
    EXPECT_TRUE(matchesKey(parsePathKey(renderPathKey(k)), k)) << renderPathKey(k);
}

TEST(Path, HeapObjectRootsRenderAndParseBack) {
  Path p = path({{PathStep::Kind::Object, "map[string]func(int) error", 0xc000012340},
                 field("m"),
                 {PathStep::Kind::Index, "", 2}});
  EXPECT_EQ(p.str(), "(*map[string]func(int) error)(0xc000012340).m[2]");
  auto r = parseObjectRoot(p.str());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first.type, "map[string]func(int) error");
  EXPECT_EQ(r->first.addr, 0xc000012340u);
  EXPECT_EQ(p.str().substr(r->second), ".m[2]");
  EXPECT_FALSE(parseObjectRoot("main.x").has_value());
  EXPECT_FALSE(parseObjectRoot("(main.x)").has_value());
  for (const char* bad :
       {"(*main.T)", "(*)(0x10)", "(*main.T)(10)", "(*main.T)(0x)", "(*main.T)(0xzz)",
        "(*main.T(0x10)", "(*main.T)(0x10", "(*main.T)(0x11112222333344445)"}) {
    try {
      parseObjectRoot(bad);
      ADD_FAILURE() << bad << " parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << bad;
      EXPECT_NE(std::string(e.what()).find("(*TYPE)(0xADDRESS)"), std::string::npos) << e.what();
    }
  }
}

TEST(Path, BadKeysAreUsageErrors) {
  for (const char* bad : {"abc", "\"open", "{X}", "[1,", "1.2.3", "\"\\q\""}) {
    try {
      parsePathKey(bad);
      ADD_FAILURE() << bad << " parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << bad;
    }
  }
  try {
    parsePathKey("<masked: 20 bytes>");
    ADD_FAILURE() << "a masked key parsed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--reveal"), std::string::npos) << e.what();
  }
}

TEST(Path, ExpressionStepsSplitAtTheRightPlaces) {
  auto s = parseExprSteps(".a[\"x.y]\"].(*main.LRU[string,int]){0x10}[{A:\"}\"}].b[3]");
  ASSERT_EQ(s.size(), 7u);
  EXPECT_EQ(s[0].kind, ExprStep::Kind::Field);
  EXPECT_EQ(s[0].text, "a");
  EXPECT_EQ(s[1].kind, ExprStep::Kind::Bracket);
  EXPECT_EQ(s[1].text, "\"x.y]\"");
  EXPECT_EQ(s[2].kind, ExprStep::Kind::Assert);
  EXPECT_EQ(s[2].text, "*main.LRU[string,int]");
  EXPECT_EQ(s[3].kind, ExprStep::Kind::MapKey);
  EXPECT_EQ(s[3].text, "0x10");
  EXPECT_EQ(s[4].text, "{A:\"}\"}");
  EXPECT_EQ(s[5].text, "b");
  EXPECT_EQ(s[6].text, "3");
  for (const char* bad : {"[1", ".(T", ".", "x", "[\"a]"})
    EXPECT_THROW(parseExprSteps(bad), Error) << bad;
}

}  // namespace
}  // namespace gms
