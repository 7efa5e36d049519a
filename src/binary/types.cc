#include "binary/types.h"

namespace gms {

const char* kindName(Kind k) {
  static const char* names[] = {"invalid", "bool", "int", "int8", "int16", "int32", "int64",
                                "uint", "uint8", "uint16", "uint32", "uint64", "uintptr",
                                "float32", "float64", "complex64", "complex128", "array", "chan",
                                "func", "interface", "map", "ptr", "slice", "string", "struct",
                                "unsafe.Pointer"};
  auto i = static_cast<size_t>(k);
  return i < sizeof(names) / sizeof(names[0]) ? names[i] : "invalid";
}

}  // namespace gms
