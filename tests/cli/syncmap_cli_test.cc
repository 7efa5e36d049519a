// `map` on a sync.Map (tests/fixtures/syncmap): len and entries are what the
// fixture's own Range visited, keys and values rendered by their dynamic
// types, under Go 1.19 (read/dirty) and Go 1.26/1.27 (hash-trie), live and
// from a core, by name with DWARF and by address with --type sync.Map on a
// stripped build; a pointer to a sync.Map is followed.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>

#include "support/fixture.h"
#include "support/json_compare.h"

namespace gms::test {
namespace {

using nlohmann::json;

// gomemscope writes a nil interface as null; the fixture as {"type": "nil"}.
json nilAsTruth(json v) {
  if (v.is_null()) return {{"type", "nil"}, {"value", nullptr}};
  return v;
}

class SyncMapCli : public ::testing::TestWithParam<BuildCase> {};

TEST_P(SyncMapCli, EntriesAreWhatRangeVisits) {
  auto [name, stripped, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "syncmap", stripped, live);
  const json& truth = f.proc->truth();
  for (auto it = truth["maps"].begin(); it != truth["maps"].end(); ++it) {
    SCOPED_TRACE(it.key());
    const json& want = it.value();
    std::vector<std::string> args = {"map"};
    if (stripped) {
      args.insert(args.end(), {want["addr"].get<std::string>(), "--type", "sync.Map"});
    } else {
      args.push_back(it.key());
    }
    args.insert(args.end(), {"--format", "json"});
    auto r = runGomemscope(f.target.with(args));
    ASSERT_EQ(r.exitCode, 0) << r.err;
    json got = json::parse(r.out);
    EXPECT_EQ(got["len"], want["len"]);
    EXPECT_EQ(got["impl"], tc.swiss() ? "hash-trie" : "read/dirty");
    EXPECT_TRUE(got["problems"].empty()) << got["problems"].dump();
    if (want["len"].get<int>() > 0) {
      EXPECT_GT(got["footprint"]["total"].get<uint64_t>(), 0u);
    }
    json entries = json::array();
    for (const auto& e : got["entries"])
      entries.push_back({{"key", nilAsTruth(e["key"])}, {"value", nilAsTruth(e["value"])}});
    std::string d = jsonDiff(entries, want["entries"]);
    EXPECT_TRUE(d.empty()) << d;
  }
  if (!stripped) {
    // Text, and a *sync.Map followed to its map.
    auto t = runGomemscope(f.target.with({"map", "main.SOps", "--limit", "0"}));
    ASSERT_EQ(t.exitCode, 0) << t.err;
    EXPECT_NE(t.out.find("sync.Map at"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("(what Range visits)"), std::string::npos) << t.out;
    auto ptr = runGomemscope(f.target.with({"map", "main.Reg.Items", "--format", "json"}));
    ASSERT_EQ(ptr.exitCode, 0) << ptr.err;
    EXPECT_EQ(json::parse(ptr.out)["len"], truth["maps"]["main.Reg.Items"]["len"]);
  }
}

// top lists each sync.Map as one map (not its read/dirty maps or trie
// nodes), with the len Range visits; the path it prints is accepted back.
TEST_P(SyncMapCli, TopListsEachSyncMapOnce) {
  auto [name, stripped, live] = GetParam();
  if (stripped)
    GTEST_SKIP() << "globals have no names in a stripped build (found by address: "
                    "StrippedTop.FindsEverySyncMapThatWasUsed)";
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "syncmap", stripped, live);
  const json& truth = f.proc->truth();
  auto r = runGomemscope(f.target.with({"top", "--format", "json", "--limit", "0"}));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json top = json::parse(r.out);
  std::map<std::string, json> byPath;
  for (const auto& item : top["items"]) {
    byPath[item["path"]] = item;
    // Nothing inside a sync.Map is listed as a map of its own.
    std::string path = item["path"];
    EXPECT_EQ(path.find(".dirty"), std::string::npos) << path;
    EXPECT_EQ(path.find("readOnly"), std::string::npos) << path;
    EXPECT_EQ(path.find(".root"), std::string::npos) << path;
  }
  for (auto it = truth["maps"].begin(); it != truth["maps"].end(); ++it) {
    SCOPED_TRACE(it.key());
    ASSERT_EQ(byPath.count(it.key()), 1u) << r.out.substr(0, 3000);
    EXPECT_EQ(byPath[it.key()]["kind"], "sync.Map");
    EXPECT_EQ(byPath[it.key()]["len"], it.value()["len"]);
    auto m = runGomemscope(f.target.with({"map", it.key(), "--format", "json"}));
    ASSERT_EQ(m.exitCode, 0) << m.err;
    EXPECT_EQ(json::parse(m.out)["len"], it.value()["len"]);
  }
}

INSTANTIATE_TEST_SUITE_P(Toolchains, SyncMapCli, buildCases(), buildCaseName);

// diagnose follows sync.Maps too: one that only grows is named by the
// unbounded-map rule, with its len series.
class SyncMapDiagnose : public ::testing::TestWithParam<std::string> {};

TEST_P(SyncMapDiagnose, AGrowingSyncMapIsUnbounded) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "syncmap"), {"-grow"});
  auto r = runGomemscope({"diagnose", "-p", std::to_string(proc->pid()), "--for", "3s", "--every",
                          "0.5s", "--format", "json"});
  ASSERT_TRUE(r.exitCode == 0 || r.exitCode == 1) << r.err;
  json d = json::parse(r.out);
  bool named = false;
  for (const auto& f : d["findings"]) {
    if (f["rule"] != "unbounded-map") continue;
    for (const auto& m : f["maps"])
      if (m["path"] == "main.SGrow") {
        named = true;
        EXPECT_EQ(m["impl"], "sync.Map");
        EXPECT_GE(m["lens"].size(), 5u);
      }
  }
  EXPECT_TRUE(named) << r.out.substr(0, 3000);
}

