// Map decoders: classic (runtime.hmap/bmap, Go <= 1.23) and Swiss
// (internal/runtime/maps, Go >= 1.24), behind one walk().
//
// Layouts come from the DWARF the linker synthesises for each map type
// (hash<K,V>/bucket<K,V>, or map<K,V>/table<K,V>/group), so field offsets are
// never hard-coded; which decoder runs is decided by which fields exist
// (`buckets` vs `dirPtr`), as Delve does.
//
// A walk reads whole bucket/group arrays at once, visits every full slot
// exactly once (both arrays of a classic map in the middle of a growth), and
// never trusts target memory: B, dirLen, capacities and chains are bounded,
// chains are cycle-checked, and whatever cannot be read becomes a problem
// while the rest of the map is still listed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "goruntime/layout.h"
#include "goruntime/program.h"

namespace gms {

// One bucket (classic) or group (Swiss), for --buckets.
struct BucketRecord {
  bool old = false;    // classic: in the oldbuckets array
  int table = -1;      // swiss: index into MapSummary::tables
  uint64_t index = 0;  // bucket index / group index in its table
  int chainPos = 0;    // classic: 0 main bucket, 1.. overflow buckets
  uint64_t addr = 0;
  uint8_t ctrl[8] = {};   // tophash bytes or control bytes
  int used = 0;           // full slots
  uint64_t overflow = 0;  // classic: next overflow bucket
};

struct TableRecord {  // swiss
  uint64_t addr = 0;
  int64_t index = 0;        // first directory slot (table.index)
  uint64_t dirEntries = 0;  // directory slots pointing at this table
  uint64_t used = 0, capacity = 0, growthLeft = 0, localDepth = 0, groups = 0;
  uint64_t tombstones = 0, full = 0;
};

// A block of memory a map owns (an allocation, size-class rounded), collected
// when WalkOptions::regions is set so that `gomemscope diff` can attribute
// changed pages to the maps whose memory covers them.
struct Region {
  uint64_t addr = 0;
  uint64_t size = 0;
  const char* what = "";  // "header", "buckets", "oldbuckets", "overflow", "directory",
                          // "table", "groups", "indirect key", "indirect value"
};

struct MapFootprint {
  uint64_t header = 0;  // hmap / maps.Map (+ mapextra)
  uint64_t buckets =
      0;  // classic: bucket array(s) incl. preallocated overflow; swiss: group arrays
  uint64_t oldBuckets = 0;  // classic while growing
  uint64_t overflow = 0;    // classic: separately allocated overflow buckets
  uint64_t directory = 0;   // swiss: directory array
  uint64_t tables = 0;      // swiss: table structs
  uint64_t indirect = 0;    // out-of-line keys/values (> 128 bytes)
  uint64_t total() const {
    return header + buckets + oldBuckets + overflow + directory + tables + indirect;
  }
};

// A map's shape: what top, diagnose, the Prometheus exporter and the HTML
// report carry of a walked map, the one record they share (Found,
// MapObservation and PromMap embed it; shapeOf makes it from a MapSummary).
// Implementation-specific fields are 0/false for the other implementation.
struct MapShape {
  MapImpl impl = MapImpl::Classic;
  uint64_t len = 0;    // the header's count/used
  uint64_t found = 0;  // full slots actually found
  bool torn = false;   // a write was in progress (hashWriting / writing)
  MapFootprint footprint;
  // classic
  uint64_t B = 0, nbuckets = 0, overflowBuckets = 0;
  bool growing = false, sameSizeGrow = false;
  uint64_t oldBuckets = 0;  // buckets in the old array while growing
  // swiss
  uint64_t dirLen = 0, tables = 0, groups = 0, capacity = 0, tombstones = 0;
  bool small = false;  // one group, no directory

