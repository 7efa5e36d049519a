// `diagnose` and `check` against the rehash fixture (tests/fixtures/rehash):
// a global map rebuilt in a loop without a size hint is named as a rehash
// storm, with its path; the same workload with the right hint is quiet and
// passes the gate. Custom rules, malformed rules files and cores (one
// moment) too. Both toolchains: classic maps (go1.19), Swiss maps (go1.26).
#include "support/fixture.h"

namespace gms::test {
namespace {

class DiagnoseCli : public ::testing::TestWithParam<std::string> {};

const nlohmann::json* findingFor(const nlohmann::json& j, const std::string& rule) {
  for (const auto& f : j["findings"])
    if (f["rule"] == rule) return &f;
  return nullptr;
}

std::string statusOf(const nlohmann::json& j, const std::string& rule) {
  for (const auto& r : j["rules"])
    if (r["rule"] == rule) return r["status"];
  return "";
}

TEST_P(DiagnoseCli, NamesTheRehashStormOfAMapGrownWithoutAHint) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "rehash"));
  ASSERT_FALSE(proc->truth()["hint"].get<bool>());
  std::string pid = std::to_string(proc->pid());
  std::string path = proc->truth()["path"];

  auto r =
      runGomemscope({"diagnose", "-p", pid, "--for", "3s", "--every", "250ms", "--format", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 13);
  const nlohmann::json* f = findingFor(j, "rehash-storm");
  ASSERT_NE(f, nullptr) << r.out;
  ASSERT_FALSE((*f)["maps"].empty());
  const auto& m = (*f)["maps"][0];
  EXPECT_EQ(m["path"], path);
  EXPECT_EQ(m["impl"], tc.name == "go1.19" ? "classic" : "swiss");
  EXPECT_GE(m["growths"].get<int>(), 3);
  EXPECT_EQ(m["lens"].size(), 13u);
  EXPECT_EQ(m["sizes"].size(), 13u);
  for (const auto& len : m["lens"]) EXPECT_LE(len.get<int>(), proc->truth()["entries"].get<int>());
  EXPECT_NE((*f)["summary"].get<std::string>().find(path + " grew"), std::string::npos)
      << (*f)["summary"];

  auto text = runGomemscope({"diagnose", "-p", pid, "--for", "3s", "--every", "250ms"});
  ASSERT_EQ(text.exitCode, 0) << text.err;
  EXPECT_NE(text.out.find("rehash-storm ["), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("map " + path), std::string::npos) << text.out;

  auto gate = runGomemscope({"check", "-p", pid, "--for", "3s", "--every", "250ms"});
  EXPECT_EQ(gate.exitCode, 1) << gate.out << gate.err;
  EXPECT_NE(gate.out.find("BREACHED  rehash-storm"), std::string::npos) << gate.out;
  EXPECT_NE(gate.err.find("gomemscope: rule rehash-storm breached: "), std::string::npos)
      << gate.err;
  EXPECT_TRUE(proc->alive());
}

