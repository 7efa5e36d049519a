#include "control/freezer.h"

#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>

#include "target/proc_fs.h"

namespace gms {

namespace {

using Clock = std::chrono::steady_clock;

// How long one thread may take to reach its stop. A thread in uninterruptible
// sleep (D state: NFS, a stuck device) stops only when the kernel lets it go;
// better to give up with a clear message than to hang.
constexpr std::chrono::milliseconds kStopTimeout{10000};
// On the error path: already-interrupted threads get this long to stop so
// that they can be detached (a thread that never stops cannot be).
constexpr std::chrono::milliseconds kCleanupTimeout{2000};
// Rescans of /proc/PID/task before giving up on a process that creates
// threads faster than we can stop them (each round stops every new one, so
// this only trips on a pathological clone storm).
constexpr int kMaxRounds = 1000;

int currentTid() { return static_cast<int>(syscall(SYS_gettid)); }

// ---------------------------------------------------------------------------
// Process-wide registry of stopped threads, for the signal handlers.
//
// A fixed array of lock-free atomics: the handler may interrupt a Freezer in
// the middle of adding a thread, so it must not look at any std::vector. A
// slot is claimed by CAS 0 -> -1 (reserved), filled, then published by storing
// the tid; the handler skips tids <= 0.

constexpr int kSlots = 1 << 14;

struct Slot {
  std::atomic<int> tid{0};
  std::atomic<int> tracer{0};
  std::atomic<int> sig{0};
};
static_assert(std::atomic<int>::is_always_lock_free, "signal handler needs lock-free atomics");

Slot gSlots[kSlots];
std::atomic<int> gSlotHint{0};

int acquireSlot(int tid, int tracer) {
  int start = gSlotHint.load(std::memory_order_relaxed);
  for (int i = 0; i < kSlots; i++) {
    int idx = (start + i) & (kSlots - 1);
    int expected = 0;
    if (gSlots[idx].tid.compare_exchange_strong(expected, -1)) {
      gSlots[idx].tracer.store(tracer);
      gSlots[idx].sig.store(0);
      gSlots[idx].tid.store(tid);
      gSlotHint.store((idx + 1) & (kSlots - 1), std::memory_order_relaxed);
      return idx;
    }
  }
  return -1;  // full: this thread is then released only by the kernel at our exit
}

void releaseSlot(int idx) {
  if (idx >= 0) gSlots[idx].tid.store(0);
}

constexpr int kHandledSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction gOldActions[NSIG];

void onTerminatingSignal(int signo, siginfo_t* info, void* ctx) {
  int savedErrno = errno;
  int self = currentTid();
  for (Slot& s : gSlots) {
    int t = s.tid.load();
    if (t <= 0 || s.tracer.load() != self) continue;
    // Raw syscall: async-signal-safe, and ignores errors (a thread that is
    // already gone needs nothing).
    syscall(SYS_ptrace, PTRACE_DETACH, t, 0, static_cast<long>(s.sig.load()));
  }
  const struct sigaction& old = gOldActions[signo];
  if (old.sa_flags & SA_SIGINFO) {
    if (old.sa_sigaction) old.sa_sigaction(signo, info, ctx);
  } else if (old.sa_handler == SIG_DFL) {
    // Let the signal do what it would have done: it is blocked while this
    // handler runs, so it is delivered (and terminates us) on return.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(signo, &dfl, nullptr);
    raise(signo);
  } else if (old.sa_handler != SIG_IGN) {
    old.sa_handler(signo);
  }
  errno = savedErrno;
}

char threadState(int pid, int tid) {
  auto stat = proc::tryReadFile(fmt::format("/proc/{}/task/{}/stat", pid, tid));
  if (!stat) return 'X';
  size_t rp = stat->rfind(')');  // comm may contain spaces and parentheses
  if (rp == std::string::npos || rp + 2 >= stat->size()) return '?';
  return (*stat)[rp + 2];
}

}  // namespace

// ---------------------------------------------------------------------------

Freezer::Freezer(int pid) : pid_(pid) {
  if (pid <= 0 || !proc::processExists(pid))
    fail(ErrorKind::NotFound, "no process with pid {}", pid);
  if (pid == getpid()) fail(ErrorKind::Usage, "cannot freeze gomemscope itself (pid {})", pid);
  tracer_ = currentTid();
  // The target is disturbed from the first interrupt on.
  stoppedAt_ = Clock::now();
  try {
    freeze();
  } catch (...) {
    detachAll();
    released_ = true;
    throw;
  }
}

Freezer::~Freezer() {
  try {
    release();
  } catch (...) {
    // release() only detaches (detachAll is noexcept) and reads the clock; a destructor must not
    // throw
  }
}

void Freezer::addThread(int tid) {
  tids_.push_back(tid);
  pendingSig_.push_back(0);
  states_.push_back(State::Interrupted);
  slots_.push_back(acquireSlot(tid, tracer_));
}

void Freezer::removeThread(size_t i) {
  releaseSlot(slots_[i]);
  tids_.erase(tids_.begin() + static_cast<ptrdiff_t>(i));
  pendingSig_.erase(pendingSig_.begin() + static_cast<ptrdiff_t>(i));
  states_.erase(states_.begin() + static_cast<ptrdiff_t>(i));
  slots_.erase(slots_.begin() + static_cast<ptrdiff_t>(i));
}

void Freezer::failPermission(int tid) {
  auto tracer = proc::statusField(tid, "TracerPid");
  if (!tracer || *tracer == "0") tracer = proc::statusField(pid_, "TracerPid");
  if (tracer && *tracer != "0")
    fail(ErrorKind::Permission, "process {} is already traced by pid {} (is a debugger attached?)",
         pid_, *tracer);
  fail(ErrorKind::Permission, "not permitted to ptrace pid {} ({})", pid_, proc::ptraceHint());
}

void Freezer::freeze() {
  std::set<int> seen;
  for (int round = 0;; round++) {
    if (round >= kMaxRounds)
      fail(ErrorKind::Os, "pid {} keeps creating threads; gave up after {} rescans", pid_, round);
    std::vector<int> tasks;
    try {
      tasks = proc::listTasks(pid_);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::NotFound && !tids_.empty())
        fail(ErrorKind::NotFound, "process {} exited while being frozen", pid_);
      throw;
    }
    // Stop every new thread in parallel (interrupt all, then collect the
    // stops): threads stop close together, so the snapshot is consistent.
    size_t firstNew = tids_.size();
    for (int t : tasks) {
      if (!seen.insert(t).second) continue;
      if (ptrace(PTRACE_SEIZE, t, nullptr, nullptr) != 0) {
        int e = errno;
        if (e == ESRCH) continue;  // exited between listing and seizing
        if (e == EPERM) {
          char st = threadState(pid_, t);
          // A zombie (an exited main thread) cannot be traced, nor needs to be.
          if (st == 'Z' || st == 'X') continue;
          failPermission(t);
        }
        errno = e;
        failErrno(fmt::format("ptrace(PTRACE_SEIZE) of thread {} of pid {}", t, pid_));
      }
      addThread(t);
      if (ptrace(PTRACE_INTERRUPT, t, nullptr, nullptr) != 0 && errno != ESRCH)
        failErrno(fmt::format("ptrace(PTRACE_INTERRUPT) of thread {}", t));
    }
    if (firstNew == tids_.size()) break;  // no new thread: every thread is stopped
    // Iterate backwards: waitStopped removes threads that exited.
    for (size_t i = tids_.size(); i-- > firstNew;) waitStopped(i, kStopTimeout, true);
  }
  if (tids_.empty()) fail(ErrorKind::NotFound, "process {} exited while being frozen", pid_);
}

