#include "analysis/advice.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <string>

#include "common/error.h"
#include "goruntime/alloc.h"

namespace gms {
namespace {

constexpr uint64_t kMaxAlloc = uint64_t{1} << 48;  // runtime.maxAlloc on linux/amd64
constexpr uint64_t kMaxKeys = uint64_t{1} << 32;   // bounds the model's work
constexpr uint64_t kMaxInline = 128;     // maxKeySize/maxElemSize, MapMaxKeyBytes/ElemBytes
constexpr uint64_t kSlots = 8;           // bucketCnt / MapGroupSlots
constexpr uint64_t kMaxTableCap = 1024;  // maxTableCapacity
constexpr uint64_t kTableStruct = 32;    // sizeof(maps.table), pointerful
constexpr uint64_t kSwissHeader = 48;    // sizeof(maps.Map)
constexpr uint64_t kMapExtra = 24;       // sizeof(runtime.mapextra)
constexpr uint64_t kSliceHeader = 24;    // new([]*bmap)

uint64_t alignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }
uint64_t pow2ceil(uint64_t x) {
  uint64_t p = 1;
  while (p < x) p <<= 1;
  return p;
}

// ---------------------------------------------------------------- types

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) b++;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) e--;
  return std::string(s.substr(b, e - b));
}

std::string squeeze(
    const std::string& s) {  // "struct {}" -> "struct{}", "interface { }" -> "interface{}"
  std::string r;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) r += c;
  return r;
}

