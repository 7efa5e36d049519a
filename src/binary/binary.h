// Binary: what the executable file tells us about a Go program.
//
// Opens an ELF executable (never executes it), and exposes: its symbols, its
// segments (so a core's unsaved read-only pages can be read from the file),
// the Go version and build settings from .go.buildinfo, its build IDs (to
// refuse a core from another build), and a TypeProvider: DWARF when present,
// else the runtime's own type descriptors. A stripped binary (-ldflags=-s -w)
// still opens; missingDebugInfo() then says what is lost (variable names).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "binary/pclntab.h"
#include "binary/types.h"
#include "target/memory.h"

namespace gms {

struct Symbol {
  std::string name;
  uint64_t addr = 0;
  uint64_t size = 0;
};

struct Section {
  std::string name;
  uint64_t addr = 0;     // virtual address (0 for non-alloc sections)
  uint64_t offset = 0;   // file offset
  uint64_t size = 0;
  bool nobits = false;  // SHT_NOBITS: no bytes in the file (.bss, or a debug-only file's .text)
};

struct Segment {          // PT_LOAD of the executable
  uint64_t vaddr = 0, memsz = 0, offset = 0, filesz = 0;
  bool read = false, write = false, exec = false;
};

struct GoBuildInfo {
  std::string goVersion;          // "go1.19.8", "go1.26.8", possibly with " X:exp"
  int major = 0, minor = 0, patch = 0;  // 1, 26, 8
  std::string modinfo;            // path/mod/dep/build lines
  std::map<std::string, std::string> settings;  // "GOEXPERIMENT", "-ldflags", "CGO_ENABLED", ...
  std::string mainPath;           // "path" line of modinfo
  bool atLeast(int maj, int min) const { return major > maj || (major == maj && minor >= min); }
};

class Binary {
 public:
  // Throws Error (Os / Corrupt / Unsupported for non-ELF64-x86-64 files).
  static std::unique_ptr<Binary> open(const std::string& path);
  // The executable with DWARF and symbols from debugFile (objcopy
  // --only-keep-debug output, or an unstripped build of the very code):
  // refused with Error(Mismatch) naming what differs when its loaded sections,
  // .text and .gopclntab bytes (or, without code bytes, its Go build ID) are
  // not the executable's. An empty debugFile is open(path).
  static std::unique_ptr<Binary> openWithDebugFile(const std::string& path,
                                                   const std::string& debugFile);
  virtual ~Binary() = default;

  virtual const std::string& path() const = 0;
  virtual const std::vector<Section>& sections() const = 0;
  virtual const Section* section(std::string_view name) const = 0;
  virtual const std::vector<Segment>& segments() const = 0;
  // Symbol by exact name (from .symtab); nullopt if stripped or absent.
  virtual std::optional<Symbol> symbol(std::string_view name) const = 0;
  virtual bool hasSymbols() const = 0;
  // The link-time entry address of a Go function: its symbol, or without a
  // symbol table its pclntab entry (Pclntab::funcNamed); nullopt if neither.
  std::optional<uint64_t> functionEntry(std::string_view name) const;
  // Go toolchain info; nullopt if this is not a Go binary.
  virtual const std::optional<GoBuildInfo>& buildInfo() const = 0;
  // Contents of .note.go.buildid (the Go build ID string), "" if none.
  virtual const std::string& goBuildId() const = 0;
  // NT_GNU_BUILD_ID as hex, "" if none.
  virtual const std::string& gnuBuildId() const = 0;
  // Raw bytes of the file at a virtual address inside a PT_LOAD's file image;
  // Fault if outside. Used as the bottom layer under a core.
  virtual const Memory& fileMemory() const = 0;
  // The program's types: from DWARF when the binary has it (with globals),
  // else from the runtime's type descriptors (no globals: source() says
  // which); nullptr when neither can be read.
  virtual const TypeProvider* types() const = 0;
  // The types the runtime's own descriptors give, whether or not DWARF is
  // present (loaded on first use); nullptr when they cannot be read, and
  // descriptorError() says why in one line.
  virtual const TypeProvider* descriptorTypes() const { return nullptr; }
  virtual std::string descriptorError() const { return "no type descriptors"; }
  // runtime.firstmoduledata, from the symbol table or, stripped, found by
  // its reference to the pclntab; nullopt when neither finds it.
  virtual std::optional<uint64_t> moduledataAddress() const { return std::nullopt; }
  // Why there is no DWARF, e.g. "no .debug_info (built with -ldflags=-w?)"; "" if present.
  virtual std::string missingDebugInfo() const = 0;
  // Go's PC -> function/file/line/SP-delta table (.gopclntab), parsed on first
  // use; nullptr when absent or unreadable (present even in stripped binaries).
  virtual const Pclntab* pclntab() const { return nullptr; }
  // The separate file DWARF and symbols come from, "" when they are the
  // executable's own.
  virtual std::string debugFile() const { return ""; }
};

}  // namespace gms
