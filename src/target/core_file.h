// CoreFile: an ELF core dump as a Target.
//
// The core is mmap'd. Its PT_LOAD segments are the top layer; where a segment
// saved fewer bytes than it spans (p_filesz < p_memsz) or an address is in no
// segment, the read falls through to the underlay — the executable's own
// file-backed segments (Binary::fileMemory()) — and faults if that does not
// hold it either ("not saved in core"). Threads come from NT_PRSTATUS, file
// mappings from NT_FILE, the executable path from NT_FILE + AT_ENTRY (NT_AUXV).
//
// A core written by `gomemscope core` carries a note (owner "GOMEMSCOPE",
// type NT_GMS_ZEROFILL) saying that the unsaved tails of its segments were
// never-touched anonymous memory; those read as zeroes (except in segments
// without read permission, which fault as they did in the process).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "target/memory.h"

namespace gms {

inline constexpr uint32_t NT_GMS_ZEROFILL = 0x474d5301;

struct CoreFileMapping {   // one NT_FILE entry
  uint64_t start = 0, end = 0, fileOffset = 0;
  std::string path;
};

class CoreFile : public Target {
 public:
  // Throws Error(Os) if unreadable, Error(Corrupt) if not an ELF core (names
  // what is wrong), Error(Unsupported) for a core of another architecture.
  // A core whose segments run past the end of the file (truncated) still
  // opens: see warnings(); reads of the lost bytes fault.
  static std::unique_ptr<CoreFile> open(const std::string& path);
  ~CoreFile() override;

  // The layer read where the core saved nothing (normally the executable's
  // file image). May be set after open(), since the executable path is found
  // in the core itself. Not owned.
  void setUnderlay(const Memory* underlay);

  const Memory& memory() const override;
  bool isLive() const override { return false; }
  int pid() const override;                       // from NT_PRPSINFO/NT_PRSTATUS, 0 if none
  std::string exePath() const override;           // "" if the core does not say
  std::vector<ThreadState> threads() const override;
  std::string describe() const override;

  const std::vector<CoreFileMapping>& fileMappings() const;
  bool zeroFill() const;                          // written by gomemscope core
  // Problems that did not prevent opening (truncation, malformed notes), one
  // line each, for the CLI to show.
  std::vector<std::string> warnings() const;

 private:
  CoreFile() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gms
