// Heap objects as roots (top --roots heap): the locals fixture's main.Big
// (648 bytes, so Go >= 1.22 records its type in a malloc header) holds a
// map that only a goroutine's stack reaches otherwise. top finds it from the
// heap object itself, path (*main.Big)(0xADDR).index with the address the
// fixture printed, with DWARF and stripped (where the heap is the only
// root), live and from a core; map and print accept the path back. Go 1.19
// records no types: top says so.
#include "support/fixture.h"

namespace gms::test {
namespace {

using nlohmann::json;

class HeapRootsCli : public ::testing::TestWithParam<BuildCase> {};

TEST_P(HeapRootsCli, TopFindsAMapInATypedHeapObjectAndThePathIsAcceptedBack) {
  const auto& [name, stripped, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "locals", stripped, live);
  const json& truth = f.proc->truth();
  const TargetArgs& t = f.target;
  auto with = [&](std::vector<std::string> args) { return t.with(std::move(args)); };
  std::string big, index;
  for (const json& o : truth["objects"])
    if (o["type"] == "main.Big") big = o["addr"];
  for (const json& it : truth["items"])
    if (it["path"].get<std::string>().ends_with("main.serveBig: b.index")) index = it["addr"];
  ASSERT_FALSE(big.empty() || index.empty()) << truth.dump();

  auto top = runGomemscope(with({"top", "--roots", "heap", "--format", "json", "--limit", "0"}));
  if (tc.name == "go1.19") {
    ASSERT_EQ(top.exitCode, 0) << top.err;
    json j = json::parse(top.out);
    EXPECT_TRUE(j["items"].empty()) << top.out;
    EXPECT_NE(j["stats"]["heapNote"].get<std::string>().find("Go 1.22"), std::string::npos);
    return;
  }
  ASSERT_EQ(top.exitCode, 0) << top.err;
  json found = json::parse(top.out);
  const std::string path = "(*main.Big)(" + big + ").index";
  const json* got = nullptr;
  for (const json& it : found["items"])
    if (it["path"] == path) got = &it;
  ASSERT_NE(got, nullptr) << "no " << path << "; top said:\n" << top.out.substr(0, 3000);
  EXPECT_EQ((*got)["type"], "map[int]string");
  EXPECT_EQ((*got)["len"], 150);
  EXPECT_EQ((*got)["address"], index);
  EXPECT_GE(found["stats"]["heapRoots"].get<int>(), 1);
  EXPECT_GE(found["stats"]["heapObjects"].get<int>(), found["stats"]["heapRoots"].get<int>());
  // Nothing from the heap alone carries a global's or a local's path.
  for (const json& it : found["items"])
    EXPECT_TRUE(it["path"].get<std::string>().starts_with("(*")) << it.dump();

  auto back = runGomemscope(with({"map", path, "--format", "json", "--limit", "0"}));
  ASSERT_EQ(back.exitCode, 0) << back.err;
  json b = json::parse(back.out);
  EXPECT_EQ(b["address"], index);
  EXPECT_EQ(b["len"], 150);
  ASSERT_EQ(b["entries"].size(), 150u);
  auto pr = runGomemscope(with({"print", "(*main.Big)(" + big + ").pad[3]"}));
  EXPECT_EQ(pr.exitCode, 0) << pr.err;
  EXPECT_NE(pr.out.find("= 1"), std::string::npos) << pr.out;
  auto entry = runGomemscope(with({"print", path + "[42]"}));
  EXPECT_EQ(entry.exitCode, 0) << entry.err;
  EXPECT_NE(entry.out.find("\"294\""), std::string::npos) << entry.out;  // strconv.Itoa(42 * 7)

  // By default (all roots) a binary with DWARF keeps the stack's path for it;
  // a stripped one, whose globals and locals have no names, the heap's.
  auto all = runGomemscope(with({"top", "--format", "json", "--limit", "0"}));
  ASSERT_EQ(all.exitCode, 0) << all.err;
  json a = json::parse(all.out);
  std::string want = stripped ? path : "main.serveBig: b.index";
  bool seen = false;
  for (const json& it : a["items"])
    if (it["address"] == index) {
      seen = true;
      EXPECT_TRUE(it["path"].get<std::string>().ends_with(want)) << it.dump();
    }
  EXPECT_TRUE(seen) << all.out.substr(0, 3000);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, HeapRootsCli, buildCases(), buildCaseName);

}  // namespace
}  // namespace gms::test
