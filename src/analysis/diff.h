// Diff: what changed between two snapshots of the same Go program (two cores,
// or a core and a live process) — `gomemscope diff`.
//
// A snapshot (DiffSnapshot) is what was read from one side while it was
// frozen: the maps and lists reachable from globals (discover(), with the
// memory regions each one owns), runtime.MemStats, and a digest of every
// page of every writable mapping (digestPages). diff() is pure: it compares
// two snapshots and returns a Diff record, which report/diff_report.h
// formats.
//
// Matching: maps and lists are matched by their discovery path
// (main.cache.items), then, for those left over, by header address and type
// (a map keeps its header when it grows; its path can change when the first
// reference that reaches it changes).
//
// Pages: a 4 KiB page present in both snapshots whose digest differs is
// "changed"; one present only after is "added", only before "removed".
// Every differing page is attributed once, in this order, to: maps/lists
// whose memory covers it (in either snapshot), goroutine stacks, the
// executable's writable data (globals), other anonymous memory (the rest of
// the Go heap and the runtime's off-heap structures), other mappings. Per
// map, pagesChanged counts differing pages it covers in either snapshot, and
// pagesRetainedChanged those it covered in both — memory the map kept and
// wrote to, which for a map that shrank is the emptied slots and tombstones
// of its still-allocated buckets ("pages still dirty after delete"),
// answered by content rather than by kernel dirty bits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "goruntime/discover.h"
#include "goruntime/memstats.h"
#include "target/memory.h"

namespace gms {

inline constexpr uint64_t kDiffPageSize = 4096;

// Where a page lives, from the mapping that holds it.
enum class PageArea : uint8_t { Anonymous, Stack, File, Heap };

struct PageDigest {
  uint64_t addr = 0;  // page address (4 KiB aligned)
  uint64_t hash = 0;  // of the page's 4096 bytes
  PageArea area = PageArea::Anonymous;
  bool unreadable = false;  // in a readable mapping, but the read faulted
};

struct AddrRange {
  uint64_t lo = 0, hi = 0;  // [lo, hi)
};

struct DiffSnapshot {
  std::string target;                // "core a.core", "pid 1234"
  std::optional<double> unixTime;    // when the snapshot was taken, if known
  Discovery found;                   // discover() with keepRegions
  std::optional<MemStats> memstats;  // nullopt: could not be read (memstatsError says why)
  std::string memstatsError;
  bool pagesRead = false;          // digestPages ran
  std::vector<PageDigest> pages;   // sorted by addr
  std::vector<AddrRange> stacks;   // goroutine stacks [stack.lo, stack.hi)
  std::vector<AddrRange> globals;  // the executable's writable data (.data, .bss, ...)
};

// Digests every page of every readable, writable mapping of mem, sorted by
// address. Reads in 1 MiB chunks (zero-copy views of an mmap'd core); a page
// that faults is recorded as unreadable. A live target must be frozen.
std::vector<PageDigest> digestPages(const Memory& mem);

enum class DiffStatus { Grown, Shrunk, Unchanged, New, Vanished };
const char* diffStatusName(DiffStatus s);

struct DiffItem {
  FoundKind kind = FoundKind::Map;
  Path path;        // the after path (the before one for vanished)
  Path beforePath;  // when matched by address under another path
  std::string typeName;
  DiffStatus status = DiffStatus::Unchanged;
  bool matchedByAddress = false;
  uint64_t addrBefore = 0, addrAfter = 0;
  uint64_t lenBefore = 0, lenAfter = 0;
  uint64_t footprintBefore = 0, footprintAfter = 0;
  int64_t lenDelta() const { return int64_t(lenAfter) - int64_t(lenBefore); }
  int64_t footprintDelta() const { return int64_t(footprintAfter) - int64_t(footprintBefore); }
  uint64_t pagesChanged = 0;          // differing pages its memory covers (either side)
  uint64_t pagesRetainedChanged = 0;  // ... covered on both sides
};

struct MemStatsDelta {
  std::string name;                // runtime.MemStats field name
  bool integer = true;             // uint64/uint32 field; false for GCCPUFraction
  MemStatsUnit unit = MemStatsUnit::Count;  // integer fields: memStatsScalars()'s unit
  uint64_t before = 0, after = 0;  // integer fields
  double fbefore = 0, fafter = 0;  // GCCPUFraction
  int64_t delta() const { return int64_t(after - before); }
  bool changed() const { return integer ? before != after : fbefore != fafter; }
};

struct PageAttribution {
  uint64_t maps = 0, lists = 0, stacks = 0, globals = 0, otherAnonymous = 0, other = 0;
};

struct PageDiff {
  bool available = false;  // both sides were digested
  uint64_t compared = 0;   // pages present and readable in both
  uint64_t changed = 0, added = 0, removed = 0;
  uint64_t unreadable = 0;  // present in both, unreadable in one
  uint64_t bytesCompared() const { return compared * kDiffPageSize; }
  PageAttribution attributed;  // of changed + added + removed
};

struct Diff {
  std::string before, after;                    // targets
  std::optional<double> beforeTime, afterTime;  // unix seconds, when known
  std::optional<double> seconds;                // after - before, when both times are known
  std::vector<DiffItem> items;                  // every map and list of either side;
                                                // by |footprint delta| desc, then path
  std::string itemsUnavailable;  // why maps and lists were not compared ("" if they were)
  bool memstatsAvailable = false;
  std::string memstatsError;
  std::vector<MemStatsDelta> memstats;  // every scalar field, in MemStats order
  PageDiff pages;
  uint64_t changedItems() const;  // items not Unchanged
};

Diff diff(const DiffSnapshot& before, const DiffSnapshot& after);

}  // namespace gms
