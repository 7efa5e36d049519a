// Watcher: hardware watchpoints/breakpoints (DebugRegs) armed on every thread
// of a live process, and the ptrace event loop that reports their hits.
//
// Attach: PTRACE_SEIZE every thread with PTRACE_O_TRACECLONE (threads created
// later are attached by the kernel and stop before running their first
// instruction; the debug registers, which a new thread does not inherit, are
// set at that stop), interrupt, write DR0-3 and DR7 with PTRACE_POKEUSER at
// offsetof(struct user, u_debugreg[i]), resume. Rescans /proc/PID/task until
// no thread is new, as Freezer does.
//
// Loop: a hit is a SIGTRAP signal-delivery-stop with a B0-B3 bit in DR6 (or,
// when the hypervisor lost DR6, si_code TRAP_BRKPT: WatchHit::dr6Lost). The
// thread stays stopped while the callback runs (it may read memory and
// registers), then DR6 is cleared and the thread resumes without the signal.
// Every other signal (Go's SIGURG preemption, SIGPROF, a real SIGTRAP) is
// handed back unchanged; group-stops are kept with PTRACE_LISTEN.
//
// Disarm (disarm() or the destructor): interrupt every thread, zero DR7 and
// DR0-3, detach with any pending signal. This matters: on Linux a tracer's
// death detaches its tracees but leaves their debug registers ARMED, and an
// untraced Go program that hits one dies with "SIGTRAP: trace trap" (measured
// on 6.18, see docs/watch.md). Run a Watcher only inside a Keeper
// (control/keeper.h), which disarms even when gomemscope is SIGKILLed.
//
// ptrace is per thread: one thread constructs, runs and destroys a Watcher.
#pragma once

#include <sys/user.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "control/debugregs.h"

namespace gms {

struct WatchHit {
  int tid = 0;
  uint64_t dr6 = 0;
  std::vector<int> slots;  // slots that fired (several when one write touched several)
  // The #DB came with an empty DR6 (seen under KVM: the status register was
  // lost between the trap and the kernel's read of it). Linux then calls the
  // trap an ICEBP and queues SIGTRAP with si_code TRAP_BRKPT. `slots` is
  // empty: which data slot fired is unknown, so callers compare the watched
  // values themselves (an execute breakpoint simply fires again).
  bool dr6Lost = false;
  user_regs_struct regs{};
  std::chrono::system_clock::time_point time;
};

struct WatcherStats {
  uint64_t threadsAttached = 0;  // at start
  uint64_t threadsCreated = 0;   // attached later through clone
  uint64_t threadsExited = 0;
  uint64_t threadsNotArmed = 0;  // could not set the registers (counts as missed coverage)
  uint64_t hits = 0;
  uint64_t signalsPassed = 0;  // signals handed back to the target
  uint64_t dr6Lost = 0;        // hits whose DR6 was empty (see WatchHit::dr6Lost)
};

enum class WatchEnd {
  Stopped,        // shouldStop() said so or the callback returned false
  ProcessExited,  // every thread exited
};

class Watcher {
 public:
  // Attaches and arms. Throws Error(NotFound) for no such process,
  // Error(Permission) (already traced: names the tracer; ptrace not allowed:
  // says why), Error(Usage) for an invalid breakpoint. On failure everything
  // done so far is undone. `whileStopped` runs once every thread is stopped
  // and armed, before any resumes (e.g. to read the watched values' start).
  Watcher(int pid, const DebugRegs& regs, const std::function<void()>& whileStopped = {});
  ~Watcher();  // disarm()
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Runs the event loop. `onHit` is called with the hitting thread stopped;
  // returning false ends the loop. `wakeFd` (>= 0) is polled alongside: when
  // readable or hung up, `shouldStop()` is asked. Also asked at least every
  // 100 ms.
  WatchEnd run(const std::function<bool(const WatchHit&)>& onHit,
               const std::function<bool()>& shouldStop, int wakeFd = -1);

  // Stops every thread, clears its debug registers, detaches. Idempotent.
  void disarm() noexcept;

  // Changes the slots while run() is going; call it from onHit. The hitting
  // thread `stoppedTid` is re-armed at once; every other thread is
  // interrupted and re-armed at its next stop (microseconds later: an access
  // by another thread inside that window is not seen). Used by the tracers,
  // which watch objects discovered at a breakpoint (control/watcher.cc).
  void setRegs(const DebugRegs& regs, int stoppedTid);
  // Call from onHit: the hitting thread stays stopped after onHit returns,
  // until the next hit of another thread has been handled (or kHoldLimit
  // passed, or disarm()). For a tracer that must see another thread's trap,
  // already pending, before this thread runs on (trace writers: a reader
  // that saw the flag set by a writer whose hit is not handled yet, and
  // would otherwise die of Go's check first).
  void holdUntilNextHit(int tid);
  static constexpr std::chrono::milliseconds kHoldLimit{50};
  const DebugRegs& regs() const { return regs_; }

  int pid() const { return pid_; }
  std::set<int> tids() const { return tids_; }
  const WatcherStats& stats() const { return stats_; }

 private:
  void attachAll(const std::function<void()>& whileStopped);
  bool arm(int tid, bool armed);
  bool rearm(int tid);  // writes DR0-3/DR7 from regs_, leaves DR6 alone
  void releaseHeld();
  void handleStatus(int tid, int status, const std::function<bool(const WatchHit&)>& onHit,
                    bool& keepGoing);

  int pid_;
  DebugRegs regs_;
  std::set<int> tids_;
  std::set<int> pendingNew_;
  std::map<int, int> knownStopped_;  // stopped by attachAll, not resumed yet -> signal to hand back
                                     // // announced by a clone event, initial stop not seen yet
  std::set<int> rearm_;              // interrupted by setRegs, to be re-armed at their next stop
  WatcherStats stats_;
  bool disarmed_ = false;
  int held_ = -1;  // holdUntilNextHit
  std::chrono::steady_clock::time_point heldSince_;
  bool exited_ = false;
};

}  // namespace gms
