// Secret masking end to end (docs/secrets.md): the secrets fixture's map, struct
// and slice, live and from a core, under both toolchains. By default exactly
// the secrets are masked (as <masked: N bytes>, N the real length); --reveal
// shows every string equal to what the program printed about itself.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli/in_process.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

struct SecretsTarget {
  std::string binary, core;
  std::unique_ptr<RunningFixture> proc;
};

SecretsTarget& target(const Toolchain& tc) {
  static std::map<std::string, std::unique_ptr<SecretsTarget>> cache;
  auto& slot = cache[tc.name];
  if (!slot) {
    auto t = std::make_unique<SecretsTarget>();
    t->binary = buildFixture(tc, "secrets");
    t->proc = RunningFixture::start(t->binary);
    t->core = tempDir() + "/secrets-" + tc.name + ".core";
    auto r = runInProcess({"core", "-p", std::to_string(t->proc->pid()), "-o", t->core});
    if (r.exitCode != 0) throw std::runtime_error("gomemscope core failed: " + r.err);
    slot = std::move(t);
  }
  return *slot;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string masked(const std::string& s) {
  return "<masked: " + std::to_string(s.size()) + " bytes>";
}

class Secrets : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Toolchain& tc = toolchain(GetParam().toolchain);
    GMS_REQUIRE_TOOLCHAIN(tc);
    t_ = &target(tc);
  }
  std::vector<std::string> args(std::vector<std::string> a) const {
    if (GetParam().live) {
      a.insert(a.begin() + 1, {"-p", std::to_string(t_->proc->pid())});
    } else {
      a.insert(a.begin() + 1, {"-c", t_->core, "-e", t_->binary});
    }
    return a;
  }
  nlohmann::json json(std::vector<std::string> a) const {
    auto r = runInProcess(args(std::move(a)));
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return nlohmann::json::parse(r.out);
  }
  const nlohmann::json& truth() const { return t_->proc->truth(); }
  SecretsTarget* t_ = nullptr;
};

TEST_P(Secrets, MapMasksExactlyTheSecretsByDefault) {
  auto j = json({"map", "main.Headers", "--format", "json"});
  std::set<std::string> secret;
  for (const auto& k : truth()["secretKeys"]) secret.insert(k.get<std::string>());
  const auto& want = truth()["headers"];
  ASSERT_EQ(j["entries"].size(), want.size());
  for (const auto& e : j["entries"]) {
    std::string k = e["key"].get<std::string>();
    ASSERT_TRUE(want.contains(k)) << k;
    std::string v = want[k].get<std::string>();
    if (secret.count(k)) {
      EXPECT_EQ(e["value"], masked(v)) << k;
    } else {
      EXPECT_EQ(e["value"], v) << k;
    }
  }
}

// map[string]string entries are written by the scalar fast path
// (report/reports.cc); it must mask exactly as the general renderer does.
TEST_P(Secrets, FastPathMasksAsTheGeneralRendererDoes) {
  for (std::vector<std::string> extra :
       {std::vector<std::string>{}, {"--reveal"}, {"--secret-pattern", "(?i)accept"},
        {"--max-string", "4"}}) {
    std::vector<std::string> a = {"map", "main.Headers", "--format", "json"};
    a.insert(a.end(), extra.begin(), extra.end());
    auto fast = runInProcess(args(a));
    setenv("GOMEMSCOPE_GENERIC_RENDER", "1", 1);
    auto general = runInProcess(args(a));
    unsetenv("GOMEMSCOPE_GENERIC_RENDER");
    ASSERT_EQ(fast.exitCode, 0) << fast.err;
    ASSERT_EQ(general.exitCode, 0) << general.err;
    EXPECT_EQ(fast.out, general.out) << (extra.empty() ? "defaults" : extra[0]);
  }
}

TEST_P(Secrets, RevealShowsTheTruth) {
  auto j = json({"map", "main.Headers", "--format", "json", "--reveal"});
  const auto& want = truth()["headers"];
  ASSERT_EQ(j["entries"].size(), want.size());
  for (const auto& e : j["entries"]) EXPECT_EQ(e["value"], want[e["key"].get<std::string>()]);
  auto login = json({"print", "main.Login", "--format", "json", "--reveal"});
  EXPECT_EQ(login["value"], truth()["login"]) << login.dump();
  auto tokens = json({"print", "main.Tokens", "--format", "json", "--reveal"});
  EXPECT_EQ(tokens["value"], truth()["tokens"]) << tokens.dump();
}

TEST_P(Secrets, TextNeverShowsASecret) {
  auto r = runInProcess(args({"map", "main.Headers"}));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto& want = truth()["headers"];
  for (const auto& k : truth()["secretKeys"]) {
    std::string v = want[k.get<std::string>()].get<std::string>();
    EXPECT_EQ(r.out.find(v), std::string::npos) << v << " in\n" << r.out;
    EXPECT_NE(r.out.find("\"" + k.get<std::string>() + "\": " + masked(v)), std::string::npos)
        << r.out;
  }
  EXPECT_NE(r.out.find("\"greeting\": \"hello, world\""), std::string::npos) << r.out;
  auto shown = runInProcess(args({"map", "main.Headers", "--reveal"}));
  for (const auto& k : truth()["secretKeys"])
    EXPECT_NE(shown.out.find(want[k.get<std::string>()].get<std::string>()), std::string::npos);
}

