#include "goruntime/memstats.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>

#include "common/error.h"
#include "goruntime/alloc.h"
#include "goruntime/layout.h"
#include "goruntime/runtime_globals.h"

namespace gms {

namespace {

// Bounds on everything sized by memory or by DWARF.
constexpr uint64_t kMaxProcs = 1 << 16;         // allp length / gomaxprocs
constexpr uint64_t kMaxStructSize = 1 << 20;    // runtime structs we copy whole
constexpr uint64_t kMaxSizeClasses = 256;       // heapStatsDelta.smallAllocCount
constexpr uint64_t kMaxSpanClasses = 1024;      // mcache.alloc
constexpr uint64_t kMaxRing = 8;                // consistentHeapStats.stats

// An integer (or float) inside a struct: the field by name, descending into
// the atomic wrappers (runtime/internal/atomic.Uint64, internal/runtime/atomic.Int32,
// ...: a struct whose payload is `value`) so that plain and atomic fields
// read alike.
struct Scalar {
  uint64_t off = 0;
  uint64_t size = 0;
  Kind kind = Kind::Invalid;
};

Scalar scalar(const Type* t, std::string_view name) {
  const Field& f = requireField(t, name);
  Scalar s{f.offset, 0, Kind::Invalid};
  const Type* ft = f.type;
  for (int depth = 0; ft && ft->kind == Kind::Struct; ++depth) {
    const Field* v = ft->field("value");
    if (!v || depth > 4)
      fail(ErrorKind::MissingDebugInfo,
           "DWARF type {} field '{}' is a struct ({}) without a 'value' member (unsupported Go runtime layout?)",
           t->name, name, ft->name);
    s.off += v->offset;
    ft = v->type;
  }
  if (!ft || !(ft->size == 1 || ft->size == 2 || ft->size == 4 || ft->size == 8))
    fail(ErrorKind::MissingDebugInfo, "DWARF type {} field '{}' is not an integer ({}, {} bytes)", t->name,
         name, ft ? ft->name : "<no type>", ft ? ft->size : 0);
  s.size = ft->size;
  s.kind = ft->kind;
  if (s.off + s.size > t->size)
    fail(ErrorKind::MissingDebugInfo, "DWARF type {} field '{}' lies outside the struct ({} + {} > {})", t->name,
         name, s.off, s.size, t->size);
  return s;
}

// An array field: element type, offset and length.
struct ArrayField {
  uint64_t off = 0;
  const Type* elem = nullptr;
  uint64_t len = 0;
  uint64_t stride = 0;
};

ArrayField arrayField(const Type* t, std::string_view name, uint64_t maxLen) {
  const Field& f = requireField(t, name);
  const Type* at = f.type;
  if (!at || at->kind != Kind::Array || !at->elem)
    fail(ErrorKind::MissingDebugInfo, "DWARF type {} field '{}' is not an array (unsupported Go runtime layout?)",
         t->name, name);
  if (at->len == 0 || at->len > maxLen)
    fail(ErrorKind::Unsupported, "DWARF type {} field '{}' has {} elements (expected 1..{})", t->name, name,
         at->len, maxLen);
  uint64_t stride = at->elem->size;
  if (stride == 0 || stride * at->len > at->size || f.offset + at->size > t->size)
    fail(ErrorKind::MissingDebugInfo, "DWARF type {} field '{}' has an inconsistent array layout", t->name, name);
  return {f.offset, at->elem, at->len, stride};
}

uint64_t getU(const uint8_t* b, const Scalar& s) {
  switch (s.size) {
    case 1: return b[s.off];
    case 2: { uint16_t v; std::memcpy(&v, b + s.off, 2); return v; }
    case 4: { uint32_t v; std::memcpy(&v, b + s.off, 4); return v; }
    default: { uint64_t v; std::memcpy(&v, b + s.off, 8); return v; }
  }
}

int64_t getI(const uint8_t* b, const Scalar& s) {
  switch (s.size) {
    case 1: return static_cast<int8_t>(b[s.off]);
    case 2: { int16_t v; std::memcpy(&v, b + s.off, 2); return v; }
    case 4: { int32_t v; std::memcpy(&v, b + s.off, 4); return v; }
    default: { int64_t v; std::memcpy(&v, b + s.off, 8); return v; }
  }
}

double getF(const uint8_t* b, const Scalar& s) {
  if (s.size == 8) {
    double d;
    std::memcpy(&d, b + s.off, 8);
    return d;
  }
  float f;
  std::memcpy(&f, b + s.off, 4);
  return f;
}

// The runtime globals readMemStats reads: by name from DWARF or the symbol
// table, else (-s -w) located by the runtime's own invariants
// (goruntime/runtime_globals.h). Types from Program::runtimeType.
class RuntimeRoots {
 public:
  explicit RuntimeRoots(const Program& p) : p_(p) {}

