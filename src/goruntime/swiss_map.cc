// Swiss-table Go maps (internal/runtime/maps, Go >= 1.24). Mirrors go1.26
// map.go/table.go/group.go; offsets come from the linker-synthesised DWARF
// types map<K,V>, table<K,V>, groupReference<K,V> and noalg.map.group[K]V.
//
// A group is ctrl + 8 slots {key, elem} (KVKV...), or, with Go 1.27's
// GOEXPERIMENT=mapsplitgroup, ctrl + keys[8] + elems[8] (KKKK...VVVV; see
// go1.27 cmd/compile/internal/reflectdata/map.go MapGroupType). Both are
// described here as abi.MapType does: key(i) = keysOff + i*keyStride,
// elem(i) = elemsOff + i*elemStride, chosen by which fields the group has.
//
// A map is either small (dirLen == 0: dirPtr is one 8-slot group) or a
// directory of 2^globalDepth pointers to tables, where a table of localDepth
// d < globalDepth is referenced by 2^(globalDepth-d) consecutive slots. Growth
// is not incremental, so a consistent snapshot is one walk of the directory.
#include <unordered_map>

#include "common/checked.h"
#include "goruntime/alloc.h"
#include "goruntime/classic_map.h"
#include "goruntime/layout.h"

namespace gms {
namespace {

constexpr uint8_t kCtrlEmpty = ctrl::kEmpty, kCtrlDeleted = ctrl::kDeleted;  // goruntime/maps.h
constexpr uint64_t kMaxTableCapacity = 1024;
constexpr uint64_t kMaxDirLen = uint64_t(1) << 24;

struct Layout {
  const Type* map = nullptr;
  const Field *used, *dirPtr, *dirLen, *globalDepth, *writing, *tombstonePossible;
  const Type* table = nullptr;
  const Field *tUsed, *tCapacity, *tGrowthLeft, *tLocalDepth, *tIndex, *tGroups;
  uint64_t gDataOff = 0, gMaskOff = 0;  // inside table.groups
  const Type* group = nullptr;
  uint64_t groupSize = 0, ctrlOff = 0;
  uint64_t keysOff = 0, keyStride = 0, elemsOff = 0, elemStride = 0;
  bool indKey = false, indVal = false, groupHasPtr = false;
  uint64_t keySize = 0, valSize = 0;
  bool keyHasPtr = false, valHasPtr = false;
};

Layout layoutOf(const Type* mapType) {
  Layout L;
  L.map = mapType->mapHeader;
  if (!L.map) fail(ErrorKind::MissingDebugInfo, "DWARF has no header struct for {}", mapType->name);
  L.used = &requireField(L.map, "used");
  L.dirPtr = &requireField(L.map, "dirPtr");
  L.dirLen = &requireField(L.map, "dirLen");
  L.globalDepth = &requireField(L.map, "globalDepth");
  L.writing = optionalField(L.map, "writing");
  L.tombstonePossible = optionalField(L.map, "tombstonePossible");
  // dirPtr is declared **table<K,V>.
  L.table = pointee(pointee(L.dirPtr->type, "Map.dirPtr"), "Map.dirPtr[0]");
  L.tUsed = &requireField(L.table, "used");
  L.tCapacity = &requireField(L.table, "capacity");
  L.tGrowthLeft = &requireField(L.table, "growthLeft");
  L.tLocalDepth = &requireField(L.table, "localDepth");
  L.tIndex = &requireField(L.table, "index");
  L.tGroups = &requireField(L.table, "groups");
  const Field& data = requireField(L.tGroups->type, "data");
  L.gDataOff = L.tGroups->offset + data.offset;
  L.gMaskOff = L.tGroups->offset + requireField(L.tGroups->type, "lengthMask").offset;
  L.group = pointee(data.type, "groupReference.data");
  L.groupSize = L.group->size;
  L.ctrlOff = requireField(L.group, "ctrl").offset;
  const Type* K = mapType->key;
  const Type* V = mapType->elem;
  L.keySize = K ? K->size : 0;
  L.valSize = V ? V->size : 0;
  // The stored key/elem types: the map's own, or a pointer to it (> 128 bytes).
  const Type *storedKey = nullptr, *storedVal = nullptr;
  if (const Field* keys = optionalField(L.group, "keys")) {  // mapsplitgroup
    const Field& elems = requireField(L.group, "elems");
    if (!keys->type || !keys->type->elem || !keys->type->len || !elems.type || !elems.type->elem ||
        !elems.type->len)
      fail(ErrorKind::MissingDebugInfo, "DWARF group type {} has no key/elem arrays",
           L.group->name);
    L.keysOff = keys->offset;
    L.keyStride = keys->type->elem->size;
    L.elemsOff = elems.offset;
    L.elemStride = elems.type->elem->size;
    storedKey = keys->type->elem;
    storedVal = elems.type->elem;
  } else {
    const Field& slots = requireField(L.group, "slots");
    const Type* slot = slots.type ? slots.type->elem : nullptr;
    if (!slot || !slots.type->len)
      fail(ErrorKind::MissingDebugInfo, "DWARF group type {} has no slot array", L.group->name);
    const Field& kf = requireField(slot, "key");
    const Field& vf = requireField(slot, "elem");
    L.keysOff = slots.offset + kf.offset;
    L.elemsOff = slots.offset + vf.offset;
    L.keyStride = L.elemStride = slot->size;
    storedKey = kf.type;
    storedVal = vf.type;
  }
  L.indKey = L.keySize > 128 && storedKey && storedKey->size == 8;
  L.indVal = L.valSize > 128 && storedVal && storedVal->size == 8;
  L.keyHasPtr = typeHasPointers(K);
  L.valHasPtr = typeHasPointers(V);
  L.groupHasPtr = L.indKey || L.indVal || L.keyHasPtr || L.valHasPtr;
  return L;
}

constexpr uint64_t kPrefetchGroups = 8;

class Walker {
 public:
  Walker(const Program& p, const Layout& L, MapSummary& s, const WalkOptions& o, const EntryFn& fn)
      : p_(p), m_(p.mem()), L_(L), s_(s), o_(o), fn_(fn) {}