bool Freezer::waitStopped(size_t i, std::chrono::milliseconds timeout, bool throwOnTimeout) {
  int tid = tids_[i];
  auto deadline = Clock::now() + timeout;
  int spins = 0;
  for (;;) {
    int st = 0;
    pid_t r = waitpid(tid, &st, __WALL | WNOHANG);
    if (r == tid) {
      if (WIFEXITED(st) || WIFSIGNALED(st)) {
        removeThread(i);  // the thread exited before it could stop
        return true;
      }
      if (WIFSTOPPED(st)) {
        int event = st >> 16;
        if (event == 0) {
          // Signal-delivery-stop: the thread stopped to deliver a signal
          // before our interrupt took effect. It is stopped all the same;
          // hand the signal back when detaching so it is not lost. (Our
          // interrupt stays pending and is discarded by the detach.)
          pendingSig_[i] = WSTOPSIG(st);
          if (slots_[i] >= 0) gSlots[slots_[i]].sig.store(pendingSig_[i]);
        }
        // Otherwise PTRACE_EVENT_STOP: our interrupt, or a group-stop of a
        // process that was already stopped (it stays stopped after detach).
        states_[i] = State::Stopped;
        return true;
      }
      continue;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) {  // gone and already reaped
        removeThread(i);
        return true;
      }
      failErrno(fmt::format("waitpid for thread {} of pid {}", tid, pid_));
    }
    if (Clock::now() >= deadline) {
      if (!throwOnTimeout) return false;
      fail(ErrorKind::Os, "thread {} of pid {} did not stop within {} ms (state {})", tid, pid_,
           timeout.count(), threadState(pid_, tid));
    }
    // Stopping takes microseconds normally: spin politely, then back off.
    if (++spins < 50) {
      sched_yield();
    } else {
      timespec ts{0, spins < 200 ? 50'000 : 1'000'000};
      nanosleep(&ts, nullptr);
    }
  }
}

