// The Go type model every decoder works with, independent of libdw.
//
// Types are loaded from DWARF (binary/dwarf_types.cc) into this model once per
// binary; no libdw type ever leaks above the binary layer. A Type is immutable
// after loading and owned by its TypeProvider, so `const Type*` is stable.
//
// Go's DWARF (cmd/link/internal/ld/dwarf.go) describes:
//  - base types (bool, intN, uintN, floatN, complexN, uintptr) with DW_AT_go_kind;
//  - string as struct "string" {str *uint8; len int}          (kind String)
//  - slices as struct "[]T" {array *T; len int; cap int}        (kind Slice, elem = T)
//  - interfaces as struct runtime.eface {_type, data} or runtime.iface {tab, data}
//  - map[K]V as a typedef (kind Map, DW_AT_go_key/go_elem) to a pointer to the
//    linker-synthesised header struct: classic `hash<K,V>` (a copy of runtime.hmap
//    whose `buckets` is *bucket<K,V>) or Swiss `map<K,V>` (a copy of maps.Map whose
//    `dirPtr` is **table<K,V>); `mapHeader` points at that struct.
//  - chan T as a typedef to *hchan<T>; func types as pointers to subroutine types.
//  - named types (main.Point, time.Duration) carry their Go name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gms {

// Values match Go's reflect.Kind / internal/abi.Kind.
enum class Kind : uint8_t {
  Invalid = 0, Bool, Int, Int8, Int16, Int32, Int64, Uint, Uint8, Uint16, Uint32, Uint64, Uintptr,
  Float32, Float64, Complex64, Complex128, Array, Chan, Func, Interface, Map, Pointer, Slice,
  String, Struct, UnsafePointer,
};
const char* kindName(Kind k);

struct Type;

struct Field {
  std::string name;
  uint64_t offset = 0;
  const Type* type = nullptr;
  bool embedded = false;
};

struct Type {
  std::string name;          // Go spelling: "int", "main.Point", "map[string]int", "*main.T"
  Kind kind = Kind::Invalid;
  uint64_t size = 0;
  // Pointer: pointee. Array/Slice/Chan: element. Map: value type.
  const Type* elem = nullptr;
  // Map: key type.
  const Type* key = nullptr;
  // Map: the runtime header struct (hash<K,V> or map<K,V>) the map value points to.
  const Type* mapHeader = nullptr;
  // Array: number of elements.
  uint64_t len = 0;
  // Struct, String, Slice, Interface: DWARF members in order.
  std::vector<Field> fields;
  // Interface: true for runtime.iface (non-empty interface), false for eface.
  bool nonEmptyInterface = false;
  // DW_AT_go_runtime_type: offset of the runtime type descriptor from
  // moduledata.types, or -1 when absent/zero.
  int64_t runtimeTypeOff = -1;

  const Field* field(std::string_view n) const {
    for (const auto& f : fields)
      if (f.name == n) return &f;
    return nullptr;
  }
};

struct Global {
  std::string name;   // "main.cache", "net/http.DefaultServeMux"
  uint64_t addr = 0;
  const Type* type = nullptr;
};

// Where a function's variable lives at one PC, as its DWARF location says.
// Go's frame base is DW_OP_call_frame_cfa: a stack slot is an offset from the
// frame's CFA (the caller's SP, just above the return address).
struct VarPiece {
  enum class Kind : uint8_t { CfaOffset, Address, Register };
  Kind kind = Kind::CfaOffset;
  int64_t offset = 0;  // CfaOffset: from the CFA
  uint64_t addr = 0;   // Address: a link-time static address
  int reg = -1;        // Register: DWARF register number
  uint64_t size = 0;   // bytes of the value this piece holds; 0: all of it
};

// A local variable or parameter in scope at a PC (of the function itself or
// of a call inlined into it there).
struct FrameVar {
  std::string name;      // as DWARF names it ("&x": x escaped to the heap, this is &x)
  std::string function;  // the function it belongs to (the inlined one, for an inlined call)
  const Type* type = nullptr;
  bool param = false;
  bool inlined = false;
  std::vector<VarPiece> pieces;  // empty: no location at this PC (optimized away)
};

// Looks up types and globals. Implemented over DWARF by DwarfTypes, and over
// the runtime's type descriptors by DescriptorTypes (descriptor_types.h).
class TypeProvider {
 public:
  virtual ~TypeProvider() = default;
  // A type by its Go name, e.g. "map[string]int", "main.Point", "runtime.g".
  virtual const Type* findType(std::string_view name) const = 0;
  // A package-level variable by its full Go name.
  virtual std::optional<Global> findGlobal(std::string_view name) const = 0;
  // Every package-level variable DWARF describes.
  virtual const std::vector<Global>& globals() const = 0;
  // The type whose DW_AT_go_runtime_type equals off (descriptor - moduledata.types).
  virtual const Type* findByRuntimeOffset(uint64_t off) const = 0;
  // The name of every Go type the program describes (not its C types), each
  // once, in no particular order.
  virtual std::vector<std::string_view> typeNames() const = 0;
  // Where the types come from: "DWARF" or "type descriptors" (which name no
  // globals: globals() is empty then).
  virtual std::string_view source() const { return "DWARF"; }
  // Import paths whose package is named otherwise than their last element
  // ("github.com/hashicorp/golang-lru/v2" -> "lru", "gopkg.in/yaml.v3" ->
  // "yaml"): the names Go prints types with (%T, reflect). Only the type
  // descriptors know them (DWARF spells import paths); empty otherwise.
  virtual std::vector<std::pair<std::string, std::string>> packageNames() const { return {}; }
  // The locals and parameters DWARF describes at a link-time PC, innermost
  // scope first; `returnAddress`: pc is an outer frame's return address (its
  // scope is the call's, at pc-1). Empty without DWARF or outside any
  // function DWARF knows.
  virtual std::vector<FrameVar> frameVars(uint64_t /*pc*/, bool /*returnAddress*/) const {
    return {};
  }
};

}  // namespace gms
