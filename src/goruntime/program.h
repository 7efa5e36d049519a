// Program: one Go program as seen through a target (live or core) and its
// executable. It is the context every decoder takes: memory, DWARF types, Go
// version, which map implementation the runtime uses, and the runtime's type
// descriptors (for the dynamic type of interface values).
//
// The map implementation is chosen by which runtime structures DWARF has
// (`runtime.hmap` → classic, `internal/runtime/maps.Map` → Swiss), not by the
// version string, so GOEXPERIMENT=noswissmap builds of 1.24/1.25 just work.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "binary/binary.h"
#include "binary/types.h"
#include "goruntime/builtin_layouts.h"
#include "target/memory.h"

namespace gms {

enum class MapImpl { Classic, Swiss };
const char* mapImplName(MapImpl i);

// The name of a map whose key and value types nothing tells: a header
// found by its shape with no bucket or group yet (an empty map never
// written; goruntime/recognize.h). Paths spell it (*map[?]?)(0xWORD).
inline constexpr std::string_view kUnknownMapName = "map[?]?";

// What the runtime's type descriptor (abi.Type) of an interface value says.
struct DynType {
  uint64_t descriptor = 0;
  std::string name;            // from the descriptor's name, e.g. "*main.Point"
  const Type* type = nullptr;  // DWARF type, when one matches
  bool directIface = false;    // value stored in the data word itself
  uint8_t kind = 0;            // abi.Kind
  uint64_t size = 0;
};

// Where an interface's dynamic type is: word 0 of an eface is the *_type; of
// an iface (an interface with methods) the *itab, whose _type follows the
// interface type (runtime.itab / internal/abi.ITab: Inter, Type, ...).
constexpr uint64_t kItabTypeOffset = 8;
// The type descriptor of an interface value whose word 0 is given (0 for a
// nil interface). Throws Fault for an unreadable itab.
uint64_t interfaceTypeDescriptor(const Memory& m, bool nonEmpty, uint64_t word0);

class Program {
 public:
  // Throws Error(Unsupported) when the executable is not a Go program.
  // loadBias: where a position-independent executable was loaded (0 for
  // ET_EXEC); added to every address that comes from the file (DWARF, symbols).
  Program(const Target& target, const Binary& binary, uint64_t loadBias = 0);

  const Target& target() const { return target_; }
  const Memory& mem() const { return target_.memory(); }
  const Binary& binary() const { return binary_; }
  const GoBuildInfo& build() const { return *binary_.buildInfo(); }
  // Types from DWARF or, in a stripped binary, the runtime's type descriptors.
  bool hasTypes() const { return binary_.types() != nullptr; }
  // DWARF is present: globals have names and types.
  bool hasDwarf() const { return hasTypes() && binary_.types()->source() == "DWARF"; }
  // Throws Error(MissingDebugInfo) with the binary's explanation when absent.
  const TypeProvider& types() const;
  MapImpl mapImpl() const;
  // A runtime struct the decoders read (runtime.mstats, runtime.mheap, ...):
  // DWARF's or the type descriptors' when they have it, else the built-in
  // layout of this Go release (goruntime/builtin_layouts.h); nullptr when
  // neither has it.
  const Type* runtimeType(std::string_view name) const;
  // "" unless the built-in layouts were made for another release (one line).
  std::string builtinLayoutNote() const { return runtimeLayoutNote(build().minor); }

  // The descriptor at addr (an eface._type or itab._type value). Cached;
  // thread-safe, so that map entries can be rendered on several threads.
  const DynType& dynamicType(uint64_t descriptor) const;
  // moduledata.types of the first module; nullopt if it cannot be found.
  std::optional<uint64_t> typesBase() const;
  // runtime.firstmoduledata's address (by name, else located in the
  // binary); nullopt if it cannot be found.
  std::optional<uint64_t> moduledata() const;
  // The type of a map named kUnknownMapName: the runtime's header layout,
  // key and value of no known type ("?", Kind::Invalid, size 0). Its header
  // decodes; walkMap decodes no entry with it. nullptr when the program has
  // no map type to take the header layout from.
  const Type* unknownMapType() const;

  // A package-level variable; throws Error(NotFound) with a hint.
  Global global(std::string_view name) const;
  // The same, nullopt when absent. Addresses include the load bias.
  std::optional<Global> findGlobal(std::string_view name) const;
  uint64_t loadBias() const { return bias_; }

 private:
  const Target& target_;
  const Binary& binary_;
  uint64_t bias_ = 0;
  mutable std::mutex typesBaseMu_;
  mutable std::optional<std::optional<uint64_t>> typesBase_;
  mutable std::mutex dynMu_;  // dynTypes_, synthesized_ and the DWARF reader behind them
  mutable std::unordered_map<uint64_t, DynType> dynTypes_;
  mutable std::deque<Type> synthesized_;  // pointer types DWARF did not spell out
  mutable std::once_flag unknownMapOnce_;
  mutable Type unknownKey_, unknownMap_;
  mutable std::once_flag builtinOnce_;
  mutable std::unique_ptr<BuiltinTypes> builtin_;
};

// The dynamic value of the interface at addr.
struct InterfaceValue {
  const DynType* type = nullptr;  // nullptr: a nil interface
  uint64_t data = 0;              // the data word
  // Where the value lives: the data word itself for a pointer-shaped type
  // (DynType::directIface), else the object the data word points to.
  uint64_t valueAddr = 0;
};
InterfaceValue interfaceValue(const Program& p, uint64_t addr, bool nonEmpty);

}  // namespace gms
