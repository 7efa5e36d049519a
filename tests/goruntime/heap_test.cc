// HeapIndex against the objects the locals fixture allocated and printed
// (address, bytes asked for, the type it allocated them as): each is found
// in an in-use span, allocated, at its own base (after its malloc header),
// in a slot that holds it, with the type the runtime recorded (Go >= 1.22:
// a malloc header above 512 bytes, largeType for a large object; nothing for
// noscan objects and, before 1.22, for any object). The spans' bytes are
// HeapInuse and their allocated slots HeapObjects, as readMemStats computes
// them by another road (the runtime's counters). Live (frozen) and from a
// core, every toolchain, with DWARF and stripped.
#include "goruntime/heap.h"

#include <fmt/ranges.h>

#include <cstdio>

#include "binary/binary.h"
#include "control/core_writer.h"
#include "control/freezer.h"
#include "goruntime/memstats.h"
#include "goruntime/pointer_mask.h"
#include "goruntime/program.h"
#include "support/fixture.h"
#include "target/core_file.h"
#include "target/live_process.h"

namespace gms::test {
namespace {

using nlohmann::json;

void check(const Program& p, const json& truth, const std::string& where) {
  SCOPED_TRACE(where);
  HeapIndex heap(p);
  EXPECT_TRUE(heap.problems().empty()) << heap.problems().front();
  ASSERT_FALSE(heap.spans().empty());
  const bool headers = p.build().atLeast(1, 22);
  ASSERT_GE(truth["objects"].size(), 4u) << truth.dump();
  for (const json& want : truth["objects"]) {
    uint64_t addr = std::stoull(want["addr"].get<std::string>(), nullptr, 16);
    uint64_t size = want["size"];
    std::string type = want["type"];
    SCOPED_TRACE(fmt::format("{:#x} ({} B, {})", addr, size, type.empty() ? "noscan" : type));
    auto o = heap.find(addr);
    ASSERT_TRUE(o.has_value()) << "in no in-use span";
    EXPECT_TRUE(o->allocated);
    EXPECT_EQ(o->base + o->headerBytes, addr);
    EXPECT_GE(o->size, size + o->headerBytes);
    // The same object from its last byte.
    auto last = heap.find(addr + size - 1);
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(last->base, o->base);
    // The runtime records a type only in scan spans: in a malloc header of an
    // object of a size class above 512 bytes, in largeType for a large one.
    if (!headers || type.empty() || o->size <= 512) {
      EXPECT_EQ(o->typeDescriptor, 0u);
    } else {
      ASSERT_NE(o->typeDescriptor, 0u);
      EXPECT_EQ(p.dynamicType(o->typeDescriptor).name, type);
    }
  }
  // Which words hold pointers, as the GC reads them (pointer_mask.h): the
  // words the fixture computed from the element's type (reflect), repeated
  // over the array, and none in a noscan object.
  PointerMasks masks(p, heap);
  EXPECT_NE(std::string(masks.scheme()), "") << "no pointer bitmap scheme for this release";
  for (const json& want : truth["objects"]) {
    uint64_t addr = std::stoull(want["addr"].get<std::string>(), nullptr, 16);
    SCOPED_TRACE(fmt::format("mask of {:#x} ({})", addr, want["type"].get<std::string>()));
    auto o = heap.find(addr);
    ASSERT_TRUE(o.has_value());
    const uint64_t size = want["size"], elem = want["elemSize"];
    const uint64_t hdr = o->headerBytes / 8, n = hdr + size / 8;
    std::vector<uint64_t> mask;
    ASSERT_TRUE(masks.of(*o, n, mask));
    std::vector<int> got, expect;
    for (uint64_t k = hdr; k < n; k++) {
      if ((mask[k / 64] >> (k % 64)) & 1) got.push_back(int(k - hdr));
      if (elem) {
        const uint64_t d = ((k - hdr) * 8) % elem / 8;
        for (const json& w : want["ptrWords"])
          if (w.get<uint64_t>() == d) expect.push_back(int(k - hdr));
      }
    }
    EXPECT_EQ(got.size(), expect.size());
    EXPECT_TRUE(got == expect) << fmt::format(
        "pointer words {} (expected {})",
        fmt::join(got.begin(), got.begin() + std::min<size_t>(got.size(), 24), ","),
        fmt::join(expect.begin(), expect.begin() + std::min<size_t>(expect.size(), 24), ","));
  }

  // Past the end of every span: nothing.
  EXPECT_FALSE(heap.find(heap.spans().back().end).has_value());

  MemStats m = readMemStats(p);
  EXPECT_EQ(heap.inUseBytes(), m.HeapInuse);
  uint64_t objects = 0;
  for (const HeapSpan& s : heap.spans())
    for (uint64_t i = 0; i < s.nelems; ++i)
      if (heap.find(s.start + i * s.elemsize)->allocated) ++objects;
  EXPECT_EQ(objects, m.HeapObjects);
  std::printf("[heap] %s: %zu spans, %llu B in use, %llu objects\n", where.c_str(),
              heap.spans().size(), (unsigned long long)heap.inUseBytes(),
              (unsigned long long)objects);
}

class HeapIndexTest : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(HeapIndexTest, FindsTheFixturesObjectsWithTheTypesTheRuntimeRecorded) {
  const Toolchain& tc = toolchain(std::get<0>(GetParam()));
  GMS_REQUIRE_TOOLCHAIN(tc);
  const bool stripped = std::get<1>(GetParam());
  std::string exe = buildFixture(tc, "locals", BuildFlags{.stripped = stripped});
  auto proc = RunningFixture::start(exe);
  auto bin = Binary::open(exe);
  std::string tag = tc.name + (stripped ? " stripped" : "");
  std::string core = tempDir() + "/heap-" + tc.name + (stripped ? "-s" : "") + ".core";
  {
    auto lp = LiveProcess::open(proc->pid());
    Program prog(*lp, *bin);
    Freezer f(proc->pid());
    lp->setFrozen(true);
    check(prog, proc->truth(), tag + " live");
    writeCore(*lp, f, core);
  }
  auto cf = CoreFile::open(core);
  cf->setUnderlay(&bin->fileMemory());
  Program cprog(*cf, *bin);
  check(cprog, proc->truth(), tag + " core");
}

INSTANTIATE_TEST_SUITE_P(Toolchains, HeapIndexTest,
                         ::testing::Combine(::testing::Values("go1.19", "go1.26", "go1.27"),
                                            ::testing::Bool()),
                         [](const auto& i) {
                           return paramName(std::get<0>(i.param)) +
                                  (std::get<1>(i.param) ? "_stripped" : "");
                         });

}  // namespace
}  // namespace gms::test
