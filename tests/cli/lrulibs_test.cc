// The linked lists real programs use (tests/fixtures/lrulibs): golang-lru/v2's
// generic internal.LruList[K,V], golang-lru v1 and groupcache's lru
// (container/list), container/ring, and a program's own sentinel,
// head/tail and oddly named lists. Each decodes front to back exactly as the
// fixture's own walk printed it, live and from a core, on every toolchain,
// with DWARF (by name) and stripped (by address and a type from the
// runtime's descriptors); top finds them by name; and a map whose 1000
// values share 4 objects renders each object once.
#include <map>
#include <set>

#include "support/fixture.h"
#include "support/json_compare.h"

namespace gms::test {
namespace {

using nlohmann::json;

class LruLibs : public ::testing::TestWithParam<BuildCase> {};

TEST_P(LruLibs, ListsDecodeFrontToBackAsTheFixtureWalkedThem) {
  auto [name, stripped, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "lrulibs", stripped, live);
  const json& truth = f.proc->truth();
  for (auto it = truth["lists"].begin(); it != truth["lists"].end(); ++it) {
    SCOPED_TRACE(it.key());
    const json& want = it.value();
    std::vector<std::string> args = {"list"};
    if (stripped) {
      args.push_back(want["addr"]);
      args.push_back("--type");
      args.push_back(want["type"]);
    } else {
      args.push_back(it.key());
    }
    for (std::string opt : {"next", "prev"})
      if (want.contains(opt)) {
        args.push_back("--" + opt);
        args.push_back(want[opt]);
      }
    args.insert(args.end(), {"--format", "json"});
    auto r = runGomemscope(f.target.with(args));
    ASSERT_EQ(r.exitCode, 0) << r.err;
    json got = json::parse(r.out);
    EXPECT_EQ(got["len"], want["len"]);
    EXPECT_EQ(got["found"], want["len"]);
    EXPECT_TRUE(got["problems"].empty()) << got["problems"].dump();
    ASSERT_EQ(got["elements"].size(), want["len"].get<size_t>());
    if (!want.contains("elements")) continue;
    ASSERT_EQ(want["elements"].size(), got["elements"].size());
    for (size_t i = 0; i < got["elements"].size(); i++) {
      const json& value = got["elements"][i]["value"];
      json picked = json::object();
      for (const auto& fld : want["fields"]) {
        std::string n = fld;
        // container/ring's element is its Value; container/list holds a
        // pointer to the library's entry.
        if (value.is_object() && value.contains(n))
          picked[n] = value[n];
        else if (n == "Value")
          picked[n] = {{"type", got["elements"][i]["type"]}, {"value", value}};
      }
      std::string d = jsonDiff(picked, want["elements"][i]);
      ASSERT_TRUE(d.empty()) << "element " << i << ": " << d << "\n" << value.dump();
    }
  }
}

TEST_P(LruLibs, TopFindsEveryListAndEveryPathIsAcceptedBack) {
  auto [name, stripped, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "lrulibs", stripped, live);
  const json& truth = f.proc->truth();
  auto r = runGomemscope(f.target.with({"top", "--format", "json", "--limit", "0"}));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json top = json::parse(r.out);
  if (stripped) {
    // No names: the libraries' caches are found by their maps' shape (the
    // runtime records the type of a group array above 512 bytes), and their
    // lists through the entries' typed back-pointers or by their own shape
    // (recognize.h), as are the program's own lists held by value in
    // globals and the ring; each at the address the fixture printed, with
    // its len, and its path accepted back. (Links named otherwise need
    // --next/--prev: top leaves that one, as with DWARF.)
    std::map<std::string, json> lists;
    for (const auto& item : top["items"])
      if (item["kind"] == "list") lists[item["address"]] = item;
    for (auto it = truth["lists"].begin(); it != truth["lists"].end(); ++it) {
      const std::string key = it.key();
      SCOPED_TRACE(key);
      const json& want = it.value();
      if (want.contains("next")) {
        EXPECT_EQ(lists.count(want["addr"].get<std::string>()), 0u);
        continue;
      }
      auto got = lists.find(want["addr"].get<std::string>());
      ASSERT_NE(got, lists.end()) << r.out.substr(0, 4000);
      EXPECT_EQ(got->second["len"], want["len"]);
      auto back = runGomemscope(f.target.with({"list", got->second["path"], "--format", "json"}));
      ASSERT_EQ(back.exitCode, 0) << back.err;
      EXPECT_EQ(json::parse(back.out)["len"], want["len"]);
    }
    int lruMaps = 0;
    for (const auto& item : top["items"])
      if (item["kind"] == "map" && item["len"] == truth["maps"]["main.V2.lru.items"]["len"] &&
          item["type"].get<std::string>().starts_with(
              "map[string]*github.com/hashicorp/golang-lru"))
        lruMaps++;
    EXPECT_EQ(lruMaps, 1) << r.out.substr(0, 4000);
    return;
  }
  std::map<std::string, json> byPath;
  for (const auto& item : top["items"]) byPath[item["path"]] = item;
  for (auto it = truth["lists"].begin(); it != truth["lists"].end(); ++it) {
    SCOPED_TRACE(it.key());
    if (it.value().contains("next")) {
      // Links named fwd/bwd are no list without --next/--prev: top leaves it.
      EXPECT_EQ(byPath.count(it.key()), 0u);
      continue;
    }
    ASSERT_EQ(byPath.count(it.key()), 1u) << r.out.substr(0, 3000);
    const json& item = byPath[it.key()];
    EXPECT_EQ(item["kind"], "list");
    EXPECT_EQ(item["len"], it.value()["len"]);
  }
  for (auto it = truth["maps"].begin(); it != truth["maps"].end(); ++it) {
    SCOPED_TRACE(it.key());
    ASSERT_EQ(byPath.count(it.key()), 1u);
    EXPECT_EQ(byPath[it.key()]["len"], it.value()["len"]);
    auto m = runGomemscope(f.target.with({"map", it.key(), "--format", "json"}));
    ASSERT_EQ(m.exitCode, 0) << m.err;
    EXPECT_EQ(json::parse(m.out)["len"], it.value()["len"]);
  }
  // An element named by its index in the list, as paths under a list read.
  auto p = runGomemscope(f.target.with({"print", "main.Dq[24].N"}));
  EXPECT_EQ(p.exitCode, 0) << p.err;
  EXPECT_NE(p.out.find("= 124"), std::string::npos) << p.out;
}

// Each object is rendered once per output: 1000 values pointing at 4
// objects give 4 renderings and 996 references, which resolve to them.
TEST_P(LruLibs, SharedObjectsAreRenderedOnce) {
  auto [name, stripped, live] = GetParam();
  if (stripped) GTEST_SKIP() << "by name only";
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "lrulibs", stripped, live);
  const json& want = f.proc->truth()["maps"]["main.Shared"];
  auto r = runGomemscope(f.target.with({"map", "main.Shared", "--format", "json"}));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json got = json::parse(r.out);
  size_t refs = 0;
  std::set<std::string> anchors;
  for (const auto& e : got["entries"]) {
    const json& v = e["value"];
    if (v.contains("$ref")) refs++;
    if (v.contains("$address")) anchors.insert(v["$address"].get<std::string>());
  }
  EXPECT_EQ(anchors.size(), 4u);
  EXPECT_EQ(refs, 996u);
  for (const auto& e : got["entries"]) {
    if (e["value"].contains("$ref")) {
      EXPECT_EQ(anchors.count(e["value"]["$ref"]), 1u);
    }
  }
  std::string d = jsonDiff(got["entries"], want["entries"]);
  EXPECT_TRUE(d.empty()) << d;
  // Text names the object a reference stands for.
  auto t = runGomemscope(f.target.with({"map", "main.Shared", "--limit", "0"}));
  ASSERT_EQ(t.exitCode, 0) << t.err;
  EXPECT_NE(t.out.find("&(see 0x"), std::string::npos) << t.out.substr(0, 2000);
  // The generic LRU's map: its entries' links are addresses, so its JSON is
  // the size of its entries (not the size of its list walked per entry).
  auto big = runGomemscope(f.target.with({"map", "main.V2.lru.items", "--format", "json"}));
  ASSERT_EQ(big.exitCode, 0) << big.err;
  json b = json::parse(big.out);
  EXPECT_EQ(b["entries"].size(), 4999u);
  EXPECT_LT(big.out.size(), 4999u * 400) << "bytes per entry: " << big.out.size() / 4999;
}

// golang-lru/v2's map of entries decodes exactly: each key's *Entry holds
// that key and the value the fixture's own Peek returned (its list's truth).
TEST_P(LruLibs, GenericLruMapsDecodeExactly) {
  auto [name, stripped, live] = GetParam();
  if (stripped) GTEST_SKIP() << "by name only";
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "lrulibs", stripped, live);
  const json& truth = f.proc->truth();
  for (std::string cache : {"main.V2", "main.V2Vals"}) {
    SCOPED_TRACE(cache);
    std::map<std::string, json> want;  // key's JSON -> value
    for (const auto& e : truth["lists"][cache + ".lru.evictList"]["elements"])
      want[e["Key"].dump()] = e["Value"];
    auto r = runGomemscope(f.target.with({"map", cache + ".lru.items", "--format", "json"}));
    ASSERT_EQ(r.exitCode, 0) << r.err;
    json got = json::parse(r.out);
    ASSERT_EQ(got["entries"].size(), want.size());
    for (const auto& e : got["entries"]) {
      const json& entry = e["value"];
      ASSERT_TRUE(entry.is_object()) << e.dump();
      EXPECT_EQ(entry["Key"], e["key"]);
      auto it = want.find(e["key"].dump());
      ASSERT_NE(it, want.end()) << e["key"];
      std::string d = jsonDiff(entry["Value"], it->second);
      EXPECT_TRUE(d.empty()) << e["key"] << ": " << d;
    }
  }
}