  void problem(std::string p) { addProblem(s_.problems, std::move(p)); }
  void region(uint64_t addr, uint64_t size, const char* what) {
    if (o_.regions && addr) s_.regions.push_back({addr, size, what});
  }

  // Scans n groups at addr; returns full slots. table = index in s_.tables or -1.
  uint64_t groups(uint64_t addr, uint64_t n, int table, uint64_t* tombstones) {
    uint64_t full = 0;
    const uint64_t perChunk = std::max<uint64_t>(1, (4 << 20) / L_.groupSize);
    for (uint64_t first = 0; first < n; first += perChunk) {
      uint64_t k = std::min(perChunk, n - first);
      uint64_t base = addr + first * L_.groupSize;
      const uint8_t* bytes;
      try {
        bytes = block_.fetch(m_, base, k * L_.groupSize);
      } catch (const Fault& f) {
        problem(fmt::format("groups {}..{} of table at {:#x} unreadable: {}", first, first + k - 1,
                            addr, f.what()));
        continue;
      }
      for (uint64_t g = 0; g < k; g++) {
        const uint8_t* gb = bytes + g * L_.groupSize;
        uint64_t gaddr = base + g * L_.groupSize;
        // The control words are one per groupSize bytes: ask for a few
        // groups ahead (the hardware prefetcher does not cross pages).
        if (g + kPrefetchGroups < k)
          __builtin_prefetch(gb + kPrefetchGroups * L_.groupSize + L_.ctrlOff);
        uint64_t ctrl = loadU64(gb + L_.ctrlOff);
        BucketRecord r;
        r.table = table;
        r.index = first + g;
        r.addr = gaddr;
        for (int i = 0; i < 8; i++) {
          uint8_t c = static_cast<uint8_t>(ctrl >> (8 * i));
          r.ctrl[i] = c;
          if (c & 0x80) {
            if (c == kCtrlDeleted)
              (*tombstones)++;
            else if (c != kCtrlEmpty)
              problem(fmt::format("group at {:#x} slot {} has invalid control byte {:#04x}", gaddr,
                                  i, c));
            continue;
          }
          r.used++;
          full++;
          uint64_t kOff = L_.keysOff + i * L_.keyStride, vOff = L_.elemsOff + i * L_.elemStride;
          uint64_t kAddr = gaddr + kOff, vAddr = gaddr + vOff;
          if (L_.indKey) {
            kAddr = loadU64(gb + kOff);
            uint64_t sz = allocSize(L_.keySize, L_.keyHasPtr, p_.build().minor);
            s_.footprint.indirect += sz;
            region(kAddr, sz, "indirect key");
          }
          if (L_.indVal) {
            vAddr = loadU64(gb + vOff);
            uint64_t sz = allocSize(L_.valSize, L_.valHasPtr, p_.build().minor);
            s_.footprint.indirect += sz;
            region(vAddr, sz, "indirect value");
          }
          if (fn_ && live_) live_ = fn_(kAddr, vAddr);
        }
        if (o_.buckets && s_.buckets.size() < o_.maxBuckets) s_.buckets.push_back(r);
      }
    }
    s_.groups += n;
    return full;
  }

