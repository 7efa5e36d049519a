#include "binary/pclntab.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"

namespace gms {

namespace {

constexpr uint32_t kMagic118 = 0xfffffff0;  // Go 1.18, 1.19
constexpr uint32_t kMagic120 = 0xfffffff1;  // Go 1.20 and later

// _func field offsets (runtime2.go): entryOff, nameOff, args, deferreturn,
// pcsp, pcfile, pcln, npcdata, cuOffset, [startLine (1.20+)], funcID, flag, pad, nfuncdata.
constexpr size_t kFuncEntryOff = 0, kFuncNameOff = 4, kFuncPcsp = 16, kFuncPcfile = 20,
                 kFuncPcln = 24, kFuncNpcdata = 28, kFuncCuOffset = 32;
// internal/abi (runtime/symtab.go before 1.21): the same in 1.18..1.26.
constexpr uint32_t kPcdataInlTreeIndex = 2, kFuncdataInlTree = 3;
constexpr uint32_t kPcdataStackMapIndex = 1, kFuncdataArgsPointerMaps = 0,
                   kFuncdataLocalsPointerMaps = 1, kFuncdataStackObjects = 2;
constexpr uint64_t kMaxStackObjects = 1 << 16;
constexpr size_t kFuncArgs = 8;                    // _func.args: in/out argument bytes
constexpr int32_t kArgsSizeUnknown = -0x80000000;  // abi.ArgsSizeUnknown
constexpr int32_t kMaxStackMapBits = 1 << 20;      // 8 MiB of frame words: corrupt beyond
// inlinedCall: Go 1.20+ {funcID u8, _ [3]u8, nameOff i32, parentPc i32,
// startLine i32}; Go 1.18/1.19 {parent i16, funcID u8, _ u8, file i32,
// line i32, func_ i32, parentPc i32}. nameOff/func_ index funcnametab.
constexpr size_t kInl120Size = 16, kInl120Name = 4, kInl120ParentPc = 8;
constexpr size_t kInl118Size = 20, kInl118Name = 12, kInl118ParentPc = 16;
constexpr int kMaxInlineDepth = 64;

bool addOk(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }

}  // namespace

std::optional<uint32_t> Pclntab::u32(size_t off) const {
  if (off > bytes_.size() || bytes_.size() - off < 4) return std::nullopt;
  uint32_t v;
  std::memcpy(&v, bytes_.data() + off, 4);
  return v;
}

std::optional<uint64_t> Pclntab::u64(size_t off) const {
  if (off > bytes_.size() || bytes_.size() - off < 8) return std::nullopt;
  uint64_t v;
  std::memcpy(&v, bytes_.data() + off, 8);
  return v;
}

std::optional<std::string> Pclntab::cstring(size_t off) const {
  if (off >= bytes_.size()) return std::nullopt;
  const void* nul = std::memchr(bytes_.data() + off, 0, bytes_.size() - off);
  if (!nul) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(bytes_.data() + off),
                     static_cast<const uint8_t*>(nul) - (bytes_.data() + off));
}

Pclntab Pclntab::parse(std::vector<uint8_t> bytes, uint64_t textStart) {
  Pclntab t;
  t.bytes_ = std::move(bytes);
  auto magic = t.u32(0);
  if (!magic)
    fail(ErrorKind::Corrupt, "pclntab: {} bytes is too short for a header", t.bytes_.size());
  t.magic_ = *magic;
  if (t.magic_ != kMagic118 && t.magic_ != kMagic120)
    fail(ErrorKind::Unsupported, "pclntab: magic {:#x} (only Go 1.18+ tables are read)", t.magic_);
  if (t.bytes_.size() < 8 + 8 * 8 || t.bytes_[4] != 0 || t.bytes_[5] != 0 || t.bytes_[7] != 8)
    fail(ErrorKind::Corrupt, "pclntab: bad header (pad or pointer size)");
  uint64_t nfunc = *t.u64(8);
  uint64_t hdrText = *t.u64(24);
  t.funcnameOff_ = *t.u64(32);
  t.cuOff_ = *t.u64(40);
  t.filetabOff_ = *t.u64(48);
  t.pctabOff_ = *t.u64(56);
  t.pclnOff_ = *t.u64(64);
  uint64_t size = t.bytes_.size();
  for (uint64_t off : {t.funcnameOff_, t.cuOff_, t.filetabOff_, t.pctabOff_, t.pclnOff_})
    if (off > size)
      fail(ErrorKind::Corrupt, "pclntab: table offset {:#x} beyond its {} bytes", off, size);
  // functab: nfunc+1 pairs of uint32.
  if (nfunc >= size / 8 || (nfunc + 1) * 8 > size - t.pclnOff_)
    fail(ErrorKind::Corrupt, "pclntab: {} functions do not fit", nfunc);
  t.nfunc_ = size_t(nfunc);
  t.textStart_ = hdrText ? hdrText : textStart;
  t.funcHeaderSize_ = t.magic_ == kMagic118 ? 40 : 44;
  return t;
}

