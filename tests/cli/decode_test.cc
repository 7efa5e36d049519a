// End to end: the fixtures' maps, lists and values decode exactly, live and
// from a core written by `gomemscope core`, under Go 1.19 (classic maps), Go
// 1.26 and Go 1.27 (Swiss maps). Ground truth is what each fixture printed
// about itself.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "cli/in_process.h"
#include "support/fixture.h"
#include "support/json_compare.h"

namespace gms::test {
namespace {

// One running fixture (and its core) per toolchain and fixture, shared by the tests.
struct Target {
  std::string binary;
  std::unique_ptr<RunningFixture> proc;
  std::string core;
  std::vector<std::string> args(bool live) const {
    if (live) return {"-p", std::to_string(proc->pid())};
    return {"-c", core, "-e", binary};
  }
};

Target& fixtureTarget(const Toolchain& tc, const std::string& name, const BuildFlags& flags = {}) {
  static std::map<std::string, std::unique_ptr<Target>> cache;
  auto& slot = cache[tc.name + "/" + name + "/" + flags.key()];
  if (!slot) {
    auto t = std::make_unique<Target>();
    t->binary = buildFixture(tc, name, flags);
    t->proc = RunningFixture::start(t->binary);
    t->core = tempDir() + "/" + tc.name + "-" + name + "-" + flags.key() + ".core";
    auto r = runInProcess({"core", "-p", std::to_string(t->proc->pid()), "-o", t->core});
    if (r.exitCode != 0) throw std::runtime_error("gomemscope core failed: " + r.err);
    slot = std::move(t);
  }
  return *slot;
}

nlohmann::json runJson(const std::vector<std::string>& args, int* exitCode = nullptr) {
  auto r = runInProcess(args);
  if (exitCode) *exitCode = r.exitCode;
  else if (r.exitCode != 0) ADD_FAILURE() << "exit " << r.exitCode << ": " << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "bad JSON (" << e.what() << "): " << r.out.substr(0, 500) << r.err;
    return {};
  }
}

class Decode : public ::testing::TestWithParam<Case> {
 protected:
  const Toolchain& tc() { return toolchain(GetParam().toolchain); }
  bool live() { return GetParam().live; }
  Target& target(const std::string& name) { return fixtureTarget(tc(), name, GetParam().flags); }
  void MapsMatchGroundTruthBody();
  void ListsMatchGroundTruthBody();
  void ValuesMatchGroundTruthBody();
};

TEST_P(Decode, MapsMatchGroundTruth) { MapsMatchGroundTruthBody(); }

void Decode::MapsMatchGroundTruthBody() {
  GMS_REQUIRE_TOOLCHAIN(tc());
  Target& t = target("maps");
  const auto& truth = t.proc->truth();
  ASSERT_TRUE(truth.contains("maps"));
  bool swiss = tc().swiss();
  for (auto it = truth["maps"].begin(); it != truth["maps"].end(); ++it) {
    SCOPED_TRACE(it.key());
    const auto& want = it.value();
    auto args = t.args(live());
    args.insert(args.begin(), "map");
    if (GetParam().flags.stripped) {
      // No names for globals: by the address and type the fixture printed,
      // the type resolved from the runtime's type descriptors.
      args.push_back(want["addr"]);
      args.push_back("--type");
      args.push_back(want["type"]);
    } else {
      args.push_back(it.key());
    }
    args.push_back("--format");
    args.push_back("json");
    auto got = runJson(args);
    EXPECT_EQ(got["impl"], swiss ? "swiss" : "classic");
    EXPECT_EQ(got["problems"], nlohmann::json::array()) << got["problems"].dump();
    if (want.value("nil", false)) {
      EXPECT_TRUE(got["nil"].get<bool>());
      EXPECT_EQ(got["entries"].size(), 0u);
      continue;
    }
    EXPECT_EQ(got["len"], want["len"]);
    std::string d = jsonDiff(got["entries"], want["entries"], it.key());
    EXPECT_TRUE(d.empty()) << d;
    if (want.contains("growing")) {
      EXPECT_EQ(got["growth"]["growing"], want["growing"]);
    }
    if (want.contains("B")) {
      EXPECT_EQ(got["growth"]["B"], want["B"]);
    }
    if (want.contains("nevacuate")) {
      EXPECT_EQ(got["growth"]["nevacuate"], want["nevacuate"]);
    }
    if (swiss && want.contains("dirLen")) {
      EXPECT_EQ(got["growth"]["dirLen"], want["dirLen"]);
    }
    if (swiss && want.contains("tables")) {
      EXPECT_EQ(got["growth"]["tables"], want["tables"]);
    }
    EXPECT_GT(got["footprint"]["total"].get<uint64_t>(), 0u);
  }
}

TEST_P(Decode, ListsMatchGroundTruth) { ListsMatchGroundTruthBody(); }

void Decode::ListsMatchGroundTruthBody() {
  GMS_REQUIRE_TOOLCHAIN(tc());
  Target& t = target("lists");
  const auto& truth = t.proc->truth();
  ASSERT_TRUE(truth.contains("lists"));
  bool stripped = GetParam().flags.stripped;
  for (auto it = truth["lists"].begin(); it != truth["lists"].end(); ++it) {
    SCOPED_TRACE(it.key());
    auto args = t.args(live());
    args.insert(args.begin(), "list");
    if (stripped)  // by address, the List type from the type descriptors
      args.insert(args.end(), {it.value()["addr"], "--type", "container/list.List"});
    else
      args.push_back(it.key());
    args.insert(args.end(), {"--format", "json"});
    auto got = runJson(args);
    const auto& want = it.value();
    EXPECT_EQ(got["len"], want["len"]);
    EXPECT_EQ(got["problems"], nlohmann::json::array()) << got["problems"].dump();
    ASSERT_EQ(got["elements"].size(), want["elements"].size());
    for (size_t i = 0; i < want["elements"].size(); i++) {
      EXPECT_EQ(got["elements"][i]["type"], want["elements"][i]["type"]) << i;
      std::string d = jsonDiff(got["elements"][i]["value"], want["elements"][i]["value"],
                               it.key() + "[" + std::to_string(i) + "]");
      EXPECT_TRUE(d.empty()) << d;
    }
  }
  for (auto it = truth["removed"].begin(); it != truth["removed"].end(); ++it) {
    SCOPED_TRACE(it.key());
    auto args = t.args(live());
    args.insert(args.begin(), "list");
    if (stripped)
      args.insert(args.end(), {it.value()["addr"], "--type", "container/list.Element"});
    else
      args.push_back(it.key());
    args.insert(args.end(), {"--format", "json"});
    auto got = runJson(args);
    EXPECT_TRUE(got["removed"].get<bool>());
    EXPECT_EQ(got["type"], it.value()["type"]);
    std::string d = jsonDiff(got["value"], it.value()["value"], it.key());
    EXPECT_TRUE(d.empty()) << d;
  }
}

TEST_P(Decode, ValuesMatchGroundTruth) { ValuesMatchGroundTruthBody(); }

void Decode::ValuesMatchGroundTruthBody() {
  GMS_REQUIRE_TOOLCHAIN(tc());
  Target& t = target("values");
  const auto& truth = t.proc->truth();
  ASSERT_TRUE(truth.contains("values"));
  bool stripped = GetParam().flags.stripped;
  for (auto it = truth["values"].begin(); it != truth["values"].end(); ++it) {
    SCOPED_TRACE(it.key());
    auto args = t.args(live());
    args.insert(args.begin(), "print");
    if (stripped) {  // by address, the type from the type descriptors
      if (!truth["addrs"].contains(it.key())) {
        EXPECT_EQ(it.key(), "main.VNilPtr");  // no pointee to address
        continue;
      }
      const auto& at = truth["addrs"][it.key()];
      args.insert(args.end(), {at["addr"], "--type", at["type"]});
    } else {
      args.push_back(it.key());
    }
    args.insert(args.end(), {"--format", "json"});
    auto got = runJson(args);
    std::string d = jsonDiff(got["value"], it.value(), it.key());
    EXPECT_TRUE(d.empty()) << d;
  }
  if (stripped) return;  // the rest prints globals by name
  // Values JSON cannot hold still render, as addresses or a cycle marker.
  for (const auto& name : truth.value("nonjson", nlohmann::json::array())) {
    SCOPED_TRACE(name.get<std::string>());
    auto args = t.args(live());
    args.insert(args.begin(), "print");
    args.insert(args.end(), {name.get<std::string>(), "--format", "json"});
    auto got = runJson(args);
    EXPECT_FALSE(got["value"].is_null());
  }
}

// A map renders the same whichever command reached it: `print` of the
// struct that holds it shows its entries as `map` shows them, at the default
// depth and at small ones (each entry counts pointer depth afresh).
TEST_P(Decode, MapInsideAValuePrintsAsMapShowsIt) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  Target& t = target("discover");
  for (const char* depth : {"", "1", "2"}) {
    SCOPED_TRACE(std::string("depth ") + (*depth ? depth : "default"));
    std::vector<std::string> d;
    if (*depth) d = {"--depth", depth};
    auto run = [&](const char* cmd, const char* expr) {
      auto args = t.args(live());
      args.insert(args.begin(), cmd);
      args.insert(args.end(), {expr, "--format", "json", "--limit", "0"});
      if (std::string(cmd) == "print") args.pop_back(), args.pop_back();  // print has no --limit
      args.insert(args.end(), d.begin(), d.end());
      return runJson(args);
    };
    auto srv = run("print", "main.srv");
    auto sessions = run("map", "main.srv.sessions");
    ASSERT_EQ(sessions["entries"].size(), 3u);
    std::string diff = jsonDiff(srv["value"]["sessions"], sessions["entries"], "sessions");
    EXPECT_TRUE(diff.empty()) << diff;
    // Two levels down (a map behind a pointer in a nested struct).
    auto deep = run("map", "main.srv.inner.deep.m");
    if (std::string(depth) != "1") {
      diff = jsonDiff(srv["value"]["inner"]["deep"]["m"], deep["entries"], "deep.m");
      EXPECT_TRUE(diff.empty()) << diff;
    }
  }
}