bool startsWith(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

// Go's struct layout (cmd/compile/internal/types CalcStructSize): fields at
// their alignment, a byte of padding after a trailing zero-size field in a
// non-empty struct, then the size rounded up to the struct's alignment.
struct Member {
  uint64_t size, align;
};
uint64_t structLayout(const std::vector<Member>& fields, std::vector<uint64_t>* offsets) {
  uint64_t off = 0, maxAlign = 1;
  for (const Member& f : fields) {
    off = alignUp(off, f.align);
    if (offsets) offsets->push_back(off);
    off += f.size;
    maxAlign = std::max(maxAlign, f.align);
  }
  if (off > 0 && !fields.empty() && fields.back().size == 0) off++;
  return alignUp(off, maxAlign);
}

void checkShape(const TypeShape& t, const char* what) {
  if (t.align == 0 || t.align > 8 || (t.align & (t.align - 1)) != 0)
    fail(ErrorKind::Usage, "{} alignment {} is not 1, 2, 4 or 8", what, t.align);
  if (t.size % t.align != 0)
    fail(ErrorKind::Usage, "{} size {} is not a multiple of its alignment {}", what, t.size,
         t.align);
  if (t.size > (uint64_t{1} << 40)) fail(ErrorKind::Usage, "{} size {} is too large", what, t.size);
}

void checkVersion(int goMinor, MapImpl impl) {
  // 1.27's maps allocate as 1.26's do (checked against measured TotalAlloc
  // by MapAllocTruth under each toolchain).
  if (goMinor < 19 || goMinor > 27)
    fail(ErrorKind::Unsupported, "Go 1.{} is not modelled (1.19 to 1.27 are)", goMinor);
  if (impl == MapImpl::Classic && goMinor > 25)
    fail(ErrorKind::Unsupported,
         "Go 1.{} has no classic maps (GOEXPERIMENT=noswissmap ended in 1.25)", goMinor);
  if (impl == MapImpl::Swiss && goMinor < 24)
    fail(ErrorKind::Unsupported, "Go 1.{} has no Swiss maps (they start in 1.24)", goMinor);
}

// ---------------------------------------------------------------- allocator

bool mallocHeader(uint64_t size, bool ptr, int minor) {
  return minor >= 22 && ptr && size > 512 && size <= kMaxSmallSize - 8;
}
// runtime.roundupsize: the bytes a request of `size` may use (the size class,
// less the malloc header it will carry from 1.22).
uint64_t usableSize(uint64_t size, bool ptr, int minor) {
  uint64_t a = allocSize(size, ptr, minor);
  return mallocHeader(size, ptr, minor) ? a - 8 : a;
}

// append's growth (runtime.growslice, 1.19..1.26 alike for this case) of a
// []*bmap: the capacity after each reallocation and the bytes allocated.
struct SliceGrowth {
  std::vector<uint64_t> caps, bytes;
};
const SliceGrowth& pointerSliceGrowth(int minor, uint64_t upTo) {
  static thread_local SliceGrowth g[2];
  SliceGrowth& s = g[minor >= 22 ? 1 : 0];
  while (s.caps.empty() || s.caps.back() < upTo) {
    uint64_t old = s.caps.empty() ? 0 : s.caps.back();
    uint64_t want = old + 1, newcap;
    if (want > 2 * old) {
      newcap = want;
    } else if (old < 256) {
      newcap = 2 * old;
    } else {
      newcap = old;
      while (newcap < want) newcap += (newcap + 3 * 256) / 4;
    }
    uint64_t mem = usableSize(newcap * 8, true, minor);
    s.caps.push_back(mem / 8);
    s.bytes.push_back(allocSize(mem, true, minor));
  }
  return s;
}

// ---------------------------------------------------------------- probability

double logBinom(uint64_t n, double p, uint64_t k) {
  double dn = static_cast<double>(n), dk = static_cast<double>(k);
  return std::lgamma(dn + 1) - std::lgamma(dk + 1) - std::lgamma(dn - dk + 1) + dk * std::log(p) +
         (dn - dk) * std::log1p(-p);
}

// P(X >= t) for X ~ Binomial(n, p).
double binomTailGE(uint64_t n, double p, uint64_t t) {
  if (t == 0) return 1;
  if (t > n || p <= 0) return 0;
  if (p >= 1) return 1;
  double mean = static_cast<double>(n) * p;
  if (static_cast<double>(t) > mean) {  // terms fall from t upwards
    double sum = 0;
    for (uint64_t k = t; k <= n; k++) {
      double term = std::exp(logBinom(n, p, k));
      sum += term;
      if (term <= sum * 1e-17 || (sum == 0 && k > t + 64)) break;
    }
    return std::min(1.0, sum);
  }
  double sum = 0;  // P(X <= t-1): terms fall from t-1 downwards
  for (uint64_t k = t; k-- > 0;) {
    double term = std::exp(logBinom(n, p, k));
    sum += term;
    if (term <= sum * 1e-17 || (sum == 0 && k + 64 < t)) break;
  }
  return std::max(0.0, 1.0 - sum);
}

// A distribution over 0, 1, 2, ...: p[i] = P(X = lo + i).
struct Pmf {
  uint64_t lo = 0;
  std::vector<double> p;
  template <typename F>
  double expect(F f) const {
    double s = 0;
    for (size_t i = 0; i < p.size(); i++)
      if (p[i] > 0) s += p[i] * f(lo + i);
    return s;
  }
  uint64_t hi() const { return lo + p.size() - 1; }
};

void trimPmf(Pmf& a) {
  constexpr double kTail = 1e-16;
  size_t b = 0, e = a.p.size();
  double cut = 0;
  while (e - b > 1 && cut + a.p[b] < kTail) cut += a.p[b++];
  cut = 0;
  while (e - b > 1 && cut + a.p[e - 1] < kTail) cut += a.p[--e];
  a.p = std::vector<double>(a.p.begin() + static_cast<long>(b), a.p.begin() + static_cast<long>(e));
  a.lo += b;
}

Pmf convolve(const Pmf& a, const Pmf& b) {
  Pmf r;
  r.lo = a.lo + b.lo;
  r.p.assign(a.p.size() + b.p.size() - 1, 0.0);
  for (size_t i = 0; i < a.p.size(); i++) {
    if (a.p[i] == 0) continue;
    for (size_t j = 0; j < b.p.size(); j++) r.p[i + j] += a.p[i] * b.p[j];
  }
  trimPmf(r);
  return r;
}

Pmf sumOfIid(const Pmf& base, uint64_t m) {
  Pmf r{0, {1.0}}, x = base;
  while (m) {
    if (m & 1) r = convolve(r, x);
    m >>= 1;
    if (m) x = convolve(x, x);
  }
  return r;
}

Pmf normalPmf(double mu, double var) {
  if (var <= 1e-12) return Pmf{static_cast<uint64_t>(std::llround(std::max(0.0, mu))), {1.0}};
  double sd = std::sqrt(var);
  auto cdf = [&](double x) { return 0.5 * std::erfc(-(x - mu) / (sd * std::sqrt(2.0))); };
  uint64_t lo = static_cast<uint64_t>(std::max(0.0, std::floor(mu - 10 * sd)));
  uint64_t hi = static_cast<uint64_t>(std::ceil(mu + 10 * sd));
  Pmf r;
  r.lo = lo;
  double total = 0;
  for (uint64_t k = lo; k <= hi; k++) {
    double pk =
        cdf(static_cast<double>(k) + 0.5) - (k == 0 ? 0.0 : cdf(static_cast<double>(k) - 0.5));
    r.p.push_back(pk);
    total += pk;
  }
  for (double& v : r.p) v /= total;
  return r;
}

// Overflow buckets of a classic bucket array of m buckets holding n entries:
// a bucket with k entries has ceil(k/8)-1 of them. Each bucket's load is
// Binomial(n, 1/m), taken as independent of the others.
Pmf overflowPmf(uint64_t n, uint64_t m) {
  auto ovf = [](uint64_t k) { return k == 0 ? 0 : (k - 1) / kSlots; };
  if (m == 1) return Pmf{ovf(n), {1.0}};
  double p = 1.0 / static_cast<double>(m), mean = static_cast<double>(n) * p;
  Pmf one;
  for (uint64_t k = 0; k <= n; k++) {
    double pk = std::exp(logBinom(n, p, k));
    uint64_t j = ovf(k);
    if (one.p.size() <= j) one.p.resize(j + 1, 0.0);
    one.p[j] += pk;
    if (static_cast<double>(k) > mean && pk < 1e-18) break;
  }
  double s = 0;
  for (double v : one.p) s += v;
  for (double& v : one.p) v /= s;
  trimPmf(one);
  double e = one.expect([](uint64_t j) { return double(j); });
  double e2 = one.expect([](uint64_t j) { return double(j) * double(j); });
  double var = (e2 - e * e) * static_cast<double>(m);
  // Exact sums while narrow; the central limit is excellent beyond that.
  if (var < 256) return sumOfIid(one, m);
  return normalPmf(e * static_cast<double>(m), var);
}

// ---------------------------------------------------------------- plans

struct Builder {
  MapPlan plan;
  double variance = 0;
  void add(std::string what, double count, uint64_t each, double live, bool estimated = false,
           double var = 0) {
    if (count <= 0) return;
    add2(std::move(what), count, each, count * static_cast<double>(each),
         live * static_cast<double>(each), estimated, var);
  }
  void add2(std::string what, double count, uint64_t each, double bytes, double liveBytes,
            bool estimated, double var) {
    if (count <= 0 && bytes <= 0) return;
    plan.items.push_back({std::move(what), count, each, bytes, liveBytes, estimated});
    variance += std::max(0.0, var);
  }
  MapPlan finish() {
    for (const AllocItem& it : plan.items) {
      plan.totalBytes += it.bytes;
      plan.liveBytes += it.liveBytes;
    }
    plan.stddevBytes = std::sqrt(variance);
    plan.exact = plan.stddevBytes < 0.5;
    return std::move(plan);
  }
};

// Per-insert objects for keys/values stored out of line.
void addIndirect(Builder& b, const MapTypeShape& s, const MapLayout& l, uint64_t keys) {
  if (l.indirectKey)
    b.add("indirect keys", double(keys), allocSize(s.key.size, s.key.pointers, s.goMinor),
          double(keys));
  if (l.indirectValue)
    b.add("indirect values", double(keys), allocSize(s.value.size, s.value.pointers, s.goMinor),
          double(keys));
}

uint64_t classicThreshold(unsigned B) {  // most entries 2^B buckets hold before hashGrow
  return B == 0 ? kSlots : uint64_t{13} << (B - 1);
}
bool overLoadFactor(uint64_t count, unsigned B) {
  return count > kSlots && count > 13 * ((uint64_t{1} << B) / 2);
}

MapPlan planClassic(const MapTypeShape& s, const MapLayout& l, uint64_t keys,
                    std::optional<uint64_t> hint) {
  Builder b;
  b.plan.hint = hint;
  const int minor = s.goMinor;
  const bool ptr = l.pointers;
  const uint64_t bs = l.bucketSize;
  const uint64_t oneBucket = allocSize(bs, ptr, minor);
  // makeBucketArray(b): buckets allocated (2^b plus spares) and their bytes.
  auto bucketArray = [&](unsigned bb) -> std::pair<uint64_t, uint64_t> {
    uint64_t nb = uint64_t{1} << bb;
    if (bb >= 4) {  // + 2^(b-4) spare overflow buckets, rounded up to the size class
      nb += uint64_t{1} << (bb - 4);
      uint64_t sz = bs * nb, up = usableSize(sz, ptr, minor);
      if (up != sz) nb = up / bs;
    }
    return {nb, allocSize(bs * nb, ptr, minor)};
  };

  const uint64_t hmapSize = minor >= 24 ? 56 : 48;  // 1.24/1.25 noswiss added clearSeq
  b.add("hmap header (" + std::to_string(hmapSize) + " B)", 1, allocSize(hmapSize, true, minor), 1);

  uint64_t h = hint.value_or(0);
  if (bs != 0 && h > kMaxAlloc / bs) h = 0;  // makemap: hint*bucketsize > maxAlloc
  unsigned B0 = 0;
  while (overLoadFactor(h, B0)) B0++;

  struct Gen {
    unsigned b;
    uint64_t n;
  };
  std::vector<Gen> gens;
  if (B0 > 0 || keys > 0) {
    for (unsigned B = B0;; B++) {
      if (keys > classicThreshold(B)) {
        gens.push_back({B, classicThreshold(B)});
      } else {
        gens.push_back({B, keys});
        break;
      }
    }
  }

  // Is the last growth still evacuating? Each insert while growing evacuates
  // the bucket it lands in (if not yet done) and the next unevacuated one, so
  // a fraction x(t) = 2 - 2exp(-t/nold) of the old array is done after t
  // inserts: all of it at t = nold*ln 2. (Estimate; only affects live bytes.)
  bool growing = false;
  double evacuated = 1;
  if (gens.size() >= 2) {
    uint64_t nold = uint64_t{1} << gens[gens.size() - 2].b;
    double t = static_cast<double>(keys - gens[gens.size() - 2].n);
    growing = t < std::ceil(static_cast<double>(nold) * std::log(2.0));
    if (growing) evacuated = std::min(1.0, 2 - 2 * std::exp(-t / static_cast<double>(nold)));
  }

  double extraAbsent = 1;  // P(no mapextra yet)
  double extraAlloc = 0;   // expected mapextra allocations (at most one)
  for (size_t gi = 0; gi < gens.size(); gi++) {
    const Gen& g = gens[gi];
    const bool last = gi + 1 == gens.size();
    const bool liveGen = last || (growing && gi + 2 == gens.size());
    // (B 0 is never made by makemap but by mapassign's newobject(t.bucket):
    // the same one bucket.)
    const uint64_t base = uint64_t{1} << g.b;
    const auto [nb, bytes] = bucketArray(g.b);
    const uint64_t spares = nb - base;
    std::string origin = gi == 0 ? (g.b == 0 ? "first insert" : "make") : "growth";
    std::string what =
        "bucket array B=" + std::to_string(g.b) + " (" + std::to_string(base) + " buckets";
    if (spares) what += " + " + std::to_string(spares) + " spare overflow";
    what += ", " + origin + ")";
    b.add(what, 1, bytes, liveGen ? 1 : 0);
    if (g.b >= 4) {  // makemap / hashGrow: new(mapextra) for nextOverflow
      extraAlloc += extraAbsent;
      extraAbsent = 0;
    }

    Pmf O = overflowPmf(g.n, base);
    double eO = O.expect([](uint64_t o) { return double(o); });
    if (last) b.plan.overflowBuckets = eO;
    // Overflow buckets beyond the spares: newobject(t.bucket) each.
    auto beyond = [&](uint64_t o) { return double(o > spares ? o - spares : 0); };
    // Pointer-free buckets: every overflow bucket is appended to a new
    // extra.overflow list: new([]*bmap) + growslice's backing arrays.
    const SliceGrowth* sg = ptr ? nullptr : &pointerSliceGrowth(minor, O.hi());
    auto listBytes = [&](uint64_t o) {
      double s = o ? double(allocSize(kSliceHeader, true, minor)) : 0;
      for (size_t i = 0; o && i < sg->caps.size(); i++) {
        s += double(sg->bytes[i]);
        if (sg->caps[i] >= o) break;
      }
      return s;
    };
    auto listLive = [&](uint64_t o) {  // the header and the last backing array
      if (!o) return 0.0;
      for (size_t i = 0; i < sg->caps.size(); i++)
        if (sg->caps[i] >= o) return double(allocSize(kSliceHeader, true, minor) + sg->bytes[i]);
      return 0.0;
    };
    auto randomBytes = [&](uint64_t o) {
      return beyond(o) * double(oneBucket) + (sg ? listBytes(o) : 0.0);
    };
    double eR = O.expect(randomBytes);
    double eR2 = O.expect([&](uint64_t o) {
      double r = randomBytes(o);
      return r * r;
    });
    double var = std::max(0.0, eR2 - eR * eR);
    double eBeyond = O.expect(beyond);
    std::string at = " (B=" + std::to_string(g.b) + ")";
    // An old array's overflow buckets stay reachable while it evacuates,
    // except that evacuating a pointerful bucket clears its overflow link
    // (pointer-free ones are kept alive by extra.oldoverflow until the end).
    double ovfLive = last ? 1.0 : liveGen ? (ptr ? 1 - evacuated : 1.0) : 0.0;
    b.add2("overflow buckets beyond the spares" + at, eBeyond, oneBucket,
           eBeyond * double(oneBucket), ovfLive * eBeyond * double(oneBucket), true, sg ? 0 : var);
    if (sg) {
      double p0 = O.p.empty() || O.lo > 0 ? 0.0 : O.p[0];
      double eList = O.expect(listBytes);
      b.add2("overflow bucket list" + at, 1 - p0, 0, eList, liveGen ? O.expect(listLive) : 0, true,
             var);
      // createOverflow: new(mapextra) if none yet.
      extraAlloc += extraAbsent * (1 - p0);
      extraAbsent *= p0;
    }
  }
  double extraVar = extraAlloc * (1 - extraAlloc) * double(kMapExtra * kMapExtra);
  b.add2("mapextra", extraAlloc, allocSize(kMapExtra, true, minor),
         extraAlloc * double(allocSize(kMapExtra, true, minor)),
         extraAlloc * double(allocSize(kMapExtra, true, minor)), extraAlloc > 0 && extraAlloc < 1,
         extraVar);
  addIndirect(b, s, l, keys);

  if (!gens.empty()) {
    b.plan.B = gens.back().b;
    b.plan.buckets = uint64_t{1} << b.plan.B;
    b.plan.spareOverflow = bucketArray(b.plan.B).first - b.plan.buckets;
    b.plan.growths = static_cast<unsigned>(gens.size() - 1);
    b.plan.growing = growing;
  }
  return b.finish();
}

MapPlan planSwiss(const MapTypeShape& s, const MapLayout& l, uint64_t keys,
                  std::optional<uint64_t> hint) {
  Builder b;
  b.plan.hint = hint;
  const int minor = s.goMinor;
  const bool gptr = l.pointers;
  const uint64_t tableStruct = allocSize(kTableStruct, true, minor);
  auto groupsBytes = [&](uint64_t cap) {
    return allocSize(cap / kSlots * l.groupSize, gptr, minor);
  };
  auto tableBytes = [&](uint64_t cap) { return tableStruct + groupsBytes(cap); };
  auto maxGrowth = [](uint64_t cap) { return cap <= kSlots ? cap - 1 : cap * 7 / kSlots; };
  auto dirBytes = [&](uint64_t len) { return allocSize(len * 8, true, minor); };

  b.add("Map header (48 B)", 1, allocSize(kSwissHeader, true, minor), 1);

  // Table mode starts either at make (hint > 8: NewMap) or at the 9th insert
  // (growToTable). Either way there are 2^g0 root tables of capacity C0.
  bool tableMode = false, fromMake = false;
  unsigned g0 = 0;
  uint64_t C0 = 0;
  uint64_t h = hint.value_or(0);
  if (h > kSlots) {  // NewMap with a full-size hint
    uint64_t target = h * kSlots / 7;
    uint64_t dirSize = pow2ceil((target + kMaxTableCap - 1) / kMaxTableCap);
    if (dirSize * kMaxTableCap <= kMaxAlloc / std::max<uint64_t>(l.groupSize, 1)) {
      tableMode = fromMake = true;
      while ((uint64_t{1} << g0) < dirSize) g0++;
      C0 = pow2ceil(std::max<uint64_t>(kSlots, target / dirSize));
    }  // else NewMap returns an empty map, as without a hint
  }
  if (!tableMode) {
    b.plan.small = keys <= kSlots;
    if (keys >= 1) {  // growToSmall on the first insert
      b.add("small group (first insert)", 1, allocSize(l.groupSize, gptr, minor),
            keys <= kSlots ? 1 : 0);
      b.plan.groups = keys <= kSlots ? 1 : 0;
      b.plan.capacity = keys <= kSlots ? double(kSlots) : 0;
    }
    if (keys > kSlots) {  // growToTable on the 9th insert
      tableMode = true;
      C0 = 2 * kSlots;
      b.plan.grows += 1;
    }
  }

  if (tableMode) {
    const double roots = std::ldexp(1.0, static_cast<int>(g0));
    const double pRoot = std::ldexp(1.0, -static_cast<int>(g0));
    const uint64_t splitAt = maxGrowth(kMaxTableCap) + 1;  // 897 keys
    // q[i] = P(the table of a depth g0+i hash prefix splits): a prefix's table
    // holds exactly the keys with that prefix, so it splits iff >= 897 of
    // the keys share it (a root below 1024 slots first doubles up to 1024).
    std::vector<double> q;
    for (unsigned d = g0; d < 64; d++) {
      double pd = std::ldexp(1.0, -static_cast<int>(d));
      q.push_back(binomTailGE(keys, pd, splitAt));
      if (static_cast<double>(keys) * pd < double(splitAt) &&
          std::ldexp(q.back(), static_cast<int>(d)) < 1e-12)
        break;
    }
    q.push_back(0);
    // Roots double while their count exceeds cap*7/8: reach[i] = P(a root
    // reaches caps[i]); it ends there unless it reaches the next one or splits.
    std::vector<uint64_t> caps{C0};
    std::vector<double> reach{1.0};
    for (uint64_t c = C0; c < kMaxTableCap; c *= 2) {
      caps.push_back(2 * c);
      reach.push_back(binomTailGE(keys, pRoot, maxGrowth(c) + 1));
    }
    auto endsAt = [&](size_t i) {
      return std::max(0.0, reach[i] - (i + 1 < reach.size() ? reach[i + 1] : q[0]));
    };
    double tables = 0, capacity = 0;
    for (size_t i = 0; i < caps.size(); i++) {
      double n = roots * reach[i], live = roots * endsAt(i), tb = double(tableBytes(caps[i]));
      tables += live;
      capacity += live * double(caps[i]);
      std::string when = i > 0 ? "grow" : fromMake ? "make" : "9th insert";
      bool est = reach[i] > 0 && reach[i] < 1;
      double var = roots * reach[i] * (1 - reach[i]) * tb * tb;
      b.add("table struct (cap " + std::to_string(caps[i]) + ", " + when + ")", n, tableStruct,
            live, est);
      b.add("group array cap " + std::to_string(caps[i]) + " (" + when + ")", n,
            groupsBytes(caps[i]), live, est, var);
      if (i > 0) b.plan.grows += n;
    }
    // Each split allocates two 1024-slot tables one level deeper.
    const uint64_t tb1024 = tableBytes(kMaxTableCap);
    for (size_t i = 0; i + 1 < q.size(); i++) {
      double nodes = std::ldexp(1.0, static_cast<int>(g0 + i)), n = nodes * q[i];
      if (n <= 0) continue;
      double children = 2 * nodes * std::max(0.0, q[i] - q[i + 1]);  // that do not split again
      tables += children;
      capacity += children * double(kMaxTableCap);
      b.plan.splits += n;
      b.add2("table split at depth " + std::to_string(g0 + i) + " (2 tables of 1024 slots)", n,
             2 * tb1024, n * 2 * double(tb1024), children * double(tb1024), q[i] < 1,
             nodes * q[i] * (1 - q[i]) * 4 * double(tb1024) * double(tb1024));
    }
    // The directory: 2^g0 entries, doubling each time a table at the global
    // depth splits; P(global depth >= g0+i) with prefixes taken as independent.
    std::vector<double> atLeast{1.0};
    for (size_t i = 0; i + 1 < q.size(); i++) {
      double nodes = std::ldexp(1.0, static_cast<int>(g0 + i));
      double p = q[i] >= 1 ? 1.0 : -std::expm1(nodes * std::log1p(-q[i]));
      if (p <= 0) break;
      atLeast.push_back(std::min(p, atLeast.back()));
    }
    double dirLen = 0;
    for (size_t i = 0; i < atLeast.size(); i++) {
      uint64_t len = uint64_t{1} << (g0 + i);
      double pEnd = atLeast[i] - (i + 1 < atLeast.size() ? atLeast[i + 1] : 0.0);
      double db = double(dirBytes(len));
      dirLen += pEnd * double(len);
      std::string when = i > 0 ? "doubling" : fromMake ? "make" : "9th insert";
      b.add("directory of " + std::to_string(len) + " (" + when + ")", atLeast[i], dirBytes(len),
            pEnd, atLeast[i] < 1, atLeast[i] * (1 - atLeast[i]) * db * db);
    }
    b.plan.dirLen = dirLen;
    b.plan.tables = tables;
    b.plan.capacity = capacity;
    b.plan.groups = capacity / kSlots;
  }
  addIndirect(b, s, l, keys);
  MapPlan p = b.finish();
  p.growths = static_cast<unsigned>(std::llround(p.grows + p.splits));
  return p;
}

}  // namespace

