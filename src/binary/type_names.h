// Type names as a Go programmer spells them, resolved to the names the
// program's types carry.
//
// The program names types the way the linker writes them: full import paths
// ("map[string]*github.com/hashicorp/golang-lru/v2/internal.Entry[string,int]"),
// "interface {}" for the empty interface, generic arguments without blanks.
// People write "map[string]*internal.Entry[string, int]", "any",
// "interface{}", "list.Element". lookupType accepts all of these:
//   1. the exact name;
//   2. the same name up to blanks, with `any` meaning `interface {}`;
//   3. the same with every import path cut to its last element
//      ("store.Session" for "example.com/app/store.Session"), when exactly one
//      type of the program matches; several matches are listed;
//   4. `*T` for a T the program has even when it never uses *T;
//   5. package names as Go prints them (lru.Cache for an import path
//      ending in golang-lru/v2) when the type descriptors name them.
// When nothing matches, the error names the types that differ only in their
// package qualifiers ("did you mean ...?").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "binary/types.h"

namespace gms {

// Blanks dropped except between two identifiers ("chan int" keeps its one),
// `any` replaced by `interface{}`: "LRU[string, int]" -> "LRU[string,int]",
// "interface {}" and "any" -> "interface{}".
std::string canonicalTypeName(std::string_view name);

// canonicalTypeName with every import path cut to its last element:
// "map[string]*example.com/x/store.Session" -> "map[string]*store.Session".
std::string shortTypeName(std::string_view name);

// True when a and b name the same type as a person would: equal up to
// blanks and `any`, or one is the other with import paths cut short.
bool sameTypeName(std::string_view a, std::string_view b);

// The type spelled `spelling` (see above). Throws Error(NotFound) naming
// candidates, or listing the matches when a short spelling is ambiguous.
// packageNames (TypeProvider::packageNames, from the type descriptors) lets
// a spelling use Go's package names where they differ from the import
// path's last element, as %T prints them: "lru.Cache[string,int]" for
// "github.com/hashicorp/golang-lru/v2.Cache[string,int]".
const Type* lookupType(const TypeProvider& types, std::string_view spelling,
                       const std::vector<std::pair<std::string, std::string>>& packageNames = {});

// The program's Go type names matching pattern (an ECMAScript regex searched
// anywhere in the name; "" matches all), sorted. Throws Error(Usage) for a
// bad pattern.
std::vector<std::string> matchingTypeNames(const TypeProvider& types, const std::string& pattern);

}  // namespace gms
