#include "goruntime/runtime_globals.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "goruntime/layout.h"

namespace gms {

namespace {

constexpr uint64_t kSpanClasses = 136;  // numSpanClasses = 2 * 68 size classes
constexpr uint64_t kMaxStatic = uint64_t(1) << 30;
constexpr uint64_t kMaxProcs = 1 << 16;

const Type* needType(const Program& p, std::string_view name) {
  const Type* t = p.runtimeType(name);
  if (!t || t->kind != Kind::Struct)
    fail(ErrorKind::MissingDebugInfo, "no layout of {} ({}, nor a built-in table)", name,
         p.types().source());
  return t;
}

uint64_t word(const uint8_t* b) {
  uint64_t v;
  std::memcpy(&v, b, 8);
  return v;
}

std::string notFound(const Program& p, std::string_view what, std::string_view how,
                     const std::vector<uint64_t>& found) {
  std::string note = p.builtinLayoutNote();
  std::string which = found.empty()
                          ? "none found"
                          : fmt::format("{} found: {:#x}", found.size(), fmt::join(found, ", "));
  return fmt::format("cannot locate runtime.{} without symbols: {} ({}){}{}", what, how, which,
                     note.empty() ? "" : "; ", note);
}

// The addresses of the slice headers {ptr, len, cap} in static data whose
// first `check` elements (at most), all non-nil aligned pointers, satisfy
// `elems` (with the header's address); a header whose array is not mapped
// is no candidate.
std::vector<uint64_t> sliceHeadersWhere(
    const Program& p, const StaticData& d, uint64_t maxCap, uint64_t check,
    const std::function<bool(const std::vector<uint64_t>& elems, uint64_t at)>& elems);

}  // namespace

StaticData::StaticData(const Program& p) {
  for (const char* name : {".noptrdata", ".data", ".bss", ".noptrbss"}) {
    const Section* s = p.binary().section(name);
    if (!s || !s->addr || !s->size) continue;
    if (s->size > kMaxStatic) fail(ErrorKind::Corrupt, "section {} is {} bytes", name, s->size);
    Part part{name, s->addr + p.loadBias(), std::vector<uint8_t>(s->size)};
    p.mem().read(part.addr, part.bytes.data(), part.bytes.size());
    parts_.push_back(std::move(part));
  }
  if (parts_.empty())
    fail(ErrorKind::MissingDebugInfo,
         "{} has no .data/.bss sections to find the runtime's globals in", p.binary().path());
}

bool StaticData::contains(uint64_t addr) const {
  for (const auto& part : parts_)
    if (addr >= part.addr && addr - part.addr < part.bytes.size()) return true;
  return false;
}

uint64_t locateMheap(const Program& p, const StaticData& d) {
  const Type* mheap = needType(p, "runtime.mheap");
  const Field& spanalloc = requireField(mheap, "spanalloc");
  const Field& arg = requireField(spanalloc.type, "arg");
  const Field& central = requireField(mheap, "central");
  if (!central.type || central.type->kind != Kind::Array || central.type->len != kSpanClasses ||
      !central.type->elem || central.type->elem->size == 0)
    fail(ErrorKind::MissingDebugInfo, "runtime.mheap.central is not [{}]struct{{mcentral...}}",
         kSpanClasses);
  const uint64_t stride = central.type->elem->size;
  const Field& mc = requireField(central.type->elem, "mcentral");
  const uint64_t classOff = central.offset + mc.offset + requireField(mc.type, "spanclass").offset;
  const uint64_t selfOff = spanalloc.offset + arg.offset;
  std::vector<uint64_t> found;
  for (const auto& part : d.parts()) {
    const uint64_t n = part.bytes.size();
    if (n < mheap->size) continue;
    for (uint64_t q = (8 - part.addr % 8) % 8; q + 8 <= n; q += 8) {
      uint64_t v = word(part.bytes.data() + q);
      if (v != part.addr + q - selfOff) continue;  // spanalloc.arg == &mheap_
      uint64_t base = q - selfOff;
      if (q < selfOff || base + mheap->size > n) continue;
      bool ok = true;
      for (uint64_t i = 0; i < kSpanClasses && ok; ++i)
        ok = part.bytes[base + classOff + i * stride] == i;
      if (ok) found.push_back(part.addr + base);
    }
  }
  if (found.size() != 1)
    fail(ErrorKind::MissingDebugInfo, "{}",
         notFound(
             p, "mheap_",
             "no struct whose spanalloc.arg points at itself and whose central[i].spanclass is i",
             found));
  return found[0];
}

uint64_t locateMemstats(const Program& p, uint64_t mheap) {
  const Type* mh = needType(p, "runtime.mheap");
  const Type* ms = needType(p, "runtime.mstats");
  const Field& spanalloc = requireField(mh, "spanalloc");
  const Field& cachealloc = requireField(mh, "cachealloc");
  const uint64_t statOff = requireField(spanalloc.type, "stat").offset;
  uint64_t spanStat = p.mem().readPtr(mheap + spanalloc.offset + statOff);
  uint64_t cacheStat = p.mem().readPtr(mheap + cachealloc.offset + statOff);
  const uint64_t mspanSys = requireField(ms, "mspan_sys").offset;
  const uint64_t mcacheSys = requireField(ms, "mcache_sys").offset;
  if (spanStat < mspanSys || spanStat - mspanSys != cacheStat - mcacheSys)
    fail(ErrorKind::MissingDebugInfo,
         "cannot locate runtime.memstats without symbols: mheap_.spanalloc.stat {:#x} and "
         "cachealloc.stat {:#x} "
         "are not &memstats.mspan_sys and &memstats.mcache_sys",
         spanStat, cacheStat);
  return spanStat - mspanSys;
}

uint64_t locateAllp(const Program& p, const StaticData& d) {
  const Type* pT = needType(p, "runtime.p");
  const Type* mT = needType(p, "runtime.m");
  const Type* gT = needType(p, "runtime.g");
  const Type* cT = needType(p, "runtime.mcache");
  const Field& id = requireField(pT, "id");
  const Field& status = requireField(pT, "status");
  const Field& mcache = requireField(pT, "mcache");
  const Field& alloc = requireField(cT, "alloc");
  if (!alloc.type || alloc.type->kind != Kind::Array || alloc.type->len != kSpanClasses)
    fail(ErrorKind::MissingDebugInfo, "runtime.mcache.alloc is not [{}]*mspan", kSpanClasses);
  // Where runtime.m has allpSnapshot (1.26 and 1.27 do, 1.19 does not), it
  // may hold a copy of allp; m0's is in .bss.
  const Field* snapshot = optionalField(mT, "allpSnapshot");
  const Field& g0 = requireField(mT, "g0");
  const Field& gm = requireField(gT, "m");
  const Memory& mem = p.mem();
  // A P as procresize leaves it in allp: id == index, a status (_Pidle ..
  // _Pdead), and an mcache of its own whose every span class holds either
  // emptymspan (one address in the binary's static data, the same for every
  // P) or a span of that very class (mspan.spanclass == i). Weaker checks let
  // an unrelated slice of two structs pass in a large program.
  const Type* sT = needType(p, "runtime.mspan");
  const uint64_t spanclass = requireField(sT, "spanclass").offset;
  auto isP = [&](uint64_t addr, uint64_t i, uint64_t& empty, std::vector<uint64_t>& caches) {
    uint8_t b[8];
    mem.read(addr + id.offset, b, 4);
    int32_t v;
    std::memcpy(&v, b, 4);
    if (v != static_cast<int32_t>(i)) return false;
    uint32_t st = 0;
    mem.read(addr + status.offset, &st, 4);
    if (st > 4) return false;
    uint64_t c = mem.readPtr(addr + mcache.offset);
    if (!c || c % 8 || std::find(caches.begin(), caches.end(), c) != caches.end()) return false;
    caches.push_back(c);
    std::vector<uint64_t> spans(kSpanClasses);
    mem.read(c + alloc.offset, spans.data(), spans.size() * 8);
    for (uint64_t cls = 0; cls < kSpanClasses; ++cls) {
      uint64_t s = spans[cls];
      if (!s || s % 8) return false;
      if (d.contains(s)) {
        if (empty && s != empty) return false;
        empty = s;
        continue;
      }
      uint8_t sc = 0;
      mem.read(s + spanclass, &sc, 1);
      if (sc != cls) return false;
    }
    return empty != 0;
  };
  auto inM = [&](uint64_t q) {  // q is m.allpSnapshot of an m (its g0.m points back)
    if (!snapshot || q < snapshot->offset) return false;
    uint64_t m = q - snapshot->offset;
    uint64_t g = mem.readPtr(m + g0.offset);
    return g && mem.readPtr(g + gm.offset) == m;
  };
  std::vector<uint64_t> found = sliceHeadersWhere(
      p, d, kMaxProcs, kMaxProcs, [&](const std::vector<uint64_t>& ps, uint64_t at) {
        uint64_t empty = 0;
        std::vector<uint64_t> caches;
        for (uint64_t i = 0; i < ps.size(); ++i)
          if (!isP(ps[i], i, empty, caches)) return false;
        return !inM(at);
      });
  if (found.size() != 1)
    fail(ErrorKind::MissingDebugInfo, "{}",
         notFound(p, "allp",
                  "no single slice header whose every element is a P with its index as id", found));
  return found[0];
}

uint64_t locateAllgs(const Program& p, const StaticData& d) {
  const Type* gT = needType(p, "runtime.g");
  const Field& status = requireField(gT, "atomicstatus");
  const Field& stack = requireField(gT, "stack");
  const Field& lo = requireField(stack.type, "lo");
  const Field& hi = requireField(stack.type, "hi");
  const Field& goid = requireField(gT, "goid");
  constexpr uint64_t kMaxG = 10'000'000, kChecked = 256, kPrefixChecked = 1 << 16;
  const Memory& mem = p.mem();
  // A g as allgadd leaves it: a known status (a dead g keeps its slot; its
  // stack may be freed, lo == hi == 0), and a live g's stack lo < hi.
  auto isG = [&](uint64_t a) {
    uint32_t st = 0;
    mem.read(a + status.offset, &st, 4);
    st &= ~0x1000u;  // _Gscan
    if (st > 11 || st == 5 || st == 7) return false;
    uint64_t l = mem.readPtr(a + stack.offset + lo.offset),
             h = mem.readPtr(a + stack.offset + hi.offset);
    if (st == 6) return l <= h;
    return l < h && h - l <= (uint64_t(1) << 30);
  };
  // The first kChecked elements, each a distinct g (allgs holds every g
  // once, the main goroutine, goid 1, first: newproc's first g).
  std::vector<uint64_t> found =
      sliceHeadersWhere(p, d, kMaxG, kChecked, [&](const std::vector<uint64_t>& gs, uint64_t) {
        if (mem.readPtr(gs[0] + goid.offset) != 1) return false;
        for (size_t i = 0; i < gs.size(); ++i)
          if ((i > 0 && gs[i] == gs[i - 1]) || !isG(gs[i])) return false;
        return true;
      });
  if (found.size() > 1) {
    // Another header may hold goroutines too (a snapshot of allgs, a
    // program's own slice). allgs is the one the runtime mirrors in allgptr
    // (&allgs[0]) and allglen (len(allgs)) (runtime/proc.go): keep the
    // candidates whose array and len other static words repeat; any one of
    // several that describe the very same goroutines is as good.
    auto header = [&](uint64_t at) {
      uint64_t h[2] = {0, 0};
      mem.read(at, h, sizeof h);
      return std::pair<uint64_t, uint64_t>(h[0], h[1]);
    };
    auto mirrored = [&](uint64_t at) {
      auto [ptr, len] = header(at);
      bool hasPtr = false, hasLen = false;
      for (const auto& part : d.parts())
        for (uint64_t q = (8 - part.addr % 8) % 8; q + 8 <= part.bytes.size(); q += 8) {
          uint64_t a = part.addr + q;
          if (a >= at && a < at + 24) continue;  // the header itself
          uint64_t w = word(part.bytes.data() + q);
          hasPtr = hasPtr || w == ptr;
          hasLen = hasLen || w == len;
        }
      return hasPtr && hasLen;
    };
    std::vector<uint64_t> kept;
    for (uint64_t at : found)
      if (mirrored(at)) kept.push_back(at);
    bool same = !kept.empty() && std::all_of(kept.begin(), kept.end(), [&](uint64_t at) {
      return header(at) == header(kept.front());
    });
    if (same) return kept.front();
    // allgs only grows (allgadd appends; a dead g keeps its slot), so an
    // older backing array some word still points at (one allgs outgrew,
    // not yet reused) holds a prefix of it: the longest, of which every
    // other is a prefix, is allgs.
    auto elems = [&](uint64_t at) {
      auto [ptr, len] = header(at);
      std::vector<uint64_t> v(std::min(len, kPrefixChecked));
      mem.read(ptr, v.data(), v.size() * 8);
      return v;
    };
    try {
      std::vector<std::vector<uint64_t>> gs;
      size_t longest = 0;
      for (uint64_t at : found) {
        gs.push_back(elems(at));
        if (header(at).second > header(found[longest]).second) longest = gs.size() - 1;
      }
      bool prefixes = true;
      for (size_t i = 0; i < gs.size() && prefixes; i++)
        prefixes = i == longest || (header(found[i]).second < header(found[longest]).second &&
                                    std::equal(gs[i].begin(), gs[i].end(), gs[longest].begin()));
      if (prefixes) return found[longest];
    } catch (const Fault&) {
      // an array unreadable: the candidates stay ambiguous
    }
  }
  if (found.size() != 1)
    fail(ErrorKind::MissingDebugInfo, "{}",
         notFound(p, "allgs", "no single slice header whose elements are goroutines", found));
  return found[0];
}

namespace {

std::vector<uint64_t> sliceHeadersWhere(
    const Program& p, const StaticData& d, uint64_t maxCap, uint64_t check,
    const std::function<bool(const std::vector<uint64_t>& elems, uint64_t at)>& elems) {
  std::vector<uint64_t> found;
  for (const auto& part : d.parts()) {
    const uint64_t n = part.bytes.size();
    for (uint64_t q = (8 - part.addr % 8) % 8; q + 24 <= n; q += 8) {
      const uint8_t* h = part.bytes.data() + q;
      uint64_t ptr = word(h), len = word(h + 8), cap = word(h + 16);
      if (!ptr || ptr % 8 || len == 0 || len > cap || cap > maxCap) continue;
      try {
        std::vector<uint64_t> es(std::min(len, check));
        p.mem().read(ptr, es.data(), es.size() * 8);
        bool ok = true;
        for (uint64_t e : es) ok = ok && e && e % 8 == 0;
        if (ok && elems(es, part.addr + q)) found.push_back(part.addr + q);
      } catch (const Fault&) {
        // not a slice of what is looked for: what it points at is not mapped
      }
    }
  }
  return found;
}

}  // namespace

uint64_t locateGcController(const Program& p, const StaticData& d,
                            const std::function<int(const uint8_t*)>& score, int need) {
  const Type* ctl = needType(p, "runtime.gcControllerState");
  int best = -1;
  std::vector<uint64_t> at;
  for (const auto& part : d.parts()) {
    const uint64_t n = part.bytes.size();
    for (uint64_t q = (8 - part.addr % 8) % 8; q + ctl->size <= n; q += 8) {
      int s = score(part.bytes.data() + q);
      if (s < need || s < best) continue;
      if (s > best) at.clear(), best = s;
      at.push_back(part.addr + q);
    }
  }
  if (at.size() != 1)
    fail(ErrorKind::MissingDebugInfo, "{}",
         notFound(
             p, "gcController",
             fmt::format(
                 "no single struct whose heap counters agree with memstats.heapStats in {}+ checks",
                 need),
             at));
  return at[0];
}

}  // namespace gms
