// libFuzzer target: see fuzz/bodies.h (buildinfo).
#include "fuzz/bodies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gms::fuzz::buildinfo(data, size);
  return 0;
}
