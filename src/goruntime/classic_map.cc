// Classic Go maps (runtime/map.go, Go 1.19–1.23; map_noswiss.go in 1.24/1.25).
// Mirrors go1.19 runtime.hmap/bmap; offsets come from the linker-synthesised
// DWARF types hash<K,V> and bucket<K,V>.
#include "goruntime/classic_map.h"

#include <unordered_set>

#include "common/checked.h"
#include "goruntime/alloc.h"
#include "goruntime/layout.h"

namespace gms {
namespace {

// tophash values (runtime/map.go): goruntime/maps.h
using tophash::kEvacuatedEmpty, tophash::kEvacuatedX, tophash::kEvacuatedY, tophash::kMinTopHash;
// The evacuated-state check below is a range test over X..Empty, which holds Y.
static_assert(kEvacuatedX < kEvacuatedY && kEvacuatedY < kEvacuatedEmpty);
constexpr uint8_t kSameSizeGrow = 8, kHashWriting = 4;
// iterator | oldIterator | hashWriting | sameSizeGrow: every flag runtime/map.go sets.
constexpr uint64_t kKnownFlags = 0xf;
constexpr uint64_t kMaxB = 48;           // 2^48 buckets is beyond any real heap
constexpr uint64_t kChunk = 4 << 20;     // bytes of bucket array read at once
constexpr uint64_t kMaxChain = 1 << 20;  // overflow buckets followed per chain

struct Layout {
  const Type* hmap = nullptr;
  const Field *count, *flags, *B, *buckets, *oldbuckets, *nevacuate, *extra = nullptr;
  uint64_t bucketSize = 0, tophashOff = 0, keysOff = 0, valuesOff = 0, overflowOff = 0;
  uint64_t keySlot = 0, valSlot = 0;
  bool indKey = false, indVal = false, bucketHasPtr = false;
  uint64_t keySize = 0, valSize = 0;
  bool keyHasPtr = false, valHasPtr = false;
};

Layout layoutOf(const Type* mapType) {
  Layout L;
  L.hmap = mapType->mapHeader;
  if (!L.hmap)
    fail(ErrorKind::MissingDebugInfo, "DWARF has no header struct for {}", mapType->name);
  L.count = &requireField(L.hmap, "count");
  L.flags = &requireField(L.hmap, "flags");
  L.B = &requireField(L.hmap, "B");
  L.buckets = &requireField(L.hmap, "buckets");
  L.oldbuckets = &requireField(L.hmap, "oldbuckets");
  L.nevacuate = &requireField(L.hmap, "nevacuate");
  L.extra = optionalField(L.hmap, "extra");
  const Type* bucket = pointee(L.buckets->type, "hmap.buckets");
  L.bucketSize = bucket->size;
  L.tophashOff = requireField(bucket, "tophash").offset;
  const Field& keys = requireField(bucket, "keys");
  const Field* vals = optionalField(bucket, "values");
  if (!vals) vals = optionalField(bucket, "elems");
  if (!vals) vals = &requireField(bucket, "values");
  L.overflowOff = requireField(bucket, "overflow").offset;
  L.keysOff = keys.offset;
  L.valuesOff = vals->offset;
  L.keySlot = keys.type && keys.type->len ? keys.type->size / keys.type->len : 0;
  L.valSlot = vals->type && vals->type->len ? vals->type->size / vals->type->len : 0;
  const Type* K = mapType->key;
  const Type* V = mapType->elem;
  L.keySize = K ? K->size : 0;
  L.valSize = V ? V->size : 0;
  // Keys/values over 128 bytes are stored as pointers (maxKeySize/maxElemSize).
  L.indKey = L.keySize > 128 && L.keySlot == 8;
  L.indVal = L.valSize > 128 && L.valSlot == 8;
  L.keyHasPtr = typeHasPointers(K);
  L.valHasPtr = typeHasPointers(V);
  L.bucketHasPtr = L.indKey || L.indVal || L.keyHasPtr || L.valHasPtr;
  if (L.bucketSize < L.overflowOff + 8 || L.bucketSize < L.tophashOff + 8)
    fail(ErrorKind::MissingDebugInfo, "DWARF bucket layout of {} is inconsistent", mapType->name);
  return L;
}

class Walker {
 public:
  Walker(const Program& p, const Layout& L, MapSummary& s, const WalkOptions& o, const EntryFn& fn)
      : p_(p), m_(p.mem()), L_(L), s_(s), o_(o), fn_(fn) {}

  // Allocated size of a bucket array of 2^b buckets (makeBucketArray adds
  // 2^(b-4) spare overflow buckets when b >= 4, rounded up to a size class).
  uint64_t arrayAlloc(uint64_t b) const {
    uint64_t n = uint64_t(1) << b;
    if (b >= 4) n += uint64_t(1) << (b - 4);
    return allocSize(n * L_.bucketSize, L_.bucketHasPtr, p_.build().minor);
  }

