// Session: what a command works on — a live process or a core, its
// executable, and the Program built from the two. Also owns stopping a live
// target for the duration of a read (Frozen), so that no command can forget
// to resume it.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "binary/binary.h"
#include "control/freezer.h"
#include "goruntime/program.h"
#include "target/core_file.h"
#include "target/live_process.h"

namespace gms {

struct TargetOptions {
  int pid = 0;
  std::string core;
  std::string exe;
  std::string debugFile;  // --debug-file: DWARF and symbols from here
  bool noStop = false;
  bool verbose = false;
};

class Session {
 public:
  // Throws Error with a one-line message for every bad input: no such pid,
  // unreadable/truncated core, missing executable, mismatched build, not Go.
  static std::unique_ptr<Session> open(const TargetOptions& o);

  Target& target() { return *target_; }
  LiveProcess* live() { return live_; }
  CoreFile* core() { return core_; }
  const Binary& binary() const { return *binary_; }
  const Program& program() const { return *program_; }
  const TargetOptions& options() const { return opts_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  TargetOptions opts_;
  std::unique_ptr<Target> target_;
  LiveProcess* live_ = nullptr;
  CoreFile* core_ = nullptr;
  std::unique_ptr<Binary> binary_;
  std::unique_ptr<Memory> underlay_;  // the executable's file image at its load address
  std::unique_ptr<Program> program_;
  std::vector<std::string> warnings_;
};

// How a read of a live target sees one consistent moment:
//  - Stop: the target stays stopped until release() (reads cached per page);
//  - Snapshot: stopped only while its memory is copied (LiveProcess snapshot),
//    then resumed; reads are served from the copy until release(). Falls back
//    to Stop when the copy would exceed snapshotBudget(). Right for big
//    decodes; a read of a few pages (MemStats) is cheaper with Stop, which
//    copies nothing.
enum class FreezeMode { Stop, Snapshot };

// Bytes a snapshot may copy: $GOMEMSCOPE_SNAPSHOT_MAX (bytes, or with a k/m/g
// suffix; 0 disables snapshots), else half the available memory, at most 4 GiB.
uint64_t snapshotBudget();

// Stops a live target (unless --no-stop) for the lifetime of the object and
// caches its memory meanwhile; a no-op for cores. With FreezeMode::Snapshot the target may already
// run again when the constructor returns (then freezer() is null and stopped() false), but reads
// still see the stopped moment until release().
class Frozen {
 public:
  explicit Frozen(Session& s, FreezeMode mode = FreezeMode::Stop);
  ~Frozen();
  // Resumes now (if still stopped) and drops any snapshot; returns how long
  // the target was stopped.
  std::chrono::nanoseconds release();
  const Freezer* freezer() const { return freezer_.get(); }
  bool stopped() const { return freezer_ != nullptr; }
  // Bytes copied when reads are served from a snapshot; 0 otherwise.
  uint64_t snapshotBytes() const { return snapshotBytes_; }
  // Why a snapshot was not taken in Snapshot mode ("" if it was, or not asked for).
  const std::string& noSnapshotReason() const { return noSnapshot_; }

 private:
  Session& s_;
  std::unique_ptr<Freezer> freezer_;
  std::chrono::nanoseconds stoppedFor_{0};
  uint64_t snapshotBytes_ = 0;
  std::string noSnapshot_;
  bool snapshotTaken_ = false;
};

}  // namespace gms
