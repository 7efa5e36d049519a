#include "control/watcher.h"

#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "common/error.h"
#include "target/proc_fs.h"

namespace gms {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kStopTimeout{10000};
constexpr std::chrono::milliseconds kCleanupTimeout{5000};  // generous: a loaded machine
constexpr int kMaxRounds = 1000;

long drOffset(int i) { return long(offsetof(struct user, u_debugreg) + size_t(i) * sizeof(long)); }

bool pokeDr(int tid, int i, uint64_t v) {
  return ptrace(PTRACE_POKEUSER, tid, reinterpret_cast<void*>(drOffset(i)),
                reinterpret_cast<void*>(v)) == 0;
}

std::optional<uint64_t> peekDr(int tid, int i) {
  errno = 0;
  long v = ptrace(PTRACE_PEEKUSER, tid, reinterpret_cast<void*>(drOffset(i)), nullptr);
  if (errno != 0) return std::nullopt;
  return uint64_t(v);
}

bool isStopSignal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

void pause(int spins) {
  if (spins < 50) {
    sched_yield();
  } else {
    timespec ts{0, spins < 200 ? 50'000 : 1'000'000};
    nanosleep(&ts, nullptr);
  }
}

// Waits (bounded) for one status of tid. Returns false on timeout; status -1
// means the thread is gone (ECHILD).
bool waitOne(int tid, int& status, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (int spins = 0;; spins++) {
    pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
    if (r == tid) return true;
    if (r < 0 && errno == ECHILD) {
      status = -1;
      return true;
    }
    if (r < 0 && errno != EINTR) {
      status = -1;
      return true;
    }
    if (Clock::now() >= deadline) return false;
    pause(spins);
  }
}

}  // namespace

Watcher::Watcher(int pid, const DebugRegs& regs, const std::function<void()>& whileStopped)
    : pid_(pid), regs_(regs) {
  if (pid <= 0 || !proc::processExists(pid))
    fail(ErrorKind::NotFound, "no process with pid {}", pid);
  if (pid == getpid()) fail(ErrorKind::Usage, "cannot watch gomemscope itself (pid {})", pid);
  try {
    attachAll(whileStopped);
  } catch (...) {
    disarm();
    throw;
  }
}

Watcher::~Watcher() { disarm(); }

bool Watcher::arm(int tid, bool armed) {
  bool ok = pokeDr(tid, 7, 0);  // disable before changing addresses
  for (int i = 0; i < kDebugSlots; i++) ok = pokeDr(tid, i, armed ? regs_.address(i) : 0) && ok;
  if (armed) ok = pokeDr(tid, 7, regs_.dr7()) && ok;
  pokeDr(tid, 6, 0);
  return ok;
}

bool Watcher::rearm(int tid) {
  bool ok = pokeDr(tid, 7, 0);
  for (int i = 0; i < kDebugSlots; i++) ok = pokeDr(tid, i, regs_.address(i)) && ok;
  return pokeDr(tid, 7, regs_.dr7()) && ok;
}

void Watcher::setRegs(const DebugRegs& regs, int stoppedTid) {
  regs_ = regs;
  for (int t : tids_) {
    if (t == stoppedTid) {
      rearm(t);
      continue;
    }
    if (rearm_.insert(t).second) ptrace(PTRACE_INTERRUPT, t, nullptr, nullptr);
  }
}

void Watcher::attachAll(const std::function<void()>& whileStopped) {
  std::set<int> seen;
  std::vector<std::pair<int, int>> stopped;  // tid, signal to hand back
  const long opts = PTRACE_O_TRACECLONE;
  for (int round = 0;; round++) {
    if (round >= kMaxRounds)
      fail(ErrorKind::Os, "pid {} keeps creating threads; gave up after {} rescans", pid_, round);
    std::vector<int> tasks;
    try {
      tasks = proc::listTasks(pid_);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::NotFound && !tids_.empty())
        fail(ErrorKind::NotFound, "process {} exited while attaching", pid_);
      throw;
    }
    std::vector<int> fresh;
    for (int t : tasks) {
      if (!seen.insert(t).second || tids_.count(t) || pendingNew_.count(t)) continue;
      if (ptrace(PTRACE_SEIZE, t, nullptr, reinterpret_cast<void*>(opts)) != 0) {
        int e = errno;
        if (e == ESRCH) continue;
        if (e == EPERM) {
          auto tracer = proc::statusField(t, "TracerPid");
          if (tracer && *tracer == std::to_string(getpid())) {
            pendingNew_.insert(t);  // auto-attached clone: armed at its first stop
            continue;
          }
          auto st = proc::statusField(t, "State");
          if (st && (st->starts_with("Z") || st->starts_with("X"))) continue;
          if (!tracer || *tracer == "0") tracer = proc::statusField(pid_, "TracerPid");
          if (tracer && *tracer != "0")
            fail(ErrorKind::Permission,
                 "process {} is already traced by pid {} (a debugger, or another gomemscope watch)",
                 pid_, *tracer);
          fail(ErrorKind::Permission, "not permitted to ptrace pid {} ({})", pid_,
               proc::ptraceHint());
        }
        errno = e;
        failErrno(fmt::format("ptrace(PTRACE_SEIZE) of thread {} of pid {}", t, pid_));
      }
      tids_.insert(t);
      fresh.push_back(t);
      if (ptrace(PTRACE_INTERRUPT, t, nullptr, nullptr) != 0 && errno != ESRCH)
        failErrno(fmt::format("ptrace(PTRACE_INTERRUPT) of thread {}", t));
    }
    if (fresh.empty()) break;
    for (int t : fresh) {
      int st = 0;
      if (!waitOne(t, st, kStopTimeout))
        fail(ErrorKind::Os, "thread {} of pid {} did not stop within {} ms", t, pid_,
             kStopTimeout.count());
      if (st == -1 || WIFEXITED(st) || WIFSIGNALED(st)) {
        tids_.erase(t);
        continue;
      }
      int sig = 0;
      int event = st >> 16;
      if (event == 0) sig = WSTOPSIG(st);  // stopped to deliver a signal: hand it back
      if (event == PTRACE_EVENT_CLONE) {
        unsigned long child = 0;
        if (ptrace(PTRACE_GETEVENTMSG, t, nullptr, &child) == 0 && child)
          pendingNew_.insert(int(child));
      }
      if (arm(t, true)) {
        stats_.threadsAttached++;
      } else {
        stats_.threadsNotArmed++;
      }
      stopped.push_back({t, sig});
      knownStopped_[t] = sig;
    }
  }
  if (tids_.empty() && !pendingNew_.empty()) {
    pendingNew_.clear();  // they belong to another Watcher of ours: leave them alone
    fail(ErrorKind::Permission, "process {} is already traced by pid {} (this process)", pid_,
         getpid());
  }
  if (tids_.empty()) fail(ErrorKind::NotFound, "process {} exited while attaching", pid_);
  // Every thread is stopped and armed: nothing can write unobserved from here.
  if (whileStopped) whileStopped();
  // The interrupt may still be pending (a clone or signal stop came first):
  // the loop then sees one more PTRACE_EVENT_STOP and resumes the thread.
  for (auto [t, sig] : stopped) {
    knownStopped_.erase(t);
    ptrace(PTRACE_CONT, t, nullptr, reinterpret_cast<void*>(long(sig)));
  }
}