// ---------------------------------------------------------------- public

TypeShape goTypeShape(std::string_view goType) {
  std::string t = squeeze(trim(goType));
  if (t == "string") return {16, 8, true};
  if (t == "int" || t == "uint" || t == "int64" || t == "uint64" || t == "uintptr" ||
      t == "float64")
    return {8, 8, false};
  if (t == "int32" || t == "uint32" || t == "rune" || t == "float32") return {4, 4, false};
  if (t == "int16" || t == "uint16") return {2, 2, false};
  if (t == "int8" || t == "uint8" || t == "byte" || t == "bool") return {1, 1, false};
  if (t == "complex64") return {8, 4, false};
  if (t == "complex128") return {16, 8, false};
  if (t == "struct{}") return {0, 1, false};
  if (t == "any" || t == "interface{}" || t == "error") return {16, 8, true};
  if (startsWith(t, "*") || t == "unsafe.Pointer" || t == "pointer" || startsWith(t, "map[") ||
      startsWith(t, "chan") || startsWith(t, "<-chan") || startsWith(t, "func("))
    return {8, 8, true};
  if (startsWith(t, "[]")) return {24, 8, true};
  if (startsWith(t, "[")) {
    size_t close = t.find(']');
    if (close != std::string::npos && close > 1) {
      std::string n = t.substr(1, close - 1);
      bool digits = std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digits && n.size() <= 12) {
        uint64_t count = std::stoull(n);
        TypeShape e = goTypeShape(t.substr(close + 1));
        if (e.size != 0 && count > (uint64_t{1} << 40) / e.size)
          fail(ErrorKind::Usage, "Go type {} is too large", t);
        return {count * e.size, e.align, count > 0 && e.pointers};
      }
    }
  }
  fail(ErrorKind::Usage,
       "unknown Go type '{}' (use string, int, int8..int64, uint, uint8..uint64, uintptr, byte, "
       "rune, "
       "bool, float32, float64, complex64, complex128, *T, unsafe.Pointer, map[K]V, chan T, "
       "func(), []T, "
       "any, error, struct{{}} or [N]T of those)",
       trim(goType));
}

