// Map sizing advice: a pure model of what the Go runtime allocates to build a
// map of N keys, with and without make's size hint. It reads no target
// memory; it needs only the key/value types' size, alignment and pointerness,
// the Go minor version and the map implementation.
//
// What is modelled (amd64), mirroring the runtime sources:
//
// Classic maps (runtime/map.go, go1.19..1.23; 1.24/1.25 GOEXPERIMENT=noswissmap)
//   - the hmap header (48 B; 56 B in 1.24/1.25 noswiss), always on the heap
//     here (a map that does not escape may have it on the stack: not modelled);
//   - makemap: B = smallest B with !overLoadFactor(hint, B); the bucket array
//     is allocated by make when B > 0, else (B == 0) by the first insert;
//   - hashGrow at the insert that makes count > 6.5*2^B (count > 8 at B 0):
//     a new array of 2^(B+1) buckets each time; every array ever allocated
//     is counted. Same-size growth (tooManyOverflowBuckets) cannot happen
//     without deletes: it needs >= 2^B overflow buckets, i.e. more than
//     8*2^B entries, but growth caps a generation at 6.5*2^B.
//   - makeBucketArray(b >= 4) adds 2^(b-4) spare overflow buckets, then
//     rounds the array up to its size class (roundupsize; from 1.22 minus
//     the malloc header for pointerful arrays), and new(mapextra);
//   - overflow buckets: a bucket holding k entries has ceil(k/8)-1 of them
//     (inserts and evacuation fill chains in order). Spares are used first,
//     then newobject(bucket). When buckets have no pointers, every overflow
//     bucket (spare or not) is also appended to extra.overflow (new mapextra,
//     new([]*bmap), and the append's backing arrays, growslice's growth
//     sequence), one list per bucket array.
//     ESTIMATED: how many buckets overflow depends on the hash seed. The
//     model takes each bucket's load as Binomial(n, 2^-B) (independent across
//     buckets, which slightly overstates the spread), sums them exactly
//     while the total's variance is small (< 256) and with a normal
//     approximation beyond, and reports expected bytes and their standard
//     deviation. Agreement with the runtime: within 1.6% of the mean of
//     many maps (tests/analysis/advice_test.cc).
//   - keys/values over 128 B are stored indirectly: one newobject per insert.
//
// Swiss maps (internal/runtime/maps, go1.24..1.26)
//   - the Map header (48 B);
//   - no hint or hint <= 8: the first insert allocates one group (small
//     mode); the 9th moves to a table of capacity 16 (table struct 32 B,
//     2 groups, a 1-entry directory);
//   - hint > 8 (NewMap): capacity hint*8/7 split over a directory of
//     pow2ceil(ceil(cap/1024)) tables of pow2ceil(cap/dirLen) slots;
//   - a table of capacity c holds c*7/8 entries (c-1 when c == 8); the next
//     insert doubles it (new table struct + groups) up to 1024 slots; a full
//     1024-slot table splits into two 1024-slot tables one level deeper, and
//     the directory doubles when the split table was at the global depth.
//     A table covering a hash prefix holds exactly the keys with that prefix,
//     so a prefix's table splits iff >= 897 keys share it.
//     ESTIMATED where the counts are random: per prefix the count is
//     Binomial(N, 2^-depth); expected splits/grows are exact sums of those
//     probabilities, the directory's depth assumes independent prefixes.
//     For most N the probabilities are ~0 or ~1 and the result is exact.
//
// Every allocation is charged at its size class (goruntime/alloc.h), which
// is what runtime.MemStats.TotalAlloc counts. "Live" bytes are what the map
// still references at the end (for a classic map still evacuating its last
// growth, the old array too; the evacuation progress is an estimate).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "goruntime/program.h"

