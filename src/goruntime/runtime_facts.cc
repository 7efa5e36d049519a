#include "goruntime/runtime_facts.h"

#include "common/error.h"

namespace gms {

namespace {

constexpr std::string_view kMemstats = "goruntime/memstats.cc";
constexpr std::string_view kClassic = "goruntime/classic_map.cc";
constexpr std::string_view kSwiss = "goruntime/swiss_map.cc";
constexpr std::string_view kMemstatsLocate = "goruntime/memstats.cc, goruntime/runtime_globals.cc";

}  // namespace

// clang-format off: one entry per runtime type, its fields on as few lines as they fit.
const std::vector<RuntimeStruct>& runtimeStructs() {
  static const std::vector<RuntimeStruct> t = {
      // ---- memory statistics (ReadMemStats redone over raw memory) ----
      {"runtime.mstats",
       "runtime/mstats.go",
       kMemstats,
       kAllReleases,
       {{"heapStats"},
        {"stacks_sys"},
        {"mspan_sys"},
        {"mcache_sys"},
        {"buckhash_sys"},
        {"gcMiscSys"},
        {"other_sys"},
        {"last_gc_unix"},
        {"pause_total_ns"},
        {"pause_ns"},
        {"pause_end"},
        {"numgc"},
        {"numforcedgc"},
        {"gc_cpu_fraction"}}},
      {"runtime.consistentHeapStats", "runtime/mstats.go", kMemstats, kAllReleases, {{"stats"}}},
      {"runtime.heapStatsDelta",
       "runtime/mstats.go",
       kMemstats,
       kAllReleases,
       {{"committed"},
        {"released"},
        {"inHeap"},
        {"inStacks"},
        {"inWorkBufs"},
        // Removed with the GC programs' pointer/scalar bitmaps (Go 1.25).
        {"inPtrScalarBits", {0, 24}, true},
        {"tinyAllocCount"},
        {"largeAlloc"},
        {"largeAllocCount"},
        {"largeFree"},
        {"largeFreeCount"},
        {"smallAllocCount"},
        {"smallFreeCount"}}},
      {"runtime.mspan",
       "runtime/mheap.go",
       "goruntime/memstats.cc, goruntime/runtime_globals.cc, goruntime/heap.cc",
       kAllReleases,
       {{"allocCount"},
        {"allocCountBeforeCache"},
        {"elemsize"},
        {"nelems"},
        {"sweepgen"},
        {"spanclass"},
        {"startAddr"},
        {"npages"},
        {"freeindex"},
        {"allocBits"},
        {"state"},
        {"largeType", Releases{22, 99}},  // heapBitsInSpan / malloc headers (Go 1.22)
        {"specials"}}},                   // finalizer and cleanup specials (heap_graph.cc)
      {"runtime.mcache", "runtime/mcache.go", kMemstats, kAllReleases, {{"tinyAllocs"}, {"alloc"}}},
      {"runtime.p",
       "runtime/runtime2.go",
       kMemstatsLocate,
       kAllReleases,
       {{"mcache"}, {"id"}, {"status"}}},
      {"runtime.mheap",
       "runtime/mheap.go",
       kMemstatsLocate,
       kAllReleases,
       {{"sweepgen"},
        {"spanalloc"},
        {"cachealloc"},
        {"central"},
        {"allspans"},
        {"arenas", Releases{0, 19}}}},  // goruntime/pointer_mask.cc: the arena bitmaps
      {"runtime.mcentral", "runtime/mcentral.go", kMemstatsLocate, kAllReleases, {{"spanclass"}}},
      {"runtime.fixalloc",
       "runtime/mfixalloc.go",
       kMemstatsLocate,
       kAllReleases,
       {{"inuse"}, {"arg"}, {"stat"}}},
      {"runtime.gcControllerState",
       "runtime/mgcpacer.go",
       kMemstats,
       kAllReleases,
       {{"heapInUse"},
        {"heapFree"},
        {"heapReleased"},
        {"totalAlloc"},
        {"totalFree"},
        {"mappedReady"},
        {"gcPercent"},
        {"memoryLimit"},
        {"heapMarked"},
        {"heapLive"},
        {"gcPercentHeapGoal"},
        {"sweepDistMinTrigger"},
        {"triggered"}}},
      // ---- goroutines and stacks ----
      {"runtime.g",
       "runtime/runtime2.go",
       "goruntime/goroutines.cc, goruntime/stack.cc, cli/cmd_diff.cc, "
       "goruntime/runtime_globals.cc, "
       "goruntime/stack_roots.cc",
       kAllReleases,
       {{"goid"}, {"stack"}, {"atomicstatus"}, {"m"}, {"sched"}, {"syscallsp"}, {"syscallpc"}}},
      {"runtime.gobuf",
       "runtime/runtime2.go",
       "goruntime/stack_roots.cc",
       kAllReleases,
       {{"sp"}, {"pc"}}},
      {"runtime.m",
       "runtime/runtime2.go",
       "goruntime/runtime_globals.cc",
       kAllReleases,
       {{"g0"},
        {"allpSnapshot", Releases{26, 99}, true}}},  // in 1.26 and 1.27 (not 1.19); optional
      {"runtime.stack",
       "runtime/runtime2.go",
       "goruntime/stack.cc, cli/cmd_diff.cc, goruntime/stack_roots.cc",
       kAllReleases,
       {{"lo"}, {"hi"}}},
      // ---- type descriptors ----
      {"runtime.moduledata",
       "runtime/symtab.go",
       "goruntime/program.cc",
       kAllReleases,
       {{"types"}}},
      // ---- classic maps: runtime.hmap/bmap and the linker's per-type copies ----
      {"runtime.hmap",
       "runtime/map.go",
       "goruntime/program.cc, goruntime/trace_hooks.cc",
       kClassicMaps,
       {{"count"}, {"flags"}, {"B"}, {"buckets"}, {"oldbuckets"}, {"nevacuate"}}},
      {"hash<*",
       "runtime/map.go (hmap), cmd/link/internal/ld/dwarf.go (synthesizemaptypes)",
       kClassic,
       kClassicMaps,
       {{"count"},
        {"flags"},
        {"B"},
        {"hash0"},  // goruntime/recognize.cc: a header's seed is set
        {"buckets"},
        {"oldbuckets"},
        {"nevacuate"},
        {"extra", kAllReleases, true}}},
      {"bucket<*",
       "runtime/map.go (bmap), cmd/link/internal/ld/dwarf.go (synthesizemaptypes)",
       kClassic,
       kClassicMaps,
       {{"tophash"},
        {"keys"},
        // "values" since Go 1.14's rename in the linker, "elems" elsewhere.
        {"values", kAllReleases, true},
        {"elems", kAllReleases, true},
        {"overflow"}}},
      // ---- Swiss maps: internal/runtime/maps and the linker's per-type copies ----
      {"internal/runtime/maps.Map",
       "internal/runtime/maps/map.go",
       "goruntime/program.cc, goruntime/trace_hooks.cc",
       kSwissMaps,
       {{"used"}, {"dirPtr"}, {"dirLen"}, {"globalDepth"}, {"writing"}}},
      {"internal/runtime/maps.table",
       "internal/runtime/maps/table.go",
       "goruntime/trace_hooks.cc",
       kSwissMaps,
       {{"capacity"}, {"localDepth"}}},
      {"map<*",
       "internal/runtime/maps/map.go (Map), cmd/link/internal/ld/dwarf.go (synthesizemaptypes)",
       kSwiss,
       kSwissMaps,
       {{"used"},
        {"seed"},  // goruntime/recognize.cc: a header's seed is set
        {"dirPtr"},
        {"dirLen"},
        {"globalDepth"},
        {"writing", kAllReleases, true},
        {"tombstonePossible", kAllReleases, true}}},
      {"table<*",
       "internal/runtime/maps/table.go (table)",
       kSwiss,
       kSwissMaps,
       {{"used"}, {"capacity"}, {"growthLeft"}, {"localDepth"}, {"index"}, {"groups"}}},
      {"groupReference<*",
       "internal/runtime/maps/group.go (groupsReference)",
       kSwiss,
       kSwissMaps,
       {{"data"}, {"lengthMask"}}},
      {"noalg.map.group[*",
       "cmd/compile/internal/reflectdata/map.go (MapGroupType)",
       kSwiss,
       kSwissMaps,
       {{"ctrl"},
        {"slots", kAllReleases, true},  // interleaved K/V slots (the default)
        {"keys", {27, 99}, true},       // GOEXPERIMENT=mapsplitgroup
        {"elems", {27, 99}, true}}},
      // One slot of the interleaved layout (none with mapsplitgroup).
      {"noalg.struct { key *",
       "cmd/compile/internal/reflectdata/map.go (MapGroupType: one slot)",
       kSwiss,
       kSwissMaps,
       {{"key"}, {"elem"}},
       true},
      // ---- sync.Map (goruntime/sync_map.cc): read/dirty up to Go 1.23, the
      // hash-trie of internal/sync from Go 1.24 ----
      {"sync.Map",
       "sync/map.go",
       "goruntime/sync_map.cc",
       kAllReleases,
       {{"mu", {0, 23}},
        {"read", {0, 23}},
        {"dirty", {0, 23}},
        {"misses", {0, 23}},
        {"m", {24, 99}}}},
      {"sync.readOnly", "sync/map.go", "goruntime/sync_map.cc", {0, 23}, {{"m"}, {"amended"}}},
      {"sync.entry", "sync/map.go", "goruntime/sync_map.cc", {0, 23}, {{"p"}}},
      {"internal/sync.HashTrieMap[interface {},interface {}]",
       "internal/sync/hashtriemap.go",
       "goruntime/sync_map.cc",
       {24, 99},
       {{"inited"}, {"initMu"}, {"root"}, {"keyHash"}}},  // keyHash: goruntime/recognize.cc
      {"internal/sync.indirect[interface {},interface {}]",
       "internal/sync/hashtriemap.go",
       "goruntime/sync_map.cc",
       {24, 99},
       {{"node"}, {"dead"}, {"mu"}, {"parent"}, {"children"}}},
      // Go 1.27's DWARF has no entry[any,any] (sync_map.cc computes its
      // layout from the declaration then, checked by SyncMap tests).
      {"internal/sync.entry[interface {},interface {}]",
       "internal/sync/hashtriemap.go",
       "goruntime/sync_map.cc",
       {24, 99},
       {{"node"}, {"overflow"}, {"key"}, {"value"}},
       true},
      // ---- container/list ----
      {"container/list.List",
       "container/list/list.go",
       "goruntime/list.cc, goruntime/trace_hooks.cc",
       kAllReleases,
       {{"root"}, {"len"}}},
      {"container/list.Element",
       "container/list/list.go",
       "goruntime/list.cc, goruntime/trace_hooks.cc",
       kAllReleases,
       {{"next"}, {"prev"}, {"list"}, {"Value"}}},
  };
  return t;
}
// clang-format on

const std::vector<RuntimeSymbol>& runtimeSymbols() {
  using K = RuntimeSymbolKind;
  static const std::vector<RuntimeSymbol> t = {
      {"runtime.memstats", K::Global, kMemstats},
      {"runtime.emptymspan", K::Global, kMemstats},
      {"runtime.mheap_", K::Global, kMemstats},
      {"runtime.allp", K::Global, kMemstats},
      {"runtime.gomaxprocs", K::Global, kMemstats},
      {"runtime.gcController", K::Global, kMemstats},
      // The size-class table; a built-in copy is used when neither is in DWARF.
      {"runtime.class_to_size", K::Global, kMemstats, {0, 24}, true},
      {"internal/runtime/gc.SizeClassToSize", K::Global, kMemstats, {25, 99}, true},
      {"runtime.allgs", K::Global, "goruntime/goroutines.cc"},
      {"runtime.firstmoduledata", K::Global, "goruntime/program.cc"},
      {"runtime.hashGrow", K::Function, "goruntime/trace_hooks.cc (trace growth)", kClassicMaps},
      {"internal/runtime/maps.(*table).grow", K::Function,
       "goruntime/trace_hooks.cc (trace growth)", kSwissMaps},
      {"internal/runtime/maps.(*table).split", K::Function,
       "goruntime/trace_hooks.cc (trace growth)", kSwissMaps},
      {"internal/runtime/maps.(*Map).growToTable", K::Function,
       "goruntime/trace_hooks.cc (trace growth)", kSwissMaps},
      // ors the iterator bits into hmap.flags from readers (not a write of the map)
      {"runtime.mapiterinit", K::Function, "goruntime/trace_hooks.cc (trace writers)",
       kClassicMaps},
  };
  return t;
}

const std::vector<RuntimeConstant>& runtimeConstants() {
  // The type descriptor (runtime._type up to Go 1.20, internal/abi.Type
  // since) read for interface values' dynamic types, and where moduledata
  // keeps the base its name offsets are relative to.
  static const std::vector<RuntimeConstant> t = {
      {"runtime._type", "size", 0, {0, 20}, "goruntime/program.cc"},
      {"runtime._type", "tflag", 20, {0, 20}, "goruntime/program.cc"},
      {"runtime._type", "kind", 23, {0, 20}, "goruntime/program.cc"},
      {"runtime._type", "str", 40, {0, 20}, "goruntime/program.cc"},
      {"internal/abi.Type", "Size_", 0, {21, 99}, "goruntime/program.cc"},
      {"internal/abi.Type", "TFlag", 20, {21, 99}, "goruntime/program.cc"},
      {"internal/abi.Type", "Kind_", 23, {21, 99}, "goruntime/program.cc"},
      {"internal/abi.Type", "Str", 40, {21, 99}, "goruntime/program.cc"},
      // kItabTypeOffset: an iface's itab holds the dynamic type after the interface type.
      {"runtime.itab", "_type", 8, {0, 21}, "goruntime/program.cc (interfaceTypeDescriptor)"},
      {"internal/abi.ITab", "Type", 8, {22, 99}, "goruntime/program.cc (interfaceTypeDescriptor)"},
      // Finalizer and cleanup specials (runtime/mheap.go), roots of the heap walk
      // (goruntime/heap_graph.cc): special{next, offset, kind}; offset was a uint16
      // until it became a uintptr.
      {"runtime.special", "next", 0, {0, 99}, "goruntime/heap_graph.cc (finalizer roots)"},
      {"runtime.special", "offset", 8, {0, 99}, "goruntime/heap_graph.cc (finalizer roots)"},
      {"runtime.special", "kind", 10, {0, 19}, "goruntime/heap_graph.cc (finalizer roots)"},
      {"runtime.special", "kind", 16, {26, 99}, "goruntime/heap_graph.cc (finalizer roots)"},
      {"runtime.specialfinalizer", "fn", 16, {0, 19}, "goruntime/heap_graph.cc (finalizer roots)"},
      {"runtime.specialfinalizer", "fn", 24, {26, 99}, "goruntime/heap_graph.cc (finalizer roots)"},
      {"runtime.specialfinalizer", "ot", 40, {0, 19}, "goruntime/heap_graph.cc (finalizer roots)"},
      {"runtime.specialfinalizer", "ot", 48, {26, 99}, "goruntime/heap_graph.cc (finalizer roots)"},
      {"runtime.specialCleanup",
       "cleanup",
       24,
       {26, 99},
       "goruntime/heap_graph.cc (cleanup roots)"},
      {"runtime.cleanupFn", "fn", 8, {26, 99}, "goruntime/heap_graph.cc (cleanup roots)"},
      {"runtime.cleanupFn", "arg", 16, {26, 99}, "goruntime/heap_graph.cc (cleanup roots)"},
      {"runtime.moduledata", "types", 280, {0, 19}, "goruntime/program.cc"},
      {"runtime.moduledata", "types", 296, {20, 99}, "goruntime/program.cc"},
      // The pointer masks of .data and .bss (runtime/symtab.go: data, edata,
      // bss, ebss; gcdatamask, gcbssmask, built from the linker's gcdata and
      // gcbss at start): roots read as the GC reads them (goruntime/pointer_mask.cc).
      {"runtime.moduledata", "data", 208, {0, 99}, "goruntime/pointer_mask.cc"},
      {"runtime.moduledata", "edata", 216, {0, 99}, "goruntime/pointer_mask.cc"},
      {"runtime.moduledata", "bss", 224, {0, 99}, "goruntime/pointer_mask.cc"},
      {"runtime.moduledata", "ebss", 232, {0, 99}, "goruntime/pointer_mask.cc"},
      {"runtime.moduledata", "gcdatamask", 496, {0, 19}, "goruntime/pointer_mask.cc"},
      {"runtime.moduledata", "gcbssmask", 512, {0, 19}, "goruntime/pointer_mask.cc"},
      {"runtime.moduledata", "gcdatamask", 544, {26, 26}, "goruntime/pointer_mask.cc"},
      {"runtime.moduledata", "gcbssmask", 560, {26, 26}, "goruntime/pointer_mask.cc"},
      {"runtime.moduledata", "gcdatamask", 520, {27, 99}, "goruntime/pointer_mask.cc"},
      {"runtime.moduledata", "gcbssmask", 536, {27, 99}, "goruntime/pointer_mask.cc"},
      {"runtime.bitvector", "n", 0, {0, 99}, "goruntime/pointer_mask.cc"},
      {"runtime.bitvector", "bytedata", 8, {0, 99}, "goruntime/pointer_mask.cc"},
  };
  return t;
}

const RuntimeStruct* runtimeStructFor(std::string_view name) {
  for (const auto& s : runtimeStructs()) {
    if (s.type.ends_with('*') ? name.starts_with(s.type.substr(0, s.type.size() - 1))
                              : name == s.type)
      return &s;
  }
  return nullptr;
}

bool isRuntimeTypeName(std::string_view n) {
  return n.starts_with("runtime.") || n.starts_with("internal/runtime/") ||
         n.starts_with("runtime/internal/") || n.starts_with("internal/abi.") ||
         n.starts_with("container/list.") || n.starts_with("sync.") ||
         runtimeStructFor(n) != nullptr;
}

uint64_t runtimeConstant(std::string_view type, std::string_view field, int minor) {
  for (const auto& c : runtimeConstants())
    if (c.type == type && c.field == field && c.releases.has(minor)) return c.offset;
  fail(ErrorKind::Unsupported, "no known offset of {}.{} for Go 1.{}", type, field, minor);
}

std::vector<std::string> missingRuntimeFacts(const TypeProvider& types, int minor) {
  std::vector<std::string> out;
  for (const auto& s : runtimeStructs()) {
    if (!s.releases.has(minor) || s.type.ends_with('*')) continue;
    const Type* t = types.findType(s.type);
    if (!t) {
      // Every Go program has the runtime's own scheduler and allocator types.
      if (!s.optional && (s.type == "runtime.g" || s.type == "runtime.mspan"))
        out.push_back(fmt::format("no type {}", s.type));
      continue;
    }
    for (const auto& f : s.fields)
      if (!f.optional && f.releases.has(minor) && !t->field(f.name))
        out.push_back(fmt::format("{} has no field {}", s.type, f.name));
  }
  return out;
}

}  // namespace gms
