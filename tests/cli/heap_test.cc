// gomemscope heap: the live heap by reference chain, against the heapchain
// fixture's own figures. Every toolchain, with DWARF and stripped, live and
// from a core:
//   - the total is every allocated byte: HeapAlloc as the fixture read it
//     after two GCs (within 5%: what printing the truth allocated since);
//   - nearly all of it is reached from a root;
//   - the bytes kept alive by main.blobs (DWARF: the global's own frame;
//     stripped: .bss) cover its 2000 1-KiB values and stay within 5% of
//     the values plus the map's own footprint (`map --format json`);
//   - with DWARF, the values are their own frame below the map's, named by
//     type: main.blobs -> map[int]*[1024]uint8 -> ... -> [1024]uint8 (all
//     but at most two, which a stray word elsewhere may reach first);
//   - the stack root keeps the 300-node chain, one frame for all of them;
//   - main.index keeps its 60000 entries, though they are linked to each other
//     and a local holds the newest (globals are walked first);
//   - the registers of the thread running main.spinOn keep the array only
//     they hold;
//   - the finalizer of main.held keeps the array only its closure holds, and
//     (Go >= 1.24) its cleanup the array only the cleanup's argument holds;
//   - -o writes a profile that `go tool pprof -top` reads, whose total
//     equals ours.
#include <algorithm>
#include <fstream>

#include "support/fixture.h"

