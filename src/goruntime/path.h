// Paths: how an object was reached from a root, as typed steps.
//
// Discovery (discover.cc) records one for every map and list it reports.
// A Path is data, not text: display() renders it for people and applies the
// mask policy to its map keys (a secret-looking key, or any key inside a
// value stored under a secret name, is shown <masked: N bytes> as the value
// would be in `map`), str() renders the same text unmasked (the identity
// diff and the rules compare), and parsePathSteps()/resolve() (expr.h) read
// either text back, so every path `top` prints is an expression.
//
// Notation (what a Go programmer would write, with two extensions):
//   main.srv                     a global: full package path + name
//                                (net/http.DefaultServeMux,
//                                gmsfixture/discover/store.Default)
//   goroutine 17 main.worker: m  a local or parameter of a goroutine's frame
//                                (the goroutine id, the function, #2 for its
//                                second frame from the innermost, then the
//                                variable; goruntime/stack_roots.h)
//   (*main.Big)(0xc000123400)    a heap object by its address and the type
//                                the runtime recorded for it (Go's own
//                                conversion: the T at that address; T as %T
//                                spells it)
//   .field                       struct field; pointers are transparent, as in
//                                Go (main.srv.sessions whether srv is a
//                                struct or a pointer to one); an embedded
//                                field is named by its type name
//   [3]                          array or slice element; i-th element of a
//                                list counted from Front() (then .Value)
//   .(T)                         an interface's dynamic value, T as the
//                                runtime spells it (%T): main.x.(*main.Holder)
//   ["key"] [42] [true] [0xc0…]  the VALUE of a map entry, its key written as
//   [1.5] [{X:1,Y:"a"}] [[1,2]]  a Go literal: strings quoted (at most 48 bytes
//                                shown, then …), ints and uints decimal, floats
//                                in their shortest exact form, pointers and
//                                chans hex, structs {Field:value,...}, arrays
//                                [v,...]
//   [*]                          the same when the key cannot be written (an
//                                interface key, or keys left out of paths)
//   {0xc000012340} {*}           the KEY of a map entry itself (only keys
//                                that can reach a map or list are walked,
//                                e.g. map[*Node]bool)
// e.g. main.users["alice"].prefs, main.cache.ll[3].Value.(*main.entry).tags,
//      main.byID[2].tags, main.set{0xc000010000}.children
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "binary/types.h"
#include "common/mask_policy.h"
#include "target/memory.h"

namespace gms {

// Bytes of a string key written into a path; longer keys end in "…".
inline constexpr uint64_t kPathKeyShown = 48;

// A map key as decoded from the target.
struct PathKey {
  enum class Kind : uint8_t { Opaque, String, Int, Uint, Float, Bool, Pointer, Struct, Array };
  Kind kind = Kind::Opaque;  // Opaque: not written ([*])
  std::string text;          // String: the bytes shown (at most kPathKeyShown)
  bool truncated = false;    // String: longer than shown
  uint64_t len = 0;          // String: its full length
  uint64_t bits = 0;  // Int (two's complement), Uint, Bool, Pointer; Float: the double's bits
  std::vector<std::pair<std::string, PathKey>> parts;  // Struct: (field, value); Array: ("", value)
  bool operator==(const PathKey&) const = default;
};

// The key of type t at addr, strings cut at maxString bytes; Opaque when it
// cannot be written (interface keys, unreadable memory, nesting deeper than
// a few levels).
PathKey decodePathKey(const Memory& m, uint64_t addr, const Type* t,
                      uint64_t maxString = kPathKeyShown);

struct PathStep {
  enum class Kind : uint8_t { Global, Local, Object, Field, Index, Assert, MapValue, MapKey };
  Kind kind = Kind::Global;
  // Global: full name; Local: variable; Object: its type (%T); Field: field
  // name; Assert: type name (%T)
  std::string name;
  uint64_t index = 0;       // Index; Local: the goroutine id; Object: its address
  PathKey key;              // MapValue, MapKey
  std::string frame;        // Local: the function
  uint32_t occurrence = 1;  // Local: 1 for the innermost frame of that function
  bool operator==(const PathStep&) const = default;
};

struct Path {
  std::vector<PathStep> steps;

  // A path of one global: Path::global("main.cache").
  static Path global(std::string name) {
    Path p;
    p.steps.push_back({PathStep::Kind::Global, std::move(name)});
    return p;
  }

  // The text, keys in full as decoded (nothing masked): the identity that
  // diff and the rules compare; also what --reveal shows.
  std::string str() const;
  // The text people see: string keys the policy says are secrets masked.
  std::string display(const MaskPolicy& policy = activeMaskPolicy()) const;
  bool empty() const { return steps.empty(); }
  bool operator==(const Path&) const = default;
};

// One step of expression text after the root, as parsed (before the types
// of the target say what a [...] means).
struct ExprStep {
  enum class Kind : uint8_t { Field, Bracket, Assert, MapKey };
  Kind kind = Kind::Field;
  std::string text;   // Field: name; Bracket/MapKey: the text inside; Assert: the type
  size_t offset = 0;  // where the step starts in the expression
};

// Splits "expr" (the part after the root) into steps: .field, [..], .(T)
// and {..}, with quoted strings and nested brackets inside [..] and {..}.
// Throws Error(Usage) naming the position on malformed text.
std::vector<ExprStep> parseExprSteps(std::string_view rest);

// "(*T)(0xADDR)" at the start of an expression: the type text T, the
// address, and where the rest of the expression starts. nullopt when expr
// does not start with "(*"; Error(Usage) when it does but is malformed.
struct ObjectRootRef {
  std::string type;
  uint64_t addr = 0;
};
std::optional<std::pair<ObjectRootRef, size_t>> parseObjectRoot(std::string_view expr);

// A key written in a path or expression, parsed; Opaque for "*". Its kind
// is what the text says ("..." a string, 12 an int, {A:1} a struct, ...);
// matchesKey() compares it with a decoded key by value. Throws Error(Usage).
PathKey parsePathKey(std::string_view text);
// True when `want` (parsed) names the decoded key `have`: equal values (a
// number matches an int, uint or float key of that value), a truncated
// string matching by its prefix.
bool matchesKey(const PathKey& want, const PathKey& have);
// The key as a path writes it, unmasked.
std::string renderPathKey(const PathKey& k);

}  // namespace gms