void Watcher::handleStatus(int tid, int st, const std::function<bool(const WatchHit&)>& onHit,
                           bool& keepGoing) {
  if (WIFEXITED(st) || WIFSIGNALED(st)) {
    if (tids_.erase(tid) || pendingNew_.erase(tid)) stats_.threadsExited++;
    if (tids_.empty() && pendingNew_.empty()) exited_ = true;
    return;
  }
  if (!WIFSTOPPED(st)) return;
  if (pendingNew_.erase(tid) || !tids_.count(tid)) {
    // First stop of a thread the kernel attached for us at clone: arm it
    // before it runs its first instruction.
    tids_.insert(tid);
    if (arm(tid, true))
      stats_.threadsCreated++;
    else
      stats_.threadsNotArmed++;
    ptrace(PTRACE_CONT, tid, nullptr, nullptr);
    return;
  }
  if (rearm_.erase(tid)) rearm(tid);
  int sig = WSTOPSIG(st);
  int event = st >> 16;
  if (event == PTRACE_EVENT_CLONE) {
    unsigned long child = 0;
    if (ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child) == 0 && child && !tids_.count(int(child)))
      pendingNew_.insert(int(child));
    ptrace(PTRACE_CONT, tid, nullptr, nullptr);
    return;
  }
  if (event == PTRACE_EVENT_STOP) {
    if (isStopSignal(sig)) {
      ptrace(PTRACE_LISTEN, tid, nullptr, nullptr);  // a group-stop stays a stop
    } else {
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
    }
    return;
  }
  if (event != 0) {
    ptrace(PTRACE_CONT, tid, nullptr, nullptr);
    return;
  }
  // Signal-delivery-stop.
  if (sig == SIGTRAP) {
    auto dr6 = peekDr(tid, 6);
    siginfo_t si{};
    bool haveSi = ptrace(PTRACE_GETSIGINFO, tid, nullptr, &si) == 0;
    bool hwTrap = haveSi && si.si_code == TRAP_HWBKPT;
    if (haveSi && si.si_code == TRAP_BRKPT && !(dr6 && (*dr6 & kDr6HitMask))) {
      // A #DB whose DR6 read back empty: Linux takes it for an ICEBP and
      // queues SIGTRAP/TRAP_BRKPT. Go never executes ICEBP (its own
      // breakpoints are INT3, si_code SI_KERNEL), and delivered it is fatal.
      // Seen rarely under KVM (once in some 10^5 hits of the kill tests).
      // Ours: report it without slots.
      WatchHit h;
      h.tid = tid;
      h.dr6Lost = true;
      h.time = std::chrono::system_clock::now();
      stats_.hits++;
      stats_.dr6Lost++;
      // No slot is named, not even an execute slot at this pc: the kernel
      // set no RF flag for it, so a real execute breakpoint fires again, with
      // its DR6, as soon as the thread resumes (reporting it now would count
      // it twice).
      bool regsOk = ptrace(PTRACE_GETREGS, tid, nullptr, &h.regs) == 0;
      if (regsOk && !onHit(h)) keepGoing = false;
      pokeDr(tid, 6, 0);
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      return;
    }
    if (hwTrap && !(dr6 && (*dr6 & kDr6HitMask))) {
      // A hardware trap whose DR6 no longer names a slot (a slot moved or
      // cleared meanwhile): ours all the same, and fatal to Go if delivered.
      pokeDr(tid, 6, 0);
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      return;
    }
    if (dr6 && (*dr6 & kDr6HitMask)) {
      WatchHit h;
      h.tid = tid;
      h.dr6 = *dr6;
      h.slots = hitSlots(*dr6);
      h.time = std::chrono::system_clock::now();
      stats_.hits++;
      bool regsOk = ptrace(PTRACE_GETREGS, tid, nullptr, &h.regs) == 0;
      int heldBefore = held_;
      if (regsOk && !onHit(h)) keepGoing = false;
      pokeDr(tid, 6, 0);
      // Another thread's hit was handled: a thread held for it runs on.
      if (heldBefore >= 0 && heldBefore != tid) releaseHeld();
      if (held_ != tid) ptrace(PTRACE_CONT, tid, nullptr, nullptr);  // ours: not delivered
      return;
    }
  }
  stats_.signalsPassed++;
  ptrace(PTRACE_CONT, tid, nullptr, reinterpret_cast<void*>(long(sig)));
}