// Entries are rendered on several threads (report/entry_pipeline.h) and must
// come out exactly as one thread writes them: same bytes, same order, in both
// formats, for maps of interfaces (dynamic types looked up from every thread),
// nested maps, strings that need escaping, and a map smaller than one chunk.
// Scalar maps' JSON is written by a fast path, compared here with the general
// renderer's (GOMEMSCOPE_GENERIC_RENDER=1).
TEST_P(Decode, EntriesRenderedOnThreadsMatchOneThread) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  Target& t = target("maps");
  auto runWith = [&](const char* threads, std::vector<std::string> args, bool generic = false) {
    setenv("GOMEMSCOPE_THREADS", threads, 1);
    if (generic) setenv("GOMEMSCOPE_GENERIC_RENDER", "1", 1);
    auto r = runInProcess(args);
    unsetenv("GOMEMSCOPE_THREADS");
    unsetenv("GOMEMSCOPE_GENERIC_RENDER");
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return r.out;
  };
  for (const char* name : {"main.MManyIface", "main.MLarge", "main.MNested", "main.MStrInt",
                           "main.MIntStr", "main.MFloat", "main.MSmall8", "main.MDeleted"}) {
    for (const char* format : {"json", "text"}) {
      SCOPED_TRACE(std::string(name) + " " + format);
      auto args = t.args(live());
      args.insert(args.begin(), "map");
      args.insert(args.end(), {name, "--format", format, "--limit", "0"});
      std::string one = runWith("1", args);
      std::string three = runWith("3", args);
      EXPECT_GT(one.size(), 100u);
      EXPECT_TRUE(one == three) << "outputs differ: " << one.size() << " vs " << three.size()
                                << " bytes";
      if (std::string(format) == "json") {
        std::string general = runWith("3", args, true);
        EXPECT_TRUE(one == general) << "fast and general renderers differ: " << one.size()
                                    << " vs " << general.size() << " bytes";
      }
    }
  }
}

