// The Go heap as the runtime's span table describes it: every in-use span
// of mheap_.allspans (start, pages, size class, element size, allocation
// bits), sorted, so that any address maps to the heap object holding it.
//
// An object is allocated when its index is below the span's freeindex or
// its allocBits bit is set (runtime/mheap.go, mspan.freeindex). Go >= 1.22
// records the type of some objects itself: a span of one large object keeps
// it in mspan.largeType, and an object of a size class above 512 bytes
// whose span is not noscan starts with an 8-byte malloc header pointing at
// its type (runtime/mbitmap.go, heapBitsInSpan / mallocHeaderSize).
//
// Spans whose fields break the runtime's invariants (no pages, objects that
// do not fit, overlapping another span) are left out and named in
// problems(), never trusted. Not thread-safe: allocation bits are cached as
// they are read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "goruntime/program.h"

namespace gms {

struct HeapSpan {
  uint64_t addr = 0;   // the mspan
  uint64_t start = 0;  // first byte
  uint64_t end = 0;    // start + npages * 8192
  uint64_t elemsize = 0;
  uint64_t nelems = 0;
  uint64_t freeindex = 0;
  uint64_t allocBits = 0;  // *gcBits
  uint64_t largeType = 0;  // Go >= 1.22, one-object spans: its type descriptor (0: noscan)
  uint64_t specials = 0;   // *special: the span's finalizer, cleanup, profile... records
  uint8_t spanclass = 0;   // sizeclass << 1 | noscan
  uint8_t sizeclass() const { return spanclass >> 1; }
  bool noscan() const { return spanclass & 1; }
  // What one of its objects takes: the size class, or a large object's pages.
  uint64_t objectSize() const { return sizeclass() == 0 ? end - start : elemsize; }
};

struct HeapObject {
  uint64_t base = 0;
  uint64_t size = 0;  // the slot's size (the size class; a large object's span bytes)
  const HeapSpan* span = nullptr;
  uint64_t index = 0;  // in its span
  bool allocated = false;
  // The runtime's record of its type: a descriptor address (Go >= 1.22,
  // a large object or one with a malloc header), 0 when none.
  uint64_t typeDescriptor = 0;
  // Bytes before the object's own data (the malloc header), 0 or 8.
  uint64_t headerBytes = 0;
};

class HeapIndex {
 public:
  static constexpr uint64_t kIndexPage = 8192;  // the runtime's page (_PageSize)

  // Reads mheap_ (by name, else located by its invariants) and every span of
  // allspans. Throws Error when mheap_ or allspans cannot be read at all.
  explicit HeapIndex(const Program& p);

