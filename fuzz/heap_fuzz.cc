// libFuzzer target: the heap walk (span table, allocation bits, objects,
// .data/.bss, goroutine stacks) over a MemoryImage; $GMS_FUZZ_EXE names the
// fixture executable (tests/fixtures/hello, Go 1.26) whose core the corpus
// was taken from. See fuzz/bodies.h.
#include "fuzz/bodies.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gms::fuzz::imageFuzzerFromEnv();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gms::fuzz::imageFuzzerFromEnv().heap(data, size);
  return 0;
}