  // By name; nullopt when a binary without DWARF names no such global (with
  // DWARF every runtime global is named: a missing one is Error(NotFound)).
  std::optional<Global> named(std::string_view name, std::string_view typeName) const {
    std::optional<Global> g;
    if (p_.hasDwarf()) {
      g = p_.findGlobal(name);
      if (!g)
        fail(ErrorKind::NotFound, "DWARF has no runtime global {} (needed for memory statistics)",
             name);
    } else if (auto s = p_.binary().symbol(name)) {
      g = Global{std::string(name), s->addr + p_.loadBias(), nullptr};
    }
    if (g && !g->type && !typeName.empty()) {
      g->type = p_.runtimeType(typeName);
      if (!g->type)
        fail(ErrorKind::MissingDebugInfo, "{} gives no type for {} (expected {})",
             p_.types().source(), name, typeName);
    }
    if (g) bySymbol_ = bySymbol_ || !p_.hasDwarf();
    return g;
  }
  // By name, else located.
  Global get(std::string_view name, std::string_view typeName,
             const std::function<uint64_t()>& locate) {
    if (auto g = named(name, typeName)) return *g;
    located_ = true;
    Global g{std::string(name), locate(), nullptr};
    if (!typeName.empty()) {
      g.type = p_.runtimeType(typeName);
      if (!g.type)
        fail(ErrorKind::MissingDebugInfo, "no layout of {} for go1.{}", typeName, p_.build().minor);
    }
    return g;
  }
  const StaticData& data() {
    if (!data_) data_.emplace(p_);
    return *data_;
  }
  // Where layouts and globals came from, for MemStats::extras.layout.
  std::string describe() const {
    if (p_.hasDwarf()) return "DWARF";
    std::string s = fmt::format("{} and built-in layouts ({}); runtime globals {}",
                                p_.types().source(), builtinLayoutFor(p_.build().minor).name,
                                located_    ? "located by the runtime's own invariants (no symbols)"
                                : bySymbol_ ? "from the symbol table"
                                            : "by name");
    if (std::string n = p_.builtinLayoutNote(); !n.empty()) s += "; " + n;
    return s;
  }

