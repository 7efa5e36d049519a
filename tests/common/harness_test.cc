// The harness itself: each toolchain builds and runs a fixture that reports
// its own Go version. A missing toolchain is a visible skip, never a pass.
#include <signal.h>

#include "support/fixture.h"

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

INSTANTIATE_TEST_SUITE_P(Toolchains, Harness, ::testing::Values("go1.19", "go1.26"));

TEST(Harness, RunCommandTimesOut) {
  auto r = runCommand({"sleep", "5"}, 1);
  EXPECT_EQ(r.exitCode, 124);
}

}  // namespace
}  // namespace gms::test
