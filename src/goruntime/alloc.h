// What the Go allocator really hands out for a request: size classes
// (runtime/sizeclasses.go; identical table in 1.19 and 1.26), page rounding
// for large objects, and the 8-byte malloc header that Go >= 1.22 adds to
// pointerful objects over 512 bytes (runtime/msize.go roundupsize).
#pragma once

#include <cstdint>

namespace gms {

inline constexpr uint64_t kMaxSmallSize = 32768;
inline constexpr uint64_t kPageSize = 8192;
inline constexpr uint16_t kClassToSize[68] = {
    0,     8,     16,    24,    32,    48,    64,    80,    96,    112,   128,   144,   160,   176,
    192,   208,   224,   240,   256,   288,   320,   352,   384,   416,   448,   480,   512,   576,
    640,   704,   768,   896,   1024,  1152,  1280,  1408,  1536,  1792,  2048,  2304,  2688,  3072,
    3200,  3456,  4096,  4864,  5376,  6144,  6528,  6784,  6912,  8192,  9472,  9728,  10240, 10880,
    12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768};

// Bytes the heap uses for one object of `size` bytes.
// goMinor: the Go 1.x minor version; hasPointers: the type has pointers.
uint64_t allocSize(uint64_t size, bool hasPointers, int goMinor);
// Size class index for a small size (0 for size 0 or > kMaxSmallSize).
int sizeClassOf(uint64_t size);

}  // namespace gms
