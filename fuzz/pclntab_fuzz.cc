// libFuzzer target: see fuzz/bodies.h (pclntab).
#include "fuzz/bodies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gms::fuzz::pclntab(data, size);
  return 0;
}
