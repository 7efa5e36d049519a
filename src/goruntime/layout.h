// Small helpers shared by the decoders: reading a struct's fields generically,
// fetching blocks of target memory without copies when the source allows it,
// and type predicates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "binary/types.h"
#include "target/memory.h"

namespace gms {

// Returns the field or throws Error(MissingDebugInfo) naming the struct.
// A field of a runtime type must be listed in goruntime/runtime_facts.cc
// (Error(Internal) otherwise), so that the drift test checks it.
const Field& requireField(const Type* t, std::string_view name);
// The same for a field the decoder copes without: nullptr when absent.
const Field* optionalField(const Type* t, std::string_view name);
// Reads an unsigned integer field of 1/2/4/8 bytes from a buffer holding the struct.
uint64_t fieldValue(const uint8_t* structBytes, const Field& f);
struct HeaderField {
  std::string name;
  uint64_t value = 0;
  bool pointer = false;  // pointer-shaped (shown in hex)
};
// Reads every integer/pointer-shaped field of a struct held in `bytes`, in order
// (nested structs are skipped), for showing runtime headers.
std::vector<HeaderField> scalarFields(const Type* t, const uint8_t* bytes);
// Appends a problem to a decoder's list, keeping at most 100 (a corrupt
// structure can produce one per slot; the first ones say what is wrong).
void addProblem(std::vector<std::string>& problems, std::string p);

// Strips typedef-like wrappers: returns the pointee of a Pointer type, or throws.
const Type* pointee(const Type* t, const char* what);
// True if values of this type contain pointers the GC scans.
bool typeHasPointers(const Type* t);

// A window of target memory: a pointer into the source when it can lend one
// (mmap'd core), otherwise a copy in an owned buffer that is reused.
class Block {
 public:
  const uint8_t* fetch(const Memory& m, uint64_t addr, uint64_t n) {
    if (const uint8_t* v = m.view(addr, n)) return v;
    if (buf_.size() < n) buf_.resize(n);
    m.read(addr, buf_.data(), n);
    return buf_.data();
  }

 private:
  std::vector<uint8_t> buf_;
};

inline uint64_t loadU64(const uint8_t* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

}  // namespace gms
