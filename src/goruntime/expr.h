// Expressions that name a Go object the way a Go programmer would, in the
// notation of the paths `top` prints (goruntime/path.h), so every printed
// path is accepted back:
//   main.cache                 a package-level variable (full import path:
//   net/http.DefaultServeMux) main.cfg.byName            struct fields, through pointers as Go does
//   main.cfg.limits[1]         array and slice elements; main.q[2]: the 3rd element of a list
//   main.users["bob"]          a map entry's value by its key: strings quoted, numbers,
//   main.grid[{X:1,Y:2}]       true/false, 0x pointers, structs {F:v,...}, arrays [v,...];
//                              a key cut short with … matches by its prefix (if only one does)
//   main.set{0xc000010000}     a map entry's key itself
//   main.x.(*main.T)           an interface's dynamic value, the type as %T spells it
//   0xc000123456 + a type      the object of that type at an address (for a map: its
//                              header); a pointer type *T: the T it points to
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "goruntime/list.h"
#include "goruntime/program.h"

namespace gms {

struct Located {
  std::string expr;
  uint64_t addr = 0;           // where the value lives
  const Type* type = nullptr;  // its type
  // For maps: true when addr is the map header itself (0xADDR --type), false
  // when addr holds the map value (a pointer to the header).
  bool headerDirect = false;
};

// Throws Error(NotFound/Usage) with the part of the expression that failed.
Located resolve(const Program& p, std::string_view expr);
// 0xADDR (or decimal) with a Go type name as people spell it
// (binary/type_names.h). A pointer type is followed: ADDR --type '*T' is
// the T at ADDR; ADDR --type 'map[K]V' is the map whose header is at ADDR,
// ADDR --type '*map[K]V' the map variable at ADDR.
Located resolveAddress(const Program& p, std::string_view addr, std::string_view typeName);
// True when expr looks like an address.
bool isAddress(std::string_view expr);

// For a located map: the header address (0 for a nil map).
uint64_t mapHeaderOf(const Program& p, const Located& l);

// The global (or the innermost field or array element of one) an address
// lies in, for saying what an address is: "0x5d5d30 is main.srv.sessions".
struct NamedAddress {
  uint64_t addr = 0;
  std::string expr;            // an expression for what starts at addr - offset
  const Type* type = nullptr;  // its type
  uint64_t offset = 0;         // bytes from its start to addr
  // "0x5d5d30 is main.srv.sessions (map[string]int)", "... is 3 bytes into ...".
  std::string str() const;
};
std::optional<NamedAddress> nameAddress(const Program& p, uint64_t addr);

struct MapRef {
  const Type* type = nullptr;  // map[K]V
  uint64_t header = 0;         // 0: a nil map
};
// The map a located value is, pointers to it followed. Throws Usage when it
// is not a map, NotFound for a nil pointer on the way, Corrupt when the
// header fails its checks (requirePlausibleMap: which check, and what the
// address probably is).
MapRef locatedMap(const Program& p, const Located& l);
// What a located list names (pointers followed): a List or ring of some
// shape (goruntime/list.h), checked against its invariants, or one
// container/list.Element. Error(Usage) saying why for anything else,
// NotFound for a nil pointer on the way.
struct ListRef {
  ListShape shape;
  uint64_t list = 0;     // the List (or the ring's element) when one was named
  uint64_t element = 0;  // the container/list.Element when one was named
};
ListRef locatedList(const Program& p, const Located& l, const LinkNames& names = {});
// When a located value is a sync.Map (pointers to it followed): its type
// and address; nullopt for anything else. NotFound for a nil *sync.Map.
std::optional<std::pair<const Type*, uint64_t>> syncMapAt(const Program& p, const Located& l);

}  // namespace gms
