#include "goruntime/heap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "goruntime/layout.h"
#include "goruntime/runtime_globals.h"

namespace gms {

namespace {

constexpr uint64_t kPageSize = 8192;
constexpr uint64_t kMaxSpans = uint64_t(1) << 26;      // 512 GiB of single pages
constexpr uint64_t kMaxSpanPages = uint64_t(1) << 27;  // 1 TiB in one span
constexpr uint64_t kMaxSmallSpanPages = 16;
constexpr uint64_t kMaxPageTable = uint64_t(1) << 24;  // pages (128 GiB of address range, 64 MiB)
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
  uint64_t heap = mheapAddress(p);
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
  for (const HeapSpan& s : spans_) inUse_ += s.end - s.start;
  if (!spans_.empty() && spans_.size() < UINT32_MAX) {
    pageBase_ = spans_.front().start / kPageSize;
    uint64_t n = (spans_.back().end - 1) / kPageSize - pageBase_ + 1;
    if (n <= kMaxPageTable) {
      pages_.assign(n, 0);
      for (size_t i = 0; i < spans_.size(); i++)
        for (uint64_t pg = spans_[i].start / kPageSize; pg < spans_[i].end / kPageSize; pg++)
          pages_[pg - pageBase_] = static_cast<uint32_t>(i + 1);
    }
  }
}

std::optional<HeapIndex::Slot> HeapIndex::slot(uint64_t addr) const {
  size_t si;
  if (!pages_.empty()) {
    uint64_t pg = addr / kPageSize;
    if (pg < pageBase_ || pg - pageBase_ >= pages_.size() || !pages_[pg - pageBase_])
      return std::nullopt;
    si = pages_[pg - pageBase_] - 1;
  } else {
    auto it = std::upper_bound(spans_.begin(), spans_.end(), addr,
                               [](uint64_t a, const HeapSpan& s) { return a < s.start; });
    if (it == spans_.begin()) return std::nullopt;
    si = static_cast<size_t>(it - spans_.begin()) - 1;
  }
  const HeapSpan& s = spans_[si];
  if (addr < s.start || addr >= s.end) return std::nullopt;
  uint64_t i = (addr - s.start) / s.elemsize;
  if (i >= s.nelems) return std::nullopt;  // the tail a size class leaves unused
  return Slot{static_cast<uint32_t>(si), i};
}

bool HeapIndex::recordsTypes(const HeapSpan& s) const {
  return headers_ && !s.noscan() && (s.sizeclass() == 0 || s.elemsize > kMinSizeForMallocHeader);
}

bool HeapIndex::allocated(uint32_t span, uint64_t i) const {
  const HeapSpan& s = spans_[span];
  if (i < s.freeindex) return true;
  if (alloc_.empty()) alloc_.resize(spans_.size());
  std::vector<uint8_t>& bits = alloc_[span];
  if (bits.empty()) {
    bits.assign((s.nelems + 7) / 8 + 1, 0);
    bits.back() = 1;  // loaded
    if (s.allocBits) {
      try {
        p_.mem().read(s.allocBits, bits.data(), bits.size() - 1);
      } catch (const Fault&) {
        if (problems_.size() < kMaxProblems)
          problems_.push_back(fmt::format("span {:#x}: allocation bits unreadable", s.addr));
      }
    }
  }
  return i < s.nelems && ((bits[i / 8] >> (i % 8)) & 1);
}

std::optional<HeapObject> HeapIndex::find(uint64_t addr) const {
  auto where = slot(addr);
  if (!where) return std::nullopt;
  const HeapSpan& s = spans_[where->span];
  const uint64_t i = where->index;
  HeapObject o;
  o.span = &s;
  o.index = i;
  o.base = s.start + i * s.elemsize;
  o.size = s.objectSize();
  o.allocated = allocated(where->span, i);
  if (recordsTypes(s)) {
    if (s.sizeclass() == 0) {
      o.typeDescriptor = s.largeType;
    } else {
      try {
        o.typeDescriptor = p_.mem().readPtr(o.base);
        o.headerBytes = 8;
      } catch (const Fault&) {
        o.typeDescriptor = 0;  // unreadable object: no type known
      }
    }
  }
  return o;
}

}  // namespace gms
