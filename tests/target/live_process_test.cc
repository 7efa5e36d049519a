// LiveProcess against a real forked child: reads, exact fault addresses, the
// frozen-page cache, mappings, threads, and the /proc/PID/mem fallback.
#include "target/live_process.h"

#include <gtest/gtest.h>
#include <limits.h>

#include <random>

#include "target/child_process_fixture.h"
#include "target/proc_fs.h"
#include "target/proc_mem.h"

namespace gms::test {
namespace {

std::vector<uint8_t> expectedPattern(uint64_t off, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = patternByte(off + i);
  return v;
}

template <typename F>
uint64_t faultAddr(F f) {
  try {
    f();
  } catch (const Fault& e) {
    return e.addr();
  }
  ADD_FAILURE() << "no Fault thrown";
  return 0;
}

TEST(LiveProcess, OpenMissingPidIsNotFound) {
  try {
    LiveProcess::open(0x3ffffff0);
    FAIL() << "opened a pid that does not exist";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_STREQ(e.what(), "no process with pid 1073741808");
  }
}

TEST(LiveProcess, ReadsChildMemory) {
  auto child = TestChild::start();
  auto lp = LiveProcess::open(child->pid());
  const ChildInfo& ci = child->info();
  EXPECT_TRUE(lp->isLive());
  EXPECT_EQ(lp->pid(), child->pid());
  EXPECT_EQ(lp->describe(), "pid " + std::to_string(child->pid()));

  for (bool frozen : {false, true}) {
    SCOPED_TRACE(frozen ? "cached" : "direct");
    lp->setFrozen(frozen);
    std::vector<uint8_t> all(ci.patternSize);
    lp->memory().read(ci.pattern, all.data(), all.size());
    EXPECT_EQ(all, expectedPattern(0, ci.patternSize));

    std::mt19937_64 rng(42);
    for (int i = 0; i < 2000; i++) {
      uint64_t off = rng() % (ci.patternSize - 200);
      size_t n = 1 + rng() % 200;
      std::vector<uint8_t> got(n);
      lp->memory().read(ci.pattern + off, got.data(), n);
      ASSERT_EQ(got, expectedPattern(off, n)) << "offset " << off;
    }
    EXPECT_EQ(lp->memory().readU8(ci.pattern + 5), patternByte(5));
    EXPECT_EQ(lp->memory().readString(ci.pattern, 3),
              std::string({char(patternByte(0)), char(patternByte(1)), char(patternByte(2))}));
    // Untouched anonymous memory reads as zero (and reading it is harmless).
    EXPECT_EQ(lp->memory().readPtr(ci.untouched + 12345 * 8), 0u);
  }
}

TEST(LiveProcess, FaultNamesFirstUnreadableByte) {
  auto child = TestChild::start();
  auto lp = LiveProcess::open(child->pid());
  const ChildInfo& ci = child->info();
  const uint64_t guard = ci.guarded + kGuardedReadable;
  for (bool frozen : {false, true}) {
    SCOPED_TRACE(frozen ? "cached" : "direct");
    lp->setFrozen(frozen);
    std::vector<uint8_t> buf(200 << 10);
    // The null page.
    EXPECT_EQ(faultAddr([&] { lp->memory().read(8, buf.data(), 16); }), 8u);
    // A small read straddling readable memory and a PROT_NONE page.
    EXPECT_EQ(faultAddr([&] { lp->memory().read(guard - 10, buf.data(), 20); }), guard);
    // Starting inside the guard.
    EXPECT_EQ(faultAddr([&] { lp->memory().read(guard + 100, buf.data(), 4); }), guard + 100);
    // A large (read-through) read that runs into the guard: the readable
    // part is still delivered.
    std::fill(buf.begin(), buf.end(), 0);
    EXPECT_EQ(faultAddr([&] { lp->memory().read(ci.guarded + 4096 + 7, buf.data(), 29 * 4096); }),
              guard);
    EXPECT_EQ(buf[0], patternByte(4096 + 7));
    EXPECT_EQ(buf[kGuardedReadable - 4096 - 8], patternByte(kGuardedReadable - 1));
    // The message is one line naming the address.
    try {
      lp->memory().read(guard, buf.data(), 1);
    } catch (const Fault& f) {
      EXPECT_EQ(std::string(f.what()).find('\n'), std::string::npos);
      EXPECT_NE(std::string(f.what()).find(fmt::format("{:#x}", guard)), std::string::npos);
    }
    EXPECT_TRUE(lp->memory().readable(ci.guarded, kGuardedReadable));
    EXPECT_FALSE(lp->memory().readable(ci.guarded, kGuardedReadable + 1));
  }
}

TEST(LiveProcess, FrozenCacheServesRepeatReadsUntilInvalidated) {
  auto child = TestChild::start();
  auto lp = LiveProcess::open(child->pid());
  const ChildInfo& ci = child->info();
  const Memory& mem = lp->memory();

  // Not frozen: every read goes to the process.
  uint64_t v0 = mem.readT<uint64_t>(ci.counter);
  ASSERT_TRUE(child->command('w'));
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0 + 1);

