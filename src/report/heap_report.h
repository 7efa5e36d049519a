// `gomemscope heap`: the live heap by reference chain (goruntime/heap_graph.h)
// as a pprof profile that `go tool pprof` opens, or as text / JSON.
//
// The profile has two sample types, inuse_objects (count) and inuse_space
// (bytes, the default), one sample per distinct chain with the objects
// reached at exactly that chain, and one function per frame name: a root
// ("main.cache", "stack of main.worker", ".bss") or an object's name
// ("map[string]*main.Session", "main.Session", "[]uint8", "<48 B object>",
// spelled "[48 B object]" there: pprof drops what it reads as C++ template
// arguments, between < and >).
// A sample's stack is its chain leaf first, as pprof expects, so `-top`
// ranks object kinds by what they hold themselves (flat) and roots by what
// they keep alive (cum), and `-http`'s flame graph reads root to leaf.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "goruntime/heap_graph.h"
#include "report/out.h"
#include "report/reports.h"

namespace gms {

// The profile, serialized (protobuf), gzip-compressed when gzip is set.
std::vector<uint8_t> heapPprof(const HeapGraph& g, bool gzip = true);

// Totals, the roots by what they keep alive, and the `limit` largest chains
// (0: all). JSON: {"target", "objects", "bytes", "reachedObjects",
// "reachedBytes", "typedObjects", "rootWords", "goroutines", "budgetHit",
// "roots": [{"root", "objects", "bytes"}], "chains": [{"chain": [...],
// "objects", "bytes"}], "problems": [...]}.
void reportHeap(Out& o, const HeapGraph& g, const std::string& target, Format f, uint64_t limit);

}  // namespace gms