std::optional<Pclntab::Found> Pclntab::at(size_t i) const {
  if (i >= nfunc_) return std::nullopt;
  size_t base = size_t(pclnOff_) + i * 8;
  auto entry = u32(base), funcOff = u32(base + 4), next = u32(base + 8);
  if (!entry || !funcOff || !next || *next < *entry) return std::nullopt;
  uint64_t fo;
  if (!addOk(pclnOff_, *funcOff, fo) || fo > bytes_.size() || bytes_.size() - fo < funcHeaderSize_)
    return std::nullopt;
  return Found{textStart_ + *entry, textStart_ + *next, size_t(fo)};
}

std::optional<Pclntab::Found> Pclntab::find(uint64_t pc) const {
  if (nfunc_ == 0 || pc < textStart_) return std::nullopt;
  uint64_t off = pc - textStart_;
  // Last function whose entry is <= pc (entries are sorted; a corrupt table
  // just gives a wrong answer, never an out-of-bounds read).
  size_t lo = 0, hi = nfunc_;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    auto e = u32(size_t(pclnOff_) + mid * 8);
    if (!e) return std::nullopt;
    if (*e <= off)
      lo = mid;
    else
      hi = mid;
  }
  auto f = at(lo);
  if (!f || pc < f->entry || pc >= f->end) return std::nullopt;
  // The _func records its own entry: a mismatch means a corrupt table.
  auto own = u32(f->funcOff + kFuncEntryOff);
  if (!own || textStart_ + *own != f->entry) return std::nullopt;
  return f;
}

std::optional<std::string> Pclntab::nameAt(int64_t nameOff) const {
  uint64_t off;
  if (nameOff < 0 || !addOk(funcnameOff_, uint64_t(nameOff), off)) return std::nullopt;
  return cstring(size_t(off));
}

std::optional<PcFunc> Pclntab::funcOf(const Found& f) const {
  auto nameOff = u32(f.funcOff + kFuncNameOff);
  if (!nameOff) return std::nullopt;
  auto name = nameAt(*nameOff);
  if (!name) return std::nullopt;
  return PcFunc{*name, f.entry, f.end};
}

std::optional<PcFunc> Pclntab::funcAt(size_t i) const {
  auto f = at(i);
  if (!f) return std::nullopt;
  return funcOf(*f);
}

std::optional<PcFunc> Pclntab::funcNamed(std::string_view name) const {
  for (size_t i = 0; i < nfunc_; i++) {
    auto f = funcAt(i);
    if (f && f->name == name) return f;
  }
  return std::nullopt;
}

std::optional<PcFunc> Pclntab::funcFor(uint64_t pc) const {
  auto f = find(pc);
  if (!f) return std::nullopt;
  return funcOf(*f);
}

// runtime.pcvalue + step + readvarint: values start at -1 and change by a
// zig-zag varint delta; each run lasts a varint pc delta (times PCQuantum = 1
// on amd64); a zero value delta after the first entry ends the table.
std::optional<int32_t> Pclntab::pcvalue(const Found& f, uint32_t tableOff, uint64_t pc) const {
  if (tableOff == 0) return std::nullopt;
  uint64_t p;
  if (!addOk(pctabOff_, tableOff, p)) return std::nullopt;
  auto varint = [&](uint32_t& v) -> bool {
    v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (p >= bytes_.size()) return false;
      uint8_t b = bytes_[size_t(p++)];
      v |= uint32_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  };
  uint64_t cur = f.entry;
  int32_t val = -1;
  // A table has at most one run per byte of the function (plus slack).
  for (uint64_t steps = 0; steps <= f.end - f.entry + 1; steps++) {
    uint32_t uv, pcd;
    if (p >= bytes_.size()) return std::nullopt;
    if (bytes_[size_t(p)] == 0 && cur != f.entry) return std::nullopt;  // end of table
    if (!varint(uv)) return std::nullopt;
    // Wrapping int32 addition, as Go's own `val += vdelta` (a corrupt table
    // must not be undefined behaviour here).
    val = int32_t(uint32_t(val) + (-(uv & 1) ^ (uv >> 1)));
    if (!varint(pcd)) return std::nullopt;
    cur += pcd;
    if (pc < cur) return val;
  }
  return std::nullopt;
}