namespace gms::test {
namespace {

using nlohmann::json;

class HeapCli : public ::testing::TestWithParam<BuildCase> {};

TEST_P(HeapCli, ChainsAccountForTheHeapAsTheFixtureAllocatedIt) {
  const auto& [name, stripped, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "heapchain", stripped, live);
  const json& truth = f.proc->truth();
  const TargetArgs& t = f.target;
  auto with = [&](std::vector<std::string> args) { return t.with(std::move(args)); };
  auto r = runGomemscope(with({"heap", "--format", "json", "--limit", "0"}));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json h = json::parse(r.out);
  const double heapAlloc = truth["HeapAlloc"].get<double>();
  const double total = h["bytes"].get<double>();
  EXPECT_NEAR(total, heapAlloc, heapAlloc * 0.05) << r.out.substr(0, 2000);
  EXPECT_GE(h["reachedBytes"].get<double>(), total * 0.9) << r.out.substr(0, 2000);
  EXPECT_TRUE(h["problems"].empty()) << h["problems"].dump();

  // Finalizer and cleanup specials are roots: what only they hold is theirs
  // (the finalizer's closure and the array it captured; the cleanup's argument).
  uint64_t finalizerBytes = 0, cleanupBytes = 0;
  for (const json& x : h["roots"]) {
    const std::string root = x["root"];
    if (root == "finalizer of *main.holder") finalizerBytes += x["bytes"].get<uint64_t>();
    if (root.starts_with("cleanup of ")) cleanupBytes += x["bytes"].get<uint64_t>();
  }
  const uint64_t wantFin = truth["finalizerBytes"], wantCleanup = truth["cleanupBytes"];
  if (!stripped) {  // stripped, see below
    EXPECT_GE(finalizerBytes, wantFin) << h["roots"].dump();
    EXPECT_LE(finalizerBytes, wantFin + 4096) << h["roots"].dump();
    EXPECT_GE(cleanupBytes, wantCleanup) << h["roots"].dump();
    EXPECT_LE(cleanupBytes, wantCleanup + 8192 + 4096) << h["roots"].dump();  // page-rounded
  }

  // The array main.spinOn keeps only in a register (or, once it stopped
  // spinning, on its stack) is reached from that goroutine. Stripped, the
  // runtime's globals are among the .bss words walked (conservatively)
  // before any stack or special, and one of them may reach such an array
  // first: then each of the three is reached, none left unreached.
  const uint64_t wantReg = truth["registerBytes"];
  uint64_t spinBytes = 0, unreached = 0;
  for (const json& x : h["roots"]) {
    const std::string root = x["root"];
    if (root == "registers of main.spinOn" || root == "stack of main.spinOn")
      spinBytes += x["bytes"].get<uint64_t>();
    if (root == "(not reached from any root)") unreached += x["bytes"].get<uint64_t>();
  }
  if (!stripped) {
    EXPECT_GE(spinBytes, wantReg) << h["roots"].dump();
  }
  EXPECT_LT(unreached, std::min(wantReg, wantFin)) << h["roots"].dump();

  const uint64_t values = truth["blobValues"];
  uint64_t mapBytes = 0;
  if (!stripped) {
    auto m = runGomemscope(with({"map", "main.blobs", "--format", "json", "--limit", "0"}));
    ASSERT_EQ(m.exitCode, 0) << m.err;
    mapBytes = json::parse(m.out)["footprint"]["total"];
    ASSERT_GT(mapBytes, 0u);
  }
  const std::string root = stripped ? ".bss" : "main.blobs";
  const json* kept = nullptr;
  for (const json& x : h["roots"])
    if (x["root"] == root) kept = &x;
  ASSERT_NE(kept, nullptr) << h["roots"].dump();
  const uint64_t keptBytes = (*kept)["bytes"];
  EXPECT_GE(keptBytes, values) << (*kept).dump();
  if (!stripped) {
    EXPECT_NEAR(double(keptBytes), double(values + mapBytes), double(values + mapBytes) * 0.05)
        << "values " << values << " + map " << mapBytes;
    // The values: one frame of their own, named by type, below the map's.
    uint64_t valueObjects = 0, valueBytes = 0;
    bool nodes = false;
    uint64_t entries = 0;
    for (const json& c : h["chains"]) {
      const json& ch = c["chain"];
      if (ch.front() == "main.blobs" && ch.back() == "[1024]uint8" && ch.size() >= 3 &&
          ch[1] == "map[int]*[1024]uint8") {
        valueObjects += c["objects"].get<uint64_t>();
        valueBytes += c["bytes"].get<uint64_t>();
      }
      if (ch.back() == "main.entry") {  // the global's, though a local holds the chain too
        EXPECT_EQ(ch.front(), "main.index") << c.dump();
        entries += c["objects"].get<uint64_t>();
      }
      if (ch.back() == "main.node" && ch.front().get<std::string>().starts_with("stack of ")) {
        EXPECT_EQ(c["objects"], truth["nodes"]) << c.dump();
        nodes = true;
      }
    }
    // All but a stray one or two: a word elsewhere that happens to point at
    // a value (a stale slot, an integer) may reach it first.
    std::string where;
    for (const json& c : h["chains"])
      if (c.dump().find("1024") != std::string::npos) where += c.dump() + "\n";
    EXPECT_GE(valueObjects + 2, truth["blobCount"].get<uint64_t>()) << where;
    EXPECT_LE(valueObjects, truth["blobCount"].get<uint64_t>()) << where;
    EXPECT_EQ(valueBytes, valueObjects * 1024) << where;
    EXPECT_TRUE(nodes) << "no stack chain ending in main.node";
    EXPECT_EQ(entries, truth["entries"].get<uint64_t>());
  }

  // The pprof profile: go tool pprof reads it, and its total is ours.
  std::string pb = tempDir() + "/heap-" + tc.name + (stripped ? "-s" : "") +
                   (live ? "-live" : "-core") + ".pb.gz";
  auto w = runGomemscope(with({"heap", "-o", pb}));
  ASSERT_EQ(w.exitCode, 0) << w.err;
  EXPECT_NE(w.err.find("go tool pprof"), std::string::npos) << w.err;
  const Toolchain& go = toolchain("go1.26");
  if (!go.available) GTEST_SKIP() << "no go on PATH to run go tool pprof";
  auto top = runCommand({go.goBinary, "tool", "pprof", "-top", "-unit=B", pb}, 120);
  ASSERT_EQ(top.exitCode, 0) << top.err;
  // "Showing nodes accounting for X B, 100% of X B total"
  auto at = top.out.find("% of ");
  ASSERT_NE(at, std::string::npos) << top.out;
  uint64_t pprofTotal = std::stoull(top.out.substr(at + 5));
  // Both are from one moment only when it is a core (live, the fixture is
  // idle but its runtime may allocate between the two reads).
  if (!live) {
    EXPECT_EQ(pprofTotal, uint64_t(total)) << top.out.substr(0, 1500);
  }
  EXPECT_NEAR(double(pprofTotal), total, total * 0.05) << top.out.substr(0, 1500);
  EXPECT_NE(top.out.find(root), std::string::npos) << top.out.substr(0, 3000);
  // Every frame keeps its name through pprof's own simplification.
  EXPECT_EQ(top.out.find("<unknown>"), std::string::npos) << top.out.substr(0, 3000);
}

// top --retained: the bytes freed with each map's header (its dominator
// subtree in the live heap). main.blobs alone holds its 2000 1-KiB values:
// it retains them all, with its own footprint. main.index's 60000 entries
// are also linked to each other from a local: it retains its own arrays.
TEST_P(HeapCli, TopRetainedBytesAreWhatOnlyTheMapKeepsAlive) {
  const auto& [name, stripped, live] = GetParam();
  const Toolchain& tc = toolchain(name);
  GMS_REQUIRE_TOOLCHAIN(tc);
  StartedFixture f = startFixture(tc, "heapchain", stripped, live);
  const json& truth = f.proc->truth();
  auto r = runGomemscope(f.target.with({"top", "--retained", "--format", "json", "--limit", "0"}));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  json top = json::parse(r.out);
  EXPECT_FALSE(top["stats"].contains("retainedNote")) << top["stats"].dump();
  const json *blobs = nullptr, *index = nullptr;
  for (const json& it : top["items"]) {
    if (it["kind"] != "map") continue;
    if (it["len"] == truth["blobCount"] && it["type"] == "map[int]*[1024]uint8") blobs = &it;
    if (it["len"] == truth["entries"] && it["type"] == "map[string]*main.entry") index = &it;
  }
  ASSERT_NE(blobs, nullptr) << r.out.substr(0, 3000);
  ASSERT_NE(index, nullptr) << r.out.substr(0, 3000);
  ASSERT_TRUE(blobs->contains("retained")) << blobs->dump();
  ASSERT_TRUE(index->contains("retained")) << index->dump();
  const double values = truth["blobValues"].get<double>();
  const double blobsRetained =
      (*blobs)["retained"].get<double>() - (*blobs)["footprint"].get<double>();
  // Objects are read through the GC's pointer bitmaps and frames through
  // their stack maps: nothing else is taken for a pointer to its arrays or
  // values, and the figures are exact.
  EXPECT_EQ(blobsRetained, values) << blobs->dump();
  // Its own arrays, exactly: its 60000 entries are not its alone.
  EXPECT_EQ((*index)["retained"], (*index)["footprint"]) << index->dump();
  // Text shows the column.
  auto text = runGomemscope(f.target.with({"top", "--retained", "--limit", "3"}));
  ASSERT_EQ(text.exitCode, 0) << text.err;
  EXPECT_NE(text.out.find("retained"), std::string::npos) << text.out;
}

INSTANTIATE_TEST_SUITE_P(Toolchains, HeapCli, buildCases(), buildCaseName);

}  // namespace
}  // namespace gms::test
