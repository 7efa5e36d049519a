// Which words of a heap object hold pointers, read where the garbage
// collector reads them, so that a walk of the heap follows what the GC
// follows and nothing else (a uintptr, an integer, a P's write barrier
// buffer of stale addresses).
//
//  - Go 1.19 (runtime/mbitmap.go): the arena's bitmap, two bits per heap
//    word (pointer in the low nibble, scan in the high: the first word not
//    marked scan ends the object's pointers), four words a byte,
//    in heapArena.bitmap (offset 0) of mheap_.arenas[0][(addr + 2^47) >>
//    26] (amd64: arenaBaseOffset 0xffff800000000000, 64 MiB arenas, no L1).
//  - Go >= 1.22 (runtime/mbitmap.go): a noscan span has none; an object
//    with a malloc header (a size class above 512 bytes) or a large object
//    (mspan.largeType) is an array of the type its descriptor names, whose
//    GCData is a one-bit-per-word mask of its first PtrBytes (from Go 1.24,
//    with TFlagGCMaskOnDemand, one pointer away and built on first use);
//    any other object of a scan span has one bit per word in the bitmap at
//    the end of its span (spanHeapBitsRange: span bytes / 64 of them, before
//    the Green Tea GC's 128-byte inline mark bits when the span has them:
//    Go >= 1.26, objects of 16 to 512 bytes).
//
// A release whose scheme is not one of these (1.20, 1.21), a Go 1.22-1.23
// type with a GC program, a mask not built yet, or bytes that cannot be
// read leave the object's mask unknown: the caller then scans every word,
// as before.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "goruntime/heap.h"
#include "goruntime/program.h"

namespace gms {

// The pointer words of .data and .bss, from the masks the runtime built at
// start (moduledata.gcdatamask, gcbssmask: one bit a word, the GC's roots).
class StaticPointerMask {
 public:
  // nullopt when the release's moduledata layout is not known or the masks
  // cannot be read (then every word is a candidate).
  static std::optional<StaticPointerMask> read(const Program& p);
  // The word at addr (8-aligned) is one the GC reads as a pointer; false
  // outside .data and .bss too.
  bool pointer(uint64_t addr) const;
  bool covers(uint64_t addr) const {
    return (addr >= data_ && addr < edata_) || (addr >= bss_ && addr < ebss_);
  }

 private:
  uint64_t data_ = 0, edata_ = 0, bss_ = 0, ebss_ = 0;
  std::vector<uint8_t> dataMask_, bssMask_;
};

class PointerMasks {
 public:
  PointerMasks(const Program& p, const HeapIndex& heap);

  // The pointer words among the first n words of object o (from o.base, its
  // malloc header included): bit k of out[k / 64] set for word k. false when
  // not known.
  bool of(const HeapObject& o, uint64_t n, std::vector<uint64_t>& out) const {
    return of(heap_.slotOf(o), o.typeDescriptor, o.headerBytes, n, out);
  }
  // The same for an allocated slot, its recorded type and header given.
  bool of(const HeapIndex::Slot& s, uint64_t descriptor, uint64_t headerBytes, uint64_t n,
          std::vector<uint64_t>& out) const;
  // Where of() reads a small object's span bits (0: not there): a walk
  // prefetches it with the object.
  uint64_t spanBitsAddress(const HeapIndex::Slot& s) const;
  // The first byte of() reads for the slot's object, when its mask is in a
  // bitmap (span bits, Go 1.19's arena bitmap); 0 otherwise. For prefetching.
  uint64_t bitsAddress(const HeapIndex::Slot& s) const;

  // "arena bitmap", "span heap bits and type masks", or "" (none known).
  const char* scheme() const;

 private:
  enum class Scheme { None, ArenaBitmap, SpanBits };
  bool arena(uint64_t addr, uint64_t n, std::vector<uint64_t>& out) const;
  bool typed(uint64_t desc, uint64_t from, uint64_t n, std::vector<uint64_t>& out) const;
  bool spanBits(const HeapIndex::Slot& s, uint64_t n, std::vector<uint64_t>& out) const;

  const Program& p_;
  const HeapIndex& heap_;
  Scheme scheme_ = Scheme::None;
  int minor_ = 0;
  bool greenTea_ = false;  // small spans end with spanInlineMarkBits
  uint64_t arenaL2_ = 0;   // Go 1.19: *[1 << 22]*heapArena, mheap_.arenas[0]
  mutable std::unordered_map<uint64_t, uint64_t> arenas_;  // arena index -> *heapArena
  mutable uint64_t lastArena_ = ~uint64_t(0), lastHeapArena_ = 0;
  uint64_t heapArena(uint64_t idx) const;  // *heapArena of arena idx (0: none); throws Fault
  struct TypeMask {
    bool known = false;
    uint64_t size = 0, ptrWords = 0;
    std::vector<uint8_t> bits;
  };
  mutable std::unordered_map<uint64_t, TypeMask> types_;  // by descriptor
  mutable std::vector<uint8_t> buf_;
};

}  // namespace gms
