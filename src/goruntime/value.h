// ValueRenderer: reads a Go value of a DWARF type at an address and pushes it
// into a ValueSink. Every kind renders; pointers are followed up to a depth
// and never around a cycle; nested maps are walked with the map decoders;
// interfaces show their dynamic type (from the runtime's type descriptor) and
// then their value. A value that cannot be read becomes sink.unreadable() and
// the walk goes on.
//
// Each object is rendered once per renderer (one renderer = one output): a
// pointer to a struct already rendered becomes sink.address("ref", addr),
// so output grows with the number of distinct objects, not with the number
// of paths to them (a linked list's next/prev, an LRU's entries). The first
// rendering is anchored (sink.anchor(addr), JSON's "$address") so a reader
// can resolve the reference. Which rendering comes first is the render
// order: callers that render on several threads use one renderer when
// mayReferToObjects() says objects can be shared.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "goruntime/program.h"
#include "goruntime/value_sink.h"

namespace gms {

// A string longer than this is taken for corrupt memory, not read.
constexpr uint64_t kMaxStringBytes = uint64_t(1) << 30;

struct RenderLimits {
  int depth = 8;           // pointer/interface/container nesting followed (counted
                           // afresh in each map entry, as `map` renders entries)
  uint64_t maxString = 0;  // bytes of a string shown (0: all)
  uint64_t maxElems = 0;   // elements of a nested array/slice/map shown (0: all)
};

class ValueRenderer {
 public:
  ValueRenderer(const Program& p, RenderLimits limits) : p_(p), lim_(limits) {}
  // Renders the value at addr; objects rendered by earlier calls on this
  // renderer are references.
  void render(uint64_t addr, const Type* t, ValueSink& sink);
  // Shows these fields of struct t as addresses, never followed (the links
  // of a list element named by --next/--prev; list elements whose links
  // are named next/prev are recognised by elementLinkFields).
  void linkFields(const Type* t, std::vector<bool> flags) { links_[t] = std::move(flags); }

 private:
  void value(uint64_t addr, const Type* t, ValueSink& sink, int depth);
  void pointerTo(uint64_t target, const Type* elem, ValueSink& sink, int depth);
  void iface(uint64_t addr, const Type* t, ValueSink& sink, int depth);
  void mapValue(uint64_t hdr, const Type* t, ValueSink& sink, int depth);
  void array(uint64_t base, uint64_t len, const Type* elem, ValueSink& sink, int depth);

  static constexpr int kMaxMapNesting = 16;

  const Program& p_;
  RenderLimits lim_;
  void structValue(uint64_t addr, const Type* t, ValueSink& sink, int depth, bool anchored);

  struct ObjectKey {
    uint64_t addr;
    const Type* type;
    bool operator==(const ObjectKey&) const = default;
  };
  struct ObjectHash {
    size_t operator()(const ObjectKey& k) const {
      return std::hash<uint64_t>()(k.addr * 0x9e3779b97f4a7c15ULL ^
                                   reinterpret_cast<uintptr_t>(k.type));
    }
  };

  std::vector<uint64_t> stack_;  // pointers being rendered, for cycle detection
  std::unordered_set<ObjectKey, ObjectHash> rendered_;        // structs rendered through a pointer
  std::unordered_map<const Type*, std::vector<bool>> links_;  // elementLinkFields, per struct type
  int mapNesting_ = 0;  // maps being rendered inside one another
};

// Whether a value of type t can hold a pointer to a struct (directly or
// through an interface), so that two values may share an object: a map of
// such values is rendered in walk order on one thread, which keeps the
// choice of the object's first rendering (and so the output) deterministic.
bool mayReferToObjects(const Type* t);

// Map entries of scalar keys and values (bool, integers, floats, strings:
// map[string]int and its kin, the maps that get big) read in place, for
// output written straight from memory (report/reports.cc's JSON fast path).
// Views, valid as long as the memory they come from.
struct ScalarView {
  const uint8_t* p = nullptr;  // the value's bytes
  std::string_view s;          // a string's content, cut at maxString
  uint64_t len = 0;            // a string's real length
};

class ScalarReader {
 public:
  ScalarReader(const Memory& m, uint64_t maxString) : mem_(m), maxString_(maxString) {}
  // A kind this reader views: booleans, integers and floats of at most 8
  // bytes, strings.
  static bool isScalar(const Type* t);
  // False when the value cannot be viewed in place (memory that lends no
  // view, an implausible string length): the caller renders it the general way.
  bool load(uint64_t addr, const Type* t, ScalarView& out);

 private:
  const uint8_t* at(Memory::ViewRange& w, uint64_t addr, uint64_t n) const;
  const Memory& mem_;
  uint64_t maxString_;
  // The memory around the last slot and the last string viewed: most
  // entries of a batch are found there without a lookup.
  Memory::ViewRange slots_, strings_;
};

// Prefetches the string data of a batch of map entries (key and value
// addresses), so that their cache misses (random accesses all over the
// heap, in hash order) overlap instead of stalling one by one.
class StringPrefetch {
 public:
  StringPrefetch(const Memory& mem, const Type* mapType)
      : mem_(mem),
        key_(mapType->key && mapType->key->kind == Kind::String),
        elem_(mapType->elem && mapType->elem->kind == Kind::String) {}
  void operator()(const std::pair<uint64_t, uint64_t>* e, size_t n) const {
    if (!key_ && !elem_) return;
    for (size_t i = 0; i < n; i++) {
      if (key_) one(e[i].first);
      if (elem_) one(e[i].second);
    }
  }

 private:
  void one(uint64_t addr) const;
  const Memory& mem_;
  bool key_, elem_;
};

}  // namespace gms