std::optional<PcLine> Pclntab::lineAt(const Found& f, uint64_t pc) const {
  auto fn = funcOf(f);
  if (!fn) return std::nullopt;
  auto pos = position(f, pc);
  if (!pos) return std::nullopt;
  pos->function = std::move(fn->name);
  return pos;
}

std::optional<PcLine> Pclntab::lineFor(uint64_t pc) const {
  auto f = find(pc);
  if (!f) return std::nullopt;
  return lineAt(*f, pc);
}

void Pclntab::setFuncData(std::vector<uint8_t> bytes) { funcdata_ = std::move(bytes); }

std::optional<int32_t> Pclntab::pcdata(const Found& f, uint32_t table, uint64_t pc) const {
  auto n = u32(f.funcOff + kFuncNpcdata);
  if (!n || table >= *n) return std::nullopt;
  auto off = u32(f.funcOff + funcHeaderSize_ + size_t(table) * 4);
  if (!off) return std::nullopt;
  return pcvalue(f, *off, pc);
}

std::optional<size_t> Pclntab::funcdataOff(const Found& f, uint32_t index) const {
  // nfuncdata is the last byte of the _func header; the funcdata offsets
  // (uint32, relative to go:func.*, ~0 for none) follow pcdata[npcdata].
  size_t nAt = f.funcOff + funcHeaderSize_ - 1;
  auto npcdata = u32(f.funcOff + kFuncNpcdata);
  if (nAt >= bytes_.size() || !npcdata || index >= bytes_[nAt] || *npcdata > (1u << 16))
    return std::nullopt;
  auto off = u32(f.funcOff + funcHeaderSize_ + size_t(*npcdata) * 4 + size_t(index) * 4);
  if (!off || *off == ~0u || *off >= funcdata_.size()) return std::nullopt;
  return size_t(*off);
}

std::optional<std::vector<bool>> Pclntab::stackmapData(size_t off, int32_t index) const {
  if (off + 8 > funcdata_.size()) return std::nullopt;
  int32_t n, nbit;
  std::memcpy(&n, funcdata_.data() + off, 4);
  std::memcpy(&nbit, funcdata_.data() + off + 4, 4);
  if (n <= 0 || nbit < 0 || nbit > kMaxStackMapBits || index < 0 || index >= n) return std::nullopt;
  const size_t bytes = (size_t(nbit) + 7) / 8;
  const size_t at = off + 8 + size_t(index) * bytes;
  if (at + bytes > funcdata_.size() || at < off) return std::nullopt;
  std::vector<bool> out(static_cast<size_t>(nbit));
  for (int32_t i = 0; i < nbit; i++)
    out[size_t(i)] = (funcdata_[at + size_t(i) / 8] >> (i % 8)) & 1;
  return out;
}

std::optional<StackPointerMaps> Pclntab::pointerMaps(uint64_t pc) const {
  if (funcdata_.empty()) return std::nullopt;
  auto f = find(pc);
  if (!f) return std::nullopt;
  int32_t index = -1;
  if (pc != f->entry) {
    // No table (a function without safe points of its own) reads as -1, as
    // runtime.pcdatavalue answers.
    auto v = pcdata(*f, kPcdataStackMapIndex, pc - 1);
    index = v ? *v : -1;
  }
  if (index == -1) index = 0;  // the prologue: the runtime assumes the entry map
  StackPointerMaps m;
  if (auto off = funcdataOff(*f, kFuncdataLocalsPointerMaps)) {
    auto bits = stackmapData(*off, index);
    if (!bits) return std::nullopt;
    m.locals = std::move(*bits);
  }
  auto args = u32(f->funcOff + kFuncArgs);
  if (!args) return std::nullopt;
  if (int32_t(*args) > 0 && int32_t(*args) != kArgsSizeUnknown) {
    auto off = funcdataOff(*f, kFuncdataArgsPointerMaps);
    if (!off) return std::nullopt;
    auto bits = stackmapData(*off, index);
    if (!bits) return std::nullopt;
    m.args = std::move(*bits);
  }
  // {n uintptr; [n]{off, size, ptrBytes int32; gcdataoff uint32}}; go1.19
  // stores -ptrdata for a GC program: its size is taken whole.
  if (auto off = funcdataOff(*f, kFuncdataStackObjects); off && *off + 8 <= funcdata_.size()) {
    uint64_t n;
    std::memcpy(&n, funcdata_.data() + *off, 8);
    if (n > kMaxStackObjects || *off + 8 + n * 16 > funcdata_.size()) return std::nullopt;
    for (uint64_t i = 0; i < n; i++) {
      int32_t r[3];
      std::memcpy(r, funcdata_.data() + *off + 8 + i * 16, sizeof r);
      if (r[1] <= 0) continue;
      uint32_t ptrBytes = r[2] < 0 ? uint32_t(r[1]) : std::min(uint32_t(r[2]), uint32_t(r[1]));
      m.objects.push_back({r[0], uint32_t(r[1]), ptrBytes});
    }
  }
  return m;
}

