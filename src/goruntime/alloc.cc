#include "goruntime/alloc.h"

namespace gms {

int sizeClassOf(uint64_t size) {
  if (size == 0 || size > kMaxSmallSize) return 0;
  int lo = 1, hi = 67;
  while (lo < hi) {  // first class >= size
    int mid = (lo + hi) / 2;
    if (kClassToSize[mid] >= size) hi = mid; else lo = mid + 1;
  }
  return lo;
}

uint64_t allocSize(uint64_t size, bool hasPointers, int goMinor) {
  if (size == 0) return 0;
  uint64_t req = size;
  if (goMinor >= 22 && hasPointers && req > 512 && req <= kMaxSmallSize - 8) req += 8;
  if (req <= kMaxSmallSize) return kClassToSize[sizeClassOf(req)];
  uint64_t r = (size + kPageSize - 1) & ~(kPageSize - 1);
  return r < size ? size : r;
}

}  // namespace gms