  double loadFactor() const;  // entries per bucket (classic) or per slot (swiss)
  // How full the map is against what makes it grow: 1.0 means the next
  // insert of a new key grows it. Classic: entries / max(8, 6.5 x buckets)
  // (the runtime's overLoadFactor); Swiss: entries / (7/8 x slots) for tables
  // (maxAvgGroupLoad), entries / 8 for a small map (one group, then a table).
  double load() const;
};

struct MapSummary {
  MapImpl impl = MapImpl::Classic;
  uint64_t addr = 0;                // header address (the map value)
  const Type* type = nullptr;       // map[K]V
  uint64_t len = 0;                 // the header's count/used
  uint64_t found = 0;               // full slots actually found
  std::vector<HeaderField> header;  // runtime fields, in declaration order
  bool nil = false;                 // the map value is nil
  bool torn = false;                // a write was in progress (hashWriting / writing)
  // classic
  uint64_t B = 0, nbuckets = 0, overflowBuckets = 0, maxChain = 0, emptySlots = 0;
  bool growing = false, sameSizeGrow = false;
  uint64_t oldBucketCount = 0, evacuated = 0, nevacuate = 0;
  // swiss
  uint64_t dirLen = 0, globalDepth = 0, groups = 0, capacity = 0, tombstones = 0;
  bool small = false;
  std::vector<TableRecord> tables;
  bool indirectKey = false, indirectValue = false;
  MapFootprint footprint;
  std::vector<BucketRecord> buckets;  // when WalkOptions::buckets
  std::vector<Region> regions;        // when WalkOptions::regions
  std::vector<std::string> problems;
  // The header check that failed (unreadable, or an invariant of the
  // runtime's header broken: "writing=177 (a flag toggled between 0 and
  // 1)"): nothing past the header was decoded. "" when the header passed.
  std::string invalidHeader;
  // Records that the header broke an invariant (why names it): invalidHeader
  // and a problem saying the header is corrupt.
  void rejectHeader(std::string why);
  double loadFactor() const;  // MapShape::loadFactor
  double load() const;        // MapShape::load
};

// The shape of a walked map.
MapShape shapeOf(const MapSummary& s);

struct WalkOptions {
  bool buckets = false;           // collect BucketRecords
  uint64_t maxBuckets = 1 << 20;  // bound on BucketRecords collected
  bool regions = false;           // collect the Regions the map owns
  bool headerOnly = false;        // read and check the header, nothing more
};

// Called with the addresses of each full slot's key and value (after following
// indirect keys/values). Return false to stop receiving entries (the walk
// still completes its summary).
using EntryFn = std::function<bool(uint64_t keyAddr, uint64_t valueAddr)>;

// Walks the map whose header (*hmap / *maps.Map) is at headerAddr; headerAddr
// 0 is a nil map. mapType must be a Kind::Map type. Never throws for problems
// inside the map (they go to summary.problems); throws only when mapType
// lacks the layout information needed.
MapSummary walkMap(const Program& p, const Type* mapType, uint64_t headerAddr,
                   const WalkOptions& opts, const EntryFn& onEntry);

// What makes a map grow (runtime/map.go loadFactorNum/Den; internal/runtime/
// maps/table.go maxAvgGroupLoad): entries per bucket, and the fraction of a
// table's slots.
inline constexpr double kClassicMaxLoad = 6.5;
inline constexpr double kSwissMaxLoad = 7.0 / 8.0;

// What the memory at addr probably is when a header of mapType was expected
// there and failed its checks: the global (or field of one) that lives at
// addr, or a variable holding a pointer to a plausible header. "" when
// nothing better is known.
std::string guessMapAddress(const Program& p, const Type* mapType, uint64_t addr);

// Throws Error(Corrupt) when the header at hdr fails its checks: one line
// naming expr, the check that failed and guessMapAddress's guess. A nil map
// (hdr 0) passes. For commands about to decode a map a user named.
void requirePlausibleMap(const Program& p, const Type* mapType, uint64_t hdr,
                         std::string_view expr);

// The implementation a map type's DWARF layout says it uses.
MapImpl mapImplOf(const Type* mapType);

// The header field holding the map's length: "count" (classic hmap) or
// "used" (Swiss maps.Map).
const char* mapLenField(MapImpl impl);
// A header field named the way a user may name it on either implementation:
// "len", "count" and "used" are the length field of this one; other names
// are taken as they are.
std::string mapHeaderField(MapImpl impl, const std::string& name);
// The header fields that change when a map is written or grows (what watch
// follows by default): count, B, buckets, oldbuckets; used, dirPtr, dirLen.
std::vector<std::string> mapWatchFields(MapImpl impl);

// A slot's control byte as the runtime reads it: a classic bucket's tophash
// (runtime/map.go: emptyRest 0, emptyOne 1, evacuatedX 2, evacuatedY 3,
// evacuatedEmpty 4, minTopHash 5 and up for a full slot) or a Swiss group's
// ctrl byte (internal/runtime/maps/group.go: ctrlEmpty 0x80, ctrlDeleted
// 0xFE, the H2 of a full slot below 0x80).
namespace tophash {
constexpr uint8_t kEmptyRest = 0, kEmptyOne = 1, kEvacuatedX = 2, kEvacuatedY = 3,
                  kEvacuatedEmpty = 4, kMinTopHash = 5;
}
namespace ctrl {
constexpr uint8_t kEmpty = 0x80, kDeleted = 0xFE;
}
enum class SlotState : uint8_t {
  Full,
  EmptyRest,  // classic: empty, and so is every later slot of the chain
  EmptyOne,
  EvacuatedX,  // classic, old bucket: moved to the same index of the new array
  EvacuatedY,  // ... to index + old size
  EvacuatedEmpty,
  Empty,    // Swiss
  Deleted,  // Swiss: a tombstone
  Invalid,  // Swiss: a ctrl byte no slot holds
};
SlotState slotState(MapImpl impl, uint8_t c);
// "full", "emptyRest", "emptyOne", "evacuatedX", "evacuatedY",
// "evacuatedEmpty", "empty", "deleted", "invalid".
const char* slotStateName(SlotState s);

}  // namespace gms
