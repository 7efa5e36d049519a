// The examples people copy: every `gomemscope ...` line of the README's
// examples block and of `gomemscope --help`, run against the bundled demo
// (demo/, what `make demo` runs) built by each toolchain. 4242 becomes the
// demo's pid; only what would make the suite slow or collide is adapted:
// windows shortened to 2 s, `sleep 60` to 1 s, watch and trace bounded by
// --for, export given a free port and stopped with SIGINT. Each must exit 0
// (or 1 where 1 is the command's answer: a breached rule, a use of a removed
// element seen).
#include <fstream>
#include <regex>
#include <sstream>

#include "support/fixture.h"

namespace gms::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> readmeExamples() {
  std::ifstream in(fs::path(GMS_FIXTURE_DIR) / ".." / ".." / "README.md");
  std::vector<std::string> out;
  std::string line;
  bool inSh = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      inSh = line == "```sh";
      continue;
    }
    if (inSh && line.rfind("gomemscope ", 0) == 0) out.push_back(line);
  }
  return out;
}

std::vector<std::string> helpExamples() {
  auto r = runGomemscope({"--help"});
  std::vector<std::string> out;
  std::istringstream in(r.out);
  std::string line;
  bool examples = false;
  while (std::getline(in, line)) {
    if (line.rfind("Examples:", 0) == 0)
      examples = true;
    else if (examples && line.rfind("  gomemscope ", 0) == 0)
      out.push_back(line.substr(2));
    else if (examples && !line.empty() && line[0] != ' ')
      examples = false;
  }
  return out;
}

// The line as run: pid substituted, windows shortened, unbounded commands bounded.
std::string adapt(std::string line, int pid) {
  line = std::regex_replace(line, std::regex("\\b4242\\b"), std::to_string(pid));
  line = std::regex_replace(line, std::regex("--for [0-9]+(s|m)"), "--for 2s");
  line = std::regex_replace(line, std::regex("\\bsleep [0-9]+"), "sleep 1");
  if (line.find("--for") == std::string::npos)
    line = std::regex_replace(line, std::regex("gomemscope (watch|trace [a-z]+) "),
                              "gomemscope $1 --for 3s ");
  if (line.find("gomemscope export") != std::string::npos)
    line = std::regex_replace(
        line, std::regex("gomemscope export "),
        "timeout --preserve-status -s INT 3 gomemscope export --listen 127.0.0.1:0 ");
  return line;
}

bool oneIsAnAnswer(const std::string& line) {
  return line.find("gomemscope check") != std::string::npos ||
         line.find("gomemscope trace removed") != std::string::npos ||
         line.find("gomemscope trace writers") != std::string::npos;
}

class Examples : public ::testing::TestWithParam<std::string> {};

TEST_P(Examples, ReadmeAndHelpExamplesRunAgainstTheDemo) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::vector<std::string> lines = readmeExamples();
  ASSERT_GE(lines.size(), 15u) << "the README's examples block was not found";
  std::vector<std::string> help = helpExamples();
  ASSERT_GE(help.size(), 5u) << "gomemscope --help lists no examples";
  lines.insert(lines.end(), help.begin(), help.end());

  std::string bin = buildDemo(tc);
  auto demo = RunningFixture::start(bin, {}, 120, " ready");
  std::string dir = tempDir() + "/examples-" + tc.name;
  fs::create_directories(dir);
  fs::create_symlink(bin, dir + "/app");
  fs::copy_file(fs::path(GMS_FIXTURE_DIR) / ".." / ".." / "docs" / "rules.yaml",
                dir + "/rules.yaml");
  std::string path = fs::path(GMS_BINARY).parent_path().string() + ":" + getenv("PATH");
  for (const auto& original : lines) {
    std::string line = adapt(original, demo->pid());
    SCOPED_TRACE(original + "\n  run as: " + line);
    auto r = runCommand(
        {"env", "-C", dir, "PATH=" + path, "bash", "-c", "set -eo pipefail; " + line}, 120);
    if (oneIsAnAnswer(line)) {
      EXPECT_TRUE(r.exitCode == 0 || r.exitCode == 1) << "exit " << r.exitCode << "\n" << r.err;
    } else {
      EXPECT_EQ(r.exitCode, 0) << r.err << r.out.substr(0, 500);
    }
    EXPECT_TRUE(demo->alive()) << "the demo died";
  }
}

INSTANTIATE_TEST_SUITE_P(Toolchains, Examples, ::testing::ValuesIn(toolchainNames()),
                         [](const auto& info) { return paramName(info.param); });

}  // namespace
}  // namespace gms::test
