// Freezer: stops every thread of a live process for the duration of a read,
// then lets it run again exactly as before.
//
// Uses PTRACE_SEIZE + PTRACE_INTERRUPT (never SIGSTOP), so that if gomemscope
// dies — even by SIGKILL — the kernel detaches and the threads simply resume:
// no group-stop is left behind and nothing is written to the target. Threads
// created while freezing are caught by re-scanning /proc/PID/task until stable.
//
// A thread may report a signal (Go sends itself SIGURG for preemption, SIGPROF
// when profiling, ...) instead of the interrupt: it is then stopped before the
// signal is delivered. That counts as stopped; the signal is handed back when
// the thread is detached, so the target sees exactly the signals it would
// have seen without us.
//
// ptrace is per thread: the thread that constructs a Freezer must be the one
// that calls registers() and release() (and destroys it).
#pragma once

#include <sys/user.h>

#include <chrono>
#include <memory>
#include <vector>

#include "target/memory.h"

namespace gms {

struct ThreadRegs {
  int tid = 0;
  user_regs_struct regs{};
  user_fpregs_struct fpregs{};
  bool hasFpregs = false;
};

class Freezer {
 public:
  // Attaches to and stops all threads. Throws Error(Permission) with a clear
  // reason (already traced by another debugger, ptrace not permitted) or
  // Error(NotFound) for a pid that does not exist. On failure, every thread
  // already stopped is released before throwing.
  explicit Freezer(int pid);
  ~Freezer();  // resumes and detaches every thread
  Freezer(const Freezer&) = delete;
  Freezer& operator=(const Freezer&) = delete;

  int pid() const { return pid_; }
  const std::vector<int>& tids() const { return tids_; }
  // Full register sets of every stopped thread (read with PTRACE_GETREGS).
  std::vector<ThreadRegs> registers() const;
  // ThreadState views of registers(), for Target::threads().
  std::vector<ThreadState> threadStates() const;
  // Resumes early (the destructor is then a no-op). Returns how long the
  // process was stopped.
  std::chrono::nanoseconds release();
  std::chrono::nanoseconds stoppedFor() const;

  // Installs SIGINT, SIGTERM and SIGHUP handlers that detach every thread of
  // every live Freezer (of the signalled thread) and then run the previous
  // disposition (by default: terminate). Without them a Ctrl-C would still
  // resume the target — the kernel detaches a dead tracer's tracees — but a
  // previous handler that does not exit would leave it stopped, and a pending
  // signal could be lost. The handler only makes ptrace(PTRACE_DETACH)
  // syscalls (async-signal-safe). Idempotent; call it after installing any
  // other handler for those signals. Signals that were ignored stay ignored.
  static void installSignalHandlers();

 private:
  enum class State : uint8_t { Interrupted, Stopped };
  void freeze();
  void addThread(int tid);
  void removeThread(size_t i);
  // Waits until thread i reports its stop; removes it if it exited. Returns
  // false on timeout (or throws, when `throwOnTimeout`).
  bool waitStopped(size_t i, std::chrono::milliseconds timeout, bool throwOnTimeout);
  [[noreturn]] void failPermission(int tid);
  void detachAll() noexcept;

  int pid_;
  std::vector<int> tids_;
  // Parallel to tids_: a signal to hand back on detach (0: none), the slot in
  // the process-wide registry the signal handlers walk, and the thread state.
  std::vector<int> pendingSig_;
  std::vector<int> slots_;
  std::vector<State> states_;
  int tracer_ = 0;  // the thread of ours that attached
  bool released_ = false;
  std::chrono::steady_clock::time_point stoppedAt_;
  std::chrono::nanoseconds stoppedFor_{0};
};

}  // namespace gms