// Position-independent and unoptimised builds decode the same (PIE: the load
// bias is applied to every address from the file, live and from a core).
struct Variant {
  std::string toolchain;
  BuildFlags flags;
};

class BuildVariants : public ::testing::TestWithParam<Variant> {};

TEST_P(BuildVariants, MapsAndListsDecode) {
  const Toolchain& tc = toolchain(GetParam().toolchain);
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = buildFixture(tc, "maps", GetParam().flags);
  auto proc = RunningFixture::start(bin);
  std::string core = tempDir() + "/variant-" + tc.name + "-" + GetParam().flags.key() + ".core";
  auto w = runInProcess({"core", "-p", std::to_string(proc->pid()), "-o", core});
  ASSERT_EQ(w.exitCode, 0) << w.err;
  for (bool live : {true, false}) {
    for (const char* name : {"main.MStrInt", "main.MIface", "main.MBigKey", "main.MNested"}) {
      SCOPED_TRACE(std::string(name) + (live ? " live" : " core"));
      std::vector<std::string> args = {"map"};
      if (live) {
        args.insert(args.end(), {"-p", std::to_string(proc->pid())});
      } else {
        args.insert(args.end(), {"-c", core, "-e", bin});
      }
      args.insert(args.end(), {name, "--format", "json"});
      auto got = runJson(args);
      const auto& want = proc->truth()["maps"][name];
      EXPECT_EQ(got["len"], want["len"]);
      std::string d = jsonDiff(got["entries"], want["entries"], name);
      EXPECT_TRUE(d.empty()) << d;
    }
  }
}

