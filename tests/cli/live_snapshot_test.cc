// A live read decodes one consistent moment, even though (with the default
// snapshot) the target runs again while we decode: the fixture rewrites its
// map without pause, so any read served from the running process instead of
// the copy would see a torn map. Every clean result must hold exactly the
// consecutive window of keys the fixture keeps, each key once, with len equal
// to the entries found. The same holds when the copy is disabled and the
// target stays stopped for the whole decode (GOMEMSCOPE_SNAPSHOT_MAX=0).
#include <fmt/format.h>

#include <set>

#include "support/fixture.h"

namespace gms::test {
namespace {

class LiveSnapshot : public ::testing::TestWithParam<std::string> {};

// Checks one `map --format json` result of the mutator's main.M. Returns true
// when it was a clean read (exit 0) that passed every check; false when the
// stop landed in the middle of a map write, which the decoder must report as
// such (exit 1 naming the write in progress).
bool checkWindow(const CommandResult& r, uint64_t n) {
  if (r.exitCode == 1) {
    EXPECT_NE(r.out.find("write was in progress"), std::string::npos) << r.out.substr(0, 2000);
    return false;
  }
  EXPECT_EQ(r.exitCode, 0) << r.err;
  if (r.exitCode != 0) return false;
  auto j = nlohmann::json::parse(r.out);
  const auto& entries = j["entries"];
  uint64_t len = j["len"].get<uint64_t>();
  EXPECT_TRUE(len == n || len == n + 1) << "len " << len;
  EXPECT_EQ(entries.size(), len);
  EXPECT_TRUE(j["problems"].empty()) << j["problems"].dump();
  std::set<int64_t> keys;
  // m[k] = v: mapassign stores the key and clears the writing flag, then
  // returns the value's slot, and the caller stores v after it returns. A
  // stop between the two sees the newest key with a zero value, consistently
  // (Go's own moment, not a torn read): allowed once, for the newest key.
  int64_t unstored = -1;
  for (const auto& e : entries) {
    std::string k = e["key"].get<std::string>();
    int64_t v = e["value"].get<int64_t>();
    if (v == 0 && k != "k00000000" && unstored < 0 && k.size() == 9) {
      unstored = std::stoll(k.substr(1));
      v = unstored;
    }
    EXPECT_EQ(k, fmt::format("k{:08d}", v)) << "value does not belong to its key";
    EXPECT_TRUE(keys.insert(v).second) << "key " << k << " listed twice";
  }
  if (unstored >= 0) {
    EXPECT_EQ(unstored, *keys.rbegin()) << "a zero value under a key that is not the newest";
  }
  EXPECT_EQ(keys.size(), len);
  if (!keys.empty()) {
    EXPECT_EQ(uint64_t(*keys.rbegin() - *keys.begin() + 1), keys.size())
        << "not one window of consecutive keys: " << *keys.begin() << ".." << *keys.rbegin();
  }
  return !::testing::Test::HasFailure();
}

void readConsistently(const std::string& tcName, bool snapshot) {
  const Toolchain& tc = toolchain(tcName);
  auto proc = RunningFixture::start(buildFixture(tc, "mutator"));
  const uint64_t n = proc->truth()["n"].get<uint64_t>();
  std::vector<std::string> argv;
  if (!snapshot) argv = {"env", "GOMEMSCOPE_SNAPSHOT_MAX=0"};
  for (auto a :
       {std::string(GMS_BINARY), std::string("map"), std::string("-p"), std::to_string(proc->pid()),
        std::string("main.M"), std::string("--format"), std::string("json"), std::string("-v")})
    argv.push_back(a);
  int clean = 0;
  // A stop can land inside a map write (then the decoder says so); reads
  // are repeated until a few clean ones have been checked.
  for (int attempt = 0; attempt < 40 && clean < 3; attempt++) {
    auto r = runCommand(argv);
    ASSERT_NE(r.err.find("was stopped for"), std::string::npos) << r.err;
    if (snapshot)
      EXPECT_NE(r.err.find("decoded after it resumed"), std::string::npos) << r.err;
    else
      EXPECT_NE(r.err.find("decoded while stopped"), std::string::npos) << r.err;
    if (checkWindow(r, n)) clean++;
    if (::testing::Test::HasFailure()) return;
    ASSERT_TRUE(proc->alive()) << "the target did not survive the read";
  }
  EXPECT_EQ(clean, 3) << "no clean read in 40 attempts";
}

TEST_P(LiveSnapshot, DecodeAfterResumeSeesOneMoment) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  readConsistently(GetParam(), true);
}

TEST_P(LiveSnapshot, DecodeWhileStoppedSeesOneMoment) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  readConsistently(GetParam(), false);
}

// The snapshot is per command: a second read sees the map as it is by then.
TEST_P(LiveSnapshot, EachReadIsANewMoment) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "mutator"));
  std::set<std::string> firstKeys;
  for (int attempt = 0; attempt < 40; attempt++) {
    auto r =
        runGomemscope({"map", "-p", std::to_string(proc->pid()), "main.M", "--format", "json"});
    if (r.exitCode != 0) continue;
    auto j = nlohmann::json::parse(r.out);
    std::set<std::string> keys;
    for (const auto& e : j["entries"]) keys.insert(e["key"].get<std::string>());
    if (firstKeys.empty()) {
      firstKeys = keys;
      continue;
    }
    EXPECT_NE(keys, firstKeys) << "two reads returned the same moment";
    return;
  }
  FAIL() << "fewer than two clean reads in 40 attempts";
}

INSTANTIATE_TEST_SUITE_P(Toolchains, LiveSnapshot, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
