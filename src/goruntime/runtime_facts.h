// Runtime facts: every Go runtime type, field, global, function and constant
// that gomemscope's decoders read, in one table (the `+rtype` idea of Delve).
//
// The decoders take runtime layouts from DWARF by name. This table is the
// list of those names, with the Go releases each applies to and the Go
// source it mirrors, so that:
//  - requireField() refuses a field of a runtime type that is not listed
//    here (a decoder that starts reading something new must list it, and the
//    drift test then checks it against every toolchain);
//  - tests/goruntime/runtime_facts_test.cc builds fixtures with every
//    installed toolchain and checks that each applicable entry exists in that
//    release's DWARF (and symbol table), failing with the missing name;
//  - constants the decoders hard-code because a stripped binary has no DWARF
//    for them (type descriptor offsets, moduledata.types) are listed with
//    their values per release and checked against DWARF the same way.
//
// Adding a Go release: run the drift test with its toolchain; every entry it
// names as missing is a layout change to handle in the decoder named by
// `usedBy`, with a version range here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "binary/types.h"

namespace gms {

// Go 1.x minor versions an entry applies to, inclusive.
struct Releases {
  int since = 0;   // e.g. 19
  int until = 99;  // e.g. 23 (last release with it)
  bool has(int minor) const { return minor >= since && minor <= until; }
};
inline constexpr Releases kAllReleases{};
inline constexpr Releases kClassicMaps{0, 23};  // runtime.hmap (Go <= 1.23 by default)
inline constexpr Releases kSwissMaps{24, 99};   // internal/runtime/maps (Go >= 1.24)

struct RuntimeField {
  std::string_view name;
  Releases releases = kAllReleases;
  bool optional = false;  // the decoder copes when it is absent
};

struct RuntimeStruct {
  // A DWARF type name. A name ending in '*' (hash<*, bucket<*, map<*,
  // table<*, groupReference<*, noalg.map.group[*) stands for every type the
  // linker or compiler synthesises per map type with that prefix.
  std::string_view type;
  std::string_view source;  // the Go source it mirrors, e.g. "runtime/mstats.go"
  std::string_view usedBy;  // the decoder(s), e.g. "goruntime/memstats.cc"
  Releases releases = kAllReleases;
  std::vector<RuntimeField> fields;
  bool optional = false;  // exists in one layout only (a slot type without mapsplitgroup)
};

enum class RuntimeSymbolKind { Global, Function };

struct RuntimeSymbol {
  std::string_view name;  // "runtime.memstats", "runtime.hashGrow"
  RuntimeSymbolKind kind = RuntimeSymbolKind::Global;
  std::string_view usedBy;
  Releases releases = kAllReleases;
  bool optional = false;  // one of several alternatives, or the decoder copes
};

// A hard-coded offset of a runtime struct field (used where DWARF may be
// absent): checked against DWARF where it is present.
struct RuntimeConstant {
  std::string_view type;   // "internal/abi.Type"
  std::string_view field;  // "TFlag"
  uint64_t offset = 0;
  Releases releases = kAllReleases;
  std::string_view usedBy;
};

const std::vector<RuntimeStruct>& runtimeStructs();
const std::vector<RuntimeSymbol>& runtimeSymbols();
const std::vector<RuntimeConstant>& runtimeConstants();

// The table entry covering a DWARF type name (exact, or a synthesised
// prefix), nullptr when the type is not a runtime type this table lists.
const RuntimeStruct* runtimeStructFor(std::string_view typeName);
// True when a type of this name belongs to the runtime (or container/list,
// or is synthesised by the linker for maps), so that a decoder must list what
// it reads of it here.
bool isRuntimeTypeName(std::string_view typeName);
// The offset a RuntimeConstant gives for (type, field) in Go 1.minor;
// throws Error(Unsupported) naming it when no entry covers that release.
uint64_t runtimeConstant(std::string_view type, std::string_view field, int minor);

// What a program's own types (its DWARF) lack of this table for Go 1.minor:
// "runtime.hmap has no field B" for each listed field of a listed type the
// program has (types it does not use, and the linker's per-map types, are
// not looked for), and each runtime type a decoder always reads. Empty when
// the layouts are the ones the decoders know. Session::open warns with it in
// one line: a release that renamed something is named before a decoder meets it.
std::vector<std::string> missingRuntimeFacts(const TypeProvider& types, int minor);

}  // namespace gms