  void region(uint64_t addr, uint64_t size, const char* what) {
    if (o_.regions && addr) s_.regions.push_back({addr, size, what});
  }

  // Walks 2^b buckets (or nb for the old array) starting at base.
  void walkArray(uint64_t base, uint64_t nb, bool old, uint64_t allocBytes) {
    arrayLo_ = base;
    arrayHi_ = base + allocBytes;
    uint64_t perChunk = std::max<uint64_t>(1, kChunk / L_.bucketSize);
    for (uint64_t first = 0; first < nb; first += perChunk) {
      uint64_t n = std::min(perChunk, nb - first);
      uint64_t addr = base + first * L_.bucketSize;
      const uint8_t* bytes;
      try {
        bytes = block_.fetch(m_, addr, n * L_.bucketSize);
      } catch (const Fault& f) {
        // A bucket array is one allocation: a hole means a corrupt pointer or
        // B, and going on would try up to 2^kMaxB more buckets (found by fuzz_classic_map).
        problem(fmt::format("{} buckets {}..{} unreadable: {}", old ? "old" : "", first, nb - 1,
                            f.what()));
        break;
      }
      for (uint64_t i = 0; i < n; i++) {
        const uint8_t* b = bytes + i * L_.bucketSize;
        // A few buckets ahead (the hardware prefetcher does not cross pages).
        if (i + 4 < n) __builtin_prefetch(b + 4 * L_.bucketSize);
        bucket(first + i, addr + i * L_.bucketSize, b, old);
      }
    }
  }

 private:
  void problem(std::string p) { addProblem(s_.problems, std::move(p)); }

  void bucket(uint64_t index, uint64_t addr, const uint8_t* bytes, bool old) {
    // Evacuated old buckets: every entry has moved to the new array.
    uint8_t t0 = bytes[L_.tophashOff];
    if (old && t0 >= kEvacuatedX && t0 <= kEvacuatedEmpty) {
      s_.evacuated++;
      record(index, addr, bytes, old, 0);
      return;
    }
    uint64_t chain = 0;
    const uint8_t* cur = bytes;
    uint64_t curAddr = addr;
    // Cycle detection costs nothing on the common short chain: remember the
    // addresses only once a chain is longer than any healthy map makes it.
    std::unordered_set<uint64_t> seen;
    for (;;) {
      slots(cur, curAddr);
      record(index, curAddr, cur, old, static_cast<int>(chain));
      uint64_t next = loadU64(cur + L_.overflowOff);
      if (!next) break;
      bool loop = false;
      if (++chain > 64) {
        if (seen.empty()) seen.insert(curAddr);
        loop = !seen.insert(next).second;
      } else {
        loop = next == curAddr || next == addr;
      }
      if (chain > kMaxChain || loop) {
        problem(fmt::format("{}bucket {} overflow chain {} at {:#x}", old ? "old " : "", index,
                            chain > kMaxChain ? "too long" : "loops", next));
        break;
      }
      s_.overflowBuckets++;
      if (next < arrayLo_ || next >= arrayHi_) {
        uint64_t sz = allocSize(L_.bucketSize, L_.bucketHasPtr, p_.build().minor);
        s_.footprint.overflow += sz;
        region(next, sz, "overflow");
      }
      ovf_.resize(L_.bucketSize);
      try {
        m_.read(next, ovf_.data(), L_.bucketSize);
      } catch (const Fault& f) {
        problem(fmt::format("{}bucket {} overflow bucket unreadable: {}", old ? "old " : "", index,
                            f.what()));
        break;
      }
      cur = ovf_.data();
      curAddr = next;
    }
    s_.maxChain = std::max(s_.maxChain, chain + 1);
  }

  void slots(const uint8_t* b, uint64_t bucketAddr) {
    for (int i = 0; i < 8; i++) {
      uint8_t top = b[L_.tophashOff + i];
      if (top < kMinTopHash) {
        s_.emptySlots++;
        continue;
      }
      s_.found++;
      const uint8_t* kp = b + L_.keysOff + i * L_.keySlot;
      const uint8_t* vp = b + L_.valuesOff + i * L_.valSlot;
      uint64_t k = bucketAddr + L_.keysOff + i * L_.keySlot;
      uint64_t v = bucketAddr + L_.valuesOff + i * L_.valSlot;
      if (L_.indKey) {
        k = loadU64(kp);
        uint64_t sz = allocSize(L_.keySize, L_.keyHasPtr, p_.build().minor);
        s_.footprint.indirect += sz;
        region(k, sz, "indirect key");
      }
      if (L_.indVal) {
        v = loadU64(vp);
        uint64_t sz = allocSize(L_.valSize, L_.valHasPtr, p_.build().minor);
        s_.footprint.indirect += sz;
        region(v, sz, "indirect value");
      }
      if (fn_ && live_) live_ = fn_(k, v);
    }
  }