TEST_P(Secrets, StructFieldAndTokenContentAreMasked) {
  auto login = json({"print", "main.Login", "--format", "json"});
  const auto& want = truth()["login"];
  EXPECT_EQ(login["value"]["User"], want["User"]);
  EXPECT_EQ(login["value"]["Note"], want["Note"]);
  EXPECT_EQ(login["value"]["Token"], masked(want["Token"].get<std::string>()));
  auto tokens = json({"print", "main.Tokens", "--format", "json"});
  ASSERT_EQ(tokens["value"].size(), 1u);
  EXPECT_EQ(tokens["value"][0], masked(truth()["tokens"][0].get<std::string>()));
}

TEST_P(Secrets, SecretPatternAddsToTheDefaults) {
  auto login = json({"print", "main.Login", "--format", "json", "--secret-pattern", "^ali"});
  EXPECT_EQ(login["value"]["User"], masked("alice"));
  EXPECT_EQ(login["value"]["Note"], truth()["login"]["Note"]);
  auto r = runInProcess(args({"print", "main.Login", "--secret-pattern", "(bad"}));
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("gomemscope: --secret-pattern"), std::string::npos) << r.err;
}

// Paths carry map keys: a key that looks like a secret (main.Sessions'
// AKIA... key) or that sits under a secret-named field (main.Vault.Tokens)
// is masked in every command that prints paths (top in each format, report,
// diff, check), and --reveal shows it.
TEST_P(Secrets, SecretKeysAreMaskedInPaths) {
  const std::string aws = "AKIAIOSFODNN7EXAMPLE", vaultKey = "plain-key";
  const std::string shownPath = "main.Sessions[\"alice\"]";
  const std::string maskedPaths[] = {"main.Sessions[" + masked(aws) + "]",
                                     "main.Vault.Tokens[" + masked(vaultKey) + "]"};
  const std::string realPaths[] = {"main.Sessions[\"" + aws + "\"]",
                                   "main.Vault.Tokens[\"" + vaultKey + "\"]"};
  std::string dir =
      tempDir() + "/secret-paths-" + GetParam().toolchain + (GetParam().live ? "-live" : "-core");
  std::filesystem::create_directories(dir);
  std::string rules = dir + "/rules.yaml";
  std::ofstream(rules) << "limits:\n  max_map_len:\n    - path: main.Sessions[*\n      max_len: 0\n"
                          "    - path: main.Vault.Tokens[*\n      max_len: 0\n";
  auto outputs = [&](bool reveal) {
    std::vector<std::pair<std::string, CommandResult>> out;
    auto run = [&](std::string what, std::vector<std::string> a, std::vector<int> ok = {0}) {
      if (reveal) a.push_back("--reveal");
      auto r = runInProcess(args(a));
      EXPECT_TRUE(std::find(ok.begin(), ok.end(), r.exitCode) != ok.end()) << what << ": " << r.err;
      out.emplace_back(what, std::move(r));
    };
    for (const char* f : {"text", "json", "csv"})
      run(std::string("top ") + f, {"top", "--format", f, "--limit", "0"});
    run("check", {"check", "--rules", rules}, {1});
    run("check json", {"check", "--rules", rules, "--format", "json"}, {1});
    std::string html = dir + (reveal ? "/revealed.html" : "/report.html");
    run("report", {"report", "-o", html, "--top", "50"});
    out.back().second.out = readFile(html);
    std::vector<std::string> d = {"diff", t_->core, t_->core, "-e", t_->binary, "--all"};
    if (reveal) d.push_back("--reveal");
    auto r = runInProcess(d);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    out.emplace_back("diff", std::move(r));
    return out;
  };
  for (const auto& [what, r] : outputs(false)) {
    SCOPED_TRACE(what);
    EXPECT_EQ(r.out.find(aws), std::string::npos) << "a secret key in a path:\n" << r.out;
    EXPECT_EQ(r.out.find(vaultKey), std::string::npos) << "a key under a secret field in a path:\n"
                                                       << r.out;
    std::string want = what.starts_with("top json") || what == "check json"
                           ? "main.Sessions[\\\"alice\\\"]"
                       : what.starts_with("top csv") ? "main.Sessions[\"\"alice\"\"]"
                       : what == "report"            ? "main.Sessions[&quot;alice&quot;]"
                                                     : shownPath;
    if (what != "check") {  // its text names the first map over the limit only
      EXPECT_NE(r.out.find(want), std::string::npos) << "the plain key is shown:\n" << r.out;
    }
    for (const auto& m : maskedPaths) {
      if (what == "report") continue;  // there as &lt;masked: ...&gt;, and no key either way
      if (what == "top text" || what == "check json" || what == "diff" || m == maskedPaths[0]) {
        EXPECT_NE(r.out.find(m), std::string::npos) << m << " in\n" << r.out;
      }
    }
  }
  for (const auto& [what, r] : outputs(true)) {
    SCOPED_TRACE(what + " --reveal");
    if (what == "top text" || what == "diff") {
      for (const auto& p : realPaths)
        EXPECT_NE(r.out.find(p), std::string::npos) << p << " in\n" << r.out;
    }
  }
  // A masked path names no entry: asking for it says so.
  auto m = runInProcess(args({"map", maskedPaths[0]}));
  EXPECT_EQ(m.exitCode, 2);
  EXPECT_NE(m.err.find("--reveal"), std::string::npos) << m.err;
  auto revealed = runInProcess(args({"map", realPaths[0], "--format", "json"}));
  ASSERT_EQ(revealed.exitCode, 0) << revealed.err;
  EXPECT_EQ(nlohmann::json::parse(revealed.out)["len"], 2);
}

INSTANTIATE_TEST_SUITE_P(All, Secrets, ::testing::ValuesIn(liveAndCoreCases()), caseName);

}  // namespace
}  // namespace gms::test
