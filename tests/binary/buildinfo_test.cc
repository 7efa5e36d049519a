// .go.buildinfo parsing on synthetic blobs: both the inline-string format
// (Go >= 1.18) and the older pointer format resolved through memory.
#include "binary/buildinfo.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace gms {
namespace {

const std::string kStart(16, '\x30');  // stand-ins for modload.infoStart/End
const std::string kEnd = std::string(15, '\x31') + '\xf2';

void putVarint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s += char(uint8_t(v) | 0x80);
    v >>= 7;
  }
  s += char(v);
}

std::string header(uint8_t flags) {
  std::string h(kBuildInfoMagic);
  h += char(8);
  h += char(flags);
  h.resize(32, '\0');
  return h;
}

ByteView view(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

const std::string kModinfo =
    "path\texample.com/app\n"
    "mod\texample.com/app\t(devel)\t\n"
    "dep\tgolang.org/x/sys\tv0.1.0\th1:abc=\n"
    "build\t-buildmode=exe\n"
    "build\t-ldflags=\"-s -w -X main.v=1\"\n"
    "build\tCGO_ENABLED=0\n"
    "build\tGOEXPERIMENT=noswissmap\n"
    "build\t\"odd key\"=x\n"
    "build\tvcs.modified=true\n";

TEST(BuildInfo, InlineFormat) {
  std::string blob = header(2);
  std::string v = "go1.24.3 X:noswissmap";
  putVarint(blob, v.size());
  blob += v;
  std::string mod = kStart + kModinfo + kEnd;
  putVarint(blob, mod.size());
  blob += mod;
  FakeMemory none;
  GoBuildInfo bi = parseBuildInfo(view(blob), none);
  EXPECT_EQ(bi.goVersion, v);
  EXPECT_EQ(bi.major, 1);
  EXPECT_EQ(bi.minor, 24);
  EXPECT_EQ(bi.patch, 3);
  EXPECT_EQ(bi.modinfo, kModinfo);
  EXPECT_EQ(bi.mainPath, "example.com/app");
  EXPECT_EQ(bi.settings.at("-buildmode"), "exe");
  EXPECT_EQ(bi.settings.at("-ldflags"), "-s -w -X main.v=1");
  EXPECT_EQ(bi.settings.at("CGO_ENABLED"), "0");
  EXPECT_EQ(bi.settings.at("GOEXPERIMENT"), "noswissmap");
  EXPECT_EQ(bi.settings.at("odd key"), "x");
  EXPECT_EQ(bi.settings.at("vcs.modified"), "true");
  EXPECT_FALSE(bi.settings.count("golang.org/x/sys"));
}

TEST(BuildInfo, PointerFormatBefore118) {
  // Version and modinfo are Go string headers elsewhere in the data segment.
  const uint64_t base = 0x500000;
  std::string v = "go1.16.15", mod = kStart + kModinfo + kEnd;
  std::vector<uint8_t> data(0x1000);
  auto put64 = [&](size_t off, uint64_t x) { std::memcpy(&data[off], &x, 8); };
  put64(0x00, base + 0x100);  // version header {ptr, len}
  put64(0x08, v.size());
  put64(0x10, base + 0x200);  // modinfo header
  put64(0x18, mod.size());
  std::memcpy(&data[0x100], v.data(), v.size());
  std::memcpy(&data[0x200], mod.data(), mod.size());
  FakeMemory mem;
  mem.add(base, data);
  std::string blob = header(0);
  uint64_t p1 = base, p2 = base + 0x10;
  std::memcpy(&blob[16], &p1, 8);
  std::memcpy(&blob[24], &p2, 8);
  GoBuildInfo bi = parseBuildInfo(view(blob), mem);
  EXPECT_EQ(bi.goVersion, v);
  EXPECT_EQ(bi.minor, 16);
  EXPECT_EQ(bi.patch, 15);
  EXPECT_EQ(bi.mainPath, "example.com/app");
  EXPECT_EQ(bi.settings.at("GOEXPERIMENT"), "noswissmap");

  // A pointer outside memory is a clean error.
  p1 = 0x10;
  std::memcpy(&blob[16], &p1, 8);
  EXPECT_THROW(parseBuildInfo(view(blob), mem), Error);
}

TEST(BuildInfo, RejectsBadBlobs) {
  FakeMemory none;
  EXPECT_THROW(parseBuildInfo(view("short"), none), Error);
  EXPECT_THROW(parseBuildInfo(view(std::string(64, 'x')), none), Error);
  std::string blob = header(2);
  putVarint(blob, 1000);  // longer than the blob
  blob += "go1.20";
  EXPECT_THROW(parseBuildInfo(view(blob), none), Error);
  blob = header(2);
  blob += std::string(11, '\xff');  // varint that never ends
  EXPECT_THROW(parseBuildInfo(view(blob), none), Error);
  blob = header(3);  // big-endian
  EXPECT_THROW(parseBuildInfo(view(blob), none), Error);
  // Without sentinels the modinfo is dropped, as debug/buildinfo does.
  blob = header(2);
  putVarint(blob, 6);
  blob += "go1.20";
  putVarint(blob, 5);
  blob += "short";
  GoBuildInfo bi = parseBuildInfo(view(blob), none);
  EXPECT_EQ(bi.goVersion, "go1.20");
  EXPECT_EQ(bi.modinfo, "");
}

TEST(BuildInfo, Versions) {
  struct Case {
    const char* v;
    int major, minor, patch;
  };
  const Case cases[] = {
      {"go1.19.8", 1, 19, 8},
      {"go1.26.8", 1, 26, 8},
      {"go1.20", 1, 20, 0},
      {"go1.21rc2", 1, 21, 0},
      {"go1.24.0 X:noswissmap", 1, 24, 0},
      {"devel go1.27-a5f29a67d7 Tue Jul 14", 1, 27, 0},
      {"weird", 0, 0, 0},
      {"go", 0, 0, 0},
      {"go1", 0, 0, 0},
  };
  for (const Case& c : cases) {
    GoBuildInfo bi;
    parseGoVersion(c.v, bi);
    EXPECT_EQ(bi.major, c.major) << c.v;
    EXPECT_EQ(bi.minor, c.minor) << c.v;
    EXPECT_EQ(bi.patch, c.patch) << c.v;
  }
  GoBuildInfo bi;
  parseGoVersion("go1.22.1", bi);
  EXPECT_TRUE(bi.atLeast(1, 22));
  EXPECT_FALSE(bi.atLeast(1, 23));
}

TEST(BuildInfo, Unquote) {
  EXPECT_EQ(goUnquote("\"a b\""), "a b");
  EXPECT_EQ(goUnquote("\"tab\\there\\n\\\"q\\\" \\\\\""), "tab\there\n\"q\" \\");
  EXPECT_EQ(goUnquote("\"\\x41\\u00e9\\101\""), "A\xc3\xa9" "A");
  EXPECT_EQ(goUnquote("`raw \\n`"), "raw \\n");
  EXPECT_EQ(goUnquote("\"unterminated"), std::nullopt);
  EXPECT_EQ(goUnquote("\"bad \\q\""), std::nullopt);
  EXPECT_EQ(goUnquote("\"short \\x4\""), std::nullopt);
  EXPECT_EQ(goUnquote("\"trailing \\\""), std::nullopt);
  EXPECT_EQ(goUnquote("x"), std::nullopt);
}

}  // namespace
}  // namespace gms
