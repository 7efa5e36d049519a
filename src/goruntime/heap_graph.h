// The live heap by reference chain: every allocated heap object attributed
// to the chain of objects through which a root first reaches it, for
// `gomemscope heap` (a pprof profile, or text/JSON).
//
// Roots: the pointer-holding data of the executable (.data, .bss), each word
// named by the global DWARF places there ("main.cache"; without DWARF the
// section, ".bss"), then the live slots of every goroutine's stack
// (liveStackSlots, goruntime/stack_roots.h: each frame's stack maps; a frame
// none describes word by word), each named by the frame holding it
// ("stack of main.worker"), and the
// registers of the thread running it ("registers of main.spin").
//
// Roots are taken in order of ownership, each walked breadth-first to the
// end before the next, every object visited once: the program's globals one
// by one (main's first, then by name), .data/.bss words no global names (all
// of them without DWARF), the program's stack frames, the finalizer and
// cleanup specials of every span ("finalizer of *main.T": the finalizer's
// closure and its object; "cleanup of *main.T": the cleanup's function and
// argument), the runtime's frames,
// then the globals of the runtime and of the standard library's plumbing.
// Objects of the scheduler's own types (p, m, g, timers) are scanned last
// whoever reaches them: their references are bookkeeping (write barrier
// buffers), not ownership. So an object's chain is its shortest path from
// the first root that reaches it (each level of the walk is scanned region
// by region up the heap: of paths of one length, the one it meets first,
// the same on every run). Words are scanned
// conservatively: any aligned word of a pointer-holding object (a scan span;
// noscan spans hold none) that points into an allocated heap object is an
// edge. An object is named by its type where one is known: the type the
// runtime records (goruntime/heap.h: Go >= 1.22, objects above 512 bytes and
// large ones; the referrer's field type instead when it spells the same size
// more precisely, as a map header's *table<K,V> for the runtime's generic
// *maps.table), else the type its referrer's typed field gives (a struct
// field *T, a slice's backing array, a string's bytes, an interface's
// dynamic type, a map: "map[string]int", whose untyped inner arrays carry its
// name). An object of unknown type is "<N-byte object>". Consecutive
// objects of one name (a linked list) share one frame, and a chain deeper
// than maxChain frames ends in its deepest frames' sum.
//
// Allocated objects no root reaches (garbage since the last GC, or held
// only where the walk does not look: off-heap runtime structures) are one
// chain of their own, so the total is every allocated byte: HeapAlloc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "goruntime/program.h"

namespace gms {

struct HeapGraphOptions {
  uint64_t maxObjects = 100'000'000;  // a walk that reaches more stops, partial (budgetHit)
  size_t maxChain = 48;               // frames kept per chain, root first
};

// A node of the chain tree: one frame (root or object name) below its parent.
struct HeapChainNode {
  uint32_t parent = 0;              // index in HeapGraph::nodes; 0 is the tree's root (no frame)
  uint32_t label = 0;               // index in HeapGraph::labels
  uint32_t depth = 0;               // frames from the root frame (1 for a root frame)
  uint64_t objects = 0, bytes = 0;  // reached at exactly this chain (self, not cumulative)
};

struct HeapGraph {
  std::vector<std::string> labels;   // frame names
  std::vector<HeapChainNode> nodes;  // nodes[0]: the tree's root
  uint64_t objects = 0, bytes = 0;   // every allocated object (bytes: slot sizes, as HeapAlloc)
  uint64_t reachedObjects = 0, reachedBytes = 0;
  uint64_t rootWords = 0;  // root words that point into an allocated object
  uint64_t goroutines = 0;
  uint64_t typedObjects = 0;   // reached objects named by a known type
  uint64_t maskedObjects = 0;  // scanned objects whose pointer words the GC's bitmaps gave
  std::string maskScheme;      // PointerMasks::scheme(): "" when every word is read
  bool budgetHit = false;
  std::vector<std::string> problems;  // one line each (first 20)

  // Frames of node n, root first.
  std::vector<uint32_t> chain(uint32_t n) const;
};

// Walks the heap of a frozen target. Throws Error when the heap cannot be
// indexed at all (no mheap_); anything unreadable is a problem and skipped.
HeapGraph heapGraph(const Program& p, const HeapGraphOptions& o = {});

}  // namespace gms