std::optional<PcLine> Pclntab::position(const Found& f, uint64_t pc) const {
  auto pcfile = u32(f.funcOff + kFuncPcfile), pcln = u32(f.funcOff + kFuncPcln),
       cu = u32(f.funcOff + kFuncCuOffset);
  if (!pcfile || !pcln || !cu) return std::nullopt;
  auto fileno = pcvalue(f, *pcfile, pc);
  auto line = pcvalue(f, *pcln, pc);
  if (!fileno || !line || *fileno < 0) return std::nullopt;
  // cutab[cuOffset + fileno] -> offset in filetab.
  uint64_t idx = uint64_t(*cu) + uint64_t(*fileno), cutabPos;
  if (idx > (1ull << 40) || !addOk(cuOff_, idx * 4, cutabPos)) return std::nullopt;
  auto fileOff = u32(size_t(cutabPos));
  if (!fileOff || *fileOff == ~0u) return std::nullopt;
  uint64_t fpos;
  if (!addOk(filetabOff_, *fileOff, fpos)) return std::nullopt;
  auto file = cstring(size_t(fpos));
  if (!file) return std::nullopt;
  return PcLine{"", *file, *line};
}

std::vector<PcLine> Pclntab::framesFor(uint64_t pc) const {
  std::vector<PcLine> out;
  auto f = find(pc);
  if (!f) return out;
  auto outer = lineAt(*f, pc);
  if (!outer) return out;
  std::optional<size_t> tree = funcdataOff(*f, kFuncdataInlTree);
  if (!tree) {
    out.push_back(*outer);
    return out;
  }
  bool go120 = magic_ == kMagic120;
  size_t esize = go120 ? kInl120Size : kInl118Size;
  size_t nameField = go120 ? kInl120Name : kInl118Name;
  size_t parentAt = go120 ? kInl120ParentPc : kInl118ParentPc;
  auto i32 = [&](size_t off) -> std::optional<int32_t> {
    if (off > funcdata_.size() || funcdata_.size() - off < 4) return std::nullopt;
    int32_t v;
    std::memcpy(&v, funcdata_.data() + off, 4);
    return v;
  };
  uint64_t cur = pc;
  for (int depth = 0; depth < kMaxInlineDepth; depth++) {
    auto pos = position(*f, cur);
    auto ix = pcdata(*f, kPcdataInlTreeIndex, cur);
    if (!pos) break;
    if (!ix || *ix < 0) {  // the physical function
      pos->function = outer->function;
      out.push_back(*pos);
      return out;
    }
    size_t e = *tree + size_t(*ix) * esize;
    auto nameOff = i32(e + nameField), parentPc = i32(e + parentAt);
    if (!nameOff || !parentPc || *parentPc < 0) break;
    auto name = nameAt(*nameOff);
    if (!name) break;
    pos->function = *name;
    out.push_back(*pos);
    uint64_t next = f->entry + uint64_t(*parentPc);
    if (next >= f->end) break;
    cur = next;
  }
  // A corrupt tree: the physical frame alone, as without one.
  out.assign(1, *outer);
  return out;
}

std::optional<int32_t> Pclntab::spDelta(uint64_t pc) const {
  auto f = find(pc);
  if (!f) return std::nullopt;
  auto pcsp = u32(f->funcOff + kFuncPcsp);
  if (!pcsp) return std::nullopt;
  return pcvalue(*f, *pcsp, pc);
}

}  // namespace gms
