// Bad inputs get one clear line on stderr and a non-zero exit; never a hang,
// a crash, or a harmed target.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "support/fixture.h"

namespace gms::test {
namespace {

namespace fs = std::filesystem;

// stderr holds exactly one "gomemscope: ..." error line mentioning `needle`.
void expectOneLineError(const CommandResult& r, const std::string& needle, int code = 2) {
  EXPECT_EQ(r.exitCode, code) << r.out << r.err;
  std::string err = r.err;
  size_t lines = 0;
  for (char c : err) lines += c == '\n';
  EXPECT_EQ(err.rfind("gomemscope: ", 0), 0u) << err;
  EXPECT_NE(err.find(needle), std::string::npos) << err;
  if (needle.find("usage") == std::string::npos) {
    EXPECT_EQ(lines, 1u) << err;
  }
}

TEST(CliErrors, NoTargetAndBothTargets) {
  expectOneLineError(runGomemscope({"map", "main.M"}), "no target");
  expectOneLineError(runGomemscope({"map", "-p", "1", "-c", "x", "main.M"}), "not both");
}

TEST(CliErrors, NoSuchPid) {
  expectOneLineError(runGomemscope({"info", "-p", "999999999"}), "no process");
}

TEST(CliErrors, NotAGoProgram) {
  auto r = runGomemscope({"info", "-p", std::to_string(getpid())});
  expectOneLineError(r, "not a Go program");
}

TEST(CliErrors, GarbageAndEmptyCore) {
  std::string dir = tempDir();
  std::ofstream(dir + "/garbage.core") << std::string(4096, 'x');
  std::ofstream(dir + "/empty.core");
  expectOneLineError(runGomemscope({"info", "-c", dir + "/garbage.core", "-e", "/bin/true"}),
                     "garbage.core");
  expectOneLineError(runGomemscope({"info", "-c", dir + "/empty.core", "-e", "/bin/true"}),
                     "empty.core");
  expectOneLineError(runGomemscope({"info", "-c", dir + "/missing.core", "-e", "/bin/true"}),
                     "missing.core");
}

class CliTargetErrors : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const Toolchain& tc = toolchain(GetParam());
    if (!tc.available) GTEST_SKIP() << "toolchain " << tc.name << " not installed: " << tc.missing;
    maps_ = buildFixture(tc, "maps");
    lists_ = buildFixture(tc, "lists");
    proc_ = RunningFixture::start(maps_);
    core_ = tempDir() + "/" + tc.name + "-maps-errors.core";
    auto r = runGomemscope({"core", "-p", std::to_string(proc_->pid()), "-o", core_});
    ASSERT_EQ(r.exitCode, 0) << r.err;
  }
  std::string maps_, lists_, core_;
  std::unique_ptr<RunningFixture> proc_;
};

TEST_P(CliTargetErrors, MismatchedBinaryIsRefused) {
  expectOneLineError(runGomemscope({"map", "-c", core_, "-e", lists_, "main.MStrInt"}),
                     "was not produced by");
  expectOneLineError(
      runGomemscope({"map", "-p", std::to_string(proc_->pid()), "-e", lists_, "main.MStrInt"}),
      "was not produced by");
}

