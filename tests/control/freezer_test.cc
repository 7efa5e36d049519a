// Freezer against real forked children: every thread stops ('t') and resumes,
// a dead tracer leaves the target running, refusals are clear, and signals
// that arrive during a freeze are neither lost nor duplicated.
#include "control/freezer.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>

#include <thread>

#include "target/child_process_fixture.h"

namespace gms::test {
namespace {

using namespace std::chrono_literals;

std::string describe(const std::vector<std::pair<int, char>>& st) {
  std::string s;
  for (auto& [t, c] : st) s += std::to_string(t) + ":" + c + " ";
  return s;
}

TEST(Freezer, StopsEveryThreadAndResumesThem) {
  auto child = TestChild::start();
  const int pid = child->pid();
  {
    Freezer f(pid);
    EXPECT_EQ(f.pid(), pid);
    ASSERT_EQ(f.tids().size(), 4u);
    std::vector<int> want(child->info().tids, child->info().tids + 4);
    std::sort(want.begin(), want.end());
    EXPECT_EQ(f.tids(), want);
    EXPECT_TRUE(allThreadsIn(pid, 't')) << describe(threadStates(pid));
    // Frozen for real: a ping is not answered.
    EXPECT_FALSE(child->ping(100));
    auto regs = f.registers();
    ASSERT_EQ(regs.size(), 4u);
    for (auto& r : regs) {
      EXPECT_NE(r.regs.rip, 0u);
      EXPECT_NE(r.regs.rsp, 0u);
      EXPECT_TRUE(r.hasFpregs);
    }
    auto ts = f.threadStates();
    ASSERT_EQ(ts.size(), 4u);
    EXPECT_EQ(ts[0].rip, regs[0].regs.rip);
    EXPECT_EQ(ts[0].fsBase, regs[0].regs.fs_base);
    EXPECT_TRUE(ts[0].hasRegs);
    auto held = f.release();
    EXPECT_GE(held, 90ms);  // the unanswered ping's wait, give or take a tick
    EXPECT_EQ(f.stoppedFor(), held);
    EXPECT_TRUE(f.registers().empty());
  }
  EXPECT_TRUE(eventually([&] { return noThreadIn(pid, 't'); })) << describe(threadStates(pid));
  EXPECT_TRUE(child->awaitByte(5000)) << "the ping sent while frozen was never answered";
  EXPECT_TRUE(child->ping());
  EXPECT_EQ(child->signalCount(), 0u);

  // The destructor releases too; a second freeze works.
  {
    Freezer f(pid);
    EXPECT_TRUE(allThreadsIn(pid, 't'));
  }
  EXPECT_TRUE(eventually([&] { return noThreadIn(pid, 't'); }));
  EXPECT_TRUE(child->ping());
}

// A process stopped by job control (SIGSTOP) before we came stays stopped
// after we leave: freezing must not resume what the user paused.
TEST(Freezer, JobControlStopIsPreserved) {
  auto child = TestChild::start();
  const int pid = child->pid();
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  ASSERT_TRUE(eventually([&] { return allThreadsIn(pid, 'T'); })) << describe(threadStates(pid));
  {
    Freezer f(pid);
    EXPECT_EQ(f.tids().size(), 4u);
    EXPECT_TRUE(allThreadsIn(pid, 't')) << describe(threadStates(pid));
    EXPECT_EQ(f.registers().size(), 4u);
  }
  EXPECT_TRUE(eventually([&] { return allThreadsIn(pid, 'T'); })) << describe(threadStates(pid));
  EXPECT_FALSE(child->ping(100));
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  EXPECT_TRUE(child->awaitByte(5000));
  EXPECT_TRUE(child->ping());
  EXPECT_EQ(child->signalCount(), 0u);
}

TEST(Freezer, MissingPidAndSelfAreRefused) {
  try {
    Freezer f(0x3ffffff0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_STREQ(e.what(), "no process with pid 1073741808");
  }
  try {
    Freezer f(getpid());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
}

// The tracer dies by SIGKILL while the target is frozen: the kernel detaches
// and the target runs on (no SIGSTOP group-stop is left behind).
TEST(Freezer, KilledTracerLeavesTargetRunning) {
  auto child = TestChild::start();
  const int pid = child->pid();
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  pid_t helper = fork();
  if (helper == 0) {
    ::close(ready[0]);
    try {
      Freezer f(pid);
      child_detail::writeAll(ready[1], "f", 1);
      for (;;) pause();  // frozen until killed
    } catch (...) {
      child_detail::writeAll(ready[1], "e", 1);
    }
    for (;;) pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_TRUE(readWithTimeout(ready[0], &c, 1, 20000));
  ::close(ready[0]);
  ASSERT_EQ(c, 'f');
  EXPECT_TRUE(allThreadsIn(pid, 't')) << describe(threadStates(pid));
  kill(helper, SIGKILL);
  int st;
  waitpid(helper, &st, 0);
  EXPECT_TRUE(eventually([&] { return noThreadIn(pid, 't') && noThreadIn(pid, 'T'); }))
      << describe(threadStates(pid));
  EXPECT_TRUE(child->ping());
}

// SIGTERM to a process that installed the handlers: every frozen thread is
// detached before the previous disposition runs. The previous handler here
// does not exit, so only our handler can have released the target.
TEST(Freezer, SignalHandlerReleasesTheTarget) {
  auto child = TestChild::start();
  const int pid = child->pid();
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  pid_t helper = fork();
  if (helper == 0) {
    ::close(ready[0]);
    static int notifyFd;
    notifyFd = ready[1];
    struct sigaction sa {};
    sa.sa_handler = [](int) { child_detail::writeAll(notifyFd, "h", 1); };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    Freezer::installSignalHandlers();
    try {
      Freezer f(pid);
      child_detail::writeAll(ready[1], "f", 1);
      for (;;) pause();
    } catch (...) {
      child_detail::writeAll(ready[1], "e", 1);
    }
    for (;;) pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_TRUE(readWithTimeout(ready[0], &c, 1, 20000));
  ASSERT_EQ(c, 'f');
  EXPECT_TRUE(allThreadsIn(pid, 't'));
  kill(helper, SIGTERM);
  ASSERT_TRUE(readWithTimeout(ready[0], &c, 1, 5000));
  EXPECT_EQ(c, 'h') << "the previous handler was not chained";
  // The helper is still alive (its handler did not exit) and the target runs.
  int st;
  EXPECT_EQ(waitpid(helper, &st, WNOHANG), 0);
  EXPECT_TRUE(eventually([&] { return noThreadIn(pid, 't'); })) << describe(threadStates(pid));
  EXPECT_TRUE(child->ping());
  kill(helper, SIGKILL);
  waitpid(helper, &st, 0);
  ::close(ready[0]);
}

TEST(Freezer, AlreadyTracedIsAClearRefusal) {
  auto child = TestChild::start();
  const int pid = child->pid();
  Freezer first(pid);
  std::string out = runInChild([pid](int fd) {
    std::string msg;
    try {
      Freezer second(pid);
      msg = "frozen twice";
    } catch (const Error& e) {
      msg = std::string(errorKindName(e.kind())) + "|" + e.what();
    }
    child_detail::writeAll(fd, msg.data(), msg.size());
  });
  EXPECT_EQ(out, fmt::format("permission|process {} is already traced by pid {} (is a debugger "
                             "attached?)",
                             pid, getpid()));
  // The failed attempt did not disturb our freeze.
  EXPECT_TRUE(allThreadsIn(pid, 't'));
  first.release();
  EXPECT_TRUE(eventually([&] { return noThreadIn(pid, 't'); }));
  EXPECT_TRUE(child->ping());
}

TEST(Freezer, NotPermittedIsAClearRefusal) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to another user";
  auto child = TestChild::start();
  const int pid = child->pid();
  std::string out = runInChild([pid](int fd) {
    if (setgid(65534) != 0 || setuid(65534) != 0) return;
    std::string msg;
    try {
      Freezer f(pid);
      msg = "frozen";
    } catch (const Error& e) {
      msg = std::string(errorKindName(e.kind())) + "|" + e.what();
    }
    child_detail::writeAll(fd, msg.data(), msg.size());
  });
  EXPECT_EQ(out, fmt::format("permission|not permitted to ptrace pid {} (run as the same user or "
                             "root; see /proc/sys/kernel/yama/ptrace_scope)",
                             pid));
  EXPECT_TRUE(noThreadIn(pid, 't'));
  EXPECT_TRUE(child->ping());
}

// Threads that are created and exit continuously while we freeze: the freeze
// still converges, and every thread that exists is stopped.
TEST(Freezer, ThreadChurnDuringFreeze) {
  auto child = TestChild::start();
  const int pid = child->pid();
  ASSERT_TRUE(child->command('T'));
  for (int i = 0; i < 30; i++) {
    Freezer f(pid);
    EXPECT_GE(f.tids().size(), 5u);  // main, 3 sleepers, the spawner (+ a short-lived one)
    // Every thread that exists is stopped (a thread that had just exited may
    // linger for an instant as a zombie).
    for (auto& [tid, c] : threadStates(pid))
      EXPECT_TRUE(c == 't' || c == 'Z' || c == 'X') << describe(threadStates(pid));
    EXPECT_EQ(f.registers().size(), f.tids().size());
  }
  EXPECT_TRUE(eventually([&] { return noThreadIn(pid, 't'); }));
  EXPECT_TRUE(child->ping());
}

// Queued real-time signals sent to the target while it is frozen and thawed
// over and over. Some reach a thread as a signal-delivery-stop during the
// freeze; they must be re-injected on detach, so the target counts every one.
TEST(Freezer, SignalsDuringFreezeAreNotLost) {
  auto child = TestChild::start();
  const int pid = child->pid();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0};
  std::thread sender([&] {
    sigval v{};
    while (!stop.load()) {
      if (sigqueue(pid, SIGRTMIN + 1, v) == 0) {
        sent++;
      } else if (errno != EAGAIN) {  // EAGAIN: queue full while the target is frozen
        break;
      }
      std::this_thread::yield();
    }
  });
  // Enough freezes and enough signals to make the race likely, bounded in time.
  int freezes = 0;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((freezes < 300 || sent.load() < 3000) && std::chrono::steady_clock::now() < deadline) {
    Freezer f(pid);
    freezes++;
  }
  stop = true;
  sender.join();
  ASSERT_GT(sent.load(), 0u);
  EXPECT_TRUE(eventually([&] { return child->signalCount() == sent.load(); }, 10000))
      << "target counted " << child->signalCount() << " of " << sent.load() << " signals";
  std::printf("%d freezes while sending %llu signals\n", freezes,
              (unsigned long long)sent.load());
}

}  // namespace
}  // namespace gms::test
