#include "goruntime/pointer_mask.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "goruntime/layout.h"
#include "goruntime/runtime_facts.h"

namespace gms {

namespace {

// Go 1.19, amd64 (runtime/malloc.go): arenaBaseOffset, heapArenaBytes,
// arenaL2Bits; heapArenaBitmapBytes = heapArenaBytes / 32.
constexpr uint64_t kArenaBaseOffset = 0xffff800000000000;
constexpr uint64_t kArenaShift = 26;
constexpr uint64_t kArenaL2Entries = uint64_t(1) << 22;
constexpr uint64_t kArenaBitmapBytes = (uint64_t(1) << kArenaShift) / 32;
// internal/abi.Type: Size_ 0, PtrBytes 8, TFlag 20, Kind_ 23, GCData 32.
constexpr uint64_t kTypeHeader = 40;
constexpr uint8_t kTFlagGCMaskOnDemand = 1 << 4;  // Go >= 1.24
constexpr uint8_t kKindGCProg = 1 << 6;           // Go 1.22-1.23
constexpr uint64_t kMaxMaskBytes = uint64_t(1) << 24;
// runtime/mgcmark_greenteagc.go: sizeof(spanInlineMarkBits): scans [63]uint8,
// owned uint8, marks [63]uint8, class uint8.
constexpr uint64_t kInlineMarkBits = 128;
constexpr uint64_t kMinSizeForMallocHeader = 512;

void setBit(std::vector<uint64_t>& out, uint64_t k) { out[k / 64] |= uint64_t(1) << (k % 64); }

// ORs `count` bits of src (bit i: src[i / 8] >> i % 8; srcBytes of them)
// from bit `from` into out from bit `at`, up to 56 at a time.
inline void orBits(std::vector<uint64_t>& out, uint64_t at, const uint8_t* src, uint64_t srcBytes,
                   uint64_t from, uint64_t count) {
  while (count) {
    const uint64_t byte = from / 8;
    uint64_t v = 0;
    if (srcBytes - byte >= 8)
      std::memcpy(&v, src + byte, 8);  // one load, not a call
    else
      for (uint64_t i = 0; i < srcBytes - byte; i++) v |= uint64_t(src[byte + i]) << (8 * i);
    v >>= from % 8;
    const uint64_t take = std::min<uint64_t>(count, 56);
    v &= (uint64_t(1) << take) - 1;
    const uint64_t sh = at % 64;
    out[at / 64] |= v << sh;
    if (sh + take > 64) out[at / 64 + 1] |= v >> (64 - sh);
    at += take;
    from += take;
    count -= take;
  }
}

}  // namespace

std::optional<StaticPointerMask> StaticPointerMask::read(const Program& p) {
  try {
    auto md = p.moduledata();
    if (!md) return std::nullopt;
    const int minor = p.build().minor;
    const Memory& m = p.mem();
    auto field = [&](const char* name) {
      return m.readPtr(*md + runtimeConstant("runtime.moduledata", name, minor));
    };
    StaticPointerMask s;
    s.data_ = field("data");
    s.edata_ = field("edata");
    s.bss_ = field("bss");
    s.ebss_ = field("ebss");
    if (s.edata_ < s.data_ || s.ebss_ < s.bss_ || s.edata_ - s.data_ > (uint64_t(1) << 32) ||
        s.ebss_ - s.bss_ > (uint64_t(1) << 32))
      return std::nullopt;
    // bitvector{n int32; bytedata *uint8}: n bits, one a word from data/bss.
    auto mask = [&](const char* name, uint64_t bytes, std::vector<uint8_t>& out) {
      const uint64_t bv = *md + runtimeConstant("runtime.moduledata", name, minor);
      const uint64_t n = m.readT<uint32_t>(bv + runtimeConstant("runtime.bitvector", "n", minor));
      const uint64_t data = m.readPtr(bv + runtimeConstant("runtime.bitvector", "bytedata", minor));
      if (n < bytes / 8 || n > bytes / 8 + 64 || (n && !data)) return false;
      out.resize((n + 7) / 8);
      if (!out.empty()) m.read(data, out.data(), out.size());
      return true;
    };
    if (!mask("gcdatamask", s.edata_ - s.data_, s.dataMask_) ||
        !mask("gcbssmask", s.ebss_ - s.bss_, s.bssMask_))
      return std::nullopt;
    return s;
  } catch (const Error&) {  // an unknown release (runtimeConstant), a Fault
    return std::nullopt;
  }
}

bool StaticPointerMask::pointer(uint64_t addr) const {
  const std::vector<uint8_t>* mask = nullptr;
  uint64_t w = 0;
  if (addr >= data_ && addr < edata_) {
    mask = &dataMask_;
    w = (addr - data_) / 8;
  } else if (addr >= bss_ && addr < ebss_) {
    mask = &bssMask_;
    w = (addr - bss_) / 8;
  } else {
    return false;
  }
  return w / 8 < mask->size() && (((*mask)[w / 8] >> (w % 8)) & 1);
}

PointerMasks::PointerMasks(const Program& p, const HeapIndex& heap) : p_(p), heap_(heap) {
  minor_ = p.build().minor;
  if (minor_ >= 22) {
    scheme_ = Scheme::SpanBits;
    const auto& b = p.build();
    auto exp = b.settings.find("GOEXPERIMENT");
    const std::string e = exp == b.settings.end() ? "" : exp->second;
    const bool off = e.find("nogreenteagc") != std::string::npos;
    greenTea_ = (minor_ >= 26 && !off) ||
                (minor_ == 25 && !off && e.find("greenteagc") != std::string::npos);
  } else if (minor_ <= 19) {
    try {
      const Type* mh = p.runtimeType("runtime.mheap");
      const Field* arenas = mh ? optionalField(mh, "arenas") : nullptr;
      if (arenas) {
        arenaL2_ = p.mem().readPtr(heap.mheap() + arenas->offset);
        if (arenaL2_) scheme_ = Scheme::ArenaBitmap;
      }
    } catch (const Error&) {
      scheme_ = Scheme::None;  // a Fault too: then every word is scanned
    }
  }
}

const char* PointerMasks::scheme() const {
  switch (scheme_) {
    case Scheme::ArenaBitmap:
      return "arena bitmap";
    case Scheme::SpanBits:
      return "span heap bits and type masks";
    case Scheme::None:
      break;
  }
  return "";
}

bool PointerMasks::of(const HeapIndex::Slot& s, uint64_t descriptor, uint64_t headerBytes,
                      uint64_t n, std::vector<uint64_t>& out) const {
  out.assign((n + 63) / 64, 0);
  if (s.noscan) return scheme_ != Scheme::None;
  switch (scheme_) {
    case Scheme::None:
      return false;
    case Scheme::ArenaBitmap:
      return arena(s.base, n, out);
    case Scheme::SpanBits:
      if (s.typed) return descriptor && typed(descriptor, headerBytes / 8, n, out);
      return spanBits(s, n, out);
  }
  return false;
}

uint64_t PointerMasks::spanBitsAddress(const HeapIndex::Slot& s) const {
  if (scheme_ != Scheme::SpanBits || s.noscan || s.typed || !s.elemsize ||
      s.elemsize > kMinSizeForMallocHeader)
    return 0;
  uint64_t base = s.spanEnd - (s.spanEnd - s.spanStart) / 64;
  if (greenTea_ && s.elemsize >= 16) base -= kInlineMarkBits;
  return base + (s.base - s.spanStart) / 64;
}

uint64_t PointerMasks::heapArena(uint64_t idx) const {
  if (idx == lastArena_) return lastHeapArena_;
  auto [it, fresh] = arenas_.try_emplace(idx, 0);
  if (fresh) it->second = p_.mem().readPtr(arenaL2_ + idx * 8);
  lastArena_ = idx;
  lastHeapArena_ = it->second;
  return it->second;
}

uint64_t PointerMasks::bitsAddress(const HeapIndex::Slot& s) const {
  if (s.noscan) return 0;
  if (scheme_ == Scheme::SpanBits) return spanBitsAddress(s);
  if (scheme_ != Scheme::ArenaBitmap) return 0;
  const uint64_t idx = (s.base - kArenaBaseOffset) >> kArenaShift;
  if (idx >= kArenaL2Entries) return 0;
  try {
    const uint64_t ha = heapArena(idx);
    return ha ? ha + (s.base / 32) % kArenaBitmapBytes : 0;
  } catch (const Fault&) {
    return 0;
  }
}

// Go 1.19: bit (addr/8)&3 of bitmap byte (addr/32) % heapArenaBitmapBytes
// of the arena holding addr, its scan bit 4 above (runtime/mbitmap.go:
// heapBitsForAddr; scanobject stops at the first word not marked scan).
bool PointerMasks::arena(uint64_t addr, uint64_t n, std::vector<uint64_t>& out) const {
  const Memory& m = p_.mem();
  uint64_t k = 0;
  try {
    while (k < n) {
      const uint64_t a = addr + k * 8;
      const uint64_t idx = (a - kArenaBaseOffset) >> kArenaShift;
      if (idx >= kArenaL2Entries) return false;
      const uint64_t ha = heapArena(idx);
      if (!ha) return false;
      // The words of this object in this arena.
      const uint64_t arenaEnd = ((idx + 1) << kArenaShift) + kArenaBaseOffset;
      const uint64_t words = std::min(n - k, (arenaEnd - a) / 8);
      const uint64_t first = (a / 32) % kArenaBitmapBytes, shift = (a / 8) & 3;
      const uint64_t bytes = (shift + words + 3) / 4;
      const uint8_t* b = m.view(ha + first, bytes);
      if (!b) {
        buf_.resize(bytes);
        m.read(ha + first, buf_.data(), bytes);
        b = buf_.data();
      }
      // A word whose scan bit is clear is dead: no pointer from it on.
      for (uint64_t j = 0; j < words; j++) {
        const uint8_t byte = b[(shift + j) / 4], bit = (shift + j) % 4;
        if (!((byte >> (bit + 4)) & 1)) return true;
        if ((byte >> bit) & 1) setBit(out, k + j);
      }
      k += words;
    }
  } catch (const Fault&) {
    return false;
  }
  return true;
}

// An object that is an array of the type at desc, from word `from` (after
// its malloc header): word k is a pointer when its offset in its element is
// below PtrBytes and that word's bit of GCData is set.
bool PointerMasks::typed(uint64_t desc, uint64_t from, uint64_t n,
                         std::vector<uint64_t>& out) const {
  auto [it, fresh] = types_.try_emplace(desc);
  TypeMask& t = it->second;
  if (fresh) {
    try {
      uint8_t h[kTypeHeader];
      p_.mem().read(desc, h, sizeof h);
      uint64_t size = 0, ptrBytes = 0, gcdata = 0;
      std::memcpy(&size, h, 8);
      std::memcpy(&ptrBytes, h + 8, 8);
      std::memcpy(&gcdata, h + 32, 8);
      const uint8_t tflag = h[20], kind = h[23];
      bool ok = size && size % 8 == 0 && ptrBytes <= size && ptrBytes % 8 == 0 &&
                ptrBytes / 64 < kMaxMaskBytes;
      if (ok && minor_ <= 23 && (kind & kKindGCProg)) ok = false;
      if (ok && minor_ >= 24 && (tflag & kTFlagGCMaskOnDemand)) gcdata = p_.mem().readPtr(gcdata);
      if (ok && ptrBytes && !gcdata) ok = false;  // not built yet
      if (ok) {
        t.size = size / 8;
        t.ptrWords = ptrBytes / 8;
        t.bits.resize((t.ptrWords + 7) / 8);
        if (!t.bits.empty()) p_.mem().read(gcdata, t.bits.data(), t.bits.size());
        t.known = true;
      }
    } catch (const Error&) {
      t.known = false;  // a Fault too
    }
  }
  if (!t.known) return false;
  if (t.ptrWords)
    for (uint64_t k = from; k < n; k += t.size)
      orBits(out, k, t.bits.data(), t.bits.size(), 0, std::min(t.ptrWords, n - k));
  return true;
}

// One bit per word of the span, at its end (runtime/mbitmap.go:
// spanHeapBitsRange, heapBitsSmallForAddr).
bool PointerMasks::spanBits(const HeapIndex::Slot& s, uint64_t n,
                            std::vector<uint64_t>& out) const {
  const uint64_t first = spanBitsAddress(s);
  if (!first || s.base < s.spanStart) return false;
  const uint64_t w0 = (s.base - s.spanStart) / 8;
  n = std::min<uint64_t>(n, s.elemsize / 8);
  const uint64_t bytes = (w0 % 8 + n + 7) / 8;
  if (first + bytes > s.spanEnd) return false;
  try {
    const Memory& m = p_.mem();
    const uint8_t* b = m.view(first, bytes);
    if (!b) {
      buf_.resize(bytes);
      m.read(first, buf_.data(), bytes);
      b = buf_.data();
    }
    orBits(out, 0, b, bytes, w0 % 8, n);
  } catch (const Fault&) {
    return false;
  }
  return true;
}

}  // namespace gms
