// PagemapScanner against a real child: touched memory is resident, untouched
// memory is not, and the PAGEMAP_SCAN ioctl and the pagemap file agree.
#include "target/proc_pagemap.h"

#include <gtest/gtest.h>

#include "target/child_process_fixture.h"

namespace gms::test {
namespace {

uint64_t total(const std::vector<proc::PageRange>& rs) {
  uint64_t n = 0;
  for (auto& r : rs) n += r.end - r.start;
  return n;
}

TEST(PagemapScanner, TouchedIsResidentUntouchedIsNot) {
  auto child = TestChild::start();
  const ChildInfo& ci = child->info();
  for (bool classic : {false, true}) {
    SCOPED_TRACE(classic ? "pagemap file" : "PAGEMAP_SCAN (or its fallback)");
    proc::PagemapScanner pm(child->pid());
    if (classic) pm.forceClassic();
    EXPECT_TRUE(pm.resident(ci.untouched, ci.untouched + ci.untouchedSize).empty());
    auto scratch = pm.resident(ci.scratch, ci.scratch + ci.scratchSize);
    ASSERT_EQ(scratch.size(), 1u);
    EXPECT_EQ(scratch[0].start, ci.scratch);
    EXPECT_EQ(scratch[0].end, ci.scratch + ci.scratchSize);
    // The guarded region: 30 written pages, then two never-touched PROT_NONE ones.
    auto g = pm.resident(ci.guarded, ci.guarded + 32 * 4096);
    EXPECT_EQ(total(g), kGuardedReadable);
    // Unaligned bounds are rounded out to pages.
    auto p = pm.resident(ci.pattern + 10, ci.pattern + 20);
    EXPECT_EQ(total(p), 4096u);
  }
}

TEST(PagemapScanner, IoctlAndFileAgreeOnEveryMapping) {
  auto child = TestChild::start();
  proc::PagemapScanner fast(child->pid()), slow(child->pid());
  slow.forceClassic();
  std::string maps;
  {
    FILE* f = fopen(("/proc/" + std::to_string(child->pid()) + "/maps").c_str(), "r");
    ASSERT_NE(f, nullptr);
    char line[4096];
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
      unsigned long long a, b;
      if (sscanf(line, "%llx-%llx", &a, &b) != 2) continue;
      // The classic file costs 8 bytes per page: skip sanitizer shadow-sized ranges.
      if (b - a > (uint64_t(1) << 32)) continue;
      // Kernel-special mappings ([vvar], [vdso], [vsyscall]) are reported
      // differently by the two interfaces and are never scanned for cores.
      if (strstr(line, "[v")) continue;
      auto x = fast.resident(a, b), y = slow.resident(a, b);
      ASSERT_EQ(x.size(), y.size()) << line;
      for (size_t i = 0; i < x.size(); i++) {
        EXPECT_EQ(x[i].start, y[i].start) << line;
        EXPECT_EQ(x[i].end, y[i].end) << line;
      }
      checked++;
    }
    fclose(f);
    EXPECT_GT(checked, 5);
  }
  std::printf("PAGEMAP_SCAN ioctl %s\n", fast.usingIoctl() ? "available" : "not available");
}

}  // namespace
}  // namespace gms::test
