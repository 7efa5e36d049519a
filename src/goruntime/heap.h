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
#include <optional>
#include <string>
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
  // Reads mheap_ (by name, else located by its invariants) and every span of
  // allspans. Throws Error when mheap_ or allspans cannot be read at all.
  explicit HeapIndex(const Program& p);

  // The object whose slot holds addr; nullopt outside every in-use span.
  std::optional<HeapObject> find(uint64_t addr) const;
  // The same without reading the target: the span's index in spans() and
  // the object's index in its span.
  struct Slot {
    uint32_t span = 0;
    uint64_t index = 0;
  };
  std::optional<Slot> slot(uint64_t addr) const;
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
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  const Program& p_;
  std::vector<HeapSpan> spans_;
  // Page (8 KiB) from the first span's start -> 1 + index in spans_ (0: no
  // span); empty when the heap spans too wide a range (then: binary search).
  uint64_t pageBase_ = 0;
  std::vector<uint32_t> pages_;
  uint64_t inUse_ = 0;
  bool headers_ = false;                       // Go >= 1.22
  mutable std::vector<std::string> problems_;  // allocated() adds unreadable bits
  // Per span: its allocBits bytes plus a last byte marking them loaded.
  mutable std::vector<std::vector<uint8_t>> alloc_;
};

}  // namespace gms