// golang-lru v1's and groupcache's maps of *list.Element decode exactly:
// each key's element holds an entry of that same key, and there are as many
// as the list has elements.
TEST_P(LruLibs, ContainerListLruMapsDecodeExactly) {
  auto [name, stripped, live] = GetParam();
  if (stripped) GTEST_SKIP() << "by name only";
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "lrulibs", stripped, live);
  const json& truth = f.proc->truth();
  for (auto [map, list] :
       {std::pair<std::string, std::string>{"main.V1.lru.items", "main.V1.lru.evictList"},
        {"main.GC.cache", "main.GC.ll"}}) {
    SCOPED_TRACE(map);
    auto r = runGomemscope(f.target.with({"map", map, "--format", "json"}));
    ASSERT_EQ(r.exitCode, 0) << r.err;
    json got = json::parse(r.out);
    EXPECT_EQ(got["len"], truth["lists"][list]["len"]);
    ASSERT_EQ(got["entries"].size(), truth["lists"][list]["len"].get<size_t>());
    std::set<std::string> keys;
    for (const auto& e : got["entries"]) {
      const json& elem = e["value"];  // a *list.Element: links as addresses, then Value
      ASSERT_TRUE(elem.is_object() && elem.contains("Value")) << e.dump();
      EXPECT_TRUE(elem["next"].is_string()) << elem.dump();
      const json& entry = elem["Value"]["value"];  // the library's *entry
      EXPECT_EQ(entry["key"], e["key"]) << e.dump();
      keys.insert(e["key"].dump());
    }
    EXPECT_EQ(keys.size(), got["entries"].size());
  }
}

