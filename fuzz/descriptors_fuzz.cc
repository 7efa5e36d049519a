// libFuzzer target: see fuzz/bodies.h (descriptors).
#include "fuzz/bodies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gms::fuzz::descriptors(data, size);
  return 0;
}
