#include "target/proc_pagemap.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

#include "common/error.h"
#include "target/proc_fs.h"
#include "target/proc_mem.h"

namespace gms::proc {

namespace {

// The PAGEMAP_SCAN ABI (include/uapi/linux/fs.h, Linux 6.7). Spelled out here
// because the build machine's kernel headers may predate it; the ABI is
// fixed, and an older running kernel simply rejects the ioctl.
struct PageRegion {
  uint64_t start, end, categories;
};
struct PmScanArg {
  uint64_t size, flags, start, end, walkEnd, vec, vecLen, maxPages;
  uint64_t categoryInverted, categoryMask, categoryAnyofMask, returnMask;
};
static_assert(sizeof(PmScanArg) == 96);
constexpr uint64_t kPageIsFile = 1 << 2;
constexpr uint64_t kPageIsPresent = 1 << 3;
constexpr uint64_t kPageIsSwapped = 1 << 4;
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);

constexpr uint64_t kPmPresent = uint64_t(1) << 63;
constexpr uint64_t kPmSwapped = uint64_t(1) << 62;
constexpr uint64_t kPmFileOrShared = uint64_t(1) << 61;

void append(std::vector<PageRange>& out, uint64_t start, uint64_t end) {
  if (!out.empty() && out.back().end == start) {
    out.back().end = end;
  } else {
    out.push_back({start, end});
  }
}

}  // namespace

PagemapScanner::PagemapScanner(int pid) : pid_(pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    if (errno == ENOENT) fail(ErrorKind::NotFound, "no process with pid {}", pid);
    if (errno == EACCES || errno == EPERM)
      fail(ErrorKind::Permission, "not permitted to read {} ({})", path, ptraceHint());
    failErrno("cannot open " + path);
  }
}

PagemapScanner::~PagemapScanner() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<PageRange> PagemapScanner::resident(uint64_t start, uint64_t end) {
  return scan(start, end, false);
}

std::vector<PageRange> PagemapScanner::privateCopies(uint64_t start, uint64_t end) {
  return scan(start, end, true);
}

std::vector<PageRange> PagemapScanner::scan(uint64_t start, uint64_t end, bool privateOnly) {
  std::vector<PageRange> out;
  start &= ~(kPageSize - 1);
  if (end & (kPageSize - 1)) end = (end | (kPageSize - 1)) + 1;
  if (end <= start) return out;
  if (ioctlOk_ && scanIoctl(start, end, privateOnly, out)) return out;
  out.clear();
  scanClassic(start, end, privateOnly, out);
  return out;
}

bool PagemapScanner::scanIoctl(uint64_t start, uint64_t end, bool privateOnly,
                               std::vector<PageRange>& out) {
  PageRegion regions[512];
  uint64_t pos = start;
  while (pos < end) {
    PmScanArg a{};
    a.size = sizeof a;
    a.start = pos;
    a.end = end;
    a.vec = reinterpret_cast<uintptr_t>(regions);
    a.vecLen = std::size(regions);
    a.categoryAnyofMask = kPageIsPresent | kPageIsSwapped;
    if (privateOnly) {  // (categories ^ inverted) & mask == mask: FILE must be clear
      a.categoryInverted = kPageIsFile;
      a.categoryMask = kPageIsFile;
    }
    a.returnMask = kPageIsPresent | kPageIsSwapped;
    int n = ioctl(fd_, kPagemapScan, &a);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) {
        ioctlOk_ = false;  // kernel before 6.7
        return false;
      }
      failErrno(fmt::format("PAGEMAP_SCAN of pid {}", pid_));
    }
    for (int i = 0; i < n; i++) append(out, regions[i].start, regions[i].end);
    // walk_end is where the kernel stopped: the end, or where the region
    // buffer filled up.
    if (a.walkEnd <= pos) break;  // no progress: do not loop forever
    pos = a.walkEnd;
  }
  return true;
}

void PagemapScanner::scanClassic(uint64_t start, uint64_t end, bool privateOnly,
                                 std::vector<PageRange>& out) {
  constexpr size_t kEntries = 8192;  // 64 KiB of pagemap per pread
  std::vector<uint64_t> buf(kEntries);
  uint64_t page = start / kPageSize, last = end / kPageSize;
  while (page < last) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kEntries, last - page));
    ssize_t r = pread(fd_, buf.data(), want * 8, static_cast<off_t>(page * 8));
    if (r < 0) {
      if (errno == EINTR) continue;
      failErrno(fmt::format("cannot read /proc/{}/pagemap", pid_));
    }
    size_t got = static_cast<size_t>(r) / 8;
    if (got == 0) break;
    for (size_t i = 0; i < got; i++)
      if ((buf[i] & (kPmPresent | kPmSwapped)) && !(privateOnly && (buf[i] & kPmFileOrShared)))
        append(out, (page + i) * kPageSize, (page + i + 1) * kPageSize);
    page += got;
  }
}

}  // namespace gms::proc
