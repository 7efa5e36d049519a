#include "goruntime/builtin_layouts.h"

#include <charconv>
#include <cstdlib>

#include "common/error.h"

namespace gms {

namespace {

// The element of mheap.central: struct { mcentral mcentral; pad [...]byte },
// padded to a cache line (runtime/mheap.go), named as DWARF names it.
constexpr std::string_view kCentralElem =
    "struct { runtime.mcentral runtime.mcentral; runtime.pad [24]uint8 }";
LayoutStruct centralElem() {
  return {kCentralElem, 192, {{"mcentral", 0, "runtime.mcentral"}, {"pad", 168, "[24]uint8"}}};
}
LayoutStruct mcentral() { return {"runtime.mcentral", 168, {{"spanclass", 0, "uint8"}}}; }
// runtime/mfixalloc.go: first is a func value and stat a *sysMemStat; both
// are read as addresses only.
LayoutStruct fixalloc() {
  return {"runtime.fixalloc",
          72,
          {{"size", 0, "uintptr"},
           {"first", 8, "unsafe.Pointer"},
           {"arg", 16, "unsafe.Pointer"},
           {"inuse", 48, "uintptr"},
           {"stat", 56, "unsafe.Pointer"}}};
}

std::vector<LayoutTable> makeTables() {
  std::vector<LayoutTable> t;
  // Go 1.19: heapStatsDelta still has inPtrScalarBits (removed in 1.25).
  t.push_back({"go1.19",
               {19},
               "go1.19 src/runtime/mstats.go (mstats, consistentHeapStats, heapStatsDelta), "
               "mheap.go (mheap), "
               "mcentral.go, mfixalloc.go, mgcpacer.go (gcControllerState)",
               {{"runtime.heapStatsDelta",
                 1176,
                 {{"committed", 0, "int64"},
                  {"released", 8, "int64"},
                  {"inHeap", 16, "int64"},
                  {"inStacks", 24, "int64"},
                  {"inWorkBufs", 32, "int64"},
                  {"inPtrScalarBits", 40, "int64"},
                  {"tinyAllocCount", 48, "uint64"},
                  {"largeAlloc", 56, "uint64"},
                  {"largeAllocCount", 64, "uint64"},
                  {"smallAllocCount", 72, "[68]uint64"},
                  {"largeFree", 616, "uint64"},
                  {"largeFreeCount", 624, "uint64"},
                  {"smallFreeCount", 632, "[68]uint64"}}},
                {"runtime.consistentHeapStats",
                 3544,
                 {{"stats", 0, "[3]runtime.heapStatsDelta"}, {"gen", 3528, "uint32"}}},
                {"runtime.mstats",
                 13512,
                 {{"heapStats", 0, "runtime.consistentHeapStats"},
                  {"stacks_sys", 3544, "uint64"},
                  {"mspan_sys", 3552, "uint64"},
                  {"mcache_sys", 3560, "uint64"},
                  {"buckhash_sys", 3568, "uint64"},
                  {"gcMiscSys", 3576, "uint64"},
                  {"other_sys", 3584, "uint64"},
                  {"last_gc_unix", 3592, "uint64"},
                  {"pause_total_ns", 3600, "uint64"},
                  {"pause_ns", 3608, "[256]uint64"},
                  {"pause_end", 5656, "[256]uint64"},
                  {"numgc", 7704, "uint32"},
                  {"numforcedgc", 7708, "uint32"},
                  {"gc_cpu_fraction", 7712, "float64"}}},
                mcentral(),
                centralElem(),
                fixalloc(),
                {"runtime.mheap",
                 92672,
                 {{"sweepgen", 65848, "uint32"},
                  {"allspans", 65856, "[]*runtime.mspan"},
                  {"arenas", 65936, "[1]uintptr"},  // [1]*[1 << 22]*heapArena
                  {"central", 66112,
                   "[136]struct { runtime.mcentral runtime.mcentral; runtime.pad [24]uint8 }"},
                  {"spanalloc", 92224, "runtime.fixalloc"},
                  {"cachealloc", 92296, "runtime.fixalloc"}}},
                {"runtime.gcControllerState",
                 424,
                 {{"gcPercent", 0, "int32"},
                  {"memoryLimit", 8, "int64"},
                  {"gcPercentHeapGoal", 104, "uint64"},
                  {"sweepDistMinTrigger", 112, "uint64"},
                  {"triggered", 120, "uint64"},
                  {"heapLive", 136, "uint64"},
                  {"heapMarked", 184, "uint64"},
                  {"heapInUse", 304, "uint64"},
                  {"heapReleased", 312, "uint64"},
                  {"heapFree", 320, "uint64"},
                  {"totalAlloc", 328, "uint64"},
                  {"totalFree", 336, "uint64"},
                  {"mappedReady", 344, "uint64"}}}}});
  // Go 1.26 and 1.27 (the same layouts): no inPtrScalarBits; mheap gained
  // spanSPMCAlloc, cleanupID and immortalWeakHandles; gcControllerState lost
  // its piController.
  t.push_back({"go1.26",
               {26, 27},
               "go1.26.8 and go1.27.3 src/runtime/mstats.go (mstats, consistentHeapStats, "
               "heapStatsDelta), mheap.go "
               "(mheap), mcentral.go, mfixalloc.go, mgcpacer.go (gcControllerState)",
               {{"runtime.heapStatsDelta",
                 1168,
                 {{"committed", 0, "int64"},
                  {"released", 8, "int64"},
                  {"inHeap", 16, "int64"},
                  {"inStacks", 24, "int64"},
                  {"inWorkBufs", 32, "int64"},
                  {"tinyAllocCount", 40, "uint64"},
                  {"largeAlloc", 48, "uint64"},
                  {"largeAllocCount", 56, "uint64"},
                  {"smallAllocCount", 64, "[68]uint64"},
                  {"largeFree", 608, "uint64"},
                  {"largeFreeCount", 616, "uint64"},
                  {"smallFreeCount", 624, "[68]uint64"}}},
                {"runtime.consistentHeapStats",
                 3520,
                 {{"stats", 0, "[3]runtime.heapStatsDelta"}, {"gen", 3504, "uint32"}}},
                {"runtime.mstats",
                 10440,
                 {{"heapStats", 0, "runtime.consistentHeapStats"},
                  {"stacks_sys", 3520, "uint64"},
                  {"mspan_sys", 3528, "uint64"},
                  {"mcache_sys", 3536, "uint64"},
                  {"buckhash_sys", 3544, "uint64"},
                  {"gcMiscSys", 3552, "uint64"},
                  {"other_sys", 3560, "uint64"},
                  {"last_gc_unix", 3568, "uint64"},
                  {"pause_total_ns", 3576, "uint64"},
                  {"pause_ns", 3584, "[256]uint64"},
                  {"pause_end", 5632, "[256]uint64"},
                  {"numgc", 7680, "uint32"},
                  {"numforcedgc", 7684, "uint32"},
                  {"gc_cpu_fraction", 7688, "float64"}}},
                mcentral(),
                centralElem(),
                fixalloc(),
                {"runtime.mheap",
                 93464,
                 {{"sweepgen", 65856, "uint32"},
                  {"allspans", 65864, "[]*runtime.mspan"},
                  {"central", 66208,
                   "[136]struct { runtime.mcentral runtime.mcentral; runtime.pad [24]uint8 }"},
                  {"spanalloc", 92320, "runtime.fixalloc"},
                  {"cachealloc", 92464, "runtime.fixalloc"}}},
                {"runtime.gcControllerState",
                 392,
                 {{"gcPercent", 0, "int32"},
                  {"memoryLimit", 8, "int64"},
                  {"gcPercentHeapGoal", 72, "uint64"},
                  {"sweepDistMinTrigger", 80, "uint64"},
                  {"triggered", 88, "uint64"},
                  {"heapLive", 104, "uint64"},
                  {"heapMarked", 152, "uint64"},
                  {"heapInUse", 272, "uint64"},
                  {"heapReleased", 280, "uint64"},
                  {"heapFree", 288, "uint64"},
                  {"totalAlloc", 296, "uint64"},
                  {"totalFree", 304, "uint64"},
                  {"mappedReady", 312, "uint64"}}}}});
  return t;
}

struct Basic {
  std::string_view name;
  Kind kind;
  uint64_t size;
};
constexpr Basic kBasics[] = {
    {"uint8", Kind::Uint8, 1},     {"int32", Kind::Int32, 4},
    {"uint32", Kind::Uint32, 4},   {"int64", Kind::Int64, 8},
    {"uint64", Kind::Uint64, 8},   {"uintptr", Kind::Uintptr, 8},
    {"float64", Kind::Float64, 8}, {"unsafe.Pointer", Kind::UnsafePointer, 8},
};

}  // namespace

const std::vector<LayoutTable>& builtinLayoutTables() {
  static const std::vector<LayoutTable> tables = makeTables();
  return tables;
}

const LayoutTable& builtinLayoutFor(int minor) {
  const LayoutTable* best = nullptr;
  int bestDist = 0;
  for (const auto& t : builtinLayoutTables())
    for (int v : t.verified) {
      int d = std::abs(v - minor);
      if (!best || d < bestDist) best = &t, bestDist = d;
    }
  return *best;
}

std::string runtimeLayoutNote(int minor) {
  const LayoutTable& t = builtinLayoutFor(minor);
  for (int v : t.verified)
    if (v == minor) return "";
  return fmt::format(
      "go1.{}: no verified built-in runtime layout; using {}'s (the nearest), checked by the "
      "runtime's "
      "own invariants",
      minor, t.name);
}

BuiltinTypes::BuiltinTypes(const LayoutTable& table) : table_(table) {
  for (const auto& s : table_.structs) build(s.name);
}

const Type* BuiltinTypes::find(std::string_view name) const {
  for (const auto& t : types_)
    if (t.name == name) return &t;
  return nullptr;
}

const Type* BuiltinTypes::build(std::string_view spelling) {
  if (const Type* t = find(spelling)) return t;
  for (const auto& b : kBasics)
    if (b.name == spelling) {
      Type& t = types_.emplace_back();
      t.name = std::string(b.name);
      t.kind = b.kind;
      t.size = b.size;
      return &t;
    }
  if (spelling.starts_with("[]") || spelling.starts_with('*')) {  // a slice or pointer
    bool slice = spelling[0] == '[';
    std::string_view elemName = spelling.substr(slice ? 2 : 1);
    // The element when the table or the basics know it (a span pointer's
    // mspan is the descriptors' business: left unresolved).
    const Type* elem = nullptr;
    if (elemName.starts_with('*') || elemName.starts_with("[]")) elem = build(elemName);
    else if (const Type* e = find(elemName)) elem = e;
    Type& t = types_.emplace_back();
    t.name = std::string(spelling);
    t.kind = slice ? Kind::Slice : Kind::Pointer;
    t.size = slice ? 24 : 8;
    t.elem = elem;
    return &t;
  }
  if (spelling.size() > 2 && spelling[0] == '[') {
    auto close = spelling.find(']');
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(spelling.data() + 1, spelling.data() + close, n);
    if (close == std::string_view::npos || ec != std::errc() || p != spelling.data() + close)
      fail(ErrorKind::Internal, "built-in layout: bad array type {}", spelling);
    const Type* elem = build(spelling.substr(close + 1));
    Type& t = types_.emplace_back();
    t.name = std::string(spelling);
    t.kind = Kind::Array;
    t.elem = elem;
    t.len = n;
    t.size = n * elem->size;
    return &t;
  }
  for (const auto& s : table_.structs) {
    if (s.name != spelling) continue;
    std::vector<Field> fields;
    for (const auto& f : s.fields) {
      const Type* ft = build(f.type);
      if (f.offset + ft->size > s.size)
        fail(ErrorKind::Internal, "built-in layout {}: {}.{} lies outside the struct", table_.name,
             s.name, f.name);
      fields.push_back({std::string(f.name), f.offset, ft, false});
    }
    Type& t = types_.emplace_back();
    t.name = std::string(s.name);
    t.kind = Kind::Struct;
    t.size = s.size;
    t.fields = std::move(fields);
    return &t;
  }
  fail(ErrorKind::Internal, "built-in layout {}: unknown type {}", table_.name, spelling);
}

}  // namespace gms