  // Frozen (we only pretend here: the child keeps running, which is exactly
  // what makes the cache observable).
  lp->setFrozen(true);
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0 + 1);
  ASSERT_TRUE(child->command('w'));
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0 + 1) << "small read not served from the cache";
  mem.invalidate();
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0 + 2);

  // A large read fills the cache too.
  mem.invalidate();
  std::vector<uint8_t> big(ci.scratchSize);
  mem.read(ci.scratch, big.data(), big.size());
  ASSERT_TRUE(child->command('w'));
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0 + 2) << "large read did not fill the cache";

  lp->setFrozen(false);
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0 + 3);
}

TEST(LiveProcess, MappingsThreadsAndExe) {
  auto child = TestChild::start();
  auto lp = LiveProcess::open(child->pid());
  const ChildInfo& ci = child->info();

  auto maps = lp->memory().mappings();
  auto find = [&](uint64_t a) -> const Mapping* {
    for (auto& m : maps)
      if (m.contains(a)) return &m;
    return nullptr;
  };
  const Mapping* un = find(ci.untouched);
  ASSERT_NE(un, nullptr);
  EXPECT_TRUE(un->read && un->write && !un->exec);
  EXPECT_GE(un->size(), ci.untouchedSize);
  const Mapping* guard = find(ci.guarded + kGuardedReadable);
  ASSERT_NE(guard, nullptr);
  EXPECT_FALSE(guard->read);
  EXPECT_EQ(find(8), nullptr);

  char self[PATH_MAX + 1] = {};
  ASSERT_GT(readlink("/proc/self/exe", self, PATH_MAX), 0);
  EXPECT_EQ(lp->exePath(), self);
  const Mapping* text = find(reinterpret_cast<uint64_t>(&patternByte));
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->path, self);
  EXPECT_TRUE(text->exec);

  auto threads = lp->threads();
  ASSERT_EQ(threads.size(), 4u);
  std::vector<int> want(ci.tids, ci.tids + 4);
  std::sort(want.begin(), want.end());
  for (size_t i = 0; i < 4; i++) {
    EXPECT_EQ(threads[i].tid, want[i]);
    EXPECT_FALSE(threads[i].hasRegs);
  }
  ThreadState s;
  s.tid = ci.tids[2];
  s.hasRegs = true;
  s.rip = 0x1234;
  lp->setThreadStates({s});
  int withRegs = 0;
  for (auto& t : lp->threads()) {
    if (!t.hasRegs) continue;
    withRegs++;
    EXPECT_EQ(t.tid, ci.tids[2]);
    EXPECT_EQ(t.rip, 0x1234u);
  }
  EXPECT_EQ(withRegs, 1);
}

// A snapshot answers every read as the process would have at the moment it
// was taken, however the process changes afterwards (here the child keeps
// running: that is what makes the copy observable).
TEST(LiveProcess, SnapshotServesTheMomentItWasTaken) {
  auto child = TestChild::start();
  const ChildInfo& ci = child->info();
  uint64_t sparse = child->makeSparseRegion();
  ASSERT_NE(sparse, 0u);
  auto lp = LiveProcess::open(child->pid());
  const Memory& mem = lp->memory();
  uint64_t v0 = mem.readT<uint64_t>(ci.counter);

  uint64_t estimate = lp->prepareSnapshot();
  EXPECT_GT(estimate, ci.patternSize);
  EXPECT_FALSE(lp->takeSnapshot(4096)) << "a copy over the budget must be refused";
  EXPECT_FALSE(lp->hasSnapshot());
  ASSERT_TRUE(lp->takeSnapshot(UINT64_MAX));
  ASSERT_TRUE(lp->hasSnapshot());
  // Resident pages only: neither the untouched 256 MiB nor the sparse region's gaps.
  EXPECT_GT(lp->snapshotBytes(), ci.patternSize + kSparseTouched * 4096);
  EXPECT_LT(lp->snapshotBytes(), ci.untouchedSize);

  ASSERT_TRUE(child->command('w'));
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0)
      << "read after the change not served from the copy";
  mem.invalidate();  // a snapshot is not a cache: it stays
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0);

  std::vector<uint8_t> all(ci.patternSize);
  mem.read(ci.pattern, all.data(), all.size());
  EXPECT_EQ(all, expectedPattern(0, ci.patternSize));
  const uint8_t* v = mem.view(ci.pattern, ci.patternSize);
  ASSERT_NE(v, nullptr) << "copied memory should be lent without a copy";
  EXPECT_EQ(std::vector<uint8_t>(v, v + ci.patternSize), all);
  // Never-touched anonymous memory reads as zero, as in the process.
  EXPECT_EQ(mem.readPtr(ci.untouched + 12345 * 8), 0u);
  EXPECT_EQ(mem.view(ci.untouched, 4096), nullptr);
  for (uint64_t i : {uint64_t(0), uint64_t(1), uint64_t(1000), uint64_t(33000)}) {
    EXPECT_EQ(mem.readPtr(sparse + i * kSparseStride * 4096), i % 1000 == 0 ? i + 1 : 0) << i;
    EXPECT_EQ(mem.readPtr(sparse + (i * kSparseStride + 1) * 4096), 0u) << i;
  }
  // Faults exactly where the process would fault.
  const uint64_t guard = ci.guarded + kGuardedReadable;
  uint8_t buf[64];
  EXPECT_EQ(faultAddr([&] { mem.read(guard - 3, buf, 10); }), guard);
  EXPECT_EQ(faultAddr([&] { mem.read(16, buf, 10); }), 16u);
  EXPECT_FALSE(mem.readable(ci.guarded, kGuardedReadable + 1));
  // Read-only file mappings: the child is a fork of this binary, so its code
  // is where ours is, byte for byte.
  auto code = reinterpret_cast<const uint8_t*>(&patternByte);
  mem.read(reinterpret_cast<uint64_t>(code), buf, sizeof buf);
  EXPECT_EQ(std::memcmp(buf, code, sizeof buf), 0);
  bool sawUntouched = false;
  for (const auto& m : mem.mappings()) sawUntouched |= m.contains(ci.untouched);
  EXPECT_TRUE(sawUntouched);

  lp->dropSnapshot();
  EXPECT_FALSE(lp->hasSnapshot());
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0 + 1);
  // setFrozen(false) (what a resumed Frozen does) drops a snapshot too.
  ASSERT_TRUE(lp->takeSnapshot(UINT64_MAX));
  ASSERT_TRUE(child->command('w'));
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0 + 1);
  lp->setFrozen(false);
  EXPECT_EQ(mem.readT<uint64_t>(ci.counter), v0 + 2);
}

