// --debug-file: a stripped executable with DWARF and symbols from elsewhere,
// made the ways production does it (objcopy --only-keep-debug + strip; an
// unstripped build kept beside the stripped one), for every toolchain; and
// every way a debug file can fail to belong (another program, a -s -w build
// of the same source, changed code, another build ID, no DWARF) refused with
// one line saying what differs.
#include <filesystem>
#include <fstream>
#include <functional>

#include "binary/binary.h"
#include "binary/types.h"
#include "common/error.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

namespace fs = std::filesystem;

// Copies from to to, with the byte at file offset off changed by patch.
void copyPatched(const std::string& from, const std::string& to, uint64_t off,
                 const std::function<void(char&)>& patch) {
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  std::fstream f(to, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(std::streamoff(off));
  char c = 0;
  f.read(&c, 1);
  patch(c);
  f.seekp(std::streamoff(off));
  f.write(&c, 1);
}

class DebugFileTest : public ::testing::TestWithParam<std::string> {
 protected:
  const Toolchain& tc() const { return toolchain(GetParam()); }
  // The fixture's plain build, its objcopy --only-keep-debug file and the
  // same binary stripped, in a fresh directory.
  struct Split {
    std::string plain, debug, stripped;
  };
  Split split() {
    std::string dir = tempDir() + "/" + GetParam();
    fs::create_directories(dir);
    Split s{dir + "/app", dir + "/app.debug", dir + "/app.stripped"};
    fs::copy_file(buildFixture(tc(), "maps"), s.plain, fs::copy_options::overwrite_existing);
    auto r = runCommand({"objcopy", "--only-keep-debug", s.plain, s.debug});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    r = runCommand({"strip", "-o", s.stripped, s.plain});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return s;
  }
  // Expects openWithDebugFile to refuse with kind and every word in one line.
  static void expectRefused(const std::string& exe, const std::string& dbg, ErrorKind kind,
                            std::initializer_list<const char*> words) {
    try {
      Binary::openWithDebugFile(exe, dbg);
      ADD_FAILURE() << dbg << " accepted for " << exe;
    } catch (const Error& e) {
      std::string m = e.what();
      EXPECT_EQ(e.kind(), kind) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
      for (const char* w : words) EXPECT_NE(m.find(w), std::string::npos) << w << " in: " << m;
    }
  }
};

TEST_P(DebugFileTest, ObjcopyOnlyKeepDebugGivesTheStrippedBinaryItsNamesAndTypes) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  Split s = split();
  auto alone = Binary::open(s.stripped);
  ASSERT_FALSE(alone->hasSymbols());
  ASSERT_EQ(alone->types()->source(), "type descriptors");
  auto b = Binary::openWithDebugFile(s.stripped, s.debug);
  EXPECT_EQ(b->path(), s.stripped);
  EXPECT_EQ(b->debugFile(), s.debug);
  EXPECT_EQ(b->missingDebugInfo(), "");
  ASSERT_NE(b->types(), nullptr);
  EXPECT_EQ(b->types()->source(), "DWARF");
  auto g = b->types()->findGlobal("main.MStrInt");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->type->name, "map[string]int");
  EXPECT_TRUE(b->hasSymbols());
  ASSERT_TRUE(b->symbol("main.main").has_value());
  EXPECT_EQ(b->symbol("main.main")->addr, Binary::open(s.plain)->symbol("main.main")->addr);
  // The executable's own facts stay its own.
  ASSERT_TRUE(b->buildInfo().has_value());
  EXPECT_EQ(b->buildInfo()->goVersion, alone->buildInfo()->goVersion);
  EXPECT_EQ(b->goBuildId(), alone->goBuildId());
  EXPECT_NE(b->pclntab(), nullptr);
  // An unstripped build of the very code serves as well.
  auto p = Binary::openWithDebugFile(s.stripped, s.plain);
  EXPECT_EQ(p->types()->source(), "DWARF");
}

TEST_P(DebugFileTest, ADebugFileThatDoesNotBelongIsRefusedSayingWhatDiffers) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  Split s = split();
  // Another program.
  expectRefused(s.stripped, buildFixture(tc(), "lists"), ErrorKind::Mismatch,
                {"does not match", ".text is at"});
  // The same source built with -s -w: its modinfo records the flags, so the
  // sections after the string move.
  expectRefused(buildFixture(tc(), "maps", BuildFlags{.stripped = true}), s.plain,
                ErrorKind::Mismatch, {"does not match", " is at 0x", "objcopy --only-keep-debug"});
  // A debug file without DWARF.
  expectRefused(s.stripped, s.stripped, ErrorKind::MissingDebugInfo, {"has no DWARF"});
  // Same layout, one byte of code changed (synthetic: a copy of the real
  // file with one .text byte flipped).
  auto plain = Binary::open(s.plain);
  const Section* text = plain->section(".text");
  ASSERT_NE(text, nullptr);
  std::string changed = s.plain + ".changed";
  copyPatched(s.plain, changed, text->offset + 100,
              [](char& c) { c = static_cast<char>(c ^ 0xff); });
  expectRefused(s.stripped, changed, ErrorKind::Mismatch,
                {"differs at", fmt::format("{:#x}", text->addr + 100).c_str()});
  // A debug-only file (no code to compare) of another build ID.
  auto dbg = Binary::open(s.debug);
  const Section* note = dbg->section(".note.go.buildid");
  ASSERT_NE(note, nullptr);
  std::string other = s.debug + ".other";
  copyPatched(s.debug, other, note->offset + note->size - 2,
              [](char& c) { c = c == 'Z' ? 'Y' : 'Z'; });
  expectRefused(s.stripped, other, ErrorKind::Mismatch, {"no code to compare", "build ID"});
}

INSTANTIATE_TEST_SUITE_P(Toolchains, DebugFileTest, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
