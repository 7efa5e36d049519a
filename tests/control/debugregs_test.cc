// Debug-register encoding (Intel SDM vol. 3 18.2.4): pure bit arithmetic,
// checked against hand-computed DR7 values.
#include "control/debugregs.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace gms {
namespace {

TEST(DebugRegs, EmptyIsZero) {
  DebugRegs r;
  EXPECT_EQ(r.dr7(), 0u);
  EXPECT_EQ(r.used(), 0);
  for (int i = 0; i < kDebugSlots; i++) EXPECT_EQ(r.address(i), 0u);
}

TEST(DebugRegs, LenAndRwEncoding) {
  EXPECT_EQ(lenBits(1), 0b00u);
  EXPECT_EQ(lenBits(2), 0b01u);
  EXPECT_EQ(lenBits(8), 0b10u);
  EXPECT_EQ(lenBits(4), 0b11u);
  EXPECT_EQ(rwBits(BreakKind::Execute), 0b00u);
  EXPECT_EQ(rwBits(BreakKind::Write), 0b01u);
  EXPECT_EQ(rwBits(BreakKind::ReadWrite), 0b11u);
}

TEST(DebugRegs, SlotZeroWrite8) {
  DebugRegs r;
  ASSERT_EQ(r.add({0x1000, BreakKind::Write, 8}), 0);
  // L0 (bit 0) | RW0=01 (bits 16-17) | LEN0=10 (bits 18-19)
  EXPECT_EQ(r.dr7(), 0x1u | (0b01u << 16) | (0b10u << 18));
  EXPECT_EQ(r.dr7(), 0x90001u);
  EXPECT_EQ(r.address(0), 0x1000u);
}

TEST(DebugRegs, AllFourSlots) {
  DebugRegs r;
  EXPECT_EQ(r.add({0x2000, BreakKind::Write, 8}), 0);
  EXPECT_EQ(r.add({0x2009, BreakKind::Write, 1}), 1);
  EXPECT_EQ(r.add({0x2010, BreakKind::ReadWrite, 4}), 2);
  EXPECT_EQ(r.add({0x401000, BreakKind::Execute, 1}), 3);
  EXPECT_EQ(r.add({0x3000, BreakKind::Write, 8}), std::nullopt) << "only four slots";
  uint64_t want = 0x1 | 0x4 | 0x10 | 0x40;    // L0..L3
  want |= (0b01ull << 16) | (0b10ull << 18);  // slot 0: write, 8
  want |= (0b01ull << 20) | (0b00ull << 22);  // slot 1: write, 1
  want |= (0b11ull << 24) | (0b11ull << 26);  // slot 2: rw, 4
  want |= (0b00ull << 28) | (0b00ull << 30);  // slot 3: exec
  EXPECT_EQ(r.dr7(), want);
  EXPECT_EQ(r.used(), 4);
  r.clear(1);
  EXPECT_EQ(r.used(), 3);
  EXPECT_EQ(r.dr7() & (0xfull << 20), 0u);
  EXPECT_EQ(r.dr7() & 0x4, 0u);
  EXPECT_EQ(r.add({0x5002, BreakKind::Write, 2}), 1) << "a freed slot is reused";
}

TEST(DebugRegs, DecodeRoundTrip) {
  DebugRegs r;
  r.add({0x7000, BreakKind::Write, 2});
  r.add({0x7008, BreakKind::ReadWrite, 8});
  r.add({0x7004, BreakKind::Write, 4});
  std::array<uint64_t, kDebugSlots> addrs{};
  for (int i = 0; i < kDebugSlots; i++) addrs[size_t(i)] = r.address(i);
  DebugRegs d = DebugRegs::decode(r.dr7(), addrs);
  EXPECT_EQ(d.dr7(), r.dr7());
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(d.slot(i));
    EXPECT_EQ(d.slot(i)->addr, r.slot(i)->addr);
    EXPECT_EQ(d.slot(i)->len, r.slot(i)->len);
    EXPECT_EQ(d.slot(i)->kind, r.slot(i)->kind);
  }
  EXPECT_FALSE(d.slot(3));
  // A global-enable bit alone (G2, bit 5) also counts as enabled.
  DebugRegs g = DebugRegs::decode(1ull << 5 | (0b01ull << 24), {0, 0, 0x10, 0});
  ASSERT_TRUE(g.slot(2));
  EXPECT_EQ(g.slot(2)->kind, BreakKind::Write);
  EXPECT_EQ(g.slot(2)->len, 1);
}

TEST(DebugRegs, AlignmentAndLength) {
  EXPECT_EQ(validate({0x1000, BreakKind::Write, 8}), "");
  EXPECT_NE(validate({0x1004, BreakKind::Write, 8}), "");
  EXPECT_EQ(validate({0x1004, BreakKind::Write, 4}), "");
  EXPECT_NE(validate({0x1002, BreakKind::Write, 4}), "");
  EXPECT_EQ(validate({0x1002, BreakKind::Write, 2}), "");
  EXPECT_NE(validate({0x1001, BreakKind::Write, 2}), "");
  EXPECT_EQ(validate({0x1001, BreakKind::Write, 1}), "");
  EXPECT_NE(validate({0x1000, BreakKind::Write, 3}), "");
  EXPECT_NE(validate({0x1000, BreakKind::Write, 16}), "");
  EXPECT_NE(validate({0x1000, BreakKind::Execute, 8}), "");
  EXPECT_EQ(validate({0x1003, BreakKind::Execute, 1}), "") << "code has no alignment rule";
  EXPECT_NE(validate({0xffff800000000000ull, BreakKind::Write, 8}), "") << "kernel address";
  DebugRegs r;
  EXPECT_THROW(r.add({0x1004, BreakKind::Write, 8}), Error);
  EXPECT_EQ(r.used(), 0);
}

TEST(DebugRegs, Dr6Hits) {
  EXPECT_TRUE(hitSlots(0).empty());
  EXPECT_EQ(hitSlots(0x1), std::vector<int>{0});
  EXPECT_EQ(hitSlots(0x4), std::vector<int>{2});
  EXPECT_EQ(hitSlots(0x9), (std::vector<int>{0, 3}));
  // Reserved-as-one bits (0xffff0ff0) and BS do not count as hits.
  EXPECT_EQ(hitSlots(0xffff0ff0ull | kDr6SingleStep | 0x2), std::vector<int>{1});
}

}  // namespace
}  // namespace gms
