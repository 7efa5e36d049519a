// Pclntab: Go's own PC → function / file / line / stack-delta table
// (.gopclntab), the table the Go runtime itself uses for tracebacks.
//
// Unlike DWARF it is present in stripped binaries (-ldflags=-s -w) and is
// exact for Go code: `pcsp` gives the SP delta at any instruction (so a frame
// can be unwound even before its frame pointer is set up) and `pcfile`/`pcln`
// give the innermost (possibly inlined) source position.
//
// Layout (runtime/symtab.go, runtime/runtime2.go `_func`, cmd/link/internal/ld/
// pcln.go) for Go 1.18/1.19 (magic 0xfffffff0) and Go 1.20+ (0xfffffff1, which
// adds `_func.startLine` and no longer stores textStart): a pcHeader with
// offsets of funcnametab, cutab, filetab, pctab and the function table;
// functab = nfunc+1 {entryOff, funcOff} pairs sorted by PC; each _func points
// at varint-delta pc-value tables in pctab. Every read is bounds-checked: the
// bytes come from a file that may be corrupt (and are fuzzed).
//
// PCs are link-time virtual addresses; for a PIE the caller subtracts the load
// bias first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gms {

struct PcFunc {
  std::string name;    // "main.insertOne", "runtime.mapassign_fast64"
  uint64_t entry = 0;  // first PC
  uint64_t end = 0;    // one past the last PC
};

struct PcLine {
  std::string function;  // the (outermost, physical) function containing pc
  std::string file;      // innermost source position (inlined code has its own file:line)
  int line = 0;
};

// Which words of a frame hold live pointers at a PC: the stack maps the
// compiler records for the GC (FUNCDATA_LocalsPointerMaps and
// FUNCDATA_ArgsPointerMaps, indexed by PCDATA_StackMapIndex; runtime/
// stkframe.go getStackMap). On amd64 a frame's fp is its CFA (the caller's
// SP), varp = fp - 8 (the return address) - 8 (the saved frame pointer,
// when the frame has locals), argp = fp.
struct StackPointerMaps {
  std::vector<bool> locals;  // word i at varp - 8 * locals.size() + 8 * i
  std::vector<bool> args;    // word i at argp + 8 * i (spilled register args too)
  // Address-taken locals (FUNCDATA_StackObjects; runtime/stack.go
  // stackObjectRecord): not in the bitmaps; the GC scans one when a pointer
  // to it is live. off < 0: from varp; off >= 0: from argp.
  struct Object {
    int32_t off = 0;
    uint32_t size = 0;
    uint32_t ptrBytes = 0;  // its first ptrBytes may hold pointers
  };
  std::vector<Object> objects;
};

class Pclntab {
 public:
  // `bytes`: the whole table; `textStart`: the address of the text the entry
  // offsets are relative to (runtime.text, the start of .text), used when the
  // header does not record it (Go >= 1.20 stores 0). Throws Error(Corrupt /
  // Unsupported) for a table that cannot be read.
  static Pclntab parse(std::vector<uint8_t> bytes, uint64_t textStart);

  // 0xfffffff0 (Go 1.18/1.19) or 0xfffffff1 (Go 1.20+).
  uint32_t magic() const { return magic_; }
  size_t funcCount() const { return nfunc_; }
  uint64_t textStart() const { return textStart_; }
  // The i-th function in PC order (i < funcCount()); nullopt if corrupt.
  std::optional<PcFunc> funcAt(size_t i) const;

  // The function containing pc, or nullopt (not Go code / corrupt entry).
  std::optional<PcFunc> funcFor(uint64_t pc) const;
  // The function with this name (as the runtime names it:
  // "runtime.hashGrow", "internal/runtime/maps.(*table).grow"), found by a
  // scan of the function table: what a stripped binary has in place of a
  // symbol table. nullopt when no function has it.
  std::optional<PcFunc> funcNamed(std::string_view name) const;
  // Function, file and line of pc; nullopt when pc is outside every function
  // or the tables for it are corrupt.
  std::optional<PcLine> lineFor(uint64_t pc) const;
  // The funcdata region: the bytes from the go:func.* symbol (the Go
  // runtime's moduledata.gofunc) to the end of its section; funcdata offsets
  // index it. With it, framesFor() expands inlined calls.
  void setFuncData(std::vector<uint8_t> bytes);
  bool hasFuncData() const { return !funcdata_.empty(); }
  // The frames at pc, innermost first: each call inlined at pc (FUNCDATA_InlTree
  // and PCDATA_InlTreeIndex, walked as runtime.inlineUnwinder does), then the
  // physical function, each with its own file:line. Without funcdata, or for
  // a corrupt tree, the one frame of lineFor(). Empty when pc is in no function.
  std::vector<PcLine> framesFor(uint64_t pc) const;
  // Bytes the function has pushed on the stack at pc (0 at its entry, before
  // the return address is popped); the caller's return address is at
  // SP + spDelta. nullopt when unknown.
  std::optional<int32_t> spDelta(uint64_t pc) const;
  // The pointer maps of a frame whose PC is pc (a return address for outer
  // frames: the map of the call before it, as the runtime backs up one byte;
  // the entry map at a function's entry). nullopt without funcdata, for a pc
  // in no function, or for maps that are missing or corrupt.
  std::optional<StackPointerMaps> pointerMaps(uint64_t pc) const;

 private:
  struct Found {
    uint64_t entry, end;
    size_t funcOff;  // offset of the _func in bytes_
  };
  std::optional<Found> find(uint64_t pc) const;
  std::optional<Found> at(size_t i) const;
  std::optional<int32_t> pcvalue(const Found& f, uint32_t tableOff, uint64_t pc) const;
  std::optional<int32_t> pcdata(const Found& f, uint32_t table, uint64_t pc) const;
  std::optional<size_t> funcdataOff(const Found& f, uint32_t index) const;  // into funcdata_
  // Bitmap `index` of the runtime.stackmap at funcdata_[off]: {n, nbit int32; bytes}.
  std::optional<std::vector<bool>> stackmapData(size_t off, int32_t index) const;
  std::optional<PcLine> position(const Found& f, uint64_t pc) const;
  std::optional<std::string> nameAt(int64_t nameOff) const;  // funcnametab[nameOff]
  std::optional<PcFunc> funcOf(const Found& f) const;
  std::optional<PcLine> lineAt(const Found& f,
                               uint64_t pc) const;  // lineFor, f found        // file:line at pc
  std::optional<uint32_t> u32(size_t off) const;
  std::optional<uint64_t> u64(size_t off) const;
  std::optional<std::string> cstring(size_t off) const;

  std::vector<uint8_t> bytes_;
  uint32_t magic_ = 0;
  uint64_t textStart_ = 0;
  size_t nfunc_ = 0;
  uint64_t funcnameOff_ = 0, cuOff_ = 0, filetabOff_ = 0, pctabOff_ = 0, pclnOff_ = 0;
  size_t funcHeaderSize_ = 0;  // fields of _func before pcdata[]
  std::vector<uint8_t> funcdata_;
};

}  // namespace gms
