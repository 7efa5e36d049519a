// Goroutines from runtime.allgs (a []*g) and their status (g.atomicstatus),
// with offsets from DWARF runtime.g.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "goruntime/program.h"

namespace gms {

struct GoroutineInfo {
  uint64_t addr = 0;
  int64_t goid = 0;
  uint32_t status = 0;  // _Grunnable=1 ... with _Gscan (0x1000) stripped
};

const char* goroutineStatusName(uint32_t status);

// Every g in allgs (dead ones included, as the runtime keeps them for reuse).
// Bounded to 10M entries; throws on unreadable allgs.
std::vector<GoroutineInfo> goroutines(const Program& p);

}  // namespace gms
