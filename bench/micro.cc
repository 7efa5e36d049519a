// Micro-benchmarks of the inner loops (Google Benchmark): the classic bucket
// walk and the Swiss group scan over synthetic memory laid out with the real
// DWARF types of bench/bigmap (main.MInt, map[int64]int64) as built by each
// toolchain, JSON string escaping, and integer formatting.
//
// The map benchmarks need the bigmap binaries: BIGMAP_GO119 and BIGMAP_GO126
// name them (bench/matrix.sh sets both); a missing one skips its benchmark.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "binary/binary.h"
#include "goruntime/maps.h"
#include "goruntime/program.h"
#include "report/json_writer.h"
#include "target/live_process.h"
#include "target/memory.h"

namespace gms {
namespace {

void put(std::vector<uint8_t>& b, uint64_t off, const Field* f, uint64_t v) {
  std::memcpy(b.data() + off + f->offset, &v, f->type ? f->type->size : 8);
}

// A synthetic map[int64]int64 of about `entries` entries in `target`.
struct Synthetic {
  std::unique_ptr<Binary> bin;
  FakeTarget target;
  std::unique_ptr<Program> prog;
  const Type* mapType = nullptr;
  uint64_t header = 0x10000000, entries = 0;
};

std::unique_ptr<Synthetic> open(const char* env) {
  const char* path = std::getenv(env);
  if (!path) return nullptr;
  auto s = std::make_unique<Synthetic>();
  s->bin = Binary::open(path);
  s->prog = std::make_unique<Program>(s->target, *s->bin);
  s->mapType = s->prog->types().findGlobal("main.MInt")->type;
  return s;
}

// Classic: 2^B buckets, 7 of 8 slots full, no overflow (hmap/bmap of go1.19).
std::unique_ptr<Synthetic> classic(uint64_t B) {
  auto s = open("BIGMAP_GO119");
  if (!s) return s;
  const Type* h = s->mapType->mapHeader;
  const Type* bucket = h->field("buckets")->type->elem;
  uint64_t bsz = bucket->size, top = bucket->field("tophash")->offset;
  uint64_t keys = bucket->field("keys")->offset, vals = bucket->field("values")->offset;
  uint64_t nb = uint64_t(1) << B, arr = 0x20000000;
  std::vector<uint8_t> buckets(nb * bsz);
  for (uint64_t b = 0; b < nb; b++)
    for (int i = 0; i < 7; i++) {
      uint8_t* p = buckets.data() + b * bsz;
      p[top + i] = 0x80;
      int64_t k = int64_t(b * 8 + i), v = -k;
      std::memcpy(p + keys + 8 * i, &k, 8);
      std::memcpy(p + vals + 8 * i, &v, 8);
    }
  s->entries = nb * 7;
  std::vector<uint8_t> hdr(h->size);
  put(hdr, 0, h->field("count"), s->entries);
  put(hdr, 0, h->field("B"), B);
  put(hdr, 0, h->field("buckets"), arr);
  s->target.mem.add(s->header, hdr);
  s->target.mem.add(arr, std::move(buckets));
  return s;
}

// Swiss: 2^depth tables of 128 groups (capacity 1024), 7 of 8 slots full.
std::unique_ptr<Synthetic> swiss(uint64_t depth) {
  auto s = open("BIGMAP_GO126");
  if (!s) return s;
  const Type* m = s->mapType->mapHeader;
  const Field* dirPtr = m->field("dirPtr");
  const Type* table = dirPtr->type->elem->elem;
  const Field* groupsF = table->field("groups");
  const Field* data = groupsF->type->field("data");
  const Field* mask = groupsF->type->field("lengthMask");
  const Type* group = data->type->elem;
  const Field* slots = group->field("slots");
  const Type* slot = slots->type->elem;
  uint64_t gsz = group->size, ctrl = group->field("ctrl")->offset;
  uint64_t keyOff = slots->offset + slot->field("key")->offset;
  uint64_t elemOff = slots->offset + slot->field("elem")->offset;
  uint64_t ntab = uint64_t(1) << depth, ngroups = 128;
  uint64_t dirAddr = 0x20000000, tabAddr = 0x30000000, grpAddr = 0x40000000;
  std::vector<uint8_t> dir(ntab * 8), tabs(ntab * table->size), groups(ntab * ngroups * gsz);
  for (uint64_t t = 0; t < ntab; t++) {
    uint64_t ta = tabAddr + t * table->size, ga = grpAddr + t * ngroups * gsz;
    std::memcpy(dir.data() + t * 8, &ta, 8);
    uint64_t off = t * table->size;
    put(tabs, off, table->field("used"), ngroups * 7);
    put(tabs, off, table->field("capacity"), ngroups * 8);
    put(tabs, off, table->field("growthLeft"), 0);
    put(tabs, off, table->field("localDepth"), depth);
    put(tabs, off, table->field("index"), t);
    uint64_t d = ga, l = ngroups - 1;
    std::memcpy(tabs.data() + off + groupsF->offset + data->offset, &d, 8);
    std::memcpy(tabs.data() + off + groupsF->offset + mask->offset, &l, 8);
    for (uint64_t g = 0; g < ngroups; g++) {
      uint8_t* p = groups.data() + (t * ngroups + g) * gsz;
      uint64_t c = 0x8000000000000000ull;  // slot 7 empty, slots 0-6 full (h2 = 0x11)
      for (int i = 0; i < 7; i++) c |= uint64_t(0x11) << (8 * i);
      std::memcpy(p + ctrl, &c, 8);
      for (int i = 0; i < 7; i++) {
        int64_t k = int64_t((t * ngroups + g) * 8 + i), v = -k;
        std::memcpy(p + keyOff + i * slot->size, &k, 8);
        std::memcpy(p + elemOff + i * slot->size, &v, 8);
      }
    }
  }
  s->entries = ntab * ngroups * 7;
  std::vector<uint8_t> hdr(m->size);
  put(hdr, 0, m->field("used"), s->entries);
  put(hdr, 0, dirPtr, dirAddr);
  put(hdr, 0, m->field("dirLen"), ntab);
  put(hdr, 0, m->field("globalDepth"), depth);
  s->target.mem.add(s->header, hdr);
  s->target.mem.add(dirAddr, std::move(dir));
  s->target.mem.add(tabAddr, std::move(tabs));
  s->target.mem.add(grpAddr, std::move(groups));
  return s;
}

void walk(benchmark::State& state, Synthetic* s, const char* missing) {
  if (!s) {
    state.SkipWithError(missing);
    return;
  }
  for (auto _ : state) {
    uint64_t sum = 0;
    MapSummary m = walkMap(*s->prog, s->mapType, s->header, {}, [&](uint64_t k, uint64_t v) {
      sum += k ^ v;
      return true;
    });
    if (m.found != s->entries || !m.problems.empty()) {
      state.SkipWithError("synthetic map decoded wrongly");
      return;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(s->entries));
}

void BM_ClassicBucketWalk(benchmark::State& state) {
  static auto s = classic(static_cast<uint64_t>(state.range(0)));
  walk(state, s.get(), "set BIGMAP_GO119 to bench/bigmap built with Go 1.19");
}
BENCHMARK(BM_ClassicBucketWalk)->Arg(17)->Unit(benchmark::kMillisecond);

void BM_SwissGroupScan(benchmark::State& state) {
  static auto s = swiss(static_cast<uint64_t>(state.range(0)));
  walk(state, s.get(), "set BIGMAP_GO126 to bench/bigmap built with Go 1.26");
}
BENCHMARK(BM_SwissGroupScan)->Arg(10)->Unit(benchmark::kMillisecond);

// A 16-byte read of a frozen live process at a random offset, served from
// the page cache after the first touch (this process reads itself).
void BM_LiveCachedRead(benchmark::State& state) {
  static std::vector<uint8_t> pattern(1 << 20, 0x5a);
  auto lp = LiveProcess::open(getpid());
  lp->setFrozen(true);
  uint64_t base = reinterpret_cast<uint64_t>(pattern.data()), x = 88172645463325252ull, sum = 0;
  for (auto _ : state) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    uint8_t b[16];
    lp->memory().read(base + x % (pattern.size() - 16), b, sizeof b);
    sum += b[0];
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_LiveCachedRead);

// Opening a Go binary cold and resolving one global with its whole type
// graph (what every command does first).
void BM_BinaryOpenAndFindGlobal(benchmark::State& state) {
  const char* path = std::getenv(state.range(0) ? "BIGMAP_GO126" : "BIGMAP_GO119");
  if (!path) {
    state.SkipWithError("set BIGMAP_GO119 / BIGMAP_GO126 to bench/bigmap builds");
    return;
  }
  for (auto _ : state) {
    auto b = Binary::open(path);
    auto g = b->types()->findGlobal("main.MInt");
    if (!g || !g->type || !g->type->mapHeader) {
      state.SkipWithError("bench/bigmap has no main.MInt map");
      return;
    }
  }
}
BENCHMARK(BM_BinaryOpenAndFindGlobal)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_JsonStringAscii(benchmark::State& state) {
  Out out(nullptr);
  JsonWriter w(out);
  w.beginArray();
  std::string s = "key-1234567";
  for (auto _ : state) w.string(s);
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations() * s.size()));
}
BENCHMARK(BM_JsonStringAscii);

void BM_JsonStringEscapes(benchmark::State& state) {
  Out out(nullptr);
  JsonWriter w(out);
  w.beginArray();
  std::string s = "caf\xc3\xa9 \"q\"\\\n\t\x01 \xff end";
  for (auto _ : state) w.string(s);
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations() * s.size()));
}
BENCHMARK(BM_JsonStringEscapes);

void BM_JsonInteger(benchmark::State& state) {
  Out out(nullptr);
  JsonWriter w(out);
  w.beginArray();
  int64_t v = -987654321012;
  for (auto _ : state) w.integer(v++);
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_JsonInteger);

void BM_JsonUnsigned(benchmark::State& state) {
  Out out(nullptr);
  JsonWriter w(out);
  w.beginArray();
  uint64_t v = 1234567;
  for (auto _ : state) w.uinteger(v++);
  state.SetItemsProcessed(int64_t(state.iterations()));
}
BENCHMARK(BM_JsonUnsigned);

}  // namespace
}  // namespace gms

BENCHMARK_MAIN();
