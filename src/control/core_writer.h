// Writes an ELF core of a frozen live process: what gdb, Delve and gomemscope
// read. Skips address space that holds no pages (Go reserves far more than it
// touches): only pages present or swapped (per /proc/PID/pagemap) are saved,
// read-only file-backed mappings are left to the executable and libraries
// (except their first page, which holds the ELF headers and build-ID notes),
// and a NT_GMS_ZEROFILL note records that what was not saved from an anonymous
// mapping was never touched. Notes: NT_PRSTATUS (+NT_FPREGSET) per thread,
// NT_PRPSINFO, NT_AUXV, NT_FILE. The file is created with mode 0600: a core
// holds every secret the process had.
#pragma once

#include <string>

#include "control/freezer.h"
#include "target/live_process.h"

namespace gms {

struct CoreWriteStats {
  uint64_t fileBytes = 0;      // size of the written core
  uint64_t savedBytes = 0;     // memory bytes saved
  uint64_t skippedBytes = 0;   // mapped bytes not saved (untouched or file-backed)
  uint64_t segments = 0;
  uint64_t threads = 0;
  uint64_t unreadableBytes = 0; // present per pagemap but unreadable; left out of the core
};

CoreWriteStats writeCore(const LiveProcess& proc, const Freezer& frozen, const std::string& outPath);

}  // namespace gms
