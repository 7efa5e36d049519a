// Discovery: every map and container/list.List reachable from the program's
// package-level variables, ranked by footprint ("gomemscope top").
//
// discover() walks every global DWARF describes (minus skipped packages),
// following struct fields, arrays, slice elements, pointers, interface values
// (by their dynamic type, when DWARF has that type), map keys and values, and
// list element values. Each map and list is reported once, under the first
// path that reached it, with a count of the other references met.
//
// Only what can lead somewhere is read: a type "can reach" when it is, or
// (transitively through fields, elements and pointees) contains, a map, a
// list, or an interface; that answer is cached per Type. A map whose keys and
// values cannot reach anything is walked once for its summary without
// visiting its entries, so a 10^6-entry map[int64]*T with a map-free T costs
// one bulk read of its buckets.
//
// With DiscoverOptions::roots.stacks, every goroutine's locals and parameters
// (DWARF) are roots too, after the globals: a map a global also holds keeps
// the global's path. With roots.heap, so is every heap object whose type the
// runtime records, after both.
//
// Not followed: channels (buffered elements), func values (closure
// captures), unsafe.Pointer/uintptr, container/list
// Element.next/prev (a list is walked from its List), and anything behind an
// interface whose dynamic type has no DWARF type (counted in the stats).
//
// Each item carries the path that first reached it (goruntime/path.h: the
// notation, and how it is shown masked and read back).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "goruntime/maps.h"
#include "goruntime/path.h"
#include "goruntime/program.h"

