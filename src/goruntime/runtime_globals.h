// The runtime's own globals in a binary that names none of them (built with
// -ldflags='-s -w': no DWARF, no symbol table). Each is found from what the
// process itself records, never from a hard-coded address, and only where
// the runtime's invariants single it out:
//
//  runtime.mheap_   the struct in .bss/.noptrbss whose spanalloc.arg points
//                   at the struct itself (mheap.init: spanalloc.init(...,
//                   unsafe.Pointer(h), ...)) and whose central[i].spanclass
//                   is i for every one of the 136 span classes;
//  runtime.memstats mheap_.spanalloc.stat, which is &memstats.mspan_sys,
//                   checked against mheap_.cachealloc.stat (&memstats.mcache_sys);
//  runtime.allp     the slice header in .bss whose every element is a P
//                   whose id is its index, with a status and an mcache
//                   (procresize); m0.allpSnapshot, a copy, is told apart;
//  runtime.allgs    the slice header whose elements are distinct gs with a
//                   known status and a stack, the first one goroutine 1
//                   (allgadd; newproc's first g runs runtime.main);
//  runtime.gcController  the struct whose heapInUse/heapReleased/heapFree/
//                   totalAlloc/totalFree agree with memstats.heapStats (the
//                   checks readmemstats_m itself makes); see locateGcController.
//
// Offsets come from Program::runtimeType (DWARF, descriptors or the built-in
// layouts). A global that cannot be singled out is an Error(MissingDebugInfo)
// saying which invariant found nothing (or more than one candidate).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "goruntime/program.h"

namespace gms {

// .data, .bss, .noptrbss and .noptrdata as the target holds them now.
class StaticData {
 public:
  explicit StaticData(const Program& p);
  struct Part {
    const char* section;
    uint64_t addr = 0;
    std::vector<uint8_t> bytes;
  };
  const std::vector<Part>& parts() const { return parts_; }
  bool contains(uint64_t addr) const;

 private:
  std::vector<Part> parts_;
};

uint64_t locateMheap(const Program& p, const StaticData& d);
uint64_t locateMemstats(const Program& p, uint64_t mheap);
uint64_t locateAllp(const Program& p, const StaticData& d);
uint64_t locateAllgs(const Program& p, const StaticData& d);
// The gcControllerState candidate (its address and bytes) for which `score`
// returns the most agreeing checks, at least `need` of them, and no other
// candidate as many.
uint64_t locateGcController(const Program& p, const StaticData& d,
                            const std::function<int(const uint8_t*)>& score, int need);

}  // namespace gms
