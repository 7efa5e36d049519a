// What runtime.ReadMemStats would return at this moment, rebuilt from the
// target's raw memory (runtime/mstats.go readmemstats_m), for Go 1.19 and
// Go 1.26 — every offset from DWARF (runtime.mstats, consistentHeapStats,
// heapStatsDelta, gcControllerState, mcache, mspan, p, mheap, fixalloc).
//
// ReadMemStats stops the world and first flushes every P's mcache
// (flushallmcaches → mcache.releaseAll): allocations from a cached span are
// only counted when the span leaves the cache, and tiny allocations when the
// mcache is flushed. A passive reader cannot flush, so it adds what the flush
// would add: per P (allp[0:gomaxprocs]), mcache.tinyAllocs, and for every
// cached span (mcache.alloc[spc] != &runtime.emptymspan)
// allocCount - allocCountBeforeCache to size class spc>>1. The three entries
// of the memstats.heapStats ring are summed (consistentHeapStats.unsafeRead).
// NextGC is gcControllerState.heapGoal() over the flushed totals.
//
// Constants that DWARF cannot give, per Go version: the memory-limit goal's
// headroom (1 MiB up to 1.20; max(3%, 1 MiB) from 1.21); the size-class table
// when neither runtime.class_to_size (≤1.24) nor
// internal/runtime/gc.SizeClassToSize (1.25+) is in DWARF (the table is the
// same in every supported version).
//
// A live target must be frozen for the read (control::Freezer); otherwise
// counters are read at different instants. Even frozen, a thread stopped
// inside mallocgc/refill (which ReadMemStats's stop-the-world never sees)
// can leave a span counted twice or not yet; that is the inherent limit of a
// passive snapshot.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "goruntime/program.h"

namespace gms {

struct MemStatsSizeClass {
  uint32_t Size = 0;
  uint64_t Mallocs = 0;
  uint64_t Frees = 0;
};

// Field names and meanings exactly as runtime.MemStats (Go 1.19–1.26).
struct MemStats {
  uint64_t Alloc = 0;
  uint64_t TotalAlloc = 0;
  uint64_t Sys = 0;
  uint64_t Lookups = 0;  // never set by the runtime (1.19–1.26): always 0
  uint64_t Mallocs = 0;
  uint64_t Frees = 0;
  uint64_t HeapAlloc = 0;
  uint64_t HeapSys = 0;
  uint64_t HeapIdle = 0;
  uint64_t HeapInuse = 0;
  uint64_t HeapReleased = 0;
  uint64_t HeapObjects = 0;
  uint64_t StackInuse = 0;
  uint64_t StackSys = 0;
  uint64_t MSpanInuse = 0;
  uint64_t MSpanSys = 0;
  uint64_t MCacheInuse = 0;
  uint64_t MCacheSys = 0;
  uint64_t BuckHashSys = 0;
  uint64_t GCSys = 0;
  uint64_t OtherSys = 0;
  uint64_t NextGC = 0;
  uint64_t LastGC = 0;        // unix ns of the end of the last GC; 0 if none
  uint64_t PauseTotalNs = 0;
  std::array<uint64_t, 256> PauseNs{};   // circular; latest at (NumGC+255)%256
  std::array<uint64_t, 256> PauseEnd{};
  uint32_t NumGC = 0;
  uint32_t NumForcedGC = 0;
  double GCCPUFraction = 0;
  bool EnableGC = true;   // ReadMemStats always reports true
  bool DebugGC = false;   // unused by the runtime
  std::array<MemStatsSizeClass, 61> BySize{};  // size classes 0..60 (≤ 18432 B)

  // ---- Not in runtime.MemStats: for diagnosis ----
  struct Extras {
    // Allocation counts behind Mallocs/TotalAlloc (after the mcache flush).
    uint64_t tinyAllocs = 0;        // objects packed into 16-byte tiny blocks (also in Frees)
    uint64_t smallAllocs = 0, smallAllocBytes = 0;  // size classes 1..N-1
    uint64_t smallFrees = 0, smallFreeBytes = 0;
    uint64_t largeAllocs = 0, largeAllocBytes = 0;  // > 32 KiB, straight from the heap
    uint64_t largeFrees = 0, largeFreeBytes = 0;
    // Every size class the runtime has (BySize stops at 60).
    std::vector<MemStatsSizeClass> sizeClasses;

    // What the mcache flush added (counted nowhere else yet).
    uint32_t procs = 0;             // Ps whose mcaches were flushed (gomaxprocs)
    uint64_t cachedSpans = 0;       // spans held by those mcaches
    uint64_t unflushedTinyAllocs = 0;
    uint64_t unflushedSmallAllocs = 0;
    uint64_t unflushedSmallBytes = 0;

    // GC pacer (gcControllerState).
    int32_t gcPercent = 100;        // GOGC; -1 = off
    int64_t memoryLimit = 0;        // GOMEMLIMIT in bytes; math.MaxInt64 = none
    uint64_t heapMarked = 0;        // live heap at the end of the last mark
    uint64_t heapLive = 0;          // as the pacer counts it, after the flush
    uint64_t gcPercentHeapGoal = 0;
    uint64_t memoryLimitHeapGoal = 0;
    bool goalFromMemoryLimit = false;  // NextGC is the memory-limit goal
    uint64_t mappedReady = 0;       // mapped memory in the Ready state (Sys - HeapReleased)
    uint64_t lastPauseNs = 0;       // PauseNs of the latest GC (0 before the first)

    // Inconsistencies met in the snapshot (a torn read, a P mid-refill);
    // the values are still computed as the runtime would.
    std::vector<std::string> notes;
    // Where the runtime layouts and globals came from: "DWARF", or the type
    // descriptors with built-in layouts and located globals (-s -w).
    std::string layout;
  } extras;
};

// The integer fields of runtime.MemStats, in Go's declaration order, with
// what every sink needs to export them: one table for JSON (stats, export
// snapshots), diff (bytes shown as bytes), Prometheus (client_golang's names
// and help) and the HTML report (which fields, in which order).
enum class MemStatsUnit { Bytes, Count, Nanoseconds, UnixNanos };
struct MemStatsScalar {
  const char* name;  // "HeapAlloc", as Go spells the field
  uint64_t (*get)(const MemStats&);
  MemStatsUnit unit;
  bool cumulative;         // only grows (a Prometheus counter)
  bool afterPauses;        // JSON writes it after PauseNs/PauseEnd (NumGC, NumForcedGC)
  const char* prometheus;  // client_golang's go_memstats_* name; nullptr: exported otherwise
  const char* help;        // its Prometheus help text
  // The HTML report: the field's row in its MemStats table (1 first; 0: not
  // shown), and whether a series of samples charts it (bytes in the heap
  // chart, counts in the GC chart, each in row order).
  int htmlRow;
  bool htmlChart;
};
const std::vector<MemStatsScalar>& memStatsScalars();

// Throws gms::Error: MissingDebugInfo naming the runtime type and field that
// is missing (no DWARF, or a runtime layout this code does not know),
// NotFound for a missing runtime global, Fault (with the structure being
// read in the message) for unreadable memory, Corrupt for impossible sizes
// and counts (allp longer than 1<<16, gomaxprocs outside 1..1<<16, a cached
// span of a size class the runtime does not have).
MemStats readMemStats(const Program& p);

}  // namespace gms