namespace gms {

// Packages skipped by default: the runtime and the standard library's
// plumbing, whose globals are the runtime's own state (heaps, caches of
// reflect/sync, unicode tables), not the program's data:
//   runtime, runtime/..., internal/..., vendor/..., sync, sync/..., reflect,
//   unicode, unicode/..., syscall, unique, weak, iter, unsafe, errors,
//   math, math/..., strconv, sort, slices, maps, cmp, go:..., type:...
// (plus linker pseudo-variables such as go:buildinfo).
std::vector<std::string> defaultSkipPackages();

// A package pattern as in `go list`: "p" is package p only, "p/..." is p and
// every package below it.
bool packageMatches(std::string_view pkg, std::string_view pattern);
// The package path of a global's full name: "net/http" for
// "net/http.DefaultServeMux", "gopkg.in/yaml.v3" for "gopkg.in/yaml%2ev3.x".
std::string packageOf(std::string_view globalName);

// Where the walk starts: package-level variables, and the locals and
// parameters of every goroutine's frames (goruntime/stack_roots.h).
struct DiscoverRoots {
  bool globals = true;
  bool stacks = true;
  // Every allocated heap object whose type the runtime records (Go >= 1.22:
  // a malloc header above 512 bytes, largeType for a large object;
  // goruntime/heap.h), as a root of its own, path (*T)(0xADDR), after the
  // globals and stacks: what they reach keeps their path. This is what a
  // binary without DWARF has: its globals and locals have no names.
  bool heap = true;
};

struct DiscoverOptions {
  DiscoverRoots roots;
  std::vector<std::string> skipPackages = defaultSkipPackages();
  // When not empty, only globals of packages matching one of these patterns
  // are roots (skipPackages still applies).
  std::vector<std::string> onlyPackages;
  // Indirections (pointer, slice array, interface box, map, map entry, list
  // element) followed from a global; deeper objects are counted in
  // DiscoverStats::depthLimited and not visited. At most 1000 (the walk
  // recurses; larger values are clamped).
  int maxDepth = 64;
  // Budget: the walk stops cleanly, keeps what it found and sets
  // DiscoverStats::budgetHit, once any of these is exceeded (0: no limit).
  // A single map's bucket walk is not interrupted (its entries are).
  uint64_t maxObjects = 50'000'000;
  uint64_t maxBytes = uint64_t(8) << 30;
  std::chrono::milliseconds maxTime{0};
  bool keysInPaths = true;  // ["alice"] rather than [*]
  // Keep in Found::regions the memory each map (WalkOptions::regions) and
  // list (its List and Element objects) owns; for `gomemscope diff`.
  bool keepRegions = false;
  bool followInterfaces = true;
  // Search .data/.bss and untyped heap objects for maps and lists by their
  // shape (goruntime/recognize.h) even when DWARF names the globals; without
  // DWARF (and roots.globals) this search always runs. For tests and fuzzing.
  bool searchShapes = false;
  // Compute each map's and list's retained bytes (goruntime/retained.h):
  // a walk of the whole live heap and its dominator tree.
  bool retained = false;
};

// SyncMap: a sync.Map (goruntime/sync_map.h), listed as a map: len is what
// Range visits, footprint what its read/dirty maps or trie own.
enum class FoundKind { Map, List, SyncMap };

struct Found {
  FoundKind kind = FoundKind::Map;
  Path path;             // first path that reached it (goruntime/path.h)
  std::string typeName;  // "map[string]*main.Session", "container/list.List"
  const Type* type = nullptr;
  uint64_t addr = 0;       // map header / List address
  uint64_t len = 0;        // header count / List len
  uint64_t found = 0;      // entries / elements actually reached
  uint64_t footprint = 0;  // bytes: MapFootprint::total() / ListSummary::footprint
  uint64_t problems = 0;   // decoder problems (0 for a sound structure)
  std::string firstProblem;
  uint64_t otherRefs = 0;  // further references to the same map/list met
  // Maps only: the walked map's shape (len, found and footprint above are
  // its len, found and footprint.total()). A sync.Map sets torn only.
  MapShape shape;
  std::vector<Region> regions;  // DiscoverOptions::keepRegions
  // A map of a binary without DWARF, recognised by its shape
  // (goruntime/recognize.h): byShape; typeName is the best type that decodes
  // it, candidates the others; typeExact when no other does (the runtime
  // recorded its group array's type, or no other map type of the program
  // fits). Always exact otherwise.
  std::vector<std::string> candidates;
  bool byShape = false;
  // DiscoverOptions::retained: the bytes freed with its header (a map) or its
  // List object (a list allocated on its own); unset when it is not a heap
  // object of its own (a global List, a header in a frame) or not computed.
  std::optional<uint64_t> retained;
  bool typeExact = true;
};

struct DiscoverError {
  std::string path;  // where the walk was (Path::display)
  std::string message;
};

struct DiscoverStats {
  uint64_t globals = 0;               // globals not skipped (each one a root)
  uint64_t globalsSkipped = 0;        // by package (skip/only)
  uint64_t goroutines = 0;            // goroutines whose stacks were walked
  uint64_t stackVars = 0;             // locals and parameters walked (each one a root)
  uint64_t stackVarsUnavailable = 0;  // optimized away at their PC, or in registers
  uint64_t staleStackValues = 0;      // "maps"/"lists" under a stack root: a header that fails its
                                      // checks, or a pointer into a freed heap slot
                                      // (a slot still holding an older value): left out
  uint64_t heapObjects = 0;           // heap objects whose type the runtime records (roots.heap)
  uint64_t heapRoots = 0;          // of those, walked as roots (their type can hold a map or list)
  uint64_t untypedObjects = 0;     // without DWARF: untyped heap objects searched by shape
  uint64_t stackFrames = 0;        // without DWARF: program frames searched by their stack maps
  uint64_t stackFramesWhole = 0;   // ... and those no stack map describes, searched word by word
                                   // (frame 0 of a goroutine stopped on its thread)
  uint64_t plumbingMaps = 0;       // without DWARF: maps by shape whose every candidate type is
                                   // the runtime's or the standard library plumbing's
  uint64_t unknownMaps = 0;        // without DWARF: empty maps never written, their types unknown
  std::string heapNote;            // why no heap object is typed (Go < 1.22), or the heap's problem
  std::string retainedNote;        // DiscoverOptions::retained: why sizes are missing, "" when none
  uint64_t objects = 0;            // roots, pointees, slice arrays, interface boxes,
                                   // maps, lists, map entries and list elements visited
  uint64_t bytesRead = 0;          // approximate (map/list walks count their footprint)
  uint64_t maps = 0, lists = 0;    // distinct ones found
  uint64_t depthLimited = 0;       // objects not visited because of maxDepth
  uint64_t untypedInterfaces = 0;  // dynamic types without a DWARF type
  uint64_t errors = 0;             // all errors (Discovery::errors keeps the first 100)
  std::chrono::nanoseconds elapsed{0};
  bool budgetHit = false;
  std::string budgetReason;  // "objects", "bytes" or "time" (limit exceeded)
  double objectsPerSecond() const;
};

struct Discovery {
  std::vector<Found> items;           // maps and lists, footprint descending, then path
  std::vector<DiscoverError> errors;  // first 100
  DiscoverStats stats;
};

// Walks the program's globals, goroutine stacks and typed heap objects (as
// roots says). Throws only when the program has no types at all
// (Error(MissingDebugInfo)); anything unreadable is recorded and skipped.
// Without DWARF there are no named globals or locals: only heap roots.
// A live target should be frozen for the call. The walk runs on a thread of
// its own (with a 256 MiB stack reservation, so maxDepth fits even in a
// sanitizer build); the call blocks until it is done. Not thread-safe with
// other users of the same Program (its dynamic-type cache is filled).
Discovery discover(const Program& p, const DiscoverOptions& o = {});

}  // namespace gms
