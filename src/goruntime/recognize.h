// Maps and lists recognised by their shape, in memory no type describes.
//
// A binary without DWARF names neither its globals nor what they point at,
// and Go records the type of only some heap objects (goruntime/heap.h). What
// is left is the shape of the runtime's own structures, which is specific
// enough to recognise:
//
//  - a map header (runtime.hmap, or internal/runtime/maps.Map from Go 1.24)
//    is an allocated object of the header's size class in a scan span, whose
//    random hash seed is set and whose fields hold the runtime's invariants;
//    its bucket (classic) or group (Swiss) array is an allocated object whose
//    size is exactly what the allocator gives that many buckets or groups of
//    the map type's own bucket/group size. Every map type of the program (the
//    type descriptors list them) whose array fits is a candidate; each is
//    decoded in full, and kept only when the walk finds every entry the
//    header counts with no problem, and every entry's keys and values hold
//    what their types can hold (a pointer into the heap or the binary, a
//    string's bytes, a bool 0 or 1, an interface's type descriptor). When the
//    runtime recorded the type of the array itself (Go >= 1.22: a group
//    array above 512 bytes with pointers, "map.group[K]V"), the map's type is
//    exact. A header without any bucket or group (an empty map never
//    written: makemap_small, NewEmptyMap) has no layout to match; it is
//    recognised when all its bytes are zero but a seed that looks random
//    (not a pointer, about half its bits set), and listed as
//    kUnknownMapName, its types unknown.
//  - a list of any shape listShapeOf recognises among the program's types
//    (not the runtime's) is told from the word that links its root element
//    or its head to its first element E, an allocated object of the
//    element's size class: for a List holding its root R by value (at A:
//    container/list, golang-lru's LruList, a program's own), A's root.next
//    is E and E.prev is R (and E's back-pointer, if it has one, the List,
//    whose len is not 0); for a container/ring.Ring at A, E = A.next and
//    E.prev is A; for a List with head/tail pointers, E = head has no prev,
//    its back-pointer is the List, and the tail is an element with no next.
//    An empty List of a sentinel shape is told by its root, which links to
//    itself both ways, and its len 0 (a zero List{}, never initialised, or
//    an empty head/tail list is all zeros: nothing tells it).
//
// Candidates are judged on memory alone, so two map types of one layout
// (map[int]int and map[int64]int64) stay ambiguous: MapGuess lists both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "goruntime/heap.h"
#include "goruntime/list.h"
#include "goruntime/program.h"

namespace gms {

struct MapGuess {
  // Candidates that decode it soundly: those with the most evidence first
  // (pointers where new(T) puts a T, interface type words), then the
  // program's own types (package main, the main module), then by name.
  std::vector<const Type*> types;
  std::vector<uint64_t> scores;  // each one's evidence
  bool exact = false;            // the runtime recorded its group array's type: types has one
  bool unknown = false;          // an empty header never written: types is the unknown map type
};

class ShapeRecognizer {
 public:
  // Collects the program's map types (their bucket/group layouts) once.
  ShapeRecognizer(const Program& p, const HeapIndex& heap);

  // A map header at o (an allocated heap object, pointed at its base):
  // the map types it is consistent with; nullopt when it is not a map
  // header, or no candidate decodes it.
  std::optional<MapGuess> map(const HeapObject& o) const;
  // The same for a header outside the heap (the compiler puts the header
  // of a map that does not escape in its function's frame).
  std::optional<MapGuess> mapAt(uint64_t hdr) const;
  // The header's size class: only objects of this size can be headers.
  bool headerSized(const HeapObject& o) const;

  // A list found from one of its own words: the word at `at`, pointing at
  // the start of e, is a link of a list's root element or its head, of some list shape of
  // the program's types (goruntime/list.h: container/list, golang-lru's
  // LruList, container/ring, a program's own), told by the element w points
  // at (see the file comment). Its address and shape.
  struct ListAt {
    uint64_t addr = 0;
    const ListShape* shape = nullptr;
  };
  std::optional<ListAt> listAt(uint64_t at, const HeapObject& e) const;
  // An empty list that was initialised (list.New(), Init(), or emptied by
  // Remove): the word at `at`, of value w, is root.next of a List whose
  // root links to itself both ways (next == prev == &root) and whose len
  // is 0. Sentinel shapes that keep a len only (nothing else tells it).
  std::optional<ListAt> emptyListAt(uint64_t at, uint64_t w) const;