TEST(LiveProcess, ProcMemFallbackReadsAndFaultsExactly) {
  auto child = TestChild::start();
  const ChildInfo& ci = child->info();
  proc::RemoteReader r(child->pid());
  r.forceProcMem();
  ASSERT_TRUE(r.usingProcMem());
  std::vector<uint8_t> buf(ci.patternSize);
  r.readExact(ci.pattern, buf.data(), buf.size());
  EXPECT_EQ(buf, expectedPattern(0, ci.patternSize));
  const uint64_t guard = ci.guarded + kGuardedReadable;
  EXPECT_EQ(faultAddr([&] { r.readExact(guard - 3, buf.data(), 10); }), guard);
  EXPECT_EQ(faultAddr([&] { r.readExact(ci.guarded, buf.data(), kGuardedReadable + 4096); }),
            guard);
  EXPECT_EQ(faultAddr([&] { r.readExact(16, buf.data(), 10); }), 16u);
}

TEST(LiveProcess, RefusalIsAClearPermissionError) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to another user";
  auto child = TestChild::start();
  int pid = child->pid();
  std::string out = runInChild([pid](int fd) {
    if (setgid(65534) != 0 || setuid(65534) != 0) {
      child_detail::writeAll(fd, "setuid failed", 13);
      return;
    }
    std::string msg;
    try {
      LiveProcess::open(pid);
      msg = "opened";
    } catch (const Error& e) {
      msg = std::string(errorKindName(e.kind())) + "|" + e.what();
    }
    child_detail::writeAll(fd, msg.data(), msg.size());
  });
  EXPECT_EQ(out.rfind("permission|not permitted to read", 0), 0u) << out;
  EXPECT_NE(out.find(std::to_string(pid)), std::string::npos) << out;
  EXPECT_NE(out.find("ptrace_scope"), std::string::npos) << out;
  EXPECT_EQ(out.find('\n'), std::string::npos) << out;
}

TEST(ProcMaps, ParsesPathsWithSpacesAndSpecialMappings) {
  auto maps = proc::parseMaps(
      "00400000-00452000 r-xp 00000000 fd:01 1234    /usr/bin/my prog (deleted)\n"
      "7ffd1000-7ffd3000 rw-p 00000000 00:00 0                          [stack]\n"
      "7ffd3000-7ffd5000 r--p 00000000 00:00 0                          [vvar]\n"
      "7f0000000000-7f0000001000 rw-s 00000000 00:01 99  /dev/zero (deleted)\n"
      "c000000000-c004000000 rw-p 00000000 00:00 0 \n"
      "garbage line\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0   [vsyscall]");
  ASSERT_EQ(maps.size(), 6u);
  EXPECT_EQ(maps[0].m.path, "/usr/bin/my prog (deleted)");
  EXPECT_TRUE(maps[0].m.exec && maps[0].m.read && !maps[0].m.write);
  EXPECT_TRUE(maps[0].fileBacked());
  EXPECT_EQ(maps[0].inode, 1234u);
  EXPECT_TRUE(maps[1].anonymous());
  EXPECT_TRUE(maps[2].special());
  EXPECT_TRUE(maps[3].shared);
  EXPECT_FALSE(maps[3].anonymous());
  EXPECT_TRUE(maps[4].anonymous());
  EXPECT_EQ(maps[4].m.size(), 0x4000000u);
  EXPECT_TRUE(maps[5].special());
  EXPECT_EQ(maps[5].m.start, 0xffffffffff600000u);
}

}  // namespace
}  // namespace gms::test
