// Watcher (the ptrace layer under `watch`) used directly, in-process, with an
// execution breakpoint — the other kind of slot later tracers will use — on
// the watch fixture's main.insertOne: hits stop at its entry on a thread of
// the fixture, other signals flow through, and disarming leaves the fixture
// untraced and running (an armed register left behind would kill it with
// SIGTRAP on its next insert).
#include "control/watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "binary/binary.h"
#include "common/error.h"
#include "support/fixture.h"

namespace gms {
namespace {

std::string tracerOf(int pid, int tid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("TracerPid:", 0) == 0) return line.substr(line.find_first_not_of(" \t", 10));
  return "";
}

class WatcherTest : public ::testing::TestWithParam<std::string> {};

TEST_P(WatcherTest, ExecutionBreakpointHitsAndDisarms) {
  const auto& tc = test::toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = test::buildFixture(tc, "watch");
  auto b = Binary::open(bin);
  auto sym = b->symbol("main.insertOne");
  ASSERT_TRUE(sym);
  auto fx = test::RunningFixture::start(bin);
  DebugRegs regs;
  ASSERT_EQ(regs.add({sym->addr, BreakKind::Execute, 1}), 0);
  bool ranWhileStopped = false;
  Watcher w(fx->pid(), regs, [&] { ranWhileStopped = true; });
  EXPECT_TRUE(ranWhileStopped);
  EXPECT_GE(w.stats().threadsAttached, 2u);
  std::set<int> tids = w.tids();
  int hits = 0;
  WatchEnd end = w.run(
      [&](const WatchHit& h) {
        EXPECT_EQ(h.regs.rip, sym->addr);
        EXPECT_EQ(h.slots, std::vector<int>{0});
        EXPECT_TRUE(w.tids().count(h.tid));
        return ++hits < 3;
      },
      [] { return false; });
  EXPECT_EQ(end, WatchEnd::Stopped);
  EXPECT_EQ(hits, 3);
  EXPECT_EQ(w.stats().hits, 3u);
  w.disarm();
  DIR* d = opendir(("/proc/" + std::to_string(fx->pid()) + "/task").c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') {
      EXPECT_EQ(tracerOf(fx->pid(), std::atoi(e->d_name)), "0") << e->d_name;
    }
  closedir(d);
  // insertOne runs every 20 ms: within a second it ran many times, and the
  // fixture is alive (a leftover armed breakpoint would have killed it).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(fx->alive());
}

TEST_P(WatcherTest, RefusesSecondTracer) {
  const auto& tc = test::toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = test::buildFixture(tc, "watch");
  auto fx = test::RunningFixture::start(bin);
  DebugRegs regs;
  auto sym = Binary::open(bin)->symbol("main.insertOne");
  ASSERT_TRUE(sym);
  regs.add({sym->addr, BreakKind::Execute, 1});
  Watcher first(fx->pid(), regs);
  // A second tracer in the same process is refused by the kernel as well
  // (EPERM: already traced, by us).
  try {
    Watcher second(fx->pid(), regs);
    FAIL() << "attached twice";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Permission);
    EXPECT_NE(std::string(e.what()).find("already traced"), std::string::npos) << e.what();
  }
  first.disarm();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(fx->alive());
  EXPECT_THROW(Watcher(999999999, regs), Error);
}

// trace writers tells a read of a map's writing flag from a write by watching
// the byte with two slots: a ReadWrite one and a Write one. A write (the XOR
// that sets or clears the flag) fires both; a read (the entry check) only the
// first. insertOne's `M[k] = k` does both, every 20 ms.
TEST_P(WatcherTest, WriteFiresBothSlotsOnOneByteAReadOnlyTheReadWriteOne) {
  const auto& tc = test::toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string bin = test::buildFixture(tc, "watch");
  auto b = Binary::open(bin);
  auto sym = b->symbol("main.M");
  ASSERT_TRUE(sym);
  const Type* h = b->types()->findType("runtime.hmap");
  const Field* flag = h ? h->field("flags") : nullptr;
  if (!flag) {
    h = b->types()->findType("internal/runtime/maps.Map");
    ASSERT_NE(h, nullptr);
    flag = h->field("writing");
  }
  ASSERT_NE(flag, nullptr);
  auto fx = test::RunningFixture::start(bin);
  int fd = open(("/proc/" + std::to_string(fx->pid()) + "/mem").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  uint64_t hdr = 0;
  ASSERT_EQ(pread(fd, &hdr, 8, off_t(sym->addr)), 8);
  close(fd);
  ASSERT_NE(hdr, 0u);
  DebugRegs regs;
  ASSERT_EQ(regs.add({hdr + flag->offset, BreakKind::ReadWrite, 1}), 0);
  ASSERT_EQ(regs.add({hdr + flag->offset, BreakKind::Write, 1}), 1);
  Watcher w(fx->pid(), regs);
  int reads = 0, writes = 0, hits = 0;
  w.run(
      [&](const WatchHit& h) {
        if (h.dr6Lost) return true;
        if (h.slots == std::vector<int>{0})
          reads++;
        else if (h.slots == std::vector<int>{0, 1})
          writes++;
        else
          ADD_FAILURE() << "slots fired: " << h.slots.size();
        return ++hits < 16;
      },
      [] { return false; });
  w.disarm();
  EXPECT_GE(reads, 4);
  EXPECT_GE(writes, 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(fx->alive());
}

INSTANTIATE_TEST_SUITE_P(Toolchains, WatcherTest, ::testing::ValuesIn(test::toolchainNames()));

}  // namespace
}  // namespace gms