MapTypeShape mapShapeFromGoTypes(std::string_view key, std::string_view value, int goMinor,
                                 std::optional<MapImpl> impl) {
  MapTypeShape s;
  s.key = goTypeShape(key);
  s.value = goTypeShape(value);
  s.goMinor = goMinor;
  s.impl = impl.value_or(goMinor >= 24 ? MapImpl::Swiss : MapImpl::Classic);
  checkVersion(goMinor, s.impl);
  return s;
}

MapLayout mapLayout(const MapTypeShape& s) {
  checkShape(s.key, "key");
  checkShape(s.value, "value");
  checkVersion(s.goMinor, s.impl);
  MapLayout l;
  l.indirectKey = s.key.size > kMaxInline;
  l.indirectValue = s.value.size > kMaxInline;
  Member k = l.indirectKey ? Member{8, 8} : Member{s.key.size, s.key.align};
  Member v = l.indirectValue ? Member{8, 8} : Member{s.value.size, s.value.align};
  l.keySlot = k.size;
  l.valueSlot = v.size;
  l.pointers = l.indirectKey || l.indirectValue || s.key.pointers || s.value.pointers;
  if (s.impl == MapImpl::Classic) {
    // cmd/compile reflectdata MapBucketType: topbits [8]uint8, keys [8]K,
    // elems [8]V, overflow (unsafe.Pointer, or uintptr without pointers).
    l.bucketSize =
        structLayout({{8, 1}, {8 * k.size, k.align}, {8 * v.size, v.align}, {8, 8}}, nullptr);
  } else {
    // reflectdata SwissMapGroupType / MapGroupType: ctrl uint64, slots [8]struct{key; elem}.
    std::vector<uint64_t> off;
    l.slotSize = structLayout({k, v}, &off);
    l.elemOffset = off[1];
    l.groupSize = structLayout({{8, 8}, {8 * l.slotSize, std::max(k.align, v.align)}}, nullptr);
  }
  return l;
}

