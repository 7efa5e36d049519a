// DwarfTypes: the TypeProvider over a Go binary's DWARF (libdw).
//
// Private to the binary layer: only elf_binary.cc (and tests/binary) include
// this header; everyone else sees `const TypeProvider*` from Binary::types().
// No libdw/libelf type appears here.
//
// Loading is lazy and memoised, because a Go binary's DWARF has tens of
// thousands of type DIEs and a typical request needs a few hundred:
//  1. open: dwarf_begin_elf (decompresses SHF_COMPRESSED/.zdebug sections);
//  2. first lookup: one pass over each CU's top-level DIEs records
//     name -> DIE offset for types and {name, address, type DIE} for
//     CU-level variables (DW_OP_addr), without materialising anything;
//  3. findType/findGlobal: materialise the requested type and everything it
//     references, each DIE once (memoised by DIE offset; cycles through
//     pointers close on the memo), breadth-first without recursion;
//  4. findByRuntimeOffset: a second pass over the recorded type DIEs the
//     first time it is called.
// Not thread-safe (the const methods fill mutable caches).
//
// Quirks of Go's DWARF handled here (go1.19 DWARF 4 and go1.26 DWARF 5 alike):
//  - a named type is a DIE with the Go name plus a DW_TAG_typedef of the same
//    name pointing to it (pointers refer to the typedef); such typedefs
//    collapse into the named DIE's Type;
//  - DW_AT_go_kind is 0 on linker-synthesised types (hash<K,V>, bucket<K,V>,
//    *map<K,V>, [8]key arrays) and absent on unsafe.Pointer (a pointer_type
//    without DW_AT_type): the DWARF tag decides then;
//  - DW_AT_go_runtime_type is an offset from moduledata.types, except that
//    go1.19 emits uintptr's as the descriptor's link-time address (its
//    linker used DW_CLS_ADDRESS for that one builtin): values inside
//    [typesStart, typesEnd) are made relative to typesStart;
//  - DW_AT_go_runtime_type is 0 when the type has no runtime descriptor
//    (a real descriptor is never at offset 0: the runtime reads typeOff 0 as
//    nil), which becomes runtimeTypeOff -1;
//  - map/chan/interface types are typedefs carrying go_kind: map[K]V and chan T
//    point to *hash<K,V> / *map<K,V> / *hchan<T>; interfaces point to
//    runtime.eface or runtime.iface (whose fields the interface Type copies).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "binary/types.h"

namespace gms {

// A section of the executable as found in its section headers; data points
// at the (possibly still compressed) bytes in the file.
struct DebugSection {
  std::string name;
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  uint64_t flags = 0;  // sh_flags (SHF_COMPRESSED)
  uint64_t addralign = 1;
};

// Opens the DWARF in `sections` via libdw. Only the sections type loading
// needs (.debug_info, .debug_abbrev, .debug_str, .debug_addr, ...) are copied
// into a private in-memory ELF, so libdw does not inflate .debug_line,
// .debug_loc* and .debug_frame it would otherwise decompress up front (more
// than half the open time of a large Go binary). typesRange is the link-time
// [runtime.types, runtime.etypes), or {0, 0} when unknown. Returns nullptr
// and sets *why when libdw finds no usable DWARF.
std::unique_ptr<TypeProvider> openDwarfTypes(const std::string& path,
                                             const std::vector<DebugSection>& sections,
                                             std::pair<uint64_t, uint64_t> typesRange,
                                             std::string* why);

}  // namespace gms