  void walkDirectory(uint64_t dirPtr, uint64_t dirLen) {
    int minor = p_.build().minor;
    // Probe both ends before allocating: a corrupt dirLen (up to 2^24) must
    // not cost a 128 MiB buffer when the directory is not even mapped.
    uint64_t probe = 0, last = 0;
    std::vector<uint64_t> dir;
    if (__builtin_add_overflow(dirPtr, (dirLen - 1) * 8, &last)) {
      problem(
          fmt::format("directory at {:#x} of {} entries wraps the address space", dirPtr, dirLen));
      return;
    }
    try {
      m_.read(dirPtr, &probe, 8);
      m_.read(last, &probe, 8);
      dir.resize(dirLen);
      m_.read(dirPtr, dir.data(), dirLen * 8);
    } catch (const Fault& f) {
      problem(fmt::format("directory unreadable: {}", f.what()));
      return;
    }
    s_.footprint.directory = allocSize(dirLen * 8, true, minor);
    region(dirPtr, s_.footprint.directory, "directory");
    std::unordered_map<uint64_t, size_t> seen;
    std::vector<uint8_t> tb(L_.table->size);
    for (uint64_t i = 0; i < dirLen; i++) {
      uint64_t t = dir[i];
      if (!t) {
        problem(fmt::format("directory slot {} is nil", i));
        continue;
      }
      auto it = seen.find(t);
      if (it != seen.end()) {
        s_.tables[it->second].dirEntries++;
        continue;
      }
      seen.emplace(t, s_.tables.size());
      TableRecord r;
      r.addr = t;
      r.dirEntries = 1;
      try {
        m_.read(t, tb.data(), tb.size());
      } catch (const Fault& f) {
        problem(fmt::format("table at {:#x} (directory slot {}) unreadable: {}", t, i, f.what()));
        s_.tables.push_back(r);
        continue;
      }
      r.used = fieldValue(tb.data(), *L_.tUsed);
      r.capacity = fieldValue(tb.data(), *L_.tCapacity);
      r.growthLeft = fieldValue(tb.data(), *L_.tGrowthLeft);
      r.localDepth = fieldValue(tb.data(), *L_.tLocalDepth);
      r.index = static_cast<int64_t>(fieldValue(tb.data(), *L_.tIndex));
      uint64_t data = loadU64(tb.data() + L_.gDataOff);
      uint64_t mask = loadU64(tb.data() + L_.gMaskOff);
      s_.footprint.tables += allocSize(L_.table->size, true, minor);
      region(t, allocSize(L_.table->size, true, minor), "table");
      size_t ti = s_.tables.size();
      s_.tables.push_back(r);
      if (r.index != static_cast<int64_t>(i))
        problem(fmt::format("table at {:#x} first appears at directory slot {} but says index {}",
                            t, i, r.index));
      if (r.localDepth > s_.globalDepth)
        problem(fmt::format("table at {:#x} has localDepth {} > globalDepth {}", t, r.localDepth,
                            s_.globalDepth));
      bool capOk = r.capacity >= 8 && r.capacity <= kMaxTableCapacity &&
                   (r.capacity & (r.capacity - 1)) == 0 && mask + 1 == r.capacity / 8;
      if (!capOk) {
        problem(fmt::format("table at {:#x}: capacity {} with {} groups is inconsistent; skipped",
                            t, r.capacity, mask + 1));
        continue;
      }
      s_.capacity += r.capacity;
      s_.footprint.buckets += allocSize((mask + 1) * L_.groupSize, L_.groupHasPtr, minor);
      region(data, allocSize((mask + 1) * L_.groupSize, L_.groupHasPtr, minor), "groups");
      uint64_t tomb = 0;
      uint64_t full = groups(data, mask + 1, static_cast<int>(ti), &tomb);
      s_.tables[ti].groups = mask + 1;
      s_.tables[ti].full = full;
      s_.tables[ti].tombstones = tomb;
      s_.tombstones += tomb;
      s_.found += full;
      if (full != r.used)
        problem(fmt::format("table at {:#x} says used={} but {} slots are full", t, r.used, full));
    }
    for (const auto& r : s_.tables) {
      // Depths come from target memory: a corrupt one must not shift by >= 64.
      uint64_t d = s_.globalDepth - r.localDepth;
      uint64_t want = s_.globalDepth >= r.localDepth && d < 64 ? uint64_t(1) << d : 0;
      if (r.capacity && r.dirEntries != want)
        problem(fmt::format("table at {:#x} (localDepth {}) fills {} directory slots, expected {}",
                            r.addr, r.localDepth, r.dirEntries, want));
    }
  }

