// container/list decoder (container/list/list.go; identical in 1.19 and 1.26).
//
// A List is {root Element; len int}; root is a sentinel, so a walk starts at
// root.next and ends when it comes back to &root. The walk checks what the
// package guarantees: len matches, e.next.prev == e, every element's list
// field points back at the list, and no cycle that avoids the root. A zero
// List{} (root.next == nil, never used) is valid and empty. A removed element
// has next == prev == list == nil, and keeps its Value.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "goruntime/program.h"

namespace gms {

struct ListElementRef {
  uint64_t addr = 0;
  uint64_t valueAddr = 0;  // address of the element's Value (an eface)
  uint64_t list = 0;       // the element's list field
};

struct ListSummary {
  uint64_t addr = 0;
  uint64_t len = 0;        // the List's len field
  uint64_t found = 0;      // elements reached from the root
  bool lazyZero = false;   // zero List{}, never initialised
  uint64_t footprint = 0;  // bytes: elements (size-class rounded) + boxed values
  std::vector<std::string> problems;
  // The List's own invariants broken (unreadable; a zero List with len or
  // prev set; root.next not an element linked back to this List): nothing
  // was walked. "" when the List passed.
  std::string invalidHeader;
};

struct ElementState {
  uint64_t addr = 0, next = 0, prev = 0, list = 0, valueAddr = 0;
  bool removed = false;    // next == prev == list == nil: Remove() ran on it
};

// The DWARF types container/list.List and container/list.Element.
const Type* listType(const Program& p);
const Type* elementType(const Program& p);

// Walks the list at addr. onElement returns false to stop receiving elements
// (the integrity checks still run to the end). Bounded: at most len + 1M steps.
// headerOnly: check the List's own fields and its first element's links, no walk.
ListSummary walkList(const Program& p, uint64_t addr,
                     const std::function<bool(const ListElementRef&)>& onElement,
                     bool headerOnly = false);

ElementState readElement(const Program& p, uint64_t addr);

// Throws Error(Corrupt) when the List at addr fails its own invariants: one
// line naming expr, the check, and what addr probably is (the global it lies
// in, or a variable holding a pointer to a plausible List).
void requirePlausibleList(const Program& p, uint64_t addr, std::string_view expr);

}  // namespace gms
