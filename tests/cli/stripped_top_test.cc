// top on stripped builds (-s -w): no global has a name and most objects no
// recorded type, so maps and lists are recognised by their shape in .data,
// .bss, the live pointer words of goroutine stacks and the untyped heap
// objects they reach (goruntime/recognize.h). On
// every toolchain, live and from a core: every map global of the maps
// fixture (an empty one never written as map[?]?) and every initialised
// list of the lists fixture is found at the address the fixture printed, with its len, its true
// type among the candidates (exact where the runtime recorded its group array's type), and a path
// (*T)(0xADDR) that map/list accept back and decode in full.
#include <map>

#include "support/fixture.h"

namespace gms::test {
namespace {

using nlohmann::json;
using StrippedCase = std::tuple<std::string, bool>;  // toolchain, live

class StrippedTop : public ::testing::TestWithParam<StrippedCase> {};

std::map<std::string, json> byAddress(const json& top, const std::string& kind) {
  std::map<std::string, json> out;
  for (const json& it : top["items"])
    if (it["kind"] == kind) out.emplace(it["address"].get<std::string>(), it);
  return out;
}

TEST_P(StrippedTop, FindsEveryMapAGlobalHoldsByItsShape) {
  const auto& [name, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "maps", true, live);
  const json& truth = f.proc->truth()["maps"];
  auto r = runGomemscope(f.target.with({"top", "--format", "json", "--limit", "0"}));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json top = json::parse(r.out);
  EXPECT_GT(top["stats"]["untypedObjects"].get<int>(), 0);
  auto maps = byAddress(top, "map");
  int checked = 0;
  for (auto it = truth.begin(); it != truth.end(); ++it) {
    SCOPED_TRACE(it.key());
    const json& want = it.value();
    if (want["nil"].get<bool>()) continue;
    auto got = maps.find(want["addr"].get<std::string>());
    ASSERT_NE(got, maps.end()) << "not found; top said:\n" << top.dump(1).substr(0, 4000);
    const json& item = got->second;
    if (want["len"] == 0) {
      // An empty map never written has no bucket or group to tell its type
      // by: it is listed by its header alone, its types unknown, and its
      // path decodes back to the same empty header.
      EXPECT_EQ(item["type"], "map[?]?") << item.dump();
      EXPECT_FALSE(item["typeExact"].get<bool>());
      EXPECT_EQ(item["len"], 0);
      EXPECT_EQ(item["footprint"], 48);  // the header alone, as with DWARF
      auto back = runGomemscope(f.target.with({"map", item["path"], "--format", "json"}));
      ASSERT_EQ(back.exitCode, 0) << back.err;
      json b = json::parse(back.out);
      EXPECT_EQ(b["address"], want["addr"]);
      EXPECT_EQ(b["len"], 0);
      EXPECT_EQ(b["footprint"]["total"], 48);
      // Sizing advice needs the key and value types: refused, saying so.
      auto adv = runGomemscope(f.target.with({"advise", item["path"]}));
      EXPECT_EQ(adv.exitCode, 2);
      EXPECT_NE(adv.err.find("types are unknown"), std::string::npos) << adv.err;
      checked++;
      continue;
    }
    EXPECT_EQ(item["len"], want["len"]);
    EXPECT_EQ(item["found"], want["len"]);
    EXPECT_EQ(item["problems"], 0);
    std::vector<std::string> types = {item["type"].get<std::string>()};
    for (const json& c : item.value("candidates", json::array())) types.push_back(c);
    EXPECT_NE(std::find(types.begin(), types.end(), want["type"].get<std::string>()), types.end())
        << item.dump();
    // The runtime records the type of a group array above 512 bytes that
    // holds pointers (Go >= 1.22): map[int]any's 20,000 entries.
    if (it.key() == "main.MManyIface" && tc.name != "go1.19") {
      EXPECT_EQ(item["type"], want["type"]);
      EXPECT_TRUE(item["typeExact"].get<bool>()) << item.dump();
      EXPECT_TRUE(item["candidates"].empty()) << item.dump();
    }
    const std::string path = item["path"];
    EXPECT_TRUE(path.starts_with("(*" + item["type"].get<std::string>() + ")(0x")) << path;
    auto back = runGomemscope(f.target.with({"map", path, "--format", "json", "--limit", "0"}));
    ASSERT_EQ(back.exitCode, 0) << back.err;
    json b = json::parse(back.out);
    EXPECT_EQ(b["address"], want["addr"]);
    EXPECT_EQ(b["len"], want["len"]);
    EXPECT_EQ(b["entries"].size(), want["len"].get<size_t>());
    EXPECT_EQ(b["footprint"]["total"], item["footprint"]);
    // Read as a map of unknown types (what an empty one becomes once
    // written): its header, and a problem that asks for its type.
    if (it.key() == "main.MStrInt") {
      std::string word = path.substr(path.find(")(") + 1);
      auto u = runGomemscope(f.target.with({"map", "(*map[?]?)" + word, "--format", "json"}));
      EXPECT_EQ(u.exitCode, 1) << u.err;
      json uj = json::parse(u.out);
      EXPECT_EQ(uj["len"], want["len"]);
      EXPECT_TRUE(uj["entries"].empty());
      ASSERT_EQ(uj["problems"].size(), 1u) << uj.dump();
      EXPECT_NE(uj["problems"][0].get<std::string>().find("--type"), std::string::npos);
    }
    checked++;
  }
  EXPECT_GE(checked, 16);
}

TEST_P(StrippedTop, FindsEveryListByItsFirstElement) {
  const auto& [name, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "lists", true, live);
  const json& truth = f.proc->truth()["lists"];
  auto r = runGomemscope(f.target.with({"top", "--format", "json", "--limit", "0"}));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json top = json::parse(r.out);
  auto lists = byAddress(top, "list");
  int checked = 0;
  for (auto it = truth.begin(); it != truth.end(); ++it) {
    SCOPED_TRACE(it.key());
    const json& want = it.value();
    auto got = lists.find(want["addr"].get<std::string>());
    if (it.key() == "main.LZero") {  // a zero List{}, never initialised: all zeros
      EXPECT_EQ(got, lists.end()) << got->second.dump();
      continue;
    }
    ASSERT_NE(got, lists.end()) << "not found; top said:\n" << top.dump(1).substr(0, 4000);
    EXPECT_EQ(got->second["len"], want["len"]);
    EXPECT_EQ(got->second["type"], "container/list.List");
    const std::string path = got->second["path"];
    EXPECT_EQ(path, "(*container/list.List)(" + want["addr"].get<std::string>() + ")");
    auto back = runGomemscope(f.target.with({"list", path, "--format", "json"}));
    ASSERT_EQ(back.exitCode, 0) << back.err;
    json b = json::parse(back.out);
    EXPECT_EQ(b["len"], want["len"]);
    EXPECT_EQ(b["elements"].size(), want["len"].get<size_t>());
    checked++;
  }
  EXPECT_GE(checked, 5);  // main.LEmpty (list.New()) by its root linked to itself
  // The maps LOfMaps' elements hold are found through the list, typed by
  // the interface's dynamic type.
  int inList = 0;
  for (const json& it : top["items"])
    if (it["kind"] == "map" &&
        it["path"].get<std::string>().find("].Value.(map[string]int)") != std::string::npos)
      inList++;
  EXPECT_EQ(inList, 3) << top.dump(1).substr(0, 4000);
}

// sync.Maps (the syncmap fixture, globals and a struct's field): each used
// one is told by its signature word (recognize.h), found at the address the
// fixture printed with what Range visits, and map takes the path back.
TEST_P(StrippedTop, FindsEverySyncMapThatWasUsed) {
  const auto& [name, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "syncmap", true, live);
  const json& truth = f.proc->truth()["maps"];
  auto r = runGomemscope(f.target.with({"top", "--format", "json", "--limit", "0"}));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json top = json::parse(r.out);
  auto found = byAddress(top, "sync.Map");
  int checked = 0;
  for (auto it = truth.begin(); it != truth.end(); ++it) {
    SCOPED_TRACE(it.key());
    const json& want = it.value();
    auto got = found.find(want["addr"].get<std::string>());
    if (it.key() == "main.SZero") {  // never used: nothing tells it
      EXPECT_EQ(got, found.end());
      continue;
    }
    ASSERT_NE(got, found.end()) << top.dump(1).substr(0, 4000);
    EXPECT_EQ(got->second["len"], want["len"]);
    EXPECT_EQ(got->second["path"], "(*sync.Map)(" + want["addr"].get<std::string>() + ")");
    auto back = runGomemscope(f.target.with({"map", got->second["path"], "--format", "json"}));
    ASSERT_EQ(back.exitCode, 0) << back.err;
    EXPECT_EQ(json::parse(back.out)["len"], want["len"]);
    checked++;
  }
  EXPECT_GE(checked, 5);
}

// Maps and lists only goroutines hold (the locals fixture): in a frame's
// live pointer words (its stack maps), an address-taken local, a header
// the compiler put in the frame itself, a closure's capture, a heap object
// only a stack reaches. Each is found at the fixture's address with its len.
TEST_P(StrippedTop, FindsWhatOnlyGoroutineStacksHold) {
  const auto& [name, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "locals", true, live);
  const json& truth = f.proc->truth();
  auto r = runGomemscope(f.target.with({"top", "--format", "json", "--limit", "0"}));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json top = json::parse(r.out);
  EXPECT_GE(top["stats"]["goroutines"].get<int>(), 5);
  // Parked goroutines' frames are read through their stack maps; only a
  // goroutine stopped on its thread (main.spin) has a frame they do not
  // describe (its innermost, stopped anywhere).
  EXPECT_GE(top["stats"]["stackFrames"].get<int>(), 5) << top["stats"].dump();
  EXPECT_LE(top["stats"]["stackFramesWhole"].get<int>(), 2) << top["stats"].dump();
  int checked = 0;
  for (const json& want : truth["items"]) {
    SCOPED_TRACE(want["path"].get<std::string>());
    auto items = byAddress(top, want["kind"]);
    auto got = items.find(want["addr"].get<std::string>());
    ASSERT_NE(got, items.end()) << "not found; top said:\n" << top.dump(1).substr(0, 4000);
    const json& item = got->second;
    EXPECT_EQ(item["len"], want["len"]);
    std::vector<std::string> types = {item["type"].get<std::string>()};
    for (const json& c : item.value("candidates", json::array())) types.push_back(c);
    EXPECT_NE(std::find(types.begin(), types.end(), want["type"].get<std::string>()), types.end())
        << item.dump();
    const std::string path = item["path"];
    auto back = runGomemscope(
        f.target.with({want["kind"] == "map" ? "map" : "list", path, "--format", "json"}));
    ASSERT_EQ(back.exitCode, 0) << back.err;
    json b = json::parse(back.out);
    EXPECT_EQ(b["len"], want["len"]);
    checked++;
  }
  EXPECT_GE(checked, 7);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, StrippedTop,
                         ::testing::Combine(::testing::Values("go1.19", "go1.26", "go1.27"),
                                            ::testing::Bool()),
                         [](const ::testing::TestParamInfo<StrippedCase>& i) {
                           return paramName(std::get<0>(i.param)) +
                                  (std::get<1>(i.param) ? "_live" : "_core");
                         });

}  // namespace
}  // namespace gms::test