  const Program& p_;
  const Memory& m_;
  const Layout& L_;
  MapSummary& s_;
  const WalkOptions& o_;
  const EntryFn& fn_;
  Block block_;
  bool live_ = true;
};

}  // namespace

void walkSwissMap(const Program& p, const Type* mapType, uint64_t addr, const WalkOptions& o,
                  const EntryFn& fn, MapSummary& s) {
  Layout L = layoutOf(mapType);
  s.impl = MapImpl::Swiss;
  s.indirectKey = L.indKey;
  s.indirectValue = L.indVal;
  std::vector<uint8_t> hdr(L.map->size);
  p.mem().read(addr, hdr.data(), hdr.size());
  s.header = scalarFields(L.map, hdr.data());
  s.len = fieldValue(hdr.data(), *L.used);
  uint64_t dirPtr = fieldValue(hdr.data(), *L.dirPtr);
  s.dirLen = fieldValue(hdr.data(), *L.dirLen);
  s.globalDepth = fieldValue(hdr.data(), *L.globalDepth);
  uint64_t writing = L.writing ? fieldValue(hdr.data(), *L.writing) : 0;
  uint64_t tombstonePossible =
      L.tombstonePossible ? fieldValue(hdr.data(), *L.tombstonePossible) : 0;
  // The header's own invariants (map.go): a header that breaks one is not a
  // map header (or is overwritten), and nothing after it can be trusted.
  if (writing > 1) {
    s.rejectHeader(fmt::format("writing={} (a flag toggled between 0 and 1)", writing));
  } else if (tombstonePossible > 1) {
    s.rejectHeader(fmt::format("tombstonePossible={} (a bool)", tombstonePossible));
  } else if (dirPtr % 8) {
    s.rejectHeader(fmt::format("dirPtr={:#x} is not 8-byte aligned", dirPtr));
  } else if (s.dirLen == 0 && s.len > 8) {
    s.rejectHeader(fmt::format("used={} with dirLen=0 (a small map holds at most 8)", s.len));
  } else if (s.dirLen && ((s.dirLen & (s.dirLen - 1)) != 0 || s.dirLen > kMaxDirLen)) {
    s.rejectHeader(
        fmt::format("dirLen={} is impossible (must be a power of two <= 2^24)", s.dirLen));
  } else if (s.dirLen && s.len > s.dirLen * kMaxTableCapacity) {
    s.rejectHeader(fmt::format("used={} exceeds what {} tables hold ({} slots each at most)", s.len,
                               s.dirLen, kMaxTableCapacity));
  } else if (!dirPtr && s.len) {
    s.rejectHeader(fmt::format("used={} but no groups (dirPtr nil)", s.len));
  }
  if (!s.invalidHeader.empty() || o.headerOnly) return;
  s.torn = writing != 0;
  if (s.torn) s.problems.push_back("a write was in progress (writing set): entries may be torn");
  int minor = p.build().minor;
  s.footprint.header = allocSize(L.map->size, true, minor);
  Walker w(p, L, s, o, fn);
  w.region(addr, s.footprint.header, "header");
  if (!dirPtr) {
    s.small = true;
  } else if (s.dirLen == 0) {
    s.small = true;
    s.capacity = 8;
    s.footprint.buckets = allocSize(L.groupSize, L.groupHasPtr, minor);
    w.region(dirPtr, s.footprint.buckets, "groups");
    uint64_t tomb = 0;
    s.found = w.groups(dirPtr, 1, -1, &tomb);
    s.tombstones = tomb;
    if (tomb) w.problem(fmt::format("small map group has {} tombstones (never expected)", tomb));
  } else {
    if (s.globalDepth >= 64 || (uint64_t(1) << s.globalDepth) != s.dirLen)
      w.problem(fmt::format("dirLen={} but globalDepth={} (expected dirLen = 2^globalDepth)",
                            s.dirLen, s.globalDepth));
    w.walkDirectory(dirPtr, s.dirLen);
  }
  if (s.found != s.len)
    s.problems.push_back(
        fmt::format("header used is {} but {} entries were found", s.len, s.found));
}

}  // namespace gms
