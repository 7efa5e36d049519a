// Binary::openWithDebugFile: a stripped executable with its DWARF and symbols
// taken from a separate file.
//
// The debug file is accepted only when it describes the very code of the
// executable: the same loaded sections at the same addresses and sizes, and
// the same bytes of .text and .gopclntab. A file made by `objcopy
// --only-keep-debug` holds no code bytes (its .text is SHT_NOBITS); it is
// accepted when, in addition, its Go build ID is the executable's (strip and
// objcopy keep .note.go.buildid). The build ID alone is not enough: -s -w
// changes it, and an unstripped build of the same source with other linker
// flags is laid out differently (the modinfo string in .rodata records the
// flags, which moves everything after it).
#include <algorithm>
#include <array>
#include <cstring>

#include "binary/binary.h"
#include "binary/types.h"
#include "common/error.h"

namespace gms {
namespace {

// The loaded sections whose placement every address of the debug file
// depends on.
constexpr std::array kLayout = {".text",      ".rodata",    ".typelink",   ".itablink",
                                ".gopclntab", ".go.module", ".noptrdata",  ".data",
                                ".bss",       ".noptrbss",  ".data.rel.ro"};

// The first offset where [addr, addr+size) differs between the two files'
// images, or nullopt when equal.
std::optional<uint64_t> firstDifference(const Memory& a, const Memory& b, uint64_t addr,
                                        uint64_t size) {
  constexpr uint64_t kChunk = 1 << 16;
  std::vector<uint8_t> x(kChunk), y(kChunk);
  for (uint64_t off = 0; off < size; off += kChunk) {
    uint64_t n = std::min(kChunk, size - off);
    a.read(addr + off, x.data(), n);
    b.read(addr + off, y.data(), n);
    if (std::memcmp(x.data(), y.data(), n) != 0) {
      uint64_t i = 0;
      while (i < n && x[i] == y[i]) i++;
      return off + i;
    }
  }
  return std::nullopt;
}

void checkMatches(const Binary& exe, const Binary& dbg) {
  const std::string& d = dbg.path();
  const std::string& e = exe.path();
  if (!dbg.types() || dbg.types()->source() != "DWARF")
    fail(ErrorKind::MissingDebugInfo, "debug file {} has no DWARF debug info", d);
  for (const char* name : kLayout) {
    const Section* a = exe.section(name);
    const Section* b = dbg.section(name);
    if (!a && !b) continue;
    if (!a || !b)
      fail(ErrorKind::Mismatch,
           "debug file {} does not match {}: {} has a {} section, the other not", d, e, a ? e : d,
           name);
    if (a->addr != b->addr || a->size != b->size)
      fail(ErrorKind::Mismatch,
           "debug file {} does not match {}: {} is at {:#x}+{:#x} there, {:#x}+{:#x} here (not the "
           "same build; a -s -w build differs from a plain one: keep the debug info of the very "
           "build, e.g. objcopy --only-keep-debug)",
           d, e, name, b->addr, b->size, a->addr, a->size);
  }
  bool haveCode = false;
  for (const char* name : {".text", ".gopclntab"}) {
    const Section* a = exe.section(name);
    const Section* b = dbg.section(name);
    if (!a || !b || a->nobits) continue;
    if (b->nobits) continue;  // a debug-only file: checked by build ID below
    haveCode = true;
    std::optional<uint64_t> at;
    try {
      at = firstDifference(exe.fileMemory(), dbg.fileMemory(), a->addr, a->size);
    } catch (const Error& err) {
      fail(ErrorKind::Mismatch, "debug file {}: cannot compare {}: {}", d, name, err.what());
    }
    if (at)
      fail(ErrorKind::Mismatch,
           "debug file {} does not match {}: {} differs at {:#x} (not the same code)", d, e, name,
           a->addr + *at);
  }
  if (!haveCode) {
    if (dbg.goBuildId().empty() || dbg.goBuildId() != exe.goBuildId())
      fail(ErrorKind::Mismatch,
           "debug file {} does not match {}: it holds no code to compare and its Go build ID "
           "'{}' is not '{}'",
           d, e, dbg.goBuildId(), exe.goBuildId());
  }
}

class DebugFileBinary final : public Binary {
 public:
  DebugFileBinary(std::unique_ptr<Binary> exe, std::unique_ptr<Binary> dbg)
      : exe_(std::move(exe)), dbg_(std::move(dbg)) {}

  // The executable's own: what is loaded, its bytes and build facts.
  const std::string& path() const override { return exe_->path(); }
  const std::vector<Section>& sections() const override { return exe_->sections(); }
  const Section* section(std::string_view name) const override { return exe_->section(name); }
  const std::vector<Segment>& segments() const override { return exe_->segments(); }
  const std::optional<GoBuildInfo>& buildInfo() const override { return exe_->buildInfo(); }
  const std::string& goBuildId() const override { return exe_->goBuildId(); }
  const std::string& gnuBuildId() const override { return exe_->gnuBuildId(); }
  const Memory& fileMemory() const override { return exe_->fileMemory(); }
  const Pclntab* pclntab() const override { return exe_->pclntab(); }
  const TypeProvider* descriptorTypes() const override { return exe_->descriptorTypes(); }
  std::string descriptorError() const override { return exe_->descriptorError(); }
  // The debug file's: names and types.
  std::optional<Symbol> symbol(std::string_view name) const override { return dbg_->symbol(name); }
  bool hasSymbols() const override { return dbg_->hasSymbols(); }
  const TypeProvider* types() const override { return dbg_->types(); }
  std::string missingDebugInfo() const override { return ""; }
  std::optional<uint64_t> moduledataAddress() const override {
    if (auto s = dbg_->symbol("runtime.firstmoduledata")) return s->addr;
    return exe_->moduledataAddress();
  }
  std::string debugFile() const override { return dbg_->path(); }

 private:
  std::unique_ptr<Binary> exe_, dbg_;
};

}  // namespace

std::unique_ptr<Binary> Binary::openWithDebugFile(const std::string& exe,
                                                  const std::string& debugFile) {
  auto e = Binary::open(exe);
  if (debugFile.empty()) return e;
  auto d = Binary::open(debugFile);
  checkMatches(*e, *d);
  return std::make_unique<DebugFileBinary>(std::move(e), std::move(d));
}

}  // namespace gms