void Watcher::holdUntilNextHit(int tid) {
  held_ = tid;
  heldSince_ = std::chrono::steady_clock::now();
}

void Watcher::releaseHeld() {
  if (held_ < 0) return;
  ptrace(PTRACE_CONT, held_, nullptr, nullptr);
  held_ = -1;
}

WatchEnd Watcher::run(const std::function<bool(const WatchHit&)>& onHit,
                      const std::function<bool()>& shouldStop, int wakeFd) {
  // SIGCHLD tells the tracer that a tracee stopped; read it from a signalfd so
  // that a stop and a wake-up on wakeFd are waited for together.
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, &old);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  struct Restore {
    int sfd;
    sigset_t old;
    ~Restore() {
      if (sfd >= 0) close(sfd);
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
  } restore{sfd, old};
  bool keepGoing = true;
  while (keepGoing && !exited_) {
    // Drain every pending status.
    bool any = true;
    while (any && keepGoing && !exited_) {
      any = false;
      std::vector<int> watch(tids_.begin(), tids_.end());
      watch.insert(watch.end(), pendingNew_.begin(), pendingNew_.end());
      for (int t : watch) {
        int st = 0;
        pid_t r = waitpid(t, &st, __WALL | WNOHANG);
        if (r == t) {
          any = true;
          handleStatus(t, st, onHit, keepGoing);
        } else if (r < 0 && errno == ECHILD) {
          // Gone without a status we could collect.
          if (tids_.erase(t) || pendingNew_.erase(t)) stats_.threadsExited++;
          if (tids_.empty() && pendingNew_.empty()) exited_ = true;
        }
        if (!keepGoing || exited_) break;
      }
    }
    if (!keepGoing || exited_) break;
    if (held_ >= 0 && std::chrono::steady_clock::now() - heldSince_ >= kHoldLimit) releaseHeld();
    if (shouldStop()) break;
    pollfd fds[2];
    int n = 0;
    if (sfd >= 0) fds[n++] = {sfd, POLLIN, 0};
    if (wakeFd >= 0) fds[n++] = {wakeFd, POLLIN, 0};
    int r = poll(fds, nfds_t(n), held_ >= 0 ? 5 : 100);
    if (r > 0 && sfd >= 0 && (fds[0].revents & POLLIN)) {
      signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
    }
    if (r > 0 && wakeFd >= 0 && fds[n - 1].revents && shouldStop()) break;
  }
  if (exited_) return WatchEnd::ProcessExited;
  return WatchEnd::Stopped;
}

