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

// Stops a live target (unless --no-stop) for the lifetime of the object and
// caches its memory meanwhile; a no-op for cores.
class Frozen {
 public:
  explicit Frozen(Session& s);
  ~Frozen();
  // Resumes now; returns how long the target was stopped.
  std::chrono::nanoseconds release();
  const Freezer* freezer() const { return freezer_.get(); }

 private:
  Session& s_;
  std::unique_ptr<Freezer> freezer_;
};

}  // namespace gms