// --type takes a generic type as Go prints it (%T): lru.Cache[string,int],
// although its import path ends in golang-lru/v2 (the type descriptors
// give the package's name), with DWARF and stripped.
TEST_P(LruLibs, TypeSpelledAsGoPrintsIt) {
  auto [name, stripped, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "lrulibs", stripped, live);
  const json& v2 = f.proc->truth()["objects"]["main.V2"];
  ASSERT_EQ(v2["type"], "lru.Cache[string,int]");
  for (std::string spelling : {"lru.Cache[string,int]", "lru.Cache[string, int]"}) {
    SCOPED_TRACE(spelling);
    auto r = runGomemscope(f.target.with(
        {"print", v2["addr"].get<std::string>(), "--type", spelling, "--format", "json"}));
    ASSERT_EQ(r.exitCode, 0) << r.err;
    json got = json::parse(r.out);
    EXPECT_EQ(got["type"], "github.com/hashicorp/golang-lru/v2.Cache[string,int]");
    EXPECT_TRUE(got["value"]["lru"].is_object()) << r.out.substr(0, 400);
  }
  auto bad = runGomemscope(
      f.target.with({"print", v2["addr"].get<std::string>(), "--type", "lru.Cache[int,int]"}));
  EXPECT_EQ(bad.exitCode, 2);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, LruLibs, buildCases(), buildCaseName);

}  // namespace
}  // namespace gms::test
