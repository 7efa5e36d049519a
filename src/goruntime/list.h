// Doubly linked list decoder: container/list (container/list/list.go;
// identical in 1.19 and 1.26), container/ring, and any list of the same
// shape (golang-lru/v2's internal.LruList[K,V], a program's own list types),
// recognised by its fields (ListShape).
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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "goruntime/program.h"

namespace gms {

// How a list type is laid out. Three shapes:
//  - Sentinel: a List struct holding a root element by value; root.next is
//    the front, root.prev the back, the walk ends back at &root
//    (container/list.List, golang-lru/v2's LruList, user lists like them);
//  - HeadTail: a List struct holding *E pointers to the front (and maybe
//    the back); the walk ends at nil;
//  - Ring: no List struct, the element itself is the handle
//    (container/ring.Ring); the walk ends back at the element it started at.
// Elements are structs with a next and a prev field of type *E; a field of
// type *List in the element is its back-pointer (container/list's `list`).
struct ListShape {
  enum class Kind { Sentinel, HeadTail, Ring } kind = Kind::Sentinel;
  const Type* list = nullptr;   // the List struct (the element type for a ring)
  const Type* elem = nullptr;   // the element struct
  uint64_t root = 0;            // Sentinel: offset of the root element in the List
  uint64_t head = 0, tail = 0;  // HeadTail: offsets of the front and back pointers
  bool hasTail = false;
  uint64_t next = 0, prev = 0;  // in the element
  bool hasBack = false;         // the element points back at its List
  uint64_t back = 0;
  bool hasLen = false;  // the List counts its elements
  uint64_t len = 0;
  // container/list and container/ring: the payload is one `Value any`
  // field at this offset; otherwise the payload is every element field but
  // the links.
  bool efaceValue = false;
  uint64_t value = 0;
  const Type* valueType = nullptr;  // efaceValue: the Value field's type (any)
  std::string nextName = "next", prevName = "prev", backName, lenName, headName, tailName;

  bool containerList() const { return list && list->name == "container/list.List"; }
  // One flag per element field: the links (next, prev, back-pointer).
  std::vector<bool> linkFlags() const;
  // "container/list.List", "internal.LruList[string,int] (sentinel list of
  // internal.Entry[string,int], links next/prev)".
  std::string describe() const;
};

// Field names that decide what detection cannot (--next/--prev).
struct LinkNames {
  std::string next, prev;
};

// The list shape of t (a List struct or container/ring.Ring; pointers are
// not followed), nullopt when t is no list. Throws Error(Usage) when t has a
// list's shape but its links cannot be told apart without names.
// *why: when nullopt, why a list-like t was not taken (links that cannot be
// told apart without names).
std::optional<ListShape> listShapeOf(const Type* t, const LinkNames& names = {},
                                     std::string* why = nullptr);
// container/list.List's shape; throws Error(NotFound) when the program does
// not use container/list.
ListShape containerListShape(const Program& p);
// Which fields of t are links when t is a list element (next and prev of
// type *t named so, and a pointer to a struct holding a t by value: the
// element's list), one flag per field; empty when t is no list element.
// container/list.Element: every field but Value.
std::vector<bool> elementLinkFields(const Type* t);

struct ListElementRef {
  uint64_t addr = 0;
  uint64_t valueAddr = 0;  // address of the element's Value (an eface)
  uint64_t list = 0;       // the element's list field
};

struct ListSummary {
  uint64_t addr = 0;
  uint64_t len = 0;        // the List's len field (found, when the list keeps none)
  bool hasLen = true;      // the list keeps a length (a ring, or a list without one, does not)
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
  bool removed = false;  // next == prev == list == nil: Remove() ran on it
};

// The DWARF types container/list.List and container/list.Element.
const Type* listType(const Program& p);
const Type* elementType(const Program& p);

// Walks the list of this shape at addr. onElement returns false to stop
// receiving elements (the integrity checks still run to the end). Bounded:
// at most len + 1M steps. headerOnly: check the List's own fields and its
// first element's links, no walk. ListElementRef::valueAddr is the Value
// field (efaceValue shapes) or the element itself.
ListSummary walkList(const Program& p, const ListShape& shape, uint64_t addr,
                     const std::function<bool(const ListElementRef&)>& onElement,
                     bool headerOnly = false);
// The same for a container/list.List.
ListSummary walkList(const Program& p, uint64_t addr,
                     const std::function<bool(const ListElementRef&)>& onElement,
                     bool headerOnly = false);

ElementState readElement(const Program& p, uint64_t addr);
ElementState readElement(const Program& p, const ListShape& shape, uint64_t addr);

// Throws Error(Corrupt) when the List at addr fails its own invariants: one
// line naming expr, the check, and what addr probably is (the global it lies
// in, or a variable holding a pointer to a plausible List).
void requirePlausibleList(const Program& p, uint64_t addr, std::string_view expr);
void requirePlausibleList(const Program& p, const ListShape& shape, uint64_t addr,
                          std::string_view expr);

}  // namespace gms
