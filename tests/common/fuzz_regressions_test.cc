// The fuzz targets' bodies (fuzz/bodies.h) built without libFuzzer: every
// committed seed (fuzz/corpus/<target>/) and every input that once crashed a
// target (fuzz/regressions/<target>/) is replayed here, so a fixed crash stays
// fixed in the ordinary (and the ASan+UBSan) test run. The map/list seeds must
// also still decode against the fixtures as built today.
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "fuzz/bodies.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs body on every file of corpus/<target> and regressions/<target>; returns
// the number of corpus seeds.
size_t replay(const std::string& target,
              const std::function<void(const fs::path&, const std::vector<uint8_t>&)>& body) {
  size_t seeds = 0;
  for (const char* dir : {"corpus", "regressions"}) {
    fs::path d = fs::path(GMS_FUZZ_DIR) / dir / target;
    if (!fs::is_directory(d)) continue;
    for (const auto& e : fs::directory_iterator(d)) {
      if (!e.is_regular_file()) continue;
      SCOPED_TRACE(e.path().string());
      body(e.path(), slurp(e.path()));
      if (std::string(dir) == "corpus") seeds++;
    }
  }
  return seeds;
}

TEST(FuzzRegressions, Elf) {
  EXPECT_GT(replay("elf", [](const fs::path&,
                             const std::vector<uint8_t>& b) { fuzz::elf(b.data(), b.size()); }),
            0u);
}

TEST(FuzzRegressions, Core) {
  EXPECT_GT(replay("core", [](const fs::path&,
                              const std::vector<uint8_t>& b) { fuzz::core(b.data(), b.size()); }),
            0u);
}

TEST(FuzzRegressions, Buildinfo) {
  EXPECT_GT(replay("buildinfo",
                   [](const fs::path&, const std::vector<uint8_t>& b) {
                     fuzz::buildinfo(b.data(), b.size());
                   }),
            0u);
}

// The pclntab seeds are real tables: most functions must resolve.
TEST(FuzzRegressions, Pclntab) {
  EXPECT_GT(replay("pclntab",
                   [](const fs::path& p, const std::vector<uint8_t>& b) {
                     size_t resolved = fuzz::pclntab(b.data(), b.size());
                     if (p.parent_path().parent_path().filename() == "corpus") {
                       EXPECT_GT(resolved, 200u) << "seed no longer parses";
                     }
                   }),
            0u);
}

TEST(FuzzRegressions, Descriptors) {
  EXPECT_GT(replay("descriptors",
                   [](const fs::path& p, const std::vector<uint8_t>& b) {
                     size_t named = fuzz::descriptors(b.data(), b.size());
                     if (p.parent_path().parent_path().filename() == "corpus") {
                       EXPECT_GT(named, 500u) << "seed no longer opens";
                     }
                   }),
            0u);
}

// Image seeds whose value is empty decode to 0 entries; all others must find
// entries with the DWARF of the fixture built by this test run.
bool emptySeed(const fs::path& p) {
  std::string n = p.filename().string();
  return n == "main.MEmpty.img" || n == "main.LEmpty.img" || n == "main.LZero.img" ||
         n == "main.SEmptied.img" || n == "main.SZero.img";
}

enum class Walk { Map, List, SyncMap };

void replayImages(const std::string& target, const std::string& tcName, const std::string& fixture,
                  Walk walk) {
  const Toolchain& tc = toolchain(tcName);
  GMS_REQUIRE_TOOLCHAIN(tc);
  fuzz::ImageFuzzer f(buildFixture(tc, fixture));
  size_t seeds = replay(target, [&](const fs::path& p, const std::vector<uint8_t>& b) {
    uint64_t found = walk == Walk::Map    ? f.map(b.data(), b.size())
                     : walk == Walk::List ? f.list(b.data(), b.size())
                                          : f.syncMap(b.data(), b.size());
    bool seed = p.parent_path().parent_path().filename() == "corpus";
    if (seed && !emptySeed(p)) {
      EXPECT_GT(found, 0u) << "seed no longer decodes";
    }
  });
  EXPECT_GT(seeds, 0u);
}

TEST(FuzzRegressions, ClassicMap) { replayImages("classic_map", "go1.19", "maps", Walk::Map); }
TEST(FuzzRegressions, SwissMap) { replayImages("swiss_map", "go1.26", "maps", Walk::Map); }
TEST(FuzzRegressions, List) { replayImages("list", "go1.26", "lists", Walk::List); }
TEST(FuzzRegressions, SyncMap) {
  replayImages("sync_map", "go1.26", "syncmap", Walk::SyncMap);
}
TEST(FuzzRegressions, SyncMap19) {
  replayImages("sync_map_19", "go1.19", "syncmap", Walk::SyncMap);
}

// The heap seed is the hello fixture's whole heap: it must still be walked.
TEST(FuzzRegressions, Heap) {
  const Toolchain& tc = toolchain("go1.26");
  GMS_REQUIRE_TOOLCHAIN(tc);
  fuzz::ImageFuzzer f(buildFixture(tc, "hello"));
  size_t seeds = replay("heap", [&](const fs::path& p, const std::vector<uint8_t>& b) {
    uint64_t reached = f.heap(b.data(), b.size());
    if (p.parent_path().parent_path().filename() == "corpus") {
      EXPECT_GT(reached, 50u) << "seed no longer walks";
    }
  });
  EXPECT_GT(seeds, 0u);
}

// The image format round-trips and tolerates truncation.
TEST(FuzzRegressions, ImageFormat) {
  fuzz::MemoryImage img;
  img.typeName = "map[string]int";
  img.root = 0xc000010000;
  img.segments.push_back({0xc000010000, {1, 2, 3}});
  img.segments.push_back({0xc000020000, {4, 5}});
  auto enc = fuzz::encodeImage(img);
  auto dec = fuzz::decodeImage(enc.data(), enc.size());
  ASSERT_TRUE(dec);
  EXPECT_EQ(dec->typeName, img.typeName);
  EXPECT_EQ(dec->root, img.root);
  EXPECT_EQ(dec->segments, img.segments);
  auto cut = fuzz::decodeImage(enc.data(), enc.size() - 1);
  ASSERT_TRUE(cut);
  ASSERT_EQ(cut->segments.size(), 2u);
  EXPECT_EQ(cut->segments[1].second.size(), 1u);
  EXPECT_FALSE(fuzz::decodeImage(enc.data(), 3));
}

}  // namespace
}  // namespace gms::test
