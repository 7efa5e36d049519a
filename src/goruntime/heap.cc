#include "goruntime/heap.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>

#include "common/error.h"
#include "goruntime/layout.h"
#include "goruntime/runtime_globals.h"

namespace gms {

namespace {

constexpr uint64_t kPageSize = 8192;
constexpr uint64_t kMaxSpans = uint64_t(1) << 26;      // 512 GiB of single pages
constexpr uint64_t kMaxSpanPages = uint64_t(1) << 27;  // 1 TiB in one span
constexpr uint64_t kMaxSmallSpanPages = 16;
constexpr uint64_t kMaxPageTable = uint64_t(1) << 22;  // pages (32 GiB of address range, 48 MiB)
constexpr uint8_t kSpanInUse = 1;                      // mSpanInUse (runtime/mheap.go)
constexpr uint64_t kMinSizeForMallocHeader = 512;      // goarch.PtrSize * ptrBits
constexpr size_t kMaxProblems = 20;

uint64_t mheapAddress(const Program& p) {
  if (p.hasDwarf()) return p.global("runtime.mheap_").addr;
  if (auto s = p.binary().symbol("runtime.mheap_")) return s->addr + p.loadBias();
  return locateMheap(p, StaticData(p));
}

uint64_t readUint(const uint8_t* b, const Field& f) {
  uint64_t v = 0;
  uint64_t n = f.type && f.type->size && f.type->size <= 8 ? f.type->size : 8;
  std::memcpy(&v, b + f.offset, n);
  return v;
}

}  // namespace

HeapIndex::HeapIndex(const Program& p) : p_(p) {
  const Type* mh = p.runtimeType("runtime.mheap");
  const Type* ms = p.runtimeType("runtime.mspan");
  if (!mh || !ms)
    fail(ErrorKind::MissingDebugInfo, "no layout of runtime.mheap/runtime.mspan for go1.{}",
         p.build().minor);
  const Field& allspans = requireField(mh, "allspans");
  const Field& fStart = requireField(ms, "startAddr");
  const Field& fPages = requireField(ms, "npages");
  const Field& fFree = requireField(ms, "freeindex");
  const Field& fNelems = requireField(ms, "nelems");
  const Field& fAlloc = requireField(ms, "allocBits");
  const Field& fClass = requireField(ms, "spanclass");
  const Field& fState = requireField(ms, "state");
  const Field& fElem = requireField(ms, "elemsize");
  headers_ = p.build().atLeast(1, 22);
  const Field* fLarge = headers_ ? &requireField(ms, "largeType") : nullptr;
  const Field* fSpecials = optionalField(ms, "specials");  // only finalizer roots need it

  const Memory& mem = p.mem();
  uint64_t heap = mheap_ = mheapAddress(p);
  uint64_t hdr[3];
  mem.read(heap + allspans.offset, hdr, sizeof hdr);
  if (hdr[1] > hdr[2] || hdr[1] > kMaxSpans || (hdr[1] && !hdr[0]))
    fail(ErrorKind::Corrupt, "runtime.mheap_.allspans has implausible length {} (cap {})", hdr[1],
         hdr[2]);
  std::vector<uint64_t> ptrs(hdr[1]);
  if (!ptrs.empty()) mem.read(hdr[0], ptrs.data(), ptrs.size() * 8);

  auto problem = [&](std::string s) {
    if (problems_.size() < kMaxProblems) problems_.push_back(std::move(s));
  };
  std::vector<uint8_t> b(ms->size);
  for (uint64_t a : ptrs) {
    if (!a) continue;
    try {
      mem.read(a, b.data(), b.size());
    } catch (const Fault&) {
      problem(fmt::format("span {:#x}: unreadable", a));
      continue;
    }
    if (b[fState.offset] != kSpanInUse) continue;
    HeapSpan s;
    s.addr = a;
    s.start = readUint(b.data(), fStart);
    uint64_t pages = readUint(b.data(), fPages);
    s.elemsize = readUint(b.data(), fElem);
    s.nelems = readUint(b.data(), fNelems);
    s.freeindex = readUint(b.data(), fFree);
    s.allocBits = readUint(b.data(), fAlloc);
    s.spanclass = b[fClass.offset];
    if (fLarge) s.largeType = readUint(b.data(), *fLarge);
    if (fSpecials) s.specials = readUint(b.data(), *fSpecials);
    // A small-object span has at most kMaxSmallSpanPages pages of objects
    // of at least 8 bytes (runtime/sizeclasses.go: class_to_allocnpages
    // tops at 10); a large-object span holds one object.
    bool small = s.sizeclass() != 0;
    if (!pages || pages > kMaxSpanPages || s.start % kPageSize || s.elemsize < 8 ||
        s.nelems * s.elemsize > pages * kPageSize || s.freeindex > s.nelems ||
        (!small && s.nelems > 1) || (small && pages > kMaxSmallSpanPages)) {
      problem(
          fmt::format("span {:#x}: start {:#x}, {} pages, {} objects of {} B, freeindex {}: "
                      "not a span the runtime could make",
                      a, s.start, pages, s.nelems, s.elemsize, s.freeindex));
      continue;
    }
    s.end = s.start + pages * kPageSize;
    spans_.push_back(s);
  }
  std::sort(spans_.begin(), spans_.end(),
            [](const HeapSpan& x, const HeapSpan& y) { return x.start < y.start; });
  std::vector<HeapSpan> kept;
  kept.reserve(spans_.size());
  for (const HeapSpan& s : spans_) {
    if (!kept.empty() && s.start < kept.back().end) {
      problem(fmt::format("span {:#x} [{:#x}, {:#x}) overlaps span {:#x}: both left out", s.addr,
                          s.start, s.end, kept.back().addr));
      kept.pop_back();
      continue;
    }
    kept.push_back(s);
  }
  spans_ = std::move(kept);
  if (spans_.size() >= UINT32_MAX) fail(ErrorKind::Corrupt, "{} spans in use", spans_.size());
  spanBits_.reserve(spans_.size());
  uint64_t words = 0;
  for (const HeapSpan& s : spans_) {
    inUse_ += s.end - s.start;
    spanBits_.push_back(static_cast<uint32_t>(words));
    words += (s.nelems + 63) / 64;
    if (words >= UINT32_MAX) fail(ErrorKind::Corrupt, "{} heap objects: too many", s.nelems);
  }
  bits_.assign(2 * words, 0);
  allocLoaded_.assign(spans_.size(), 0);
  if (!spans_.empty()) {
    pageBase_ = spans_.front().start / kPageSize;
    uint64_t n = (spans_.back().end - 1) / kPageSize - pageBase_ + 1;
    if (n <= kMaxPageTable) {
      pages_.assign(n, Page{});
      shapes_.push_back({});  // 0: divide
      std::map<std::pair<uint64_t, uint64_t>, uint8_t> shapeOf;
      for (size_t i = 0; i < spans_.size(); i++) {
        const HeapSpan& s = spans_[i];
        uint8_t shape = 0;
        if (s.sizeclass() != 0) shape = smallShape(s, shapeOf);
        for (uint64_t pg = s.start / kPageSize; pg < s.end / kPageSize; pg++) {
          Page& e = pages_[pg - pageBase_];
          e.span = static_cast<uint32_t>(i + 1);
          e.bits = spanBits_[i];
          e.pageInSpan = static_cast<uint16_t>(pg - s.start / kPageSize);
          e.shape = shape;
        }
      }
    }
  }
}

// The shape of a small span (elemsize, nelems): its reciprocal, when
// (off * divMul) >> 32 is off / elemsize for every offset in the span (it
// is for every size class of the runtime's; the boundaries are checked, the
// product being monotonic), else 0: divide.
uint8_t HeapIndex::smallShape(const HeapSpan& s,
                              std::map<std::pair<uint64_t, uint64_t>, uint8_t>& known) {
  auto [it, fresh] = known.try_emplace(
      {s.elemsize | (s.end - s.start) << 32, s.nelems | uint64_t(s.spanclass) << 56}, 0);
  if (!fresh) return it->second;
  const uint64_t bytes = s.end - s.start;
  if (shapes_.size() > UINT8_MAX || s.elemsize > UINT32_MAX || bytes > UINT32_MAX ||
      bytes > kMaxSmallSpanPages * kPageSize)
    return 0;
  const uint64_t m = UINT32_MAX / s.elemsize + 1;  // runtime/mksizeclasses.go's divMul
  for (uint64_t k = 1; k * s.elemsize < bytes; k++) {
    const uint64_t at = k * s.elemsize;
    if (((at * m) >> 32) != k || (((at - 1) * m) >> 32) != k - 1) return 0;
  }
  if ((((bytes - 1) * m) >> 32) != (bytes - 1) / s.elemsize) return 0;
  it->second = static_cast<uint8_t>(shapes_.size());
  shapes_.push_back({static_cast<uint32_t>(m), static_cast<uint32_t>(s.nelems),
                     static_cast<uint32_t>(s.elemsize), static_cast<uint32_t>(bytes), s.noscan(),
                     recordsTypes(s)});
  return it->second;
}

bool HeapIndex::slotBySearch(uint64_t addr, Slot& out) const {
  auto it = std::upper_bound(spans_.begin(), spans_.end(), addr,
                             [](uint64_t a, const HeapSpan& s) { return a < s.start; });
  if (it == spans_.begin()) return false;
  const size_t si = static_cast<size_t>(it - spans_.begin()) - 1;
  return slotInSpan(addr, si, spanBits_[si], out);
}

bool HeapIndex::slotInSpan(uint64_t addr, size_t si, uint32_t bits, Slot& out) const {
  const HeapSpan& s = spans_[si];
  if (addr < s.start || addr >= s.end) return false;
  const uint64_t i = (addr - s.start) / s.elemsize;
  if (i >= s.nelems) return false;  // the tail a size class leaves unused
  out = slotOf(si, bits, i);
  return true;
}

HeapIndex::Slot HeapIndex::slotOf(size_t si, uint32_t bits, uint64_t i) const {
  const HeapSpan& s = spans_[si];
  Slot sl;
  sl.span = static_cast<uint32_t>(si);
  sl.bits = bits;
  sl.index = i;
  sl.base = s.start + i * s.elemsize;
  sl.size = s.objectSize();
  sl.noscan = s.noscan();
  sl.typed = recordsTypes(s);
  sl.elemsize = s.sizeclass() != 0 && s.elemsize <= UINT32_MAX ? uint32_t(s.elemsize) : 0;
  sl.spanStart = s.start;
  sl.spanEnd = s.end;
  return sl;
}

bool HeapIndex::recordsTypes(const HeapSpan& s) const {
  return headers_ && !s.noscan() && (s.sizeclass() == 0 || s.elemsize > kMinSizeForMallocHeader);
}

void HeapIndex::loadAllocBits(uint32_t span) const {
  allocLoaded_[span] = 1;
  const HeapSpan& s = spans_[span];
  const uint64_t words = (s.nelems + 63) / 64;
  std::vector<uint64_t> b(words, 0);
  // gcBits are bytes, slot i at bit i%8 of byte i/8: little-endian words.
  if (s.allocBits) {
    try {
      p_.mem().read(s.allocBits, b.data(), (s.nelems + 7) / 8);
    } catch (const Fault&) {
      std::fill(b.begin(), b.end(), 0);
      if (problems_.size() < kMaxProblems)
        problems_.push_back(fmt::format("span {:#x}: allocation bits unreadable", s.addr));
    }
  }
  // Below freeindex every slot is allocated; past nelems none is.
  for (uint64_t w = 0; w < words; w++) {
    const uint64_t lo = w * 64;
    if (s.freeindex >= lo + 64)
      b[w] = ~uint64_t(0);
    else if (s.freeindex > lo)
      b[w] |= (uint64_t(1) << (s.freeindex - lo)) - 1;
    if (s.nelems < lo + 64) b[w] &= (uint64_t(1) << (s.nelems - lo)) - 1;
    bits_[2 * (spanBits_[span] + w)] = b[w];
  }
}

bool HeapIndex::allocated(const Slot& s) const {
  if (!allocLoaded_[s.span]) loadAllocBits(s.span);
  return (bits_[2 * (uint64_t(s.bits) + s.index / 64)] >> (s.index % 64)) & 1;
}

std::pair<uint64_t, uint64_t> HeapIndex::allocatedAndUnmarked(uint32_t span) const {
  if (!allocLoaded_[span]) loadAllocBits(span);
  const uint64_t words = (spans_[span].nelems + 63) / 64;  // bits past nelems are clear
  uint64_t alloc = 0, unmarked = 0;
  for (uint64_t w = 0; w < words; w++) {
    const uint64_t a = bits_[2 * (spanBits_[span] + w)], m = bits_[2 * (spanBits_[span] + w) + 1];
    alloc += std::popcount(a);
    unmarked += std::popcount(a & ~m);
  }
  return {alloc, unmarked};
}

bool HeapIndex::allocated(uint32_t span, uint64_t i) const {
  if (i >= spans_[span].nelems) return false;
  Slot sl;
  sl.span = span;
  sl.bits = spanBits_[span];
  sl.index = i;
  return allocated(sl);
}

std::optional<HeapObject> HeapIndex::find(uint64_t addr) const {
  auto where = slot(addr);
  if (!where) return std::nullopt;
  return object(*where);
}

HeapObject HeapIndex::object(const Slot& where) const {
  HeapObject o;
  o.span = &spans_[where.span];  // not read here: a lookup per heap word must not miss on it
  o.index = where.index;
  o.base = where.base;
  o.size = where.size;
  o.allocated = allocated(where);
  o.typeDescriptor = recordedType(where, o.headerBytes);
  return o;
}

uint64_t HeapIndex::recordedType(const Slot& where, uint64_t& headerBytes) const {
  headerBytes = 0;
  if (!where.typed) return 0;
  const HeapSpan& s = spans_[where.span];
  if (s.sizeclass() == 0) return s.largeType;
  try {
    const uint64_t t = p_.mem().readPtr(where.base);
    headerBytes = 8;
    return t;
  } catch (const Fault&) {
    return 0;  // unreadable object: no type known
  }
}

}  // namespace gms
