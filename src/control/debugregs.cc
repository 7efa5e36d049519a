#include "control/debugregs.h"

#include <fmt/format.h>

#include "common/error.h"

namespace gms {

std::string validate(const HwBreakpoint& bp) {
  if (bp.kind == BreakKind::Execute) {
    if (bp.len != 1) return fmt::format("an execution breakpoint has length 1, not {}", bp.len);
    return "";
  }
  if (bp.len != 1 && bp.len != 2 && bp.len != 4 && bp.len != 8)
    return fmt::format("a watchpoint covers 1, 2, 4 or 8 bytes, not {}", bp.len);
  if (bp.addr % bp.len != 0)
    return fmt::format("address {:#x} is not aligned to {} bytes (hardware watchpoints must be)",
                       bp.addr, bp.len);
  // User addresses only: the kernel refuses breakpoints on kernel addresses.
  if (bp.addr + bp.len > (1ull << 47))
    return fmt::format("address {:#x} is not a user address", bp.addr);
  return "";
}

uint64_t lenBits(uint8_t len) {
  switch (len) {
    case 2:
      return 0b01;
    case 8:
      return 0b10;
    case 4:
      return 0b11;
    default:
      return 0b00;
  }
}

uint64_t rwBits(BreakKind kind) {
  switch (kind) {
    case BreakKind::Execute:
      return 0b00;
    case BreakKind::Write:
      return 0b01;
    case BreakKind::ReadWrite:
      return 0b11;
  }
  return 0;
}

std::optional<int> DebugRegs::add(const HwBreakpoint& bp) {
  if (std::string why = validate(bp); !why.empty()) fail(ErrorKind::Usage, "{}", why);
  for (int i = 0; i < kDebugSlots; i++) {
    if (!slots_[size_t(i)]) {
      slots_[size_t(i)] = bp;
      return i;
    }
  }
  return std::nullopt;
}

void DebugRegs::clear(int slot) { slots_.at(size_t(slot)).reset(); }

int DebugRegs::used() const {
  int n = 0;
  for (const auto& s : slots_) n += s ? 1 : 0;
  return n;
}

uint64_t DebugRegs::address(int i) const {
  const auto& s = slots_.at(size_t(i));
  return s ? s->addr : 0;
}

uint64_t DebugRegs::dr7() const {
  uint64_t v = 0;
  for (int i = 0; i < kDebugSlots; i++) {
    const auto& s = slots_[size_t(i)];
    if (!s) continue;
    v |= 1ull << (2 * i);  // L_i: local enable (Linux manages both as per-thread state)
    v |= rwBits(s->kind) << (16 + 4 * i);
    v |= lenBits(s->kind == BreakKind::Execute ? 1 : s->len) << (18 + 4 * i);
  }
  return v;
}

DebugRegs DebugRegs::decode(uint64_t dr7, const std::array<uint64_t, kDebugSlots>& addrs) {
  DebugRegs r;
  for (int i = 0; i < kDebugSlots; i++) {
    if (!((dr7 >> (2 * i)) & 0b11)) continue;  // neither L_i nor G_i
    HwBreakpoint bp;
    bp.addr = addrs[size_t(i)];
    uint64_t rw = (dr7 >> (16 + 4 * i)) & 0b11;
    uint64_t len = (dr7 >> (18 + 4 * i)) & 0b11;
    bp.kind = rw == 0b00   ? BreakKind::Execute
              : rw == 0b01 ? BreakKind::Write
                           : BreakKind::ReadWrite;
    // rw == 0b10 is I/O breakpoints (CR4.DE): never set by Linux for user space; shown as
    // ReadWrite.
    bp.len = bp.kind == BreakKind::Execute ? 1
             : len == 0b00                 ? 1
             : len == 0b01                 ? 2
             : len == 0b10                 ? 8
                                           : 4;
    r.slots_[size_t(i)] = bp;
  }
  return r;
}

std::vector<int> hitSlots(uint64_t dr6) {
  std::vector<int> out;
  for (int i = 0; i < kDebugSlots; i++)
    if (dr6 & (1ull << i)) out.push_back(i);
  return out;
}

}  // namespace gms
