// Every path `top` prints is an expression: fed back to `map` (maps) or
// `list` (lists) and to `print`, it names the very object top found (same
// address, same len), live and from a core, for every fixture that holds
// maps and lists, under every toolchain. Secret-looking keys are masked in
// those paths by default and shown with --reveal.
#include <algorithm>
#include <map>
#include <set>

#include "support/fixture.h"

namespace gms::test {
namespace {

using nlohmann::json;

// A path with its keys and indices blanked: paths of one shape exercise the
// same notation (main.many[N].Prefs 2000 times over).
std::string shapeOf(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); i++) {
    char c = path[i];
    if (c == '"') {
      for (i++; i < path.size() && path[i] != '"'; i++)
        if (path[i] == '\\') i++;
      out += 'S';
    } else if (isdigit(static_cast<unsigned char>(c))) {
      while (i + 1 < path.size() && isalnum(static_cast<unsigned char>(path[i + 1]))) i++;
      out += 'N';
    } else {
      out += c;
    }
  }
  return out;
}

class PathsRoundTrip : public ::testing::TestWithParam<Case> {};

json parsed(const CommandResult& r, const std::string& what) {
  try {
    return json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": not JSON (" << e.what() << "): " << r.out.substr(0, 300) << r.err;
    return json();
  }
}

TEST_P(PathsRoundTrip, EveryPathTopPrintsIsAcceptedBack) {
  const Toolchain& tc = toolchain(GetParam().toolchain);
  GMS_REQUIRE_TOOLCHAIN(tc);
  size_t checked = 0;
  std::set<std::string> kinds;  // the notations met: [" [0-9 {  .( ...
  for (const char* fixture : {"discover", "maps", "lists", "values"}) {
    SCOPED_TRACE(fixture);
    std::string bin = buildFixture(tc, fixture);
    auto proc = RunningFixture::start(bin);
    const TargetArgs t =
        targetArgs(*proc, bin, GetParam().live, "paths-" + tc.name + "-" + fixture + ".core");
    auto withTarget = [&](std::vector<std::string> args) { return t.with(std::move(args)); };
    auto top = runGomemscope(withTarget({"top", "--format", "json", "--limit", "0", "--reveal"}));
    ASSERT_EQ(top.exitCode, 0) << top.err;
    json items = parsed(top, "top")["items"];
    ASSERT_FALSE(items.empty());
    // Live, a structure decoded with problems (a stale stack slot's map,
    // which the runtime may free and return to the OS at any moment) may
    // read differently a moment later: what lies below one is not checked.
    std::vector<std::string> troubled;
    for (const auto& it : items)
      if (GetParam().live && it["problems"].get<int>() > 0) troubled.push_back(it["path"]);
    std::map<std::string, int> shapes;
    for (const auto& it : items) {
      std::string path = it["path"];
      SCOPED_TRACE(path);
      if (path.find("[*]") != std::string::npos || path.find("{*}") != std::string::npos) continue;
      if (std::any_of(troubled.begin(), troubled.end(), [&](const std::string& t) {
            return path != t && path.starts_with(t);
          }))
        continue;
      if (++shapes[shapeOf(path)] > 3) continue;  // three of each shape
      bool isMap = it["kind"] != "list";  // "map" or "sync.Map"
      auto r = runGomemscope(
          withTarget({isMap ? "map" : "list", path, "--format", "json", "--limit", "1"}));
      if (it["problems"].get<int>() == 0) {
        EXPECT_EQ(r.exitCode, 0) << r.err;
      }
      json got = parsed(r, path);
      if (got.is_null()) continue;
      EXPECT_EQ(got["address"], it["address"]) << r.out.substr(0, 300);
      EXPECT_EQ(got["len"], it["len"]);
      auto pr = runGomemscope(withTarget({"print", path, "--depth", "1", "--max-string", "16"}));
      EXPECT_EQ(pr.exitCode, 0) << pr.err;
      checked++;
      for (const char* k : {"[\"", "{0x", ".(", "[{", "].", "]["})
        if (path.find(k) != std::string::npos) kinds.insert(k);
    }
  }
  EXPECT_GT(checked, 40u);
  // The discover fixture exercises every notation but [*]: string, int and
  // struct keys, key objects, assertions, list elements.
  for (const char* k : {"[\"", "{0x", ".(", "]."})
    EXPECT_EQ(kinds.count(k), 1u) << "no path with " << k;
}

INSTANTIATE_TEST_SUITE_P(Toolchains, PathsRoundTrip, ::testing::ValuesIn(liveAndCoreCases()),
                         caseName);

}  // namespace
}  // namespace gms::test