namespace gms {

// A Go type as the map layout sees it.
struct TypeShape {
  uint64_t size = 0;
  uint64_t align = 1;     // power of two, at most 8
  bool pointers = false;  // contains pointers the GC scans
};

// A map type as the model sees it, before any map of it exists: key and
// value layout, Go release and implementation. (A decoded map's buckets,
// groups and load are goruntime/maps.h's MapShape.)
struct MapTypeShape {
  TypeShape key, value;
  int goMinor = 26;               // Go 1.x, 19..27
  MapImpl impl = MapImpl::Swiss;  // classic: 19..25, swiss: 24..26
};

// The shape of a Go type named as in source, for the common cases: bool,
// string, int, uint, int8..int64, uint8..uint64, uintptr, byte, rune,
// float32/64, complex64/128, pointer-ish types (*T, unsafe.Pointer, map[..],
// chan T, func(..)), []T, any/interface{}/error, struct{} and [N]T of any of
// those. Throws Error(Usage) naming the accepted names otherwise.
TypeShape goTypeShape(std::string_view goType);
// A MapTypeShape from Go type names; impl defaults to the version's default
// (swiss from 1.24). Throws Error(Usage/Unsupported) for bad combinations.
MapTypeShape mapShapeFromGoTypes(std::string_view key, std::string_view value, int goMinor,
                                 std::optional<MapImpl> impl = std::nullopt);

// The in-memory layout the compiler gives the map's buckets/groups.
struct MapLayout {
  bool indirectKey = false, indirectValue = false;  // > 128 bytes: stored as pointers
  uint64_t keySlot = 0, valueSlot = 0;              // bytes per key/value in a slot
  bool pointers = false;                            // bucket/group contains pointers
  // classic: tophash[8], keys[8], values[8], overflow pointer
  uint64_t bucketSize = 0;
  // swiss: ctrl word + 8 slots of struct{key; elem}
  uint64_t slotSize = 0, elemOffset = 0, groupSize = 0;
};
MapLayout mapLayout(const MapTypeShape& shape);

// One kind of allocation made while building the map.
struct AllocItem {
  std::string what;        // e.g. "bucket array B=4 (19 buckets)"
  double count = 0;        // expected number of allocations
  uint64_t each = 0;       // bytes per allocation (size class); 0 when they differ
  double bytes = 0;        // expected bytes allocated in total
  double liveBytes = 0;    // expected bytes still referenced by the map at the end
  bool estimated = false;  // depends on where keys hash (see the header comment)
};

// One way of building the map: make(map[K]V) or make(map[K]V, hint), then N inserts.
struct MapPlan {
  std::optional<uint64_t> hint;
  // classic
  unsigned B = 0;              // final log2(buckets)
  uint64_t buckets = 0;        // 2^B (0 while no array is allocated)
  uint64_t spareOverflow = 0;  // preallocated overflow buckets in the final array
  double overflowBuckets = 0;  // expected overflow buckets in use at the end
  unsigned growths = 0;        // classic: hashGrow calls; swiss: see grows/splits
  bool growing = false;        // classic: expected to be still evacuating at the end
  // swiss
  bool small = false;   // small mode (one group, no directory)
  double dirLen = 0;    // expected directory length (0 in small mode)
  double tables = 0;    // expected distinct tables
  double groups = 0;    // expected groups in all tables (1 in small mode)
  double capacity = 0;  // expected slots in all tables
  double grows = 0;     // expected table doublings (incl. small -> table)
  double splits = 0;    // expected table splits
  // both
  double totalBytes = 0;   // expected bytes allocated (what TotalAlloc counts)
  double liveBytes = 0;    // expected bytes the map references at the end
  double stddevBytes = 0;  // spread of totalBytes from hash-seed randomness
  bool exact = false;      // deterministic (stddev < 0.5 byte): totalBytes is exact
  std::vector<AllocItem> items;
  uint64_t total() const { return static_cast<uint64_t>(totalBytes + 0.5); }
  uint64_t live() const { return static_cast<uint64_t>(liveBytes + 0.5); }
};

struct MapAdvice {
  MapTypeShape shape;
  MapLayout layout;
  uint64_t keys = 0;
  MapPlan withoutHint;           // make(map[K]V)
  MapPlan withHint;              // make(map[K]V, hint) with the hint asked about (default: keys)
  uint64_t recommendedHint = 0;  // normally keys
  MapPlan recommended;
  double bytesSaved = 0;           // withoutHint.totalBytes - recommended.totalBytes
  std::vector<std::string> notes;  // what is estimated and why
};

// Throws Error(Usage) for an invalid shape (alignment, version/impl) or
// keys/hint beyond 2^40.
MapAdvice adviseMap(const MapTypeShape& shape, uint64_t keys, std::optional<uint64_t> hint);
// One plan only.
MapPlan planMap(const MapTypeShape& shape, uint64_t keys, std::optional<uint64_t> hint);

}  // namespace gms
