// LiveProcess: a running process as a Target. Reads with process_vm_readv and
// falls back to /proc/PID/mem; mappings come from /proc/PID/maps. It never
// writes target memory and never stops the process by itself: stopping is
// control/'s job (control::Freezer), and a read of a running process may be
// torn. Its memory is in one of three modes:
//  - running: every read goes to the process;
//  - frozen (setFrozen(true), the caller has stopped it): reads are cached per
//    page, since nothing can change; invalidate() drops the cache;
//  - snapshot (takeSnapshot(), the caller has stopped it): every page that
//    holds data in every readable mapping is copied into our memory in a few
//    large reads (the resident and swapped pages, found with pagemap), and
//    from then on every read is served from that copy, so the process may run
//    again while we decode the moment it was stopped at. The copy is complete
//    by construction: an address outside the readable mappings of that moment
//    faults, a page of an anonymous mapping that held nothing reads as zero
//    (what the process would have read), and the only bytes still read from
//    the process are the never-loaded pages of read-only private file
//    mappings, whose content is the file's and cannot change while mapped
//    (a page the process wrote — a private copy — is present, so it is in the
//    copy). Shared and writable file mappings are copied whole.
// prepareSnapshot() sizes and pre-faults the copy's buffer while the process
// still runs, so that the stop lasts only as long as the copying itself.
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
  std::string exePath() const override;  // readlink /proc/PID/exe
  std::vector<ThreadState> threads()
      const override;  // tids from /proc/PID/task; regs only via setThreadStates
  std::string describe() const override;

  // Registers captured by control while the threads were stopped.
  void setThreadStates(std::vector<ThreadState> t);
  // While frozen, reads are cached page by page; unfreezing drops the cache
  // (and any snapshot).
  void setFrozen(bool frozen);

  // The bytes a snapshot would copy now (resident pages of the readable
  // mappings, whole shared and writable file mappings), measured while the
  // process runs; reserves and pre-faults that much memory (plus slack) for
  // the copy, unless the estimate exceeds maxBytes. Returns the estimate.
  uint64_t prepareSnapshot(uint64_t maxBytes = UINT64_MAX);
  // Copies the memory of the stopped process (see above) and switches reads
  // to the copy until dropSnapshot() or setFrozen(). Returns false and
  // changes nothing when the copy would exceed maxBytes (then decode while
  // frozen instead).
  bool takeSnapshot(uint64_t maxBytes);
  void dropSnapshot();
  bool hasSnapshot() const;
  uint64_t snapshotBytes() const;  // bytes copied by the current snapshot

 private:
  LiveProcess() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gms