std::string variantName(const ::testing::TestParamInfo<Variant>& i) {
  return paramName(i.param.toolchain + "_" + i.param.flags.key());
}

std::vector<Variant> pieAndNoOpt() {
  std::vector<Variant> v;
  for (const auto& t : toolchainNames()) {
    v.push_back({t, pieBuild()});
    v.push_back({t, noOptBuild()});
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(Toolchains, BuildVariants, ::testing::ValuesIn(pieAndNoOpt()),
                         variantName);

// Classic maps only: Swiss maps grow a table at a time, all at once, so there
// is no mid-growth state to decode (MapsMatchGroundTruth checks they say so).
class ClassicGrowth : public Decode {};

TEST_P(ClassicGrowth, MapGrowingMidEvacuationListsEveryEntryOnce) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  Target& t = target("maps");
  const auto& want = t.proc->truth()["maps"]["main.MGrowing"];
  ASSERT_TRUE(want.value("growing", false)) << "fixture did not stop MGrowing mid-growth";
  auto args = t.args(live());
  args.insert(args.begin(), "map");
  args.insert(args.end(), {"main.MGrowing", "--format", "json", "--buckets"});
  auto got = runJson(args);
  EXPECT_TRUE(got["growth"]["growing"].get<bool>());
  EXPECT_GT(got["growth"]["oldBuckets"].get<uint64_t>(), got["growth"]["oldBucketsEvacuated"].get<uint64_t>());
  bool sawOld = false, sawEvacuated = false;
  for (const auto& b : got["buckets"]) {
    if (b["old"].get<bool>()) sawOld = true;
    for (const auto& s : b["slots"])
      if (s.get<std::string>().rfind("evacuated", 0) == 0) sawEvacuated = true;
  }
  EXPECT_TRUE(sawOld);
  EXPECT_TRUE(sawEvacuated);
  EXPECT_EQ(got["entries"].size(), want["len"].get<size_t>());
}

INSTANTIATE_TEST_SUITE_P(Classic, ClassicGrowth,
                         ::testing::Values(Case{"go1.19", true}, Case{"go1.19", false}), caseName);

INSTANTIATE_TEST_SUITE_P(Toolchains, Decode, ::testing::ValuesIn(liveAndCoreCases()), caseName);

// Stripped builds (-ldflags='-s -w'): no DWARF, no symbol table; the maps
// and lists decode by address with their types from the runtime's type
// descriptors.
class DecodeStripped : public Decode {};
TEST_P(DecodeStripped, MapsMatchGroundTruth) { MapsMatchGroundTruthBody(); }
TEST_P(DecodeStripped, ListsMatchGroundTruth) { ListsMatchGroundTruthBody(); }
TEST_P(DecodeStripped, ValuesMatchGroundTruth) { ValuesMatchGroundTruthBody(); }

std::vector<Case> strippedCases() {
  std::vector<Case> v;
  for (Case c : liveAndCoreCases()) {
    c.flags.stripped = true;
    v.push_back(c);
  }
  BuildFlags split = experimentBuild("mapsplitgroup");
  split.stripped = true;
  v.push_back({"go1.27", true, split});
  return v;
}
INSTANTIATE_TEST_SUITE_P(Stripped, DecodeStripped, ::testing::ValuesIn(strippedCases()), caseName);

// Go 1.27's GOEXPERIMENT=mapsplitgroup lays a group out as ctrl, keys[8],
// elems[8] (not 8 key/elem slots); the layout is read from the group type
// DWARF gives, and every map of the fixture decodes exactly.
INSTANTIATE_TEST_SUITE_P(SplitGroup, Decode,
                         ::testing::Values(Case{"go1.27", true, experimentBuild("mapsplitgroup")},
                                           Case{"go1.27", false, experimentBuild("mapsplitgroup")}),
                         caseName);

}  // namespace
}  // namespace gms::test
