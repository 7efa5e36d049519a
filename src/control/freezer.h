// Freezer: stops every thread of a live process for the duration of a read,
// then lets it run again exactly as before.
//
// Uses PTRACE_SEIZE + PTRACE_INTERRUPT (never SIGSTOP), so that if gomemscope
// dies — even by SIGKILL — the kernel detaches and the threads simply resume:
// no group-stop is left behind and nothing is written to the target. Threads
// created while freezing are caught by re-scanning /proc/PID/task until stable.
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

 private:
  int pid_;
  std::vector<int> tids_;
  bool released_ = false;
  std::chrono::steady_clock::time_point stoppedAt_;
  std::chrono::nanoseconds stoppedFor_{0};
};

}  // namespace gms
