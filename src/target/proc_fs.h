// /proc helpers shared by LiveProcess (target/) and the freezer and core
// writer (control/): the few /proc/PID files gomemscope reads, parsed once
// here so that every caller agrees on what a mapping or a thread is.
//
// Every function reads the file at call time (nothing is cached): a live
// process changes under us unless it is frozen, and the callers decide when a
// snapshot is good enough. Errors are turned into one-line gms::Error values:
// a vanished process is NotFound, a refused open is Permission.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "target/memory.h"

namespace gms::proc {

// One line of /proc/PID/maps with the details Mapping leaves out but the core
// writer needs to decide what to save (shared vs private, file vs anonymous).
struct MapsEntry {
  Mapping m;
  bool shared = false;   // 's' in the permissions: MAP_SHARED
  uint64_t inode = 0;
  std::string dev;       // "fd:01"

  // Anonymous memory: never backed by a file, so an untouched page reads as
  // zero. "[heap]", "[stack]", "[anon:name]" and "" are anonymous; "[vdso]" and
  // friends are kernel-provided and are not.
  bool anonymous() const;
  // Kernel-provided pages that must not (or need not) be read: [vvar],
  // [vvar_vclock], [vsyscall].
  bool special() const;
  bool fileBacked() const { return inode != 0 && !m.path.empty() && m.path[0] == '/'; }
};

// Parses the text of a maps file. Lines that do not parse are skipped (the
// format is the kernel's, but a future field should not make us fail).
std::vector<MapsEntry> parseMaps(const std::string& text);
// Reads and parses /proc/PID/maps.
std::vector<MapsEntry> readMaps(int pid);

// The thread ids in /proc/PID/task, ascending. NotFound if the process is gone.
std::vector<int> listTasks(int pid);

// True when /proc/PID exists (the process has not been reaped).
bool processExists(int pid);

// Reads a whole /proc file. Throws NotFound (ENOENT/ESRCH), Permission
// (EACCES/EPERM) or Os with the path in the message.
std::string readFile(const std::string& path);
// Like readFile but returns nullopt on any error.
std::optional<std::string> tryReadFile(const std::string& path);

// The value of "Key:" in /proc/PID/status (e.g. "TracerPid"), trimmed.
std::optional<std::string> statusField(int pid, const std::string& key);

// The hint appended to every ptrace/permission refusal, in one place.
std::string ptraceHint();

}  // namespace gms::proc
