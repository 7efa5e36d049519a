// Addresses with --type, as a user copies them from another tool: Go's own
// spellings of the type are accepted, a pointer type is followed (0xADDR
// --type '*T' is the T at ADDR), and an address that holds no such object is
// refused with exit 2 saying which check failed and what the address is,
// never decoded into garbage with exit 0. Ground truth: the same objects
// reached by name. Live and from a core, under every toolchain.
#include "support/fixture.h"

namespace gms::test {
namespace {

using nlohmann::json;

class Addresses : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Toolchain& tc = toolchain(GetParam().toolchain);
    if (!tc.available) GTEST_SKIP() << "toolchain " << tc.name << " not installed: " << tc.missing;
    bin_ = buildFixture(tc, "discover");
    proc_ = RunningFixture::start(bin_);
    target_ = {"-p", std::to_string(proc_->pid())};
    if (!GetParam().live) {
      std::string core = tempDir() + "/addresses-" + tc.name + ".core";
      auto w = runGomemscope({"core", "-p", std::to_string(proc_->pid()), "-o", core});
      ASSERT_EQ(w.exitCode, 0) << w.err;
      target_ = {"-c", core, "-e", bin_};
    }
  }
  CommandResult run(std::vector<std::string> args) {
    args.insert(args.begin() + 1, target_.begin(), target_.end());
    return runGomemscope(args);
  }
  json ok(std::vector<std::string> args) {
    args.insert(args.end(), {"--format", "json"});
    auto r = run(args);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    try {
      return json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << r.out.substr(0, 300) << r.err;
      return json();
    }
  }
  // Exit 2 and one "gomemscope: " line holding every needle.
  void refused(std::vector<std::string> args, std::initializer_list<std::string> needles) {
    auto r = run(args);
    SCOPED_TRACE(args[1]);
    EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
    EXPECT_EQ(r.err.rfind("gomemscope: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << n << "\n" << r.err;
  }
  static std::string hex(const json& j) { return j.get<std::string>(); }

  std::string bin_;
  std::unique_ptr<RunningFixture> proc_;
  std::vector<std::string> target_;
};

TEST_P(Addresses, MapByAddressWithGoSpellingsAndPointerTypes) {
  const std::string full = "map[string]*gmsfixture/discover/store.Session";
  json named = ok({"map", "main.srv.sessions", "--limit", "0"});
  ASSERT_EQ(named["len"], 3);
  std::string header = hex(named["address"]);
  std::string slot = hex(ok({"print", "main.srv.sessions"})["address"]);
  ASSERT_NE(header, slot);
  // The header, in the program's spelling and in Go's short ones.
  for (const char* type : {"map[string]*gmsfixture/discover/store.Session",
                           "map[string]*store.Session", "map[string] *store.Session"}) {
    SCOPED_TRACE(type);
    json got = ok({"map", header, "--type", type, "--limit", "0"});
    EXPECT_EQ(got["type"], full);
    EXPECT_EQ(got["entries"], named["entries"]);
  }
  // The variable: a pointer to the map, followed.
  json viaSlot = ok({"map", slot, "--type", "*map[string]*store.Session", "--limit", "0"});
  EXPECT_EQ(viaSlot["address"], header);
  EXPECT_EQ(viaSlot["entries"], named["entries"]);
  json printed = ok({"print", slot, "--type", "*map[string]*store.Session"});
  EXPECT_EQ(printed["value"], ok({"print", "main.srv.sessions"})["value"]);
  // The variable read as a header fails its checks: refused, and named.
  refused({"map", slot, "--type", "map[string]*store.Session"},
          {"no " + full + " header at " + slot, "main.srv.sessions", "--type '*" + full + "'"});
  if (GetParam().live)
    refused({"watch", slot, "--type", "map[string]*store.Session", "--for", "1s"},
            {"header at " + slot, "main.srv.sessions"});
  // Nothing mapped there.
  refused({"map", "0x1234", "--type", "map[int]bool"}, {"header at 0x1234", "unreadable"});
  refused({"print", "0x1234", "--type", "nosuchpkg.T"}, {"no type 'nosuchpkg.T'"});
}

TEST_P(Addresses, ListByAddressFollowsPointerTypesAndRefusesWhatIsNoList) {
  json named = ok({"list", "main.srv.pending"});
  ASSERT_EQ(named["len"], 1);
  std::string list = hex(named["address"]);
  for (const char* type : {"container/list.List", "list.List", "*list.List"}) {
    SCOPED_TRACE(type);
    json got = ok({"list", list, "--type", type});
    EXPECT_EQ(got["address"], list);
    EXPECT_EQ(got["elements"], named["elements"]);
    EXPECT_EQ(got["problems"].size(), 0u);
  }
  // main.lp is a *list.List: its slot holds the List's address.
  std::string slot = hex(ok({"print", "main.lp", "--depth", "0"})["address"]);
  json lp = ok({"list", "main.lp"});
  EXPECT_EQ(ok({"list", slot, "--type", "**list.List"})["elements"], lp["elements"]);
  refused({"list", slot, "--type", "list.List"}, {"no container/list.List at " + slot, "main.lp"});
  // An element is no List; as *Element it is shown.
  std::string elem = hex(named["elements"][0]["address"]);
  refused({"list", elem, "--type", "list.List"},
          {"no container/list.List at " + elem, "looks like an Element of the List at " + list});
  auto shown = run({"list", elem, "--type", "*list.Element"});
  EXPECT_EQ(shown.exitCode, 0) << shown.err;
  EXPECT_NE(shown.out.find("in list"), std::string::npos) << shown.out;
  refused({"list", "0x1234", "--type", "list.List"}, {"unreadable"});
}

TEST_P(Addresses, PrintTakesGenericAndAmbiguousSpellings) {
  json latest = ok({"print", "gmsfixture/discover/internal/store.Latest", "--depth", "0"});
  std::string pair = hex(latest["value"]["$notFollowed"]);
  const json want = {{"Key", "a"}, {"Val", 1}};
  for (const char* type : {"store.Pair[string, int]", "*store.Pair[string,int]",
                           "gmsfixture/discover/internal/store.Pair[string, int]"}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(ok({"print", pair, "--type", type})["value"], want);
  }
  refused({"print", pair, "--type", "store.Session"},
          {"ambiguous", "gmsfixture/discover/store.Session",
           "gmsfixture/discover/internal/store.Session"});
}

TEST_P(Addresses, TypesListsNamesByRegex) {
  auto r = run({"types", "^gmsfixture/discover/(internal/)?store\\.Session$"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out,
            "gmsfixture/discover/internal/store.Session\ngmsfixture/discover/store.Session\n");
  auto byExe = runGomemscope({"types", "-e", bin_, "--format", "json", "Pair\\["});
  ASSERT_EQ(byExe.exitCode, 0) << byExe.err;
  json j = json::parse(byExe.out);
  EXPECT_GE(j["count"].get<int>(), 1);
  for (const auto& n : j["types"]) EXPECT_NE(n.get<std::string>().find("Pair["), std::string::npos);
  auto none = run({"types", "NoSuchTypeAnywhere"});
  EXPECT_EQ(none.exitCode, 1);
  EXPECT_EQ(none.out, "");
}

INSTANTIATE_TEST_SUITE_P(Toolchains, Addresses, ::testing::ValuesIn(liveAndCoreCases()), caseName);

}  // namespace
}  // namespace gms::test
