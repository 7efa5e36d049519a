// The harness itself: each toolchain builds and runs a fixture that reports
// its own Go version. A missing toolchain is a visible skip, never a pass.
#include <signal.h>

#include "support/fixture.h"
#include "support/json_compare.h"

namespace gms::test {
namespace {

class Harness : public ::testing::TestWithParam<std::string> {};

TEST_P(Harness, BuildsAndRunsFixture) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = buildFixture(tc, "hello");
  auto fx = RunningFixture::start(bin);
  EXPECT_TRUE(fx->alive());
  EXPECT_EQ(fx->truth()["len"], 1);
  std::string v = fx->truth()["version"];
  EXPECT_EQ(v.rfind(tc.name, 0), 0u) << v;
  // Memoized: a second build returns the same path without rebuilding.
  EXPECT_EQ(buildFixture(tc, "hello"), bin);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, Harness, ::testing::ValuesIn(toolchainNames()));

// The ground-truth comparison: map entries in any order, numbers as
// numbers; any difference in a key, a value or the count is reported.
TEST(Harness, JsonDiffComparesEntriesInAnyOrder) {
  using nlohmann::json;
  json a = json::parse(
      R"([{"key":"b","value":2},{"key":"a","value":1.0},{"key":"c","value":{"x":[1,2]}}])");
  json b = json::parse(
      R"([{"key":"a","value":1},{"key":"c","value":{"x":[1,2]}},{"key":"b","value":2}])");
  EXPECT_EQ(jsonDiff(a, b, "m"), "");
  json scalars = json::parse(R"([{"key":1,"value":"x"},{"key":2,"value":"y"}])");
  EXPECT_EQ(jsonDiff(scalars, json::parse(R"([{"key":2,"value":"y"},{"key":1,"value":"x"}])"), "m"),
            "");
  EXPECT_NE(jsonDiff(scalars, json::parse(R"([{"key":2,"value":"y"},{"key":1,"value":"z"}])"), "m"),
            "");
  EXPECT_NE(jsonDiff(scalars, json::parse(R"([{"key":2,"value":"y"},{"key":3,"value":"x"}])"), "m"),
            "");
  EXPECT_NE(jsonDiff(scalars, json::parse(R"([{"key":1,"value":"x"}])"), "m"), "");
  EXPECT_NE(
      jsonDiff(
          a,
          json::parse(
              R"([{"key":"a","value":1},{"key":"c","value":{"x":[2,1]}},{"key":"b","value":2}])"),
          "m"),
      "");
}

TEST(Harness, RunCommandTimesOut) {
  auto r = runCommand({"sleep", "5"}, 1);
  EXPECT_EQ(r.exitCode, 124);
}

}  // namespace
}  // namespace gms::test
