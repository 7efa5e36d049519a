// libFuzzer target: the sync.Map walker (goruntime/sync_map.h) over a
// MemoryImage; $GMS_FUZZ_EXE names the syncmap fixture executable (Go 1.19:
// read and dirty maps) the corpus was taken from. See fuzz/bodies.h.
#include "fuzz/bodies.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gms::fuzz::imageFuzzerFromEnv();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gms::fuzz::imageFuzzerFromEnv().syncMap(data, size);
  return 0;
}
