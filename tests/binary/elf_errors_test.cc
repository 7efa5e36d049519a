// Binary::open on files that are not Go executables: every failure is one
// clean gms::Error naming the file, never a crash (run under ASan/UBSan too).
#include <elf.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "binary/binary.h"
#include "common/error.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

std::string writeFile(const std::string& name, const std::vector<uint8_t>& bytes) {
  std::string path = tempDir() + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path;
}

std::vector<uint8_t> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// A minimal ELF64 header; the caller breaks one thing.
std::vector<uint8_t> elfHeader(uint16_t type = ET_EXEC, uint16_t machine = EM_X86_64) {
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = type;
  eh.e_machine = machine;
  eh.e_version = EV_CURRENT;
  eh.e_ehsize = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_shentsize = sizeof(Elf64_Shdr);
  std::vector<uint8_t> b(sizeof eh);
  std::memcpy(b.data(), &eh, sizeof eh);
  return b;
}

// Expects open() to throw an Error of `kind` that names the file.
void expectOpenFails(const std::string& path, ErrorKind kind, const std::string& words) {
  try {
    Binary::open(path);
    ADD_FAILURE() << path << " opened";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.kind(), kind) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(words), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(ElfErrors, MissingFile) {
  expectOpenFails(tempDir() + "/does-not-exist", ErrorKind::Os, "No such file");
}

TEST(ElfErrors, Directory) {
  expectOpenFails(tempDir(), ErrorKind::Unsupported, "not a regular file");
}

TEST(ElfErrors, EmptyAndGarbage) {
  expectOpenFails(writeFile("empty", {}), ErrorKind::Unsupported, "not an ELF file");
  std::mt19937 rng(7);
  std::vector<uint8_t> junk(4096);
  for (auto& b : junk) b = uint8_t(rng());
  expectOpenFails(writeFile("junk", junk), ErrorKind::Unsupported, "not an ELF file");
  expectOpenFails(writeFile("text", {'h', 'e', 'l', 'l', 'o', '\n'}), ErrorKind::Unsupported,
                  "not an ELF file");
}

TEST(ElfErrors, WrongClassMachineOrType) {
  auto h = elfHeader();
  h[EI_CLASS] = ELFCLASS32;
  expectOpenFails(writeFile("elf32", h), ErrorKind::Unsupported, "32-bit");
  expectOpenFails(writeFile("arm64", elfHeader(ET_EXEC, EM_AARCH64)), ErrorKind::Unsupported,
                  "only x86-64");
  expectOpenFails(writeFile("core", elfHeader(ET_CORE)), ErrorKind::Unsupported, "core dump");
  expectOpenFails(writeFile("reloc", elfHeader(ET_REL)), ErrorKind::Unsupported,
                  "not an executable");
  h = elfHeader();
  h.resize(20);  // cut inside the header
  expectOpenFails(writeFile("short", h), ErrorKind::Corrupt, "malformed ELF");
}

TEST(ElfErrors, HeadersPointOutsideTheFile) {
  auto h = elfHeader();
  Elf64_Ehdr eh;
  std::memcpy(&eh, h.data(), sizeof eh);
  eh.e_phoff = 1 << 20;
  eh.e_phnum = 3;
  std::memcpy(h.data(), &eh, sizeof eh);
  expectOpenFails(writeFile("phoff", h), ErrorKind::Corrupt, "malformed ELF");

  h = elfHeader();
  std::memcpy(&eh, h.data(), sizeof eh);
  eh.e_shoff = 0xffffffffffffff00ull;
  eh.e_shnum = 4;
  std::memcpy(h.data(), &eh, sizeof eh);
  expectOpenFails(writeFile("shoff", h), ErrorKind::Corrupt, "malformed ELF");
}

TEST(ElfErrors, MinimalValidElfIsNotGo) {
  auto b = Binary::open(writeFile("minimal", elfHeader()));
  EXPECT_FALSE(b->buildInfo().has_value());
  EXPECT_EQ(b->types(), nullptr);
  EXPECT_NE(b->missingDebugInfo().find("no DWARF"), std::string::npos);
  EXPECT_FALSE(b->hasSymbols());
  EXPECT_EQ(b->goBuildId(), "");
  EXPECT_EQ(b->gnuBuildId(), "");
  EXPECT_THROW(b->fileMemory().readU8(0x400000), Fault);
}

// A system executable: ELF, maybe without Go build info or DWARF.
TEST(ElfErrors, NonGoExecutable) {
  const char* candidates[] = {"/bin/true", "/usr/bin/true", "/bin/ls"};
  for (const char* p : candidates) {
    if (!std::filesystem::exists(p)) continue;
    auto b = Binary::open(p);
    EXPECT_FALSE(b->buildInfo().has_value()) << p;
    EXPECT_FALSE(b->segments().empty());
    return;
  }
  GTEST_SKIP() << "no system executable found";
}

// Truncations and byte flips of a real Go binary never crash; each either
// opens or throws gms::Error.
TEST(ElfErrors, DamagedGoBinary) {
  const Toolchain& tc = toolchain("go1.26");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto bytes = readFile(buildFixture(tc, "binary_types"));
  ASSERT_GT(bytes.size(), 100000u);
  int n = 0;
  for (size_t cut : {size_t(64), size_t(200), size_t(4096), bytes.size() / 2, bytes.size() - 100}) {
    std::vector<uint8_t> b(bytes.begin(), bytes.begin() + cut);
    std::string path = writeFile("cut" + std::to_string(n++), b);
    try {
      auto bin = Binary::open(path);
      if (bin->types()) bin->types()->findGlobal("main.mapStrInt");
    } catch (const Error&) {
    }
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 20; i++) {
    std::vector<uint8_t> b = bytes;
    for (int k = 0; k < 8; k++) b[rng() % 4096] ^= uint8_t(1 + rng() % 255);  // headers
    std::string path = writeFile("flip" + std::to_string(i), b);
    try {
      auto bin = Binary::open(path);
      if (bin->types()) bin->types()->findGlobal("main.mapStrInt");
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace gms::test
