// `top` finds every map and list of the discover fixture with its path and
// len (live and from a core, both toolchains); `advise` answers for both map
// implementations and for a real map in a target.
#include "support/fixture.h"

namespace gms::test {
namespace {

class TopCli : public ::testing::TestWithParam<std::string> {};

TEST_P(TopCli, FindsEveryMapAndListLiveAndFromCore) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = buildFixture(tc, "discover");
  auto proc = RunningFixture::start(bin);
  std::string pid = std::to_string(proc->pid());
  std::string core = tempDir() + "/top-" + tc.name + ".core";
  ASSERT_EQ(runGomemscope({"core", "-p", pid, "-o", core}).exitCode, 0);
  const auto& truth = proc->truth();
  for (bool live : {true, false}) {
    SCOPED_TRACE(live ? "live" : "core");
    std::vector<std::string> args = {"top"};
    if (live) args.insert(args.end(), {"-p", pid});
    else args.insert(args.end(), {"-c", core, "-e", bin});
    args.insert(args.end(), {"--format", "json"});
    auto r = runGomemscope(args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    std::map<std::string, nlohmann::json> byPath;
    for (const auto& it : j["items"]) byPath[it["path"].get<std::string>()] = it;
    for (const auto& want : truth["items"]) {
      std::string path = want["path"];
      auto it = byPath.find(path);
      if (it == byPath.end()) {
        ADD_FAILURE() << "missing " << path;
        continue;
      }
      EXPECT_EQ(it->second["kind"], want["kind"]) << path;
      EXPECT_EQ(it->second["len"], want["len"]) << path;
    }
    for (const auto& absent : truth["absent"]) EXPECT_EQ(byPath.count(absent.get<std::string>()), 0u) << absent;
    auto shared = byPath.find(truth["shared"]["path"].get<std::string>());
    ASSERT_NE(shared, byPath.end());
    EXPECT_EQ(shared->second["otherRefs"].get<int>() + 1, truth["shared"]["refs"].get<int>());
    // One meaning of load whatever the implementation: the fraction of the
    // load the map grows at, so never above 1.
    for (const auto& it : j["items"]) {
      if (it["kind"] != "map" || it["len"] == 0) continue;
      ASSERT_TRUE(it.contains("load")) << it.dump();
      double load = it["load"].get<double>();
      EXPECT_GT(load, 0) << it["path"];
      EXPECT_LE(load, 1.0) << it["path"];
    }
    // Ranked by footprint.
    for (size_t i = 1; i < j["items"].size(); i++)
      EXPECT_GE(j["items"][i - 1]["footprint"].get<uint64_t>(), j["items"][i]["footprint"].get<uint64_t>());
    EXPECT_FALSE(j["stats"]["budgetHit"].get<bool>());
  }
  auto csv = runGomemscope({"top", "-p", pid, "--format", "csv"});
  ASSERT_EQ(csv.exitCode, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("rank,kind,path,", 0), 0u);
  auto text = runGomemscope({"top", "-p", pid, "--limit", "5"});
  ASSERT_EQ(text.exitCode, 0) << text.err;
  EXPECT_NE(text.out.find("more (--limit 0 shows all)"), std::string::npos) << text.out;
  auto budget = runGomemscope({"top", "-p", pid, "--format", "json", "--max-objects", "5"});
  ASSERT_EQ(budget.exitCode, 0) << budget.err;
  EXPECT_TRUE(nlohmann::json::parse(budget.out)["stats"]["budgetHit"].get<bool>());
  EXPECT_TRUE(proc->alive());
}

INSTANTIATE_TEST_SUITE_P(Toolchains, TopCli, ::testing::ValuesIn(toolchainNames()));

TEST(AdviseCli, BothImplementationsAndTheHintHelps) {
  auto r = runGomemscope({"advise", "--keys", "100000", "--key", "string", "--value", "int", "--format", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["advice"].size(), 2u);
  EXPECT_EQ(j["advice"][0]["impl"], "classic");
  EXPECT_EQ(j["advice"][1]["impl"], "swiss");
  for (const auto& a : j["advice"]) {
    EXPECT_EQ(a["recommendedHint"], 100000);
    EXPECT_LT(a["withHint"]["totalBytes"].get<double>(), a["withoutHint"]["totalBytes"].get<double>());
    EXPECT_GT(a["bytesSaved"].get<double>(), 0);
  }
  auto bad = runGomemscope({"advise", "--keys", "10"});
  EXPECT_EQ(bad.exitCode, 2);
}

class AdviseTarget : public ::testing::TestWithParam<std::string> {};

TEST_P(AdviseTarget, AdvisesForARealMap) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "maps"));
  auto r = runGomemscope({"advise", "-p", std::to_string(proc->pid()), "main.MStrInt", "--format", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["advice"].size(), 1u);
  EXPECT_EQ(j["advice"][0]["impl"], tc.name == "go1.19" ? "classic" : "swiss");
  EXPECT_EQ(j["advice"][0]["keys"], proc->truth()["maps"]["main.MStrInt"]["len"]);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, AdviseTarget, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