  // A sync.Map is told by one word whose value every used sync.Map of the
  // program holds: from Go 1.24 its HashTrieMap's keyHash (the hasher of
  // map[any]any, from that type's descriptor), in Go 1.19 the type word of
  // its read atomic.Value (sync.readOnly's descriptor). A word of `value`
  // at A means a sync.Map at A - offset. value 0: not known (Go 1.20-1.23's
  // atomic.Pointer has no such word, or the program has no sync.Map).
  struct SyncMapSignature {
    uint64_t value = 0, offset = 0;
    const Type* type = nullptr;  // sync.Map
  };
  const SyncMapSignature& syncMapSignature() const { return sync_; }

  // addr is somewhere a Go pointer may point: an allocated heap object, or
  // the binary's loaded image.
  bool validPointer(uint64_t addr) const;

  size_t mapTypes() const { return cands_.size(); }

 private:
  struct Candidate {
    const Type* map = nullptr;
    const Type* array = nullptr;  // its bucket (classic) or group (Swiss) type
    uint64_t arrayElem = 0;       // ... and that type's bytes
    bool pointers = false;        // the bucket/group holds pointers
  };
  std::optional<MapGuess> classic(uint64_t hdr, const uint8_t* h) const;
  std::optional<MapGuess> swiss(uint64_t hdr, const uint8_t* h) const;
  // Candidates whose array of n elements the allocator gives o.size bytes,
  // or the one the runtime recorded; then judged by decoding.
  std::optional<MapGuess> judge(uint64_t hdr, const HeapObject& array, uint64_t n) const;
  // h is an empty header never written: zero but for a random-looking seed.
  std::optional<MapGuess> neverWritten(const uint8_t* h, const Field& seed) const;
  // The bytes b can be a t; score counts the evidence found for it.
  bool plausible(const Type* t, const uint8_t* b, int depth, uint64_t& score) const;
  void syncSignature(const Program& p);
  bool pointsAt(const Type* elem, uint64_t w, uint64_t& score) const;
  bool inImage(uint64_t addr) const;  // in the binary's loaded segments
  // The allocated object that starts at addr (after its malloc header, if any).
  std::optional<HeapObject> objectAt(uint64_t addr) const;
  int ownTypes(std::string_view name) const;

  const Program& p_;
  const HeapIndex& heap_;
  std::vector<Candidate> cands_;
  std::unordered_map<std::string, size_t> byGroup_;    // "map.group[K]V" -> cands_ index
  std::unordered_map<const Type*, size_t> byArray_;    // group/bucket type -> cands_ index
  std::unordered_map<uint64_t, size_t> byDescriptor_;  // its descriptor's offset -> index
  std::optional<uint64_t> typesBase_;                  // moduledata.types
  const Type* header_ = nullptr;                       // the runtime header struct
  const Type* unknownMap_ = nullptr;                   // Program::unknownMapType()
  const Type* table_ = nullptr;                        // Swiss: table<K,V>
  struct HeaderFields {
    const Field *used = nullptr, *seed = nullptr, *dirPtr = nullptr, *dirLen = nullptr,
                *depth = nullptr;     // Swiss Map
    const Field* capacity = nullptr;  // Swiss table
    uint64_t groupsData = 0;          // Swiss table: groups.data's offset
    const Field *flags = nullptr, *B = nullptr, *hash0 = nullptr, *buckets = nullptr;  // hmap
  } f_;
  uint64_t headerSize_ = 0;
  struct ListCandidate {
    ListShape shape;
    uint64_t elemSlot = 0;  // the allocator's slot for one element
  };
  std::vector<ListCandidate> lists_;
  std::vector<std::pair<uint64_t, uint64_t>> image_;  // loaded segments [lo, hi)
  std::string module_;                                // the main module's path
  SyncMapSignature sync_;
};

}  // namespace gms