TEST_P(CliTargetErrors, CoreNamesItsExecutable) {
  auto r = runGomemscope({"map", "-c", core_, "main.MIntStr", "--format", "json"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("\"len\":5"), std::string::npos) << r.out;
}

TEST_P(CliTargetErrors, BadExpressions) {
  std::string pid = std::to_string(proc_->pid());
  expectOneLineError(runGomemscope({"map", "-p", pid, "main.NoSuchMap"}), "no global variable");
  expectOneLineError(runGomemscope({"map", "-p", pid, "NoPackage"}), "main.NoPackage");
  expectOneLineError(runGomemscope({"map", "-p", pid, "main.Cfg"}), "not a map");
  expectOneLineError(runGomemscope({"print", "-p", pid, "main.Cfg.Nope"}), "has no field 'Nope'");
  expectOneLineError(runGomemscope({"print", "-p", pid, "main.Cfg.Limits[7]"}), "out of range");
  expectOneLineError(runGomemscope({"map", "-p", pid, "0x1234"}), "needs --type");
  // Each command's hint names the kind of type it takes.
  expectOneLineError(runGomemscope({"map", "-p", pid, "0x1234"}), "'map[string]int'");
  expectOneLineError(runGomemscope({"list", "-p", pid, "0x1234"}), "'container/list.List'");
  expectOneLineError(runGomemscope({"watch", "-p", pid, "0x1234"}), "'container/list.List'");
  expectOneLineError(runGomemscope({"trace", "removed", "-p", pid, "0x1234"}),
                     "'container/list.List'");
  expectOneLineError(runGomemscope({"map", "-p", pid, "0x1234", "--type", "map[nope]x"}),
                     "no type 'map[nope]x' in the program");
  expectOneLineError(runGomemscope({"list", "-p", pid, "main.MStrInt"}), "not a container/list");
  // The target is unharmed by all of the above.
  EXPECT_TRUE(proc_->alive());
}

TEST_P(CliTargetErrors, MapByAddressMatchesMapByName) {
  std::string pid = std::to_string(proc_->pid());
  auto byName = runGomemscope({"map", "-p", pid, "main.MStrInt", "--format", "json"});
  ASSERT_EQ(byName.exitCode, 0) << byName.err;
  auto j = nlohmann::json::parse(byName.out);
  std::string addr = j["address"];
  auto byAddr =
      runGomemscope({"map", "-p", pid, addr, "--type", "map[string]int", "--format", "json"});
  ASSERT_EQ(byAddr.exitCode, 0) << byAddr.err;
  auto k = nlohmann::json::parse(byAddr.out);
  EXPECT_EQ(k["entries"], j["entries"]);
  EXPECT_EQ(k["len"], j["len"]);
}

// The file offset of addr in an ELF core (its PT_LOAD segment), or -1.
int64_t coreOffsetOf(const std::string& core, uint64_t addr) {
  std::ifstream f(core, std::ios::binary);
  auto at = [&](uint64_t off, void* out, size_t n) {
    f.seekg(std::streamoff(off));
    f.read(static_cast<char*>(out), std::streamsize(n));
  };
  uint64_t phoff = 0;
  uint16_t phentsize = 0, phnum = 0;
  at(0x20, &phoff, 8);
  at(0x36, &phentsize, 2);
  at(0x38, &phnum, 2);
  for (uint16_t i = 0; i < phnum; ++i) {
    uint8_t ph[56];
    at(phoff + uint64_t(i) * phentsize, ph, sizeof ph);
    uint32_t type;
    uint64_t off, vaddr, filesz;
    std::memcpy(&type, ph, 4);
    std::memcpy(&off, ph + 8, 8);
    std::memcpy(&vaddr, ph + 16, 8);
    std::memcpy(&filesz, ph + 32, 8);
    if (type == 1 && addr >= vaddr && addr - vaddr < filesz) return int64_t(off + (addr - vaddr));
  }
  return -1;
}

TEST_P(CliTargetErrors, TruncatedCoreGivesPartialResultsOrAClearError) {
  auto full = runGomemscope({"map", "-c", core_, "-e", maps_, "main.MLarge", "--format", "json"});
  ASSERT_EQ(full.exitCode, 0) << full.err;
  auto fj = nlohmann::json::parse(full.out);
  uint64_t header = std::stoull(fj["address"].get<std::string>(), nullptr, 16);
  int64_t headerOff = coreOffsetOf(core_, header);
  ASSERT_GT(headerOff, 0) << "the map header is not in the core";
  auto cutAt = [&](int64_t size, const std::string& name) {
    std::string cut = core_ + "." + name;
    fs::copy_file(core_, cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, uintmax_t(size));
    return runGomemscope({"map", "-c", cut, "-e", maps_, "main.MLarge", "--format", "json"});
  };
  // The truncation is said once as a warning; an error is then one more line.
  auto expectTruncatedError = [](const CommandResult& r) {
    EXPECT_EQ(r.exitCode, 2) << r.out << r.err;
    EXPECT_EQ(r.err.rfind("gomemscope: warning: core file truncated", 0), 0u) << r.err;
    size_t nl = r.err.find('\n');
    ASSERT_NE(nl, std::string::npos) << r.err;
    std::string error = r.err.substr(nl + 1);
    EXPECT_EQ(error.rfind("gomemscope: main.MLarge: ", 0), 0u) << r.err;
    EXPECT_NE(error.find("not saved in core (core file truncated)"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 1) << r.err;
  };
  // Cut before the header: the header is unreadable, exit 2.
  expectTruncatedError(cutAt(headerOff, "noheader"));
  // Cut inside the map's bucket/group arrays, past its header: the entries
  // before the cut are listed and the unreadable rest is named as problems
  // (exit 1), never a silent partial result.
  auto withBuckets = runGomemscope(
      {"map", "-c", core_, "-e", maps_, "main.MLarge", "--format", "json", "--buckets"});
  ASSERT_EQ(withBuckets.exitCode, 0) << withBuckets.err;
  auto bj = nlohmann::json::parse(withBuckets.out);
  const auto& records = bj.contains("buckets") ? bj["buckets"] : bj["groups"];
  std::vector<int64_t> after;  // file offsets of bucket/group arrays past the header
  for (const auto& rec : records) {
    int64_t off = coreOffsetOf(core_, std::stoull(rec["address"].get<std::string>(), nullptr, 16));
    if (off > headerOff) after.push_back(off);
  }
  ASSERT_FALSE(after.empty())
      << "no bucket or group of main.MLarge lies after its header in the core";
  std::sort(after.begin(), after.end());
  auto r = cutAt(after[after.size() / 2], "buckets");
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  ASSERT_EQ(r.exitCode, 1) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["problems"].empty()) << r.out.substr(0, 500);
  // (A classic map's bucket array is read whole: cut, none of it lists.)
  EXPECT_LT(j["entries"].size(), fj["entries"].size());
}

TEST_P(CliTargetErrors, StrippedBinaryDegradesClearly) {
  auto stripped = buildFixture(toolchain(GetParam()), "maps", BuildFlags{.stripped = true});
  auto p = RunningFixture::start(stripped);
  std::string pid = std::to_string(p->pid());
  auto info = runGomemscope({"info", "-p", pid});
  EXPECT_EQ(info.exitCode, 0) << info.err;
  EXPECT_NE(info.out.find("DWARF"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find(GetParam()), std::string::npos) << info.out;
  // The goroutine list needs no DWARF: runtime.allgs is located (checked
  // against the symbol table in goruntime/memstats_test.cc) and runtime.g
  // comes from the descriptors.
  EXPECT_EQ(info.out.find("goroutines   unavailable"), std::string::npos) << info.out;
  auto js = runGomemscope({"info", "-p", pid, "--format", "json"});
  ASSERT_EQ(js.exitCode, 0) << js.err;
  auto gs = nlohmann::json::parse(js.out)["goroutines"];
  EXPECT_FALSE(gs.contains("error")) << gs.dump();
  EXPECT_GE(gs["total"].get<int>(), 4) << gs.dump();
  EXPECT_GE(gs["live"].get<int>(), 4) << gs.dump();
  expectOneLineError(runGomemscope({"map", "-p", pid, "main.MStrInt"}), "DWARF");
  // Nothing is named: top searches the data segments, the goroutine stacks
  // and the heap for maps and lists by their shape
  // (tests/cli/stripped_top_test.cc), on every release.
  auto top = runGomemscope({"top", "-p", pid});
  EXPECT_EQ(top.exitCode, 0) << top.err;
  EXPECT_NE(top.out.find("recognised by their shape"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("main.Point"), std::string::npos) << top.out;
  // diff, check and report work on the maps found by their shape: two
  // snapshots of one process name each map alike, by the word holding it.
  std::string c1 = tempDir() + "/stripped-" + GetParam() + "-1.core",
              c2 = tempDir() + "/stripped-" + GetParam() + "-2.core";
  ASSERT_EQ(runGomemscope({"core", "-p", pid, "-o", c1}).exitCode, 0);
  ASSERT_EQ(runGomemscope({"core", "-p", pid, "-o", c2}).exitCode, 0);
  auto d = runGomemscope({"diff", c1, c2, "-e", stripped, "--format", "json"});
  ASSERT_EQ(d.exitCode, 0) << d.err;
  nlohmann::json dj = nlohmann::json::parse(d.out);
  EXPECT_FALSE(dj.contains("itemsUnavailable")) << d.out.substr(0, 2000);
  EXPECT_NE(d.out.find("(*map[string]int)(0x"), std::string::npos) << d.out.substr(0, 3000);
  auto dt = runGomemscope({"diff", c1, c2, "-e", stripped});
  EXPECT_EQ(dt.exitCode, 0) << dt.err;
  EXPECT_EQ(dt.out.find("not compared"), std::string::npos) << dt.out;
  EXPECT_NE(dt.out.find(" fields changed"), std::string::npos) << dt.out;
  // check evaluates the map rules over the maps found by shape.
  auto ck = runGomemscope({"check", "-p", pid, "--for", "2s", "--every", "1s"});
  // 0, or 1 should the fixture's own GC CPU share breach gc-pressure.
  EXPECT_NE(ck.exitCode, 2) << ck.err;
  EXPECT_EQ(ck.out.find("maps not observed"), std::string::npos) << ck.out;
  for (const char* rule : {"rehash-storm", "unbounded-map"})
    EXPECT_NE(ck.out.find(rule), std::string::npos) << ck.out;
  EXPECT_NE(ck.out.find("gc-pressure: GCCPUFraction"), std::string::npos) << ck.out;  // evaluated
  // The HTML report has MemStats and the maps, and says how they were found.
  std::string html = tempDir() + "/stripped-" + GetParam() + ".html";
  auto rep = runGomemscope({"report", "-p", pid, "-o", html});
  ASSERT_EQ(rep.exitCode, 0) << rep.err;
  std::ifstream hf(html);
  std::string page((std::istreambuf_iterator<char>(hf)), {});
  EXPECT_NE(page.find("recognised by their shape"), std::string::npos);
  EXPECT_NE(page.find("HeapAlloc"), std::string::npos);
  EXPECT_NE(page.find("map[string]int"), std::string::npos);
  // Variables have no names, but the types are there: the message says how to go on.
  expectOneLineError(runGomemscope({"map", "-p", pid, "main.MStrInt"}), "0xADDR --type");
  auto types = runGomemscope({"types", "-e", stripped, "map\\[string\\]int$"});
  EXPECT_EQ(types.exitCode, 0) << types.err;
  EXPECT_NE(types.out.find("map[string]int"), std::string::npos) << types.out;
  // The build info says how it was built: the message says so instead of guessing.
  auto m = runGomemscope({"map", "-p", pid, "main.MStrInt"});
  EXPECT_NE(m.err.find("built with -ldflags=\"-s -w\""), std::string::npos) << m.err;
  EXPECT_EQ(m.err.find("-w?"), std::string::npos) << m.err;
}

INSTANTIATE_TEST_SUITE_P(Toolchains, CliTargetErrors, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
