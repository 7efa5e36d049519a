// RemoteReader: the raw, uncached way to copy bytes out of another process.
//
// process_vm_readv is the fast path (one syscall, no file descriptor, no
// seek). Some environments refuse it while still allowing /proc/PID/mem
// (seccomp filters in containers, kernels without CROSS_MEMORY_ATTACH), so the
// first EPERM/ENOSYS switches this reader to pread on /proc/PID/mem for good.
//
// Both paths can stop short: the kernel copies up to the first page it cannot
// map. readExact() turns that into a gms::Fault naming the exact first
// unreadable byte; because protections are per page, it probes forward page by
// page from where the bulk copy stopped instead of trusting the returned count
// (process_vm_readv is documented to stop only at iovec boundaries, while
// kernels actually stop at the failing page — this works either way).
//
// /proc/PID/mem reads with FOLL_FORCE, the debugger's privilege: it would
// happily read PROT_NONE pages the process itself cannot. To fault exactly
// where the process would, the fallback path clips reads to the readable
// mappings of /proc/PID/maps (re-read whenever an address looks unreadable).
//
// Nothing here ever writes to the target.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace gms::proc {

inline constexpr uint64_t kPageSize = 4096;

class RemoteReader {
 public:
  explicit RemoteReader(int pid) : pid_(pid) {}
  ~RemoteReader();
  RemoteReader(const RemoteReader&) = delete;
  RemoteReader& operator=(const RemoteReader&) = delete;

  int pid() const { return pid_; }

  // Copies up to n bytes; returns how many were copied from the start of the
  // range (0 when addr itself is unreadable). Throws Error(Permission) when
  // both access paths are refused, Error(NotFound) when the process is gone,
  // Error(Os) for anything else unexpected.
  size_t readSome(uint64_t addr, void* out, size_t n);

  // Copies exactly n bytes or throws Fault at the first unreadable address.
  void readExact(uint64_t addr, void* out, size_t n);

  // Given that a copy of [addr, addr+n) stopped after `got` bytes, returns the
  // first address that really cannot be read (>= addr+got), copying what can
  // be read along the way into out. Returns addr+n if everything was readable
  // after all (the target changed between the two reads).
  uint64_t locateFault(uint64_t addr, void* out, size_t n, size_t got);

  // Uses /proc/PID/mem from now on, as if process_vm_readv had been refused
  // (for tests of the fallback).
  void forceProcMem();
  // True once the reader fell back to /proc/PID/mem.
  bool usingProcMem() const { return memFd_ >= 0; }

 private:
  size_t readMemFile(uint64_t addr, void* out, size_t n);
  void openMemFile(int vmErrno);
  // How many bytes from addr (up to n) lie in readable mappings.
  size_t readableExtent(uint64_t addr, size_t n);
  size_t readableExtentCached(uint64_t addr, size_t n) const;
  void loadReadable();

  int pid_;
  int memFd_ = -1;
  std::vector<std::pair<uint64_t, uint64_t>> readable_;  // merged readable ranges (fallback only)
};

}  // namespace gms::proc