// diff of two cores names the sync.Map that grew between them.
TEST_P(SyncMapDiagnose, DiffNamesTheGrownSyncMap) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string exe = buildFixture(tc, "syncmap");
  auto proc = RunningFixture::start(exe, {"-grow"});
  std::string pid = std::to_string(proc->pid());
  std::string c1 = tempDir() + "/sgrow1-" + tc.name + ".core";
  std::string c2 = tempDir() + "/sgrow2-" + tc.name + ".core";
  ASSERT_EQ(runGomemscope({"core", "-p", pid, "-o", c1}).exitCode, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(runGomemscope({"core", "-p", pid, "-o", c2}).exitCode, 0);
  auto r = runGomemscope({"diff", c1, c2, "-e", exe, "--format", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json d = json::parse(r.out);
  bool grown = false;
  for (const auto& it : d["maps"])
    if (it["path"] == "main.SGrow") {
      grown = true;
      EXPECT_EQ(it["kind"], "sync.Map");
      EXPECT_EQ(it["status"], "grown");
    }
  EXPECT_TRUE(grown) << r.out.substr(0, 2000);
}

// report lists sync.Maps in its table; --map of one says what to use
// instead in one line (it draws buckets, which a sync.Map has none of).
TEST_P(SyncMapDiagnose, ReportListsSyncMapsAndRefusesToDrawOne) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string exe = buildFixture(tc, "syncmap");
  auto proc = RunningFixture::start(exe);
  std::string pid = std::to_string(proc->pid());
  std::string html = tempDir() + "/syncmap-" + tc.name + ".html";
  auto r = runGomemscope({"report", "-p", pid, "-o", html});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::ifstream in(html);
  std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("main.SMany"), std::string::npos);
  auto bad = runGomemscope({"report", "-p", pid, "--map", "main.SOps", "-o", html + ".2"});
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_NE(bad.err.find("main.SOps is a sync.Map"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
}

// watch: on Go <= 1.23 a sync.Map's misses and dirty map are its own
// fields, and each miss is an event; Go >= 1.24's hash-trie is refused in
// one line (its stores land in trie nodes).
TEST_P(SyncMapDiagnose, WatchFollowsMissesOrSaysWhyNot) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "syncmap"), {"-grow"});
  std::string pid = std::to_string(proc->pid());
  // trace writers looks for unsafe concurrent writes, which a sync.Map has none of.
  auto tw = runGomemscope({"trace", "writers", "-p", pid, "main.SGrow", "--for", "1s"}, 60);
  EXPECT_EQ(tw.exitCode, 2);
  EXPECT_NE(tw.err.find("is a sync.Map, made for concurrent writers"), std::string::npos) << tw.err;
  auto r =
      runGomemscope({"watch", "-p", pid, "main.SGrow", "--for", "2s", "--format", "jsonl"}, 60);
  if (tc.swiss()) {
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("main.SGrow is a sync.Map of Go >= 1.24"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    return;
  }
  ASSERT_EQ(r.exitCode, 0) << r.err;
  int misses = 0;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    json e = json::parse(line);
    if (e.value("field", "") == "main.SGrow.misses") {
      misses++;
      EXPECT_EQ(e["new"].get<uint64_t>(), e["old"].get<uint64_t>() + 1) << line;
    }
  }
  EXPECT_GE(misses, 20) << r.out.substr(0, 2000);  // one per 20 ms batch
  EXPECT_TRUE(proc->alive());
}

INSTANTIATE_TEST_SUITE_P(Toolchains, SyncMapDiagnose, ::testing::ValuesIn(toolchainNames()),
                         [](const auto& info) { return paramName(info.param); });

}  // namespace
}  // namespace gms::test
