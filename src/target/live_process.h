// LiveProcess: a running process as a Target. Reads with process_vm_readv and
// falls back to /proc/PID/mem; mappings come from /proc/PID/maps. It never
// writes target memory and never stops the process by itself: stopping is
// control/'s job (control::Freezer), and a read of a running process may be
// torn. Reads are cached per page while the caller says the target is frozen
// (setFrozen(true)); invalidate() drops the cache.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "target/memory.h"

namespace gms {

class LiveProcess : public Target {
 public:
  // Throws Error(NotFound) "no process with pid N", Error(Permission) when
  // /proc/PID/mem or process_vm_readv are refused.
  static std::unique_ptr<LiveProcess> open(int pid);
  ~LiveProcess() override;

  const Memory& memory() const override;
  bool isLive() const override { return true; }
  int pid() const override;
  std::string exePath() const override;               // readlink /proc/PID/exe
  std::vector<ThreadState> threads() const override;  // tids from /proc/PID/task; regs only via setThreadStates
  std::string describe() const override;

  // Registers captured by control while the threads were stopped.
  void setThreadStates(std::vector<ThreadState> t);
  // While frozen, reads are cached page by page; unfreezing drops the cache.
  void setFrozen(bool frozen);

 private:
  LiveProcess() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gms