 private:
  const Program& p_;
  std::optional<StaticData> data_;
  bool located_ = false;
  mutable bool bySymbol_ = false;
};

const Type* structType(const Global& g) {
  if (g.type->kind != Kind::Struct || g.type->size == 0 || g.type->size > kMaxStructSize)
    fail(ErrorKind::MissingDebugInfo, "DWARF type of {} is {} ({} bytes), not a runtime struct", g.name,
         g.type->name, g.type->size);
  return g.type;
}

// Reads `n` bytes of `what` at addr, naming `what` when it faults.
void readNamed(const Memory& m, uint64_t addr, void* out, uint64_t n, const std::string& what) {
  try {
    m.read(addr, out, n);
  } catch (const Fault& f) {
    // Keep the reason (after "cannot read memory at ADDR: ") and say what was being read.
    std::string why = f.what();
    if (auto pos = why.find(": "); pos != std::string::npos) why = why.substr(pos + 2);
    throw Fault(f.addr(), fmt::format("{} (reading {} at {:#x})", why, what, addr));
  }
}

std::vector<uint8_t> readStruct(const Memory& m, uint64_t addr, const Type* t, const std::string& what) {
  std::vector<uint8_t> b(t->size);
  readNamed(m, addr, b.data(), b.size(), what);
  return b;
}

// Size of each class, from the runtime's own table when DWARF has it.
std::vector<uint64_t> classSizes(const Program& p, uint64_t n) {
  for (const char* name : {"runtime.class_to_size", "internal/runtime/gc.SizeClassToSize"}) {
    auto g = p.findGlobal(name);
    if (!g || !g->type || g->type->kind != Kind::Array || !g->type->elem) continue;
    uint64_t es = g->type->elem->size;
    if (g->type->len != n || (es != 2 && es != 4 && es != 8)) continue;
    std::vector<uint8_t> raw(n * es);
    readNamed(p.mem(), g->addr, raw.data(), raw.size(), name);
    std::vector<uint64_t> out(n);
    for (uint64_t i = 0; i < n; ++i) out[i] = getU(raw.data(), Scalar{i * es, es, Kind::Uint64});
    return out;
  }
  // Not in DWARF: the table is the same in every supported version.
  constexpr uint64_t known = sizeof kClassToSize / sizeof kClassToSize[0];
  if (n != known)
    fail(ErrorKind::Unsupported,
         "runtime has {} size classes, and neither runtime.class_to_size nor "
         "internal/runtime/gc.SizeClassToSize is in DWARF (known table has {})",
         n, known);
  return std::vector<uint64_t>(std::begin(kClassToSize), std::end(kClassToSize));
}

// The heapStatsDelta ring entries summed
// (consistentHeapStats.unsafeRead / heapStatsDelta.merge).
struct Delta {
  int64_t committed = 0, released = 0, inHeap = 0, inStacks = 0, inWorkBufs = 0, inPtrScalarBits = 0;
  uint64_t tinyAllocCount = 0, largeAlloc = 0, largeAllocCount = 0, largeFree = 0, largeFreeCount = 0;
  std::vector<uint64_t> smallAllocCount, smallFreeCount;
};

}  // namespace

MemStats readMemStats(const Program& p) {
  const Memory& mem = p.mem();
  MemStats ms;
  auto& x = ms.extras;

  // ---- runtime.memstats ----
  RuntimeRoots roots(p);
  Global gHeap =
      roots.get("runtime.mheap_", "runtime.mheap", [&] { return locateMheap(p, roots.data()); });
  Global gMemstats = roots.get("runtime.memstats", "runtime.mstats",
                               [&] { return locateMemstats(p, gHeap.addr); });
  const Type* mstats = structType(gMemstats);
  std::vector<uint8_t> msb = readStruct(mem, gMemstats.addr, mstats, "runtime.memstats");

  const Field& heapStatsF = requireField(mstats, "heapStats");
  const Type* chs = heapStatsF.type;  // runtime.consistentHeapStats
  if (!chs || chs->kind != Kind::Struct)
    fail(ErrorKind::MissingDebugInfo, "DWARF: runtime.mstats.heapStats is not a struct");
  ArrayField ring = arrayField(chs, "stats", kMaxRing);
  const Type* hsd = ring.elem;  // runtime.heapStatsDelta
  if (hsd->kind != Kind::Struct)
    fail(ErrorKind::MissingDebugInfo, "DWARF: runtime.consistentHeapStats.stats is not an array of structs");
  if (heapStatsF.offset + chs->size > mstats->size)
    fail(ErrorKind::MissingDebugInfo, "DWARF: runtime.mstats.heapStats lies outside runtime.mstats");

  Scalar dCommitted = scalar(hsd, "committed"), dReleased = scalar(hsd, "released"),
         dInHeap = scalar(hsd, "inHeap"), dInStacks = scalar(hsd, "inStacks"),
         dInWorkBufs = scalar(hsd, "inWorkBufs"), dTiny = scalar(hsd, "tinyAllocCount"),
         dLargeAlloc = scalar(hsd, "largeAlloc"), dLargeAllocCount = scalar(hsd, "largeAllocCount"),
         dLargeFree = scalar(hsd, "largeFree"), dLargeFreeCount = scalar(hsd, "largeFreeCount");
  // Go ≤ 1.24 only (removed with the GC programs' pointer/scalar bitmaps).
  bool hasPtrScalar = optionalField(hsd, "inPtrScalarBits") != nullptr;
  Scalar dPtrScalar = hasPtrScalar ? scalar(hsd, "inPtrScalarBits") : Scalar{};
  ArrayField dSmallAlloc = arrayField(hsd, "smallAllocCount", kMaxSizeClasses);
  ArrayField dSmallFree = arrayField(hsd, "smallFreeCount", kMaxSizeClasses);
  const uint64_t nClasses = dSmallAlloc.len;
  if (dSmallFree.len != nClasses || dSmallAlloc.stride != 8 || dSmallFree.stride != 8)
    fail(ErrorKind::MissingDebugInfo,
         "DWARF: runtime.heapStatsDelta smallAllocCount/smallFreeCount are not matching [N]uint64 arrays");
  if (nClasses < ms.BySize.size())
    fail(ErrorKind::Unsupported, "runtime has only {} size classes (MemStats.BySize needs {})", nClasses,
         ms.BySize.size());

  Delta d;
  d.smallAllocCount.assign(nClasses, 0);
  d.smallFreeCount.assign(nClasses, 0);
  for (uint64_t r = 0; r < ring.len; ++r) {
    const uint8_t* e = msb.data() + heapStatsF.offset + ring.off + r * ring.stride;
    d.committed += getI(e, dCommitted);
    d.released += getI(e, dReleased);
    d.inHeap += getI(e, dInHeap);
    d.inStacks += getI(e, dInStacks);
    d.inWorkBufs += getI(e, dInWorkBufs);
    if (hasPtrScalar) d.inPtrScalarBits += getI(e, dPtrScalar);
    d.tinyAllocCount += getU(e, dTiny);
    d.largeAlloc += getU(e, dLargeAlloc);
    d.largeAllocCount += getU(e, dLargeAllocCount);
    d.largeFree += getU(e, dLargeFree);
    d.largeFreeCount += getU(e, dLargeFreeCount);
    for (uint64_t i = 0; i < nClasses; ++i) {
      d.smallAllocCount[i] += loadU64(e + dSmallAlloc.off + 8 * i);
      d.smallFreeCount[i] += loadU64(e + dSmallFree.off + 8 * i);
    }
  }

  // ---- flushallmcaches: what each P's mcache holds but has not counted ----
  // Without a symbol, emptymspan is the cached "span" that lies in the
  // binary's static data (every real span comes from mheap_.spanalloc).
  std::optional<Global> gEmpty = roots.named("runtime.emptymspan", "runtime.mspan");
  const Type* mspan = p.runtimeType("runtime.mspan");
  if (!mspan || mspan->kind != Kind::Struct || mspan->size == 0 || mspan->size > kMaxStructSize)
    fail(ErrorKind::MissingDebugInfo, "{} has no struct runtime.mspan", p.types().source());
  Scalar sAllocCount = scalar(mspan, "allocCount"), sBeforeCache = scalar(mspan, "allocCountBeforeCache"),
         sElemsize = scalar(mspan, "elemsize"), sNelems = scalar(mspan, "nelems"),
         sSweepgen = scalar(mspan, "sweepgen");
  const Type* mcacheT = p.runtimeType("runtime.mcache");
  if (!mcacheT)
    fail(ErrorKind::MissingDebugInfo, "{} has no type runtime.mcache", p.types().source());
  if (mcacheT->kind != Kind::Struct || mcacheT->size == 0 || mcacheT->size > kMaxStructSize)
    fail(ErrorKind::MissingDebugInfo, "DWARF type runtime.mcache is not a struct");
  Scalar cTiny = scalar(mcacheT, "tinyAllocs");
  ArrayField cAlloc = arrayField(mcacheT, "alloc", kMaxSpanClasses);
  if (cAlloc.stride != 8)
    fail(ErrorKind::MissingDebugInfo, "DWARF: runtime.mcache.alloc is not an array of pointers");
  const Type* pT = p.runtimeType("runtime.p");
  if (!pT) fail(ErrorKind::MissingDebugInfo, "{} has no type runtime.p", p.types().source());
  Scalar pMcache = scalar(pT, "mcache");

  const Type* mheapT = structType(gHeap);
  Scalar hSweepgen = scalar(mheapT, "sweepgen");
  uint8_t sgBuf[8] = {};
  readNamed(mem, gHeap.addr + hSweepgen.off, sgBuf, hSweepgen.size, "runtime.mheap_.sweepgen");
  uint64_t sweepgen = getU(sgBuf, Scalar{0, hSweepgen.size, hSweepgen.kind});

  Global gAllp = roots.get("runtime.allp", "", [&] { return locateAllp(p, roots.data()); });
  uint64_t allpHdr[3];
  readNamed(mem, gAllp.addr, allpHdr, sizeof allpHdr, "runtime.allp");
  if (allpHdr[1] > kMaxProcs || allpHdr[1] > allpHdr[2])
    fail(ErrorKind::Corrupt, "runtime.allp has implausible length {} (cap {})", allpHdr[1], allpHdr[2]);
  // Without a symbol for gomaxprocs: len(allp), which equals it except
  // while procresize runs with the world stopped.
  std::optional<Global> gProcs = roots.named("runtime.gomaxprocs", "");
  int32_t gomaxprocs = static_cast<int32_t>(std::min<uint64_t>(allpHdr[1], kMaxProcs));
  if (gProcs) readNamed(mem, gProcs->addr, &gomaxprocs, 4, "runtime.gomaxprocs");
  if (gomaxprocs < 1 || static_cast<uint64_t>(gomaxprocs) > kMaxProcs)
    fail(ErrorKind::Corrupt, "runtime.gomaxprocs is {} (runtime not initialised, or corrupt)", gomaxprocs);
  uint64_t nprocs = static_cast<uint64_t>(gomaxprocs);
  if (nprocs > allpHdr[1]) {  // only while procresize runs (world stopped)
    x.notes.push_back(fmt::format("runtime.gomaxprocs is {} but runtime.allp has {} Ps; flushed those",
                                  gomaxprocs, allpHdr[1]));
    nprocs = allpHdr[1];
  }
  std::vector<uint64_t> allp(nprocs);
  readNamed(mem, allpHdr[0], allp.data(), allp.size() * 8, "runtime.allp array");

  int64_t dHeapLive = 0;
  uint64_t flushBytes = 0;
  std::vector<uint8_t> cbuf(mcacheT->size);
  std::vector<uint8_t> sbuf(mspan->size);
  for (size_t i = 0; i < allp.size(); ++i) {
    if (!allp[i]) {
      x.notes.push_back(fmt::format("runtime.allp[{}] is nil", i));
      continue;
    }
    uint64_t cache = 0;
    readNamed(mem, allp[i] + pMcache.off, &cache, 8, fmt::format("runtime.allp[{}].mcache", i));
    if (!cache) continue;  // flushmcache skips a P without an mcache
    ++x.procs;
    std::string cwhat = fmt::format("runtime.allp[{}].mcache (runtime.mcache)", i);
    readNamed(mem, cache, cbuf.data(), cbuf.size(), cwhat);
    uint64_t tiny = getU(cbuf.data(), cTiny);
    d.tinyAllocCount += tiny;
    x.unflushedTinyAllocs += tiny;
    for (uint64_t spc = 0; spc < cAlloc.len; ++spc) {
      uint64_t s = loadU64(cbuf.data() + cAlloc.off + 8 * spc);
      if (gEmpty ? s == gEmpty->addr : roots.data().contains(s)) continue;
      if (s == 0) {
        x.notes.push_back(fmt::format("runtime.allp[{}].mcache.alloc[{}] is nil", i, spc));
        continue;
      }
      uint64_t cls = spc >> 1;
      if (cls >= nClasses)
        fail(ErrorKind::Corrupt, "runtime.mcache.alloc has span class {} beyond {} size classes", spc, nClasses);
      readNamed(mem, s, sbuf.data(), sbuf.size(),
                fmt::format("runtime.allp[{}].mcache.alloc[{}] (runtime.mspan)", i, spc));
      ++x.cachedSpans;
      int64_t allocCount = static_cast<int64_t>(getU(sbuf.data(), sAllocCount));
      int64_t before = static_cast<int64_t>(getU(sbuf.data(), sBeforeCache));
      uint64_t elemsize = getU(sbuf.data(), sElemsize);
      uint64_t nelems = getU(sbuf.data(), sNelems);
      int64_t used = allocCount - before;
      if (used < 0 || static_cast<uint64_t>(allocCount) > nelems)
        x.notes.push_back(fmt::format("cached span {:#x} (class {}): allocCount {}, allocCountBeforeCache {}, "
                                      "nelems {} (torn read?)",
                                      s, cls, allocCount, before, nelems));
      // The runtime adds the signed difference; so do we (mod 2^64).
      d.smallAllocCount[cls] += static_cast<uint64_t>(used);
      x.unflushedSmallAllocs += static_cast<uint64_t>(used);
      flushBytes += static_cast<uint64_t>(used) * elemsize;
      if (getU(sbuf.data(), sSweepgen) != ((sweepgen + 1) & 0xffffffff) &&
          static_cast<uint64_t>(allocCount) <= nelems)
        dHeapLive -= static_cast<int64_t>((nelems - static_cast<uint64_t>(allocCount)) * elemsize);
    }
  }
  x.unflushedSmallBytes = flushBytes;

  // ---- totals (readmemstats_m) ----
  std::vector<uint64_t> sizes = classSizes(p, nClasses);
  uint64_t totalAlloc = d.largeAlloc, nMalloc = d.largeAllocCount;
  uint64_t totalFree = d.largeFree, nFree = d.largeFreeCount;
  x.sizeClasses.resize(nClasses);
  for (uint64_t i = 0; i < nClasses; ++i) {
    uint64_t a = d.smallAllocCount[i], f = d.smallFreeCount[i];
    x.sizeClasses[i] = {static_cast<uint32_t>(sizes[i]), a, f};
    totalAlloc += a * sizes[i];
    nMalloc += a;
    totalFree += f * sizes[i];
    nFree += f;
    x.smallAllocs += a;
    x.smallAllocBytes += a * sizes[i];
    x.smallFrees += f;
    x.smallFreeBytes += f * sizes[i];
  }
  for (size_t i = 0; i < ms.BySize.size(); ++i) ms.BySize[i] = x.sizeClasses[i];
  nFree += d.tinyAllocCount;
  nMalloc += d.tinyAllocCount;
  x.tinyAllocs = d.tinyAllocCount;
  x.largeAllocs = d.largeAllocCount;
  x.largeAllocBytes = d.largeAlloc;
  x.largeFrees = d.largeFreeCount;
  x.largeFreeBytes = d.largeFree;

  // ---- gcController ----
  // Without a symbol: the struct whose counters agree with the consistent
  // stats, as readmemstats_m checks them (3 of these 5 at least).
  Global gCtl = roots.get("runtime.gcController", "runtime.gcControllerState", [&] {
    const Type* t = p.runtimeType("runtime.gcControllerState");
    Scalar inUse = scalar(t, "heapInUse"), rel = scalar(t, "heapReleased"),
           fr = scalar(t, "heapFree"), ta = scalar(t, "totalAlloc"), tf = scalar(t, "totalFree");
    uint64_t committedHeap =
        static_cast<uint64_t>(d.committed - d.inStacks - d.inWorkBufs - d.inPtrScalarBits);
    return locateGcController(
        p, roots.data(),
        [&](const uint8_t* b) {
          uint64_t u = getU(b, inUse);
          return int(u == static_cast<uint64_t>(d.inHeap)) +
                 int(getU(b, rel) == static_cast<uint64_t>(d.released)) +
                 int(u + getU(b, fr) == committedHeap) +
                 int(getU(b, ta) + flushBytes == totalAlloc) + int(getU(b, tf) == totalFree);
        },
        3);
  });
  const Type* ctl = structType(gCtl);
  std::vector<uint8_t> cb = readStruct(mem, gCtl.addr, ctl, "runtime.gcController");
  auto cu = [&](std::string_view f) { return getU(cb.data(), scalar(ctl, f)); };
  uint64_t heapInUse = cu("heapInUse"), heapFree = cu("heapFree"), heapReleased = cu("heapReleased");
  uint64_t ctlTotalAlloc = cu("totalAlloc") + flushBytes, ctlTotalFree = cu("totalFree");
  uint64_t mappedReady = cu("mappedReady");
  x.gcPercent = static_cast<int32_t>(getI(cb.data(), scalar(ctl, "gcPercent")));
  x.memoryLimit = getI(cb.data(), scalar(ctl, "memoryLimit"));
  x.heapMarked = cu("heapMarked");
  x.heapLive = cu("heapLive") + static_cast<uint64_t>(dHeapLive);
  x.gcPercentHeapGoal = cu("gcPercentHeapGoal");
  x.mappedReady = mappedReady;
  uint64_t sweepDistMinTrigger = cu("sweepDistMinTrigger"), triggered = cu("triggered");

  // ---- mstats scalars ----
  auto mu = [&](std::string_view f) { return getU(msb.data(), scalar(mstats, f)); };
  uint64_t stacksSys = mu("stacks_sys"), mspanSys = mu("mspan_sys"), mcacheSys = mu("mcache_sys"),
           buckhashSys = mu("buckhash_sys"), gcMiscSys = mu("gcMiscSys"), otherSys = mu("other_sys");
  uint64_t stackInUse = static_cast<uint64_t>(d.inStacks);
  uint64_t gcWorkBufInUse = static_cast<uint64_t>(d.inWorkBufs);
  uint64_t ptrScalar = static_cast<uint64_t>(d.inPtrScalarBits);
  uint64_t totalMapped = heapInUse + heapFree + heapReleased + stacksSys + mspanSys + mcacheSys + buckhashSys +
                         gcMiscSys + otherSys + stackInUse + gcWorkBufInUse + ptrScalar;

  // The checks readmemstats_m makes (1.19 always; 1.26 in its debug mode):
  // a frozen, consistent snapshot passes them; a torn one may not.
  if (heapInUse != static_cast<uint64_t>(d.inHeap))
    x.notes.push_back(fmt::format("gcController.heapInUse {} != consistent inHeap {}", heapInUse, d.inHeap));
  if (heapReleased != static_cast<uint64_t>(d.released))
    x.notes.push_back(
        fmt::format("gcController.heapReleased {} != consistent released {}", heapReleased, d.released));
  if (heapInUse + heapFree != static_cast<uint64_t>(d.committed - d.inStacks - d.inWorkBufs - d.inPtrScalarBits))
    x.notes.push_back("gcController.heapInUse+heapFree differs from the consistent committed heap");
  if (ctlTotalAlloc != totalAlloc)
    x.notes.push_back(fmt::format("gcController.totalAlloc {} != consistent total {}", ctlTotalAlloc, totalAlloc));
  if (ctlTotalFree != totalFree)
    x.notes.push_back(fmt::format("gcController.totalFree {} != consistent total {}", ctlTotalFree, totalFree));
  if (mappedReady != totalMapped - static_cast<uint64_t>(d.released))
    x.notes.push_back(fmt::format("gcController.mappedReady {} != Sys - released {}", mappedReady,
                                  totalMapped - static_cast<uint64_t>(d.released)));

  // ---- heapGoal (mgcpacer.go heapGoalInternal / memoryLimitHeapGoal) ----
  {
    uint64_t heapAlloc = ctlTotalAlloc - ctlTotalFree;
    uint64_t limit = static_cast<uint64_t>(x.memoryLimit);
    uint64_t mlGoal;
    if (heapFree + heapAlloc > mappedReady) {
      // The runtime retries until it sees a consistent triple; a snapshot cannot.
      x.notes.push_back("heapFree + heapAlloc > mappedReady (torn read): memory-limit goal taken as heapMarked");
      mlGoal = x.heapMarked;
    } else {
      uint64_t nonHeap = mappedReady - heapFree - heapAlloc;
      uint64_t overage = mappedReady > limit ? mappedReady - limit : 0;
      if (nonHeap + overage >= limit) {
        mlGoal = x.heapMarked;
      } else {
        uint64_t goal = limit - (nonHeap + overage);
        constexpr uint64_t kMinHeadroom = 1 << 20;
        uint64_t headroom = kMinHeadroom;  // 1.19/1.20: memoryLimitHeapGoalHeadroom
        if (p.build().atLeast(1, 21)) headroom = std::max(goal / 100 * 3, kMinHeadroom);
        goal = (goal < headroom || goal - headroom < headroom) ? headroom : goal - headroom;
        mlGoal = std::max(goal, x.heapMarked);
      }
    }
    x.memoryLimitHeapGoal = mlGoal;
    uint64_t goal = x.gcPercentHeapGoal;
    if (mlGoal < goal) {
      goal = mlGoal;
      x.goalFromMemoryLimit = true;
    } else {
      goal = std::max(goal, sweepDistMinTrigger);
      constexpr uint64_t kMinRunway = 64 << 10;
      if (triggered != ~uint64_t(0) && goal < triggered + kMinRunway) goal = triggered + kMinRunway;
    }
    ms.NextGC = goal;
  }

  // ---- mheap_ fixallocs ----
  auto fixallocInuse = [&](std::string_view name) {
    const Field& f = requireField(mheapT, name);
    Scalar in = scalar(f.type, "inuse");
    uint8_t b[8] = {};
    readNamed(mem, gHeap.addr + f.offset + in.off, b, in.size, fmt::format("runtime.mheap_.{}.inuse", name));
    return getU(b, Scalar{0, in.size, in.kind});
  };

  // ---- MemStats ----
  ms.Alloc = totalAlloc - totalFree;
  ms.TotalAlloc = totalAlloc;
  ms.Sys = totalMapped;
  ms.Mallocs = nMalloc;
  ms.Frees = nFree;
  ms.HeapAlloc = totalAlloc - totalFree;
  ms.HeapSys = heapInUse + heapFree + heapReleased;
  ms.HeapIdle = heapFree + heapReleased;
  ms.HeapInuse = heapInUse;
  ms.HeapReleased = heapReleased;
  ms.HeapObjects = nMalloc - nFree;
  ms.StackInuse = stackInUse;
  ms.StackSys = stackInUse + stacksSys;
  ms.MSpanInuse = fixallocInuse("spanalloc");
  ms.MSpanSys = mspanSys;
  ms.MCacheInuse = fixallocInuse("cachealloc");
  ms.MCacheSys = mcacheSys;
  ms.BuckHashSys = buckhashSys;
  ms.GCSys = gcMiscSys + gcWorkBufInUse + ptrScalar;
  ms.OtherSys = otherSys;
  ms.LastGC = mu("last_gc_unix");
  ms.PauseTotalNs = mu("pause_total_ns");
  for (auto [name, arr] : {std::pair{"pause_ns", &ms.PauseNs}, std::pair{"pause_end", &ms.PauseEnd}}) {
    ArrayField a = arrayField(mstats, name, 4096);
    if (a.len != arr->size() || a.stride != 8)
      fail(ErrorKind::Unsupported, "DWARF: runtime.mstats.{} is not [256]uint64", name);
    std::memcpy(arr->data(), msb.data() + a.off, 8 * arr->size());
  }
  ms.NumGC = static_cast<uint32_t>(mu("numgc"));
  ms.NumForcedGC = static_cast<uint32_t>(mu("numforcedgc"));
  ms.GCCPUFraction = getF(msb.data(), scalar(mstats, "gc_cpu_fraction"));
  ms.EnableGC = true;
  ms.DebugGC = false;
  ms.Lookups = 0;
  x.lastPauseNs = ms.NumGC ? ms.PauseNs[(ms.NumGC + 255) % 256] : 0;
  x.layout = roots.describe();
  return ms;
}

const std::vector<MemStatsScalar>& memStatsScalars() {
  using U = MemStatsUnit;
  // clang-format off
#define G(f) [](const MemStats& m) -> uint64_t { return m.f; }
  static const std::vector<MemStatsScalar> t = {
      {"Alloc", G(Alloc), U::Bytes, false, false, "go_memstats_alloc_bytes",
       "Number of bytes allocated and still in use (MemStats.Alloc)."},
      {"TotalAlloc", G(TotalAlloc), U::Bytes, true, false, "go_memstats_alloc_bytes_total",
       "Total number of bytes allocated, even if freed (MemStats.TotalAlloc).", 8, false},
      {"Sys", G(Sys), U::Bytes, false, false, "go_memstats_sys_bytes",
       "Number of bytes obtained from system (MemStats.Sys).", 7, true},
      {"Lookups", G(Lookups), U::Count, true, false, "go_memstats_lookups_total",
       "Total number of pointer lookups (MemStats.Lookups)."},
      {"Mallocs", G(Mallocs), U::Count, true, false, "go_memstats_mallocs_total",
       "Total number of mallocs (MemStats.Mallocs).", 9, false},
      {"Frees", G(Frees), U::Count, true, false, "go_memstats_frees_total",
       "Total number of frees (MemStats.Frees).", 10, false},
      {"HeapAlloc", G(HeapAlloc), U::Bytes, false, false, "go_memstats_heap_alloc_bytes",
       "Number of heap bytes allocated and still in use (MemStats.HeapAlloc).", 1, true},
      {"HeapSys", G(HeapSys), U::Bytes, false, false, "go_memstats_heap_sys_bytes",
       "Number of heap bytes obtained from system (MemStats.HeapSys).", 3, false},
      {"HeapIdle", G(HeapIdle), U::Bytes, false, false, "go_memstats_heap_idle_bytes",
       "Number of heap bytes waiting to be used (MemStats.HeapIdle).", 4, false},
      {"HeapInuse", G(HeapInuse), U::Bytes, false, false, "go_memstats_heap_inuse_bytes",
       "Number of heap bytes that are in use (MemStats.HeapInuse).", 2, true},
      {"HeapReleased", G(HeapReleased), U::Bytes, false, false, "go_memstats_heap_released_bytes",
       "Number of heap bytes released to OS (MemStats.HeapReleased).", 5, false},
      {"HeapObjects", G(HeapObjects), U::Count, false, false, "go_memstats_heap_objects",
       "Number of allocated objects (MemStats.HeapObjects).", 6, false},
      {"StackInuse", G(StackInuse), U::Bytes, false, false, "go_memstats_stack_inuse_bytes",
       "Number of bytes in use by the stack allocator (MemStats.StackInuse).", 11, false},
      {"StackSys", G(StackSys), U::Bytes, false, false, "go_memstats_stack_sys_bytes",
       "Number of bytes obtained from system for stack allocator (MemStats.StackSys)."},
      {"MSpanInuse", G(MSpanInuse), U::Bytes, false, false, "go_memstats_mspan_inuse_bytes",
       "Number of bytes in use by mspan structures (MemStats.MSpanInuse)."},
      {"MSpanSys", G(MSpanSys), U::Bytes, false, false, "go_memstats_mspan_sys_bytes",
       "Number of bytes used for mspan structures obtained from system (MemStats.MSpanSys)."},
      {"MCacheInuse", G(MCacheInuse), U::Bytes, false, false, "go_memstats_mcache_inuse_bytes",
       "Number of bytes in use by mcache structures (MemStats.MCacheInuse)."},
      {"MCacheSys", G(MCacheSys), U::Bytes, false, false, "go_memstats_mcache_sys_bytes",
       "Number of bytes used for mcache structures obtained from system (MemStats.MCacheSys)."},
      {"BuckHashSys", G(BuckHashSys), U::Bytes, false, false, "go_memstats_buck_hash_sys_bytes",
       "Number of bytes used by the profiling bucket hash table (MemStats.BuckHashSys)."},
      {"GCSys", G(GCSys), U::Bytes, false, false, "go_memstats_gc_sys_bytes",
       "Number of bytes used for garbage collection system metadata (MemStats.GCSys)."},
      {"OtherSys", G(OtherSys), U::Bytes, false, false, "go_memstats_other_sys_bytes",
       "Number of bytes used for other system allocations (MemStats.OtherSys)."},
      {"NextGC", G(NextGC), U::Bytes, false, false, "go_memstats_next_gc_bytes",
       "Number of heap bytes when next garbage collection will take place (MemStats.NextGC).",
       12, true},
      // Exported in seconds (go_memstats_last_gc_time_seconds) and as the
      // go_gc_duration_seconds summary's _sum and _count.
      {"LastGC", G(LastGC), U::UnixNanos, false, false, nullptr, nullptr},
      {"PauseTotalNs", G(PauseTotalNs), U::Nanoseconds, true, false, nullptr, nullptr, 14, false},
      {"NumGC", G(NumGC), U::Count, true, true, nullptr, nullptr, 13, true},
      {"NumForcedGC", G(NumForcedGC), U::Count, true, true, nullptr, nullptr},
  };
#undef G
  // clang-format on
  return t;
}

}  // namespace gms
