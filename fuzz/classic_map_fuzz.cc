// libFuzzer target: map decoder over a MemoryImage; $GMS_FUZZ_EXE names the
// fixture executable (tests/fixtures/maps built with the toolchain of this
// target) whose DWARF types the corpus uses. See fuzz/bodies.h.
#include "fuzz/bodies.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gms::fuzz::imageFuzzerFromEnv();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gms::fuzz::imageFuzzerFromEnv().map(data, size);
  return 0;
}
