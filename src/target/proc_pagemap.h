// PagemapScanner: which pages of another process actually hold data.
//
// A Go process reserves far more address space than it touches (arena hints,
// heap bitmaps, the 64-bit arena index), and a sanitizer runtime reserves
// terabytes of shadow. Saving or scanning all of it is out of the question, so
// the core writer asks the kernel which pages are present in RAM or swapped
// out; everything else in an anonymous mapping was never written (or was
// given back with MADV_DONTNEED) and reads as zero.
//
// Two kernel interfaces answer that:
//  - the PAGEMAP_SCAN ioctl (Linux 6.7+) returns page ranges directly and
//    skips empty page tables, so even a terabyte reservation costs microseconds;
//  - the classic /proc/PID/pagemap file, 8 bytes per page (bit 63 present,
//    bit 62 swapped; the PFN bits read as zero without CAP_SYS_ADMIN, which is
//    fine: only the two flag bits are used). Cost is linear in the range.
// The ioctl is tried first; an ENOTTY/EINVAL switches to the file for good.
#pragma once

#include <cstdint>
#include <vector>

namespace gms::proc {

struct PageRange {
  uint64_t start = 0, end = 0;  // page aligned, end exclusive
};

class PagemapScanner {
 public:
  // Throws Error(Permission/NotFound/Os) if /proc/PID/pagemap cannot be opened.
  explicit PagemapScanner(int pid);
  ~PagemapScanner();
  PagemapScanner(const PagemapScanner&) = delete;
  PagemapScanner& operator=(const PagemapScanner&) = delete;

  // The present-or-swapped parts of [start, end) (rounded out to pages),
  // ascending and merged.
  std::vector<PageRange> resident(uint64_t start, uint64_t end);
  // Only the private copies among them: pages of a private file mapping that
  // the process wrote (copy-on-write), e.g. a PIE's relocated RELRO data.
  // The file does not hold those bytes, so a core must.
  std::vector<PageRange> privateCopies(uint64_t start, uint64_t end);

  // Use the classic pagemap file even if the ioctl works (for tests).
  void forceClassic() { ioctlOk_ = false; }
  bool usingIoctl() const { return ioctlOk_; }

 private:
  std::vector<PageRange> scan(uint64_t start, uint64_t end, bool privateOnly);
  bool scanIoctl(uint64_t start, uint64_t end, bool privateOnly, std::vector<PageRange>& out);
  void scanClassic(uint64_t start, uint64_t end, bool privateOnly, std::vector<PageRange>& out);

  int pid_;
  int fd_ = -1;
  bool ioctlOk_ = true;
};

}  // namespace gms::proc
