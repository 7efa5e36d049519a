#include "target/proc_mem.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "target/proc_fs.h"

namespace gms::proc {

namespace {
// process_vm_readv and read() both cap one transfer at MAX_RW_COUNT (just
// under 2 GiB); stay well below it.
constexpr size_t kMaxChunk = size_t(1) << 30;
}  // namespace

RemoteReader::~RemoteReader() {
  if (memFd_ >= 0) ::close(memFd_);
}

void RemoteReader::openMemFile(int vmErrno) {
  std::string path = "/proc/" + std::to_string(pid_) + "/mem";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || e == ESRCH) fail(ErrorKind::NotFound, "process {} has exited", pid_);
    if (e == EACCES || e == EPERM || vmErrno == EPERM)
      fail(ErrorKind::Permission, "not permitted to read the memory of pid {} ({})", pid_,
           ptraceHint());
    fail(ErrorKind::Os, "cannot open {}: {}", path, std::strerror(e));
  }
  memFd_ = fd;
}

void RemoteReader::forceProcMem() {
  if (memFd_ < 0) openMemFile(0);
}

void RemoteReader::loadReadable() {
  readable_.clear();
  for (const MapsEntry& e : readMaps(pid_)) {
    if (!e.m.read || e.m.size() == 0) continue;
    if (!readable_.empty() && readable_.back().second == e.m.start) {
      readable_.back().second = e.m.end;
    } else {
      readable_.emplace_back(e.m.start, e.m.end);
    }
  }
}

size_t RemoteReader::readableExtentCached(uint64_t addr, size_t n) const {
  auto it = std::upper_bound(readable_.begin(), readable_.end(), addr,
                             [](uint64_t a, const auto& r) { return a < r.first; });
  if (it == readable_.begin()) return 0;
  --it;
  if (addr >= it->second) return 0;
  return static_cast<size_t>(std::min<uint64_t>(n, it->second - addr));
}

size_t RemoteReader::readableExtent(uint64_t addr, size_t n) {
  size_t k = readableExtentCached(addr, n);
  if (k == n) return k;
  // The map may be stale (new mappings since): look again before refusing.
  loadReadable();
  return readableExtentCached(addr, n);
}

size_t RemoteReader::readMemFile(uint64_t addr, void* out, size_t n) {
  // Never read what the process itself could not (see the header).
  n = readableExtent(addr, n);
  auto* dst = static_cast<uint8_t*>(out);
  size_t done = 0;
  while (done < n) {
    uint64_t a = addr + done;
    // Offsets are signed; the upper half of the address space is the kernel's
    // and never readable anyway.
    if (a > uint64_t(INT64_MAX)) break;
    ssize_t r = ::pread(memFd_, dst + done, std::min(n - done, kMaxChunk), static_cast<off_t>(a));
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EIO || errno == EFAULT || errno == EINVAL) break;
      if (errno == ESRCH) fail(ErrorKind::NotFound, "process {} has exited", pid_);
      failErrno(fmt::format("cannot read /proc/{}/mem", pid_));
    }
    if (r == 0) {
      // EOF: the process exited (its mm is gone) or addr is past the end.
      if (done == 0 && !processExists(pid_))
        fail(ErrorKind::NotFound, "process {} has exited", pid_);
      break;
    }
    done += static_cast<size_t>(r);
  }
  return done;
}

size_t RemoteReader::readSome(uint64_t addr, void* out, size_t n) {
  if (n == 0) return 0;
  n = std::min(n, kMaxChunk);
  // An address range that wraps cannot be read; only what lies below 2^64.
  if (addr + n < addr) n = size_t(0 - addr);
  if (n == 0) return 0;
  if (memFd_ >= 0) return readMemFile(addr, out, n);

  iovec local{out, n};
  iovec remote{reinterpret_cast<void*>(addr), n};
  ssize_t r = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (r >= 0) return static_cast<size_t>(r);
  int e = errno;
  switch (e) {
    case EFAULT:
      return 0;
    case ESRCH:
      fail(ErrorKind::NotFound, "process {} has exited", pid_);
    case EPERM:
    case ENOSYS:
      // Refused (seccomp, no CROSS_MEMORY_ATTACH): /proc/PID/mem may still
      // be allowed. openMemFile throws Permission if it is not.
      openMemFile(e);
      return readMemFile(addr, out, n);
    default:
      errno = e;
      failErrno(fmt::format("process_vm_readv of pid {} at {:#x}", pid_, addr));
  }
}

uint64_t RemoteReader::locateFault(uint64_t addr, void* out, size_t n, size_t got) {
  auto* dst = static_cast<uint8_t*>(out);
  uint64_t end = addr + n;
  uint64_t pos = addr + got;
  while (pos < end) {
    uint64_t pageEnd = (pos | (kPageSize - 1)) + 1;
    size_t chunk = static_cast<size_t>(std::min(end, pageEnd == 0 ? end : pageEnd) - pos);
    size_t k = readSome(pos, dst + (pos - addr), chunk);
    if (k < chunk) return pos + k;
    pos += chunk;
  }
  return end;
}

void RemoteReader::readExact(uint64_t addr, void* out, size_t n) {
  auto* dst = static_cast<uint8_t*>(out);
  size_t done = 0;
  while (done < n) {
    uint64_t a = addr + done;
    if (a < addr) throw Fault(a, "address wraps around");
    size_t want = std::min(n - done, kMaxChunk);
    size_t got = readSome(a, dst + done, want);
    if (got < want) {
      uint64_t f = locateFault(a, dst + done, want, got);
      if (f < a + want) throw Fault(f, "not mapped or not readable in the process");
    }
    done += want;
  }
}

}  // namespace gms::proc