  void record(uint64_t index, uint64_t addr, const uint8_t* b, bool old, int chainPos) {
    if (!o_.buckets || s_.buckets.size() >= o_.maxBuckets) return;
    BucketRecord r;
    r.old = old;
    r.index = index;
    r.chainPos = chainPos;
    r.addr = addr;
    for (int i = 0; i < 8; i++) {
      r.ctrl[i] = b[L_.tophashOff + i];
      if (r.ctrl[i] >= kMinTopHash) r.used++;
    }
    r.overflow = loadU64(b + L_.overflowOff);
    s_.buckets.push_back(r);
  }

  const Program& p_;
  const Memory& m_;
  const Layout& L_;
  MapSummary& s_;
  const WalkOptions& o_;
  const EntryFn& fn_;
  Block block_;
  std::vector<uint8_t> ovf_;  // the overflow bucket being read
  bool live_ = true;
  uint64_t arrayLo_ = 0, arrayHi_ = 0;
};

}  // namespace

void walkClassicMap(const Program& p, const Type* mapType, uint64_t addr, const WalkOptions& o,
                    const EntryFn& fn, MapSummary& s) {
  Layout L = layoutOf(mapType);
  s.impl = MapImpl::Classic;
  s.indirectKey = L.indKey;
  s.indirectValue = L.indVal;
  std::vector<uint8_t> hdr(L.hmap->size);
  p.mem().read(addr, hdr.data(), hdr.size());
  s.header = scalarFields(L.hmap, hdr.data());
  s.len = fieldValue(hdr.data(), *L.count);
  uint64_t flags = fieldValue(hdr.data(), *L.flags);
  s.B = fieldValue(hdr.data(), *L.B);
  uint64_t buckets = fieldValue(hdr.data(), *L.buckets);
  uint64_t oldbuckets = fieldValue(hdr.data(), *L.oldbuckets);
  s.nevacuate = fieldValue(hdr.data(), *L.nevacuate);
  // The header's own invariants (runtime/map.go): a header that breaks one
  // is not a map header (or is overwritten), and nothing after it can be trusted.
  if (flags & ~kKnownFlags) {
    s.rejectHeader(fmt::format("flags={:#x} has bits the runtime never sets (it uses {:#x})", flags,
                               kKnownFlags));
  } else if (s.B > kMaxB) {
    s.rejectHeader(fmt::format("B={} is impossible (2^B buckets)", s.B));
  } else if (s.len > (uint64_t(16) << s.B)) {
    s.rejectHeader(
        fmt::format("count={} cannot fit 2^B={} buckets (the map grows past 6.5 per bucket)", s.len,
                    uint64_t(1) << s.B));
  } else if (buckets % 8 || oldbuckets % 8) {
    s.rejectHeader(fmt::format("{}={:#x} is not 8-byte aligned",
                               buckets % 8 ? "buckets" : "oldbuckets",
                               buckets % 8 ? buckets : oldbuckets));
  } else if (!buckets && s.len) {
    s.rejectHeader(fmt::format("count={} but no bucket array", s.len));
  } else if (oldbuckets && !(flags & kSameSizeGrow) && s.B == 0) {
    s.rejectHeader("oldbuckets set but B=0");
  }
  if (!s.invalidHeader.empty() || o.headerOnly) return;
  s.torn = (flags & kHashWriting) != 0;
  if (s.torn)
    s.problems.push_back("a write was in progress (hashWriting set): entries may be torn");
  int minor = p.build().minor;
  s.footprint.header = allocSize(L.hmap->size, true, minor);
  if (o.regions) s.regions.push_back({addr, s.footprint.header, "header"});
  if (L.extra && fieldValue(hdr.data(), *L.extra) && L.extra->type && L.extra->type->elem) {
    uint64_t sz = allocSize(L.extra->type->elem->size, true, minor);
    s.footprint.header += sz;
    if (o.regions) s.regions.push_back({fieldValue(hdr.data(), *L.extra), sz, "header"});
  }
  s.nbuckets = uint64_t(1) << s.B;
  Walker w(p, L, s, o, fn);
  if (oldbuckets) {
    s.growing = true;
    s.sameSizeGrow = (flags & kSameSizeGrow) != 0;
    uint64_t oldB = s.sameSizeGrow ? s.B : s.B - 1;
    s.oldBucketCount = uint64_t(1) << oldB;
    uint64_t alloc = w.arrayAlloc(oldB);
    s.footprint.oldBuckets = alloc;
    w.region(oldbuckets, alloc, "oldbuckets");
    w.walkArray(oldbuckets, s.oldBucketCount, true, alloc);
  }
  if (buckets) {
    uint64_t alloc = w.arrayAlloc(s.B);
    s.footprint.buckets = alloc;
    w.region(buckets, alloc, "buckets");
    w.walkArray(buckets, s.nbuckets, false, alloc);
  }
  if (s.found != s.len)
    s.problems.push_back(
        fmt::format("header count is {} but {} entries were found", s.len, s.found));
}

}  // namespace gms