void Freezer::detachAll() noexcept {
  for (size_t i = tids_.size(); i-- > 0;) {
    // A thread interrupted but not yet seen stopped cannot be detached (the
    // kernel only detaches stopped tracees); give it a moment to stop.
    if (states_[i] == State::Interrupted) {
      size_t before = tids_.size();
      try {
        waitStopped(i, kCleanupTimeout, false);
      } catch (...) {
        // not stopped in time, or gone: PTRACE_DETACH below is tried anyway (ESRCH reaps it), and
        // the kernel detaches whatever is left when gomemscope exits
      }
      if (tids_.size() < before) continue;  // it exited (and was removed)
    }
    int tid = tids_[i];
    if (ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(long(pendingSig_[i]))) != 0 &&
        errno == ESRCH) {
      // Killed while stopped: reap the zombie, which waits for its tracer.
      int st;
      waitpid(tid, &st, __WALL | WNOHANG);
    }
    releaseSlot(slots_[i]);
  }
  tids_.clear();
  pendingSig_.clear();
  states_.clear();
  slots_.clear();
}

std::vector<ThreadRegs> Freezer::registers() const {
  std::vector<ThreadRegs> out;
  if (released_) return out;
  for (int tid : tids_) {
    ThreadRegs r;
    r.tid = tid;
    if (ptrace(PTRACE_GETREGS, tid, nullptr, &r.regs) != 0) {
      if (errno == ESRCH) continue;  // killed (SIGKILL ignores ptrace) since the freeze
      failErrno(fmt::format("ptrace(PTRACE_GETREGS) of thread {}", tid));
    }
    r.hasFpregs = ptrace(PTRACE_GETFPREGS, tid, nullptr, &r.fpregs) == 0;
    out.push_back(r);
  }
  return out;
}

std::vector<ThreadState> Freezer::threadStates() const {
  std::vector<ThreadState> out;
  for (const ThreadRegs& r : registers()) {
    ThreadState s;
    s.tid = r.tid;
    s.hasRegs = true;
    s.rip = r.regs.rip;
    s.rsp = r.regs.rsp;
    s.rbp = r.regs.rbp;
    s.r14 = r.regs.r14;
    s.fsBase = r.regs.fs_base;
    const auto& g = r.regs;
    s.dwarfRegs = {g.rax, g.rdx, g.rcx, g.rbx, g.rsi, g.rdi, g.rbp, g.rsp, g.r8,
                   g.r9,  g.r10, g.r11, g.r12, g.r13, g.r14, g.r15, g.rip};
    out.push_back(s);
  }
  return out;
}

std::chrono::nanoseconds Freezer::release() {
  if (released_) return stoppedFor_;
  detachAll();
  stoppedFor_ = Clock::now() - stoppedAt_;
  released_ = true;
  return stoppedFor_;
}

std::chrono::nanoseconds Freezer::stoppedFor() const {
  return released_ ? stoppedFor_ : Clock::now() - stoppedAt_;
}

void Freezer::installSignalHandlers() {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  for (int sig : kHandledSignals) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0) continue;
    if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN) continue;  // e.g. nohup
    gOldActions[sig] = old;
    struct sigaction sa {};
    sa.sa_sigaction = onTerminatingSignal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int s : kHandledSignals) sigaddset(&sa.sa_mask, s);  // one handler at a time
    sigaction(sig, &sa, nullptr);
  }
}

}  // namespace gms