  // The object whose slot holds addr; nullopt outside every in-use span.
  std::optional<HeapObject> find(uint64_t addr) const;
  // The same without reading the target: the span's index in spans() and
  // the object's index in its span.
  struct Slot {
    uint32_t span = 0;
    uint32_t bits = 0;  // the span's first word in the per-slot bit arrays
    uint64_t index = 0;
    uint64_t base = 0;  // the slot's first byte
    uint64_t size = 0;  // HeapObject::size
    bool noscan = false;
    bool typed = false;                   // recordsTypes(its span)
    uint32_t elemsize = 0;                // the span's (0: a large object's span)
    uint64_t spanStart = 0, spanEnd = 0;  // its span's bytes
  };
  std::optional<Slot> slot(uint64_t addr) const {
    Slot sl;
    if (!slotInto(addr, sl)) return std::nullopt;
    return sl;
  }
  // slot() written straight into out (no copy: a walk asks for millions);
  // false, out unspecified, where slot() gives nullopt.
  bool slotInto(uint64_t addr, Slot& out) const {
    if (pages_.empty()) return slotBySearch(addr, out);
    const uint64_t pg = addr / kIndexPage;
    if (pg < pageBase_ || pg - pageBase_ >= pages_.size()) return false;
    const Page& e = pages_[pg - pageBase_];
    if (!e.span) return false;
    if (e.shape) {  // a small span: no span record read
      const Shape& sh = shapes_[e.shape];
      const uint64_t off = uint64_t(e.pageInSpan) * kIndexPage + addr % kIndexPage;
      const uint64_t i = (off * sh.divMul) >> 32;
      if (i >= sh.nelems) return false;  // the tail a size class leaves unused
      const uint64_t start = (pg - e.pageInSpan) * kIndexPage;
      out.span = e.span - 1;
      out.bits = e.bits;
      out.index = i;
      out.base = addr - (off - i * sh.elemsize);
      out.size = sh.elemsize;
      out.noscan = sh.noscan;
      out.typed = sh.typed;
      out.elemsize = sh.elemsize;
      out.spanStart = start;
      out.spanEnd = start + sh.spanBytes;
      return true;
    }
    return slotInSpan(addr, e.span - 1, e.bits, out);
  }
  // find() for a slot slot() gave.
  HeapObject object(const Slot& s) const;
  // Its typeDescriptor and headerBytes alone (no allocation bit read).
  uint64_t recordedType(const Slot& s, uint64_t& headerBytes) const;
  // The slot of object i of spans()[span], and of object o.
  Slot slotOf(size_t span, uint32_t bits, uint64_t i) const;
  Slot slotOf(const HeapObject& o) const {
    const size_t si = static_cast<size_t>(o.span - spans_.data());
    return slotOf(si, spanBits_[si], o.index);
  }
  // allocated() for a slot slot() gave (no span record read).
  bool allocated(const Slot& s) const;
  // A mark bit per object slot, for a walk's visited set, kept beside the
  // allocation bits (one cache line holds both; one walk per index): sets the slot's mark and
  // says whether it was clear. marked() only reads it.
  bool mark(const Slot& s) const {
    uint64_t& w = bits_[2 * (uint64_t(s.bits) + s.index / 64) + 1];
    const uint64_t bit = uint64_t(1) << (s.index % 64);
    if (w & bit) return false;
    w |= bit;
    return true;
  }
  // Hints that slot(addr) and then allocated()/mark() of its slot follow.
  void prefetchPage(uint64_t addr) const {
    const uint64_t pg = addr / kIndexPage;
    if (pg >= pageBase_ && pg - pageBase_ < pages_.size())
      __builtin_prefetch(&pages_[pg - pageBase_]);
  }
  void prefetchBits(const Slot& s) const {
    __builtin_prefetch(&bits_[2 * (uint64_t(s.bits) + s.index / 64)], 1);
  }
  // How many objects of spans()[span] are allocated, and how many of those
  // are not marked: a word of bits at a time.
  std::pair<uint64_t, uint64_t> allocatedAndUnmarked(uint32_t span) const;
  bool marked(uint32_t span, uint64_t index) const {
    return (bits_[2 * (spanBits_[span] + index / 64) + 1] >> (index % 64)) & 1;
  }
  // Object `index` of spans()[span] is allocated: below freeindex, or its
  // allocBits bit set (each span's bits read once, on first use; bits that
  // cannot be read leave the object not known to be allocated, and a
  // problem says so).
  bool allocated(uint32_t span, uint64_t index) const;
  const std::vector<HeapSpan>& spans() const { return spans_; }  // in use, by start
  // The runtime records the type of this span's objects (Go >= 1.22, a scan
  // span of one large object or of objects above 512 bytes).
  bool recordsTypes(const HeapSpan& s) const;
  uint64_t inUseBytes() const { return inUse_; }
  uint64_t mheap() const { return mheap_; }  // runtime.mheap_'s address
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  const Program& p_;
  std::vector<HeapSpan> spans_;
  // Page (8 KiB) from the first span's start -> what slot() needs of its
  // span, packed so that one lookup per heap word touches one entry: empty
  // when the heap spans too wide a range (then: a binary search of spans_).
  struct Page {
    uint32_t span = 0;        // 1 + index in spans_ (0: no span)
    uint32_t bits = 0;        // spanBits_ of that span
    uint16_t pageInSpan = 0;  // small spans (<= 16 pages)
    uint8_t shape = 0;        // index in shapes_ (0: divide by the span's own fields)
  };
  // Small spans of one element size and count share a shape: its
  // reciprocal as the runtime's divideByElemSize takes it (mspan.divMul),
  // checked exact over the whole span when the index is built.
  struct Shape {
    uint32_t divMul = 0;
    uint32_t nelems = 0;
    uint32_t elemsize = 0;
    uint32_t spanBytes = 0;
    bool noscan = false;
    bool typed = false;  // recordsTypes
  };
  uint64_t pageBase_ = 0;
  std::vector<Page> pages_;
  std::vector<Shape> shapes_;
  std::vector<uint32_t> spanBits_;  // per span: its first word in bits_ (64 slots a word)
  uint64_t inUse_ = 0;
  uint64_t mheap_ = 0;
  bool headers_ = false;                       // Go >= 1.22
  mutable std::vector<std::string> problems_;  // allocated() adds unreadable bits
  // Per 64 slots, two words: allocated (allocBits, and every slot below
  // freeindex), then mark(). A span's allocation bits are read on first use.
  mutable std::vector<uint64_t> bits_;
  mutable std::vector<uint8_t> allocLoaded_;
  void loadAllocBits(uint32_t span) const;
  // slotInto() from the span's own fields: the span found by a binary
  // search of spans_, or given.
  bool slotBySearch(uint64_t addr, Slot& out) const;
  bool slotInSpan(uint64_t addr, size_t span, uint32_t bits, Slot& out) const;
  uint8_t smallShape(const HeapSpan& s, std::map<std::pair<uint64_t, uint64_t>, uint8_t>& known);
};

}  // namespace gms
