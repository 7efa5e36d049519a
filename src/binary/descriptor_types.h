// DescriptorTypes: the TypeProvider over the runtime's own type descriptors,
// for binaries without DWARF (-ldflags=-w or -s -w).
//
// Private to the binary layer, like dwarf_types.h: only elf_binary.cc (and
// tests/binary) include this header. It parses bytes of the executable file,
// never libdw.
//
// Where the descriptors are:
//  - runtime.firstmoduledata is found without a symbol table by its first
//    word, moduledata.pcHeader, which is the address of .gopclntab; the
//    candidate is accepted only when its funcnametab and text fields agree
//    with the pclntab and .text too;
//  - Go <= 1.26 list the reflect-constructible types in moduledata.typelinks
//    (int32 offsets from moduledata.types) and the compiled itabs in
//    moduledata.itablinks; Go 1.27 dropped both and lays those descriptors out
//    back to back from types+8 to types+typedesclen (walked by
//    abi.Type.DescriptorSize), with the itabs at types+itaboffset;
//  - every other descriptor (named types, runtime types) is reached from those
//    through the descriptors' own references: element, key, struct fields,
//    the map's bucket/group, function parameters, method types, ptrToThis.
//
// What the model gets (the same as from DWARF, see types.h):
//  - names as the linker writes them in DWARF: a named type's package path in
//    full ("container/list.List"), composite names built from their parts
//    ("map[string]*container/list.Element");
//  - struct fields with names, offsets and embedding;
//  - strings, slices and interfaces with the fields Go's DWARF gives them
//    (str/len; array/len/cap; _type or tab, then data);
//  - each map type's header struct synthesised as the linker does for DWARF:
//    classic hash<K,V> (runtime.hmap with buckets *bucket<K,V>, the bucket
//    taken from maptype.bucket) or Swiss map<K,V> -> table<K,V> ->
//    groupReference<K,V> -> the group from abi.MapType.Group. The runtime
//    header layouts are built-in tables (descriptor_types.cc, each citing the
//    Go source it mirrors), checked against DWARF by tests/binary.
// Globals have no names without a symbol table: globals() is empty.
//
// Every read is bounds-checked against the file; a corrupt descriptor makes
// the type it belongs to Invalid (or the open fail with a one-line reason),
// never a crash. Not thread-safe (lazy materialisation fills caches).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "binary/types.h"
#include "target/memory.h"

namespace gms {

// What openDescriptorTypes needs of the executable.
struct DescriptorSource {
  const Memory* file = nullptr;  // the file's PT_LOAD images by virtual address
  uint64_t pclntab = 0;          // address of .gopclntab
  uint64_t pclntabSize = 0;
  uint64_t text = 0;  // address of .text
  uint64_t textSize = 0;  // moduledata.text lies in [text, text+textSize): an externally linked
                          // (cgo) binary puts C start-up code before runtime.text
  // Where moduledata may be: .go.module (Go >= 1.26), .noptrdata, .data.
  std::vector<std::pair<uint64_t, uint64_t>> dataRanges;  // [addr, addr+size)
  int goMinor = 0;                                        // 19 for go1.19.x
  bool swissMaps = false;  // the runtime's maps are Swiss tables (abi.MapType)
};

// Where the first module's moduledata and its type section are.
struct ModuleInfo {
  uint64_t moduledata = 0;
  uint64_t types = 0, etypes = 0;
  uint64_t gofunc = 0;                     // go:func.*, the base of funcdata offsets
  uint64_t typedesclen = 0;                // Go >= 1.27
  uint64_t itaboffset = 0, itabsize = 0;   // Go >= 1.27
  uint64_t typelinks = 0, ntypelinks = 0;  // Go <= 1.26
  uint64_t itablinks = 0, nitablinks = 0;  // Go <= 1.26
  std::string layoutNote;                  // "" or why a nearest layout was used
};

class Binary;

// The sections and build facts of an opened Go executable (Unsupported when
// it is not one).
DescriptorSource descriptorSourceOf(const Binary& bin);

// Locates moduledata; throws Error(Corrupt/Unsupported) with one line.
ModuleInfo findModuledata(const DescriptorSource& src);

// The provider; throws Error with one line when moduledata cannot be found
// or its type section is unreadable.
std::unique_ptr<TypeProvider> openDescriptorTypes(const DescriptorSource& src);

}  // namespace gms
