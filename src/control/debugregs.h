// Debug registers: the pure bit arithmetic of x86-64 hardware breakpoints and
// watchpoints (Intel SDM vol. 3, 18.2), with no system calls.
//
// A CPU has four address registers DR0-DR3 and one control register DR7. Each
// slot i is either an execution breakpoint (fires before the instruction at the
// address runs) or a data watchpoint on 1, 2, 4 or 8 bytes aligned to their
// size (fires after a write, or a read or write, touching those bytes). DR7
// holds, per slot, a local-enable bit (bit 2i), two R/W bits (16+4i) and two
// LEN bits (18+4i). On a hit the CPU sets bit i of DR6 (the status register)
// and raises #DB, which Linux turns into a SIGTRAP for the thread (or a ptrace
// stop for a tracee).
//
// DebugRegs is the desired state of the four slots; dr7() encodes it, decode()
// reads it back, hitSlots() reads DR6. control/watcher applies it to threads.
// Delve keeps the same split (pkg/proc/amd64util/debugregs.go).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gms {

enum class BreakKind : uint8_t {
  Execute,    // R/W = 00: instruction fetch (len must be 1)
  Write,      // R/W = 01: data writes
  ReadWrite,  // R/W = 11: data reads or writes (not instruction fetches)
};

struct HwBreakpoint {
  uint64_t addr = 0;
  BreakKind kind = BreakKind::Write;
  uint8_t len = 8;  // 1, 2, 4 or 8; 1 for Execute
};

constexpr int kDebugSlots = 4;

// DR6 status bits.
constexpr uint64_t kDr6HitMask = 0xf;            // B0-B3: slot i fired
constexpr uint64_t kDr6SingleStep = 1ull << 14;  // BS

// Empty string if the breakpoint can be put in a slot, else why not
// ("address 0x... is not aligned to 8 bytes", "length 3 is not 1, 2, 4 or 8", ...).
std::string validate(const HwBreakpoint& bp);

// The 2-bit LEN encoding of a length (1->00, 2->01, 8->10, 4->11).
uint64_t lenBits(uint8_t len);
uint64_t rwBits(BreakKind kind);

class DebugRegs {
 public:
  // Puts bp in the first free slot; returns the slot, or nullopt when all four
  // are used. Throws Error(Usage) if validate(bp) fails.
  std::optional<int> add(const HwBreakpoint& bp);
  void clear(int slot);
  const std::optional<HwBreakpoint>& slot(int i) const { return slots_[size_t(i)]; }
  int used() const;

  // The value of DR0..DR3 (0 for a free slot) and DR7.
  uint64_t address(int i) const;
  uint64_t dr7() const;

  // Reads a DR7 value (and the addresses) back into slots; bits that no slot
  // uses (GE/LE, global enables) are ignored.
  static DebugRegs decode(uint64_t dr7, const std::array<uint64_t, kDebugSlots>& addrs);

 private:
  std::array<std::optional<HwBreakpoint>, kDebugSlots> slots_;
};

// Slots whose hit bit is set in DR6, in slot order.
std::vector<int> hitSlots(uint64_t dr6);

}  // namespace gms