MapPlan planMap(const MapTypeShape& shape, uint64_t keys, std::optional<uint64_t> hint) {
  MapLayout l = mapLayout(shape);
  if (keys > kMaxKeys) fail(ErrorKind::Usage, "{} keys: the model handles at most 2^32", keys);
  if (hint && *hint > kMaxKeys)
    fail(ErrorKind::Usage, "hint {}: the model handles at most 2^32", *hint);
  return shape.impl == MapImpl::Classic ? planClassic(shape, l, keys, hint)
                                        : planSwiss(shape, l, keys, hint);
}

MapAdvice adviseMap(const MapTypeShape& shape, uint64_t keys, std::optional<uint64_t> hint) {
  MapAdvice a;
  a.shape = shape;
  a.layout = mapLayout(shape);
  a.keys = keys;
  a.withoutHint = planMap(shape, keys, std::nullopt);
  a.withHint = planMap(shape, keys, hint.value_or(keys));

  // Normally the hint is the number of keys. A Swiss hint just under a
  // directory boundary leaves tables that are likely to split; the next
  // directory size can then be cheaper.
  a.recommendedHint = keys;
  a.recommended = hint.value_or(keys) == keys ? a.withHint : planMap(shape, keys, keys);
  if (shape.impl == MapImpl::Swiss && keys > kSlots) {
    uint64_t target = keys * kSlots / 7;
    uint64_t dirSize = pow2ceil((target + kMaxTableCap - 1) / kMaxTableCap);
    uint64_t alt = dirSize * (kMaxTableCap * 7 / kSlots) + 1;
    if (alt <= kMaxKeys) {
      // Only when it is clearly cheaper: size-class rounding alone can make
      // the bigger directory a fraction of a percent cheaper, which is not
      // worth a surprising hint.
      MapPlan p = planMap(shape, keys, alt);
      if (p.totalBytes < 0.98 * a.recommended.totalBytes) {
        a.recommendedHint = alt;
        a.recommended = std::move(p);
      }
    }
  }
  a.bytesSaved = a.withoutHint.totalBytes - a.recommended.totalBytes;

  if (keys > 0 && a.layout.indirectKey)
    a.notes.push_back("keys over 128 bytes are stored indirectly: one allocation per key");
  if (keys > 0 && a.layout.indirectValue)
    a.notes.push_back("values over 128 bytes are stored indirectly: one allocation per value");
  for (const MapPlan* p : {&a.withoutHint, &a.withHint, &a.recommended}) {
    if (p->exact || (p == &a.recommended && p->hint == a.withHint.hint)) continue;
    std::string which = p->hint ? "make(map, " + std::to_string(*p->hint) + ")" : "make(map)";
    if (shape.impl == MapImpl::Classic)
      a.notes.push_back(which + ": overflow buckets depend on the hash seed; expected bytes, +-" +
                        std::to_string(std::llround(p->stddevBytes)) + " (1 sd)");
    else
      a.notes.push_back(which + ": table splits/grows depend on the hash seed; expected bytes, +-" +
                        std::to_string(std::llround(p->stddevBytes)) + " (1 sd)");
  }
  a.notes.push_back(
      "the map header is assumed to be on the heap (a map that does not escape may keep it, "
      "and its first bucket/group, on the stack)");
  return a;
}

}  // namespace gms