namespace {

// True when a SIGTRAP is queued for thread `tid` (thread-private or shared
// pending set in /proc/PID/task/TID/status).
bool sigtrapPending(int pid, int tid) {
  auto st = proc::tryReadFile(fmt::format("/proc/{}/task/{}/status", pid, tid));
  if (!st) return false;
  for (const char* key : {"SigPnd:", "ShdPnd:"}) {
    auto at = st->find(key);
    if (at == std::string::npos) continue;
    uint64_t mask = std::strtoull(st->c_str() + at + std::strlen(key), nullptr, 16);
    if (mask & (uint64_t(1) << (SIGTRAP - 1))) return true;
  }
  return false;
}

// True when the SIGTRAP thread `tid` is stopped to deliver came from a debug
// register: si_code TRAP_HWBKPT, or TRAP_BRKPT (a #DB whose DR6 was lost,
// which Linux reports as an ICEBP; see handleStatus).
bool ourTrapInfo(int tid) {
  siginfo_t si{};
  return ptrace(PTRACE_GETSIGINFO, tid, nullptr, &si) == 0 &&
         (si.si_code == TRAP_HWBKPT || si.si_code == TRAP_BRKPT);
}

}  // namespace

void Watcher::disarm() noexcept {
  if (disarmed_) return;
  disarmed_ = true;
  releaseHeld();  // then interrupted and detached as every other thread
  std::vector<int> all(tids_.begin(), tids_.end());
  all.insert(all.end(), pendingNew_.begin(), pendingNew_.end());
  for (int t : all)
    if (!knownStopped_.count(t)) ptrace(PTRACE_INTERRUPT, t, nullptr, nullptr);
  for (int t : all) {
    bool stopped = knownStopped_.count(t) > 0;
    int sig = stopped ? knownStopped_[t] : 0;
    // Collect stops until the thread is at a stop we can detach from.
    for (int guard = 0; guard < 16 && !stopped; guard++) {
      int st = 0;
      if (!waitOne(t, st, kCleanupTimeout)) break;
      if (st == -1 || WIFEXITED(st) || WIFSIGNALED(st)) break;
      if (!WIFSTOPPED(st)) continue;
      int event = st >> 16;
      if (event == 0) {
        sig = WSTOPSIG(st);
        if (sig == SIGTRAP) {
          auto dr6 = peekDr(t, 6);
          if ((dr6 && (*dr6 & kDr6HitMask)) || ourTrapInfo(t)) sig = 0;  // ours: swallow it
        }
      }
      stopped = true;
    }
    if (!stopped) continue;  // exited, or never stopped (then nothing can be done)
    arm(t, false);
    // A watchpoint trap may already be queued behind the stop we took (the
    // thread hit a watchpoint just as it was interrupted). Delivered after
    // the detach, it would kill the Go program ("SIGTRAP: trace trap"), so
    // let the thread dequeue its signals while still traced and swallow
    // every debug-register SIGTRAP (ourTrapInfo); other signals
    // are handed back unchanged.
    bool gone = false;
    for (int round = 0; round < 16 && sigtrapPending(pid_, t); round++) {
      if (ptrace(PTRACE_CONT, t, nullptr, reinterpret_cast<void*>(long(sig))) != 0) break;
      sig = 0;
      int st = 0;
      if (!waitOne(t, st, kCleanupTimeout) || st == -1 || WIFEXITED(st) || WIFSIGNALED(st)) {
        gone = true;
        break;
      }
      if (WIFSTOPPED(st) && (st >> 16) == 0) {
        sig = WSTOPSIG(st);
        if (sig == SIGTRAP && ourTrapInfo(t)) sig = 0;
      }
    }
    if (gone) continue;
    ptrace(PTRACE_DETACH, t, nullptr, reinterpret_cast<void*>(long(sig)));
  }
  tids_.clear();
  pendingNew_.clear();
  knownStopped_.clear();
}

}  // namespace gms
