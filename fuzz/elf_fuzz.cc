// libFuzzer target: see fuzz/bodies.h (elf).
#include "fuzz/bodies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gms::fuzz::elf(data, size);
  return 0;
}
