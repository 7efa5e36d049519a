// libFuzzer target: see fuzz/bodies.h (core).
#include "fuzz/bodies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gms::fuzz::core(data, size);
  return 0;
}