TEST_P(DiagnoseCli, QuietWhenTheMapIsMadeWithTheRightHint) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto proc = RunningFixture::start(buildFixture(tc, "rehash"), {"-hint"});
  ASSERT_TRUE(proc->truth()["hint"].get<bool>());
  std::string pid = std::to_string(proc->pid());

  // 4 s: longer than a round of the fixture even on a loaded machine, so the
  // map is seen re-created (its len falls) and unbounded-map stays quiet too.
  auto r =
      runGomemscope({"diagnose", "-p", pid, "--for", "4s", "--every", "250ms", "--format", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(findingFor(j, "rehash-storm"), nullptr) << r.out;
  EXPECT_EQ(statusOf(j, "rehash-storm"), "held");
  EXPECT_TRUE(j["findings"].empty()) << r.out;

  auto gate = runGomemscope({"check", "-p", pid, "--for", "4s", "--every", "250ms"});
  EXPECT_EQ(gate.exitCode, 0) << gate.out << gate.err;
  EXPECT_NE(gate.out.find("ok        rehash-storm: 0 growths"), std::string::npos) << gate.out;
  EXPECT_NE(gate.out.find("rules hold"), std::string::npos) << gate.out;
  EXPECT_TRUE(proc->alive());
}

TEST_P(DiagnoseCli, CustomRulesBadRulesAndCores) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = buildFixture(tc, "rehash");
  auto proc = RunningFixture::start(bin, {"-hint"});
  std::string pid = std::to_string(proc->pid());
  std::string dir = tempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::string p = dir + "/" + name;
    FILE* f = fopen(p.c_str(), "w");
    fputs(text.c_str(), f);
    fclose(f);
    return p;
  };

  // A tiny max_map_len breaks the gate in one moment, naming the map.
  std::string tiny =
      write("tiny.yaml", "limits:\n  max_map_len:\n    - path: main.Cach*\n      max_len: 10\n");
  auto r = runGomemscope({"check", "-p", pid, "--rules", tiny});
  EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("BREACHED  max-map-len: main.Cache"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("rule max-map-len breached"), std::string::npos) << r.err;

  // Bad rules files: one line, exit 2, naming the file and the key or line.
  std::string unknown = write("unknown.yaml", "gc_pressure:\n  max_gc_cpu: 0.2\n");
  r = runGomemscope({"check", "-p", pid, "--rules", unknown});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_EQ(r.err, "gomemscope: " + unknown +
                       ": gc_pressure.max_gc_cpu: unknown key (known here: enabled, "
                       "max_gc_cpu_fraction, max_gc_per_min)\n");
  std::string broken = write("broken.yaml", "gc_pressure:\n  max_gc_per_min: [1,\n");
  r = runGomemscope({"diagnose", "-p", pid, "--rules", broken, "--for", "1s"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_EQ(r.err.rfind("gomemscope: " + broken + ": line ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = runGomemscope({"check", "-p", pid, "--rules", dir + "/missing.yaml"});
  EXPECT_EQ(r.exitCode, 2);
  r = runGomemscope({"check", "-p", pid, "--for", "soon"});
  EXPECT_EQ(r.exitCode, 2);

  // A core is one moment: window rules are "not evaluated", never "held".
  std::string core = dir + "/rehash-" + tc.name + ".core";
  ASSERT_EQ(runGomemscope({"core", "-p", pid, "-o", core}).exitCode, 0);
  r = runGomemscope({"diagnose", "-c", core, "-e", bin, "--format", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["samples"], 1);
  EXPECT_EQ(statusOf(j, "unbounded-map"), "not evaluated");
  EXPECT_EQ(statusOf(j, "heap-growth"), "not evaluated");
  EXPECT_EQ(statusOf(j, "rehash-storm"), "not evaluated");  // the hinted map never grows
  // GCCPUFraction is a lifetime average: in one moment it is judged as it is
  // (a young process may still carry its start-up GC work), so only "it was
  // evaluated" is certain here.
  EXPECT_NE(statusOf(j, "gc-pressure"), "not evaluated");
  // The text output names every rule it did not evaluate, with the reason.
  r = runGomemscope({"diagnose", "-c", core, "-e", bin});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  for (const char* rule : {"unbounded-map (", "heap-growth (", "rehash-storm ("})
    EXPECT_NE(r.out.find(rule), std::string::npos) << rule << " not listed as not evaluated:\n"
                                                   << r.out;
  EXPECT_NE(r.out.find("not evaluated: "), std::string::npos) << r.out;
  std::string heap = write("heap.yaml", "limits:\n  max_heap_alloc: 1KiB\n");
  r = runGomemscope({"check", "-c", core, "-e", bin, "--rules", heap});
  EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("BREACHED  max-heap-alloc: HeapAlloc peak"), std::string::npos) << r.out;
  std::string noGc =
      write("nogc.yaml", "gc_pressure:\n  enabled: false\nlimits:\n  max_sys: 1TiB\n");
  r = runGomemscope({"check", "-c", core, "-e", bin, "--rules", noGc});
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("the 1 evaluated rule holds"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 rules not evaluated"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not evaluated"), std::string::npos) << r.out;
  r = runGomemscope({"diagnose", "-c", core, "-e", bin, "--for", "2s"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("a core holds one moment"), std::string::npos) << r.err;
  EXPECT_TRUE(proc->alive());
}

INSTANTIATE_TEST_SUITE_P(Toolchains, DiagnoseCli, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
