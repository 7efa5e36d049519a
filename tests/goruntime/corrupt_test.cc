// Corrupted structures, through synthetic memory laid out with the real DWARF
// types of fixture binaries: every case yields the entries that can be read
// plus a named problem — never a hang, a crash or an exception.
#include <cstring>

#include "binary/binary.h"
#include "goruntime/list.h"
#include "goruntime/maps.h"
#include "goruntime/program.h"
#include "support/fixture.h"
#include "target/memory.h"

namespace gms::test {
namespace {

// A struct image written field by field, by name, with the DWARF layout.
struct Image {
  const Type* t;
  std::vector<uint8_t> bytes;
  explicit Image(const Type* type) : t(type), bytes(type->size) {}
  Image& set(const std::string& field, uint64_t v) {
    const Field* f = t->field(field);
    EXPECT_NE(f, nullptr) << t->name << "." << field;
    if (f) std::memcpy(bytes.data() + f->offset, &v, f->type ? f->type->size : 8);
    return *this;
  }
};

bool hasProblem(const std::vector<std::string>& ps, const std::string& needle) {
  for (const auto& p : ps)
    if (p.find(needle) != std::string::npos) return true;
  return false;
}

std::string dump(const std::vector<std::string>& ps) {
  std::string s;
  for (const auto& p : ps) s += "\n  " + p;
  return s;
}

struct Fixture {
  std::unique_ptr<Binary> bin;
  FakeTarget target;
  std::unique_ptr<Program> prog;
  const Type* mapType = nullptr;  // map[int64]int64
};

std::unique_ptr<Fixture> open(const Toolchain& tc) {
  auto f = std::make_unique<Fixture>();
  f->bin = Binary::open(buildFixture(tc, "maps"));
  f->prog = std::make_unique<Program>(f->target, *f->bin);
  auto g = f->prog->types().findGlobal("main.MSmall8");
  EXPECT_TRUE(g.has_value());
  f->mapType = g ? g->type : nullptr;
  return f;
}

TEST(CorruptClassic, AbsurdBIsAProblemNotAHang) {
  const Toolchain& tc = toolchain("go1.19");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto f = open(tc);
  Image h(f->mapType->mapHeader);
  h.set("count", 5).set("B", 255).set("buckets", 0x200000);
  f->target.mem.add(0x100000, h.bytes);
  MapSummary s = walkMap(*f->prog, f->mapType, 0x100000, {}, nullptr);
  EXPECT_TRUE(hasProblem(s.problems, "B=255 is impossible")) << dump(s.problems);
  EXPECT_EQ(s.found, 0u);
}

TEST(CorruptClassic, OverflowCycleAndWildPointerKeepReadableEntries) {
  const Toolchain& tc = toolchain("go1.19");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto f = open(tc);
  const Type* bucket = f->mapType->mapHeader->field("buckets")->type->elem;
  uint64_t bsz = bucket->size;
  uint64_t keys = bucket->field("keys")->offset, vals = bucket->field("values")->offset;
  uint64_t ovf = bucket->field("overflow")->offset;
  // B=1: bucket 0 has two entries and an overflow bucket that points back to
  // itself; bucket 1 has one entry and an overflow pointer into unmapped memory.
  std::vector<uint8_t> arr(2 * bsz), extra(bsz);
  auto entry = [&](std::vector<uint8_t>& b, uint64_t base, int slot, int64_t k, int64_t v) {
    b[base + slot] = 0x80;  // tophash >= minTopHash: full
    std::memcpy(&b[base + keys + 8 * slot], &k, 8);
    std::memcpy(&b[base + vals + 8 * slot], &v, 8);
  };
  entry(arr, 0, 0, 1, 10);
  entry(arr, 0, 1, 2, 20);
  entry(arr, bsz, 0, 3, 30);
  entry(extra, 0, 0, 4, 40);
  uint64_t arrAddr = 0x200000, extraAddr = 0x300000, wild = 0xdead0000;
  std::memcpy(&arr[ovf], &extraAddr, 8);
  std::memcpy(&arr[bsz + ovf], &wild, 8);
  std::memcpy(&extra[ovf], &extraAddr, 8);  // cycle
  Image h(f->mapType->mapHeader);
  h.set("count", 4).set("B", 1).set("buckets", arrAddr);
  f->target.mem.add(0x100000, h.bytes);
  f->target.mem.add(arrAddr, arr);
  f->target.mem.add(extraAddr, extra);
  std::vector<int64_t> got;
  MapSummary s = walkMap(*f->prog, f->mapType, 0x100000, {}, [&](uint64_t k, uint64_t) {
    got.push_back(f->target.mem.readT<int64_t>(k));
    return true;
  });
  EXPECT_TRUE(hasProblem(s.problems, "loops")) << dump(s.problems);
  EXPECT_TRUE(hasProblem(s.problems, "overflow bucket unreadable")) << dump(s.problems);
  EXPECT_EQ(got, (std::vector<int64_t>{1, 2, 4, 3}));
}

TEST(CorruptClassic, UnreadableHeaderAndBucketArray) {
  const Toolchain& tc = toolchain("go1.19");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto f = open(tc);
  MapSummary s = walkMap(*f->prog, f->mapType, 0x7777000, {}, nullptr);
  EXPECT_TRUE(hasProblem(s.problems, "map header unreadable")) << dump(s.problems);
  Image h(f->mapType->mapHeader);
  h.set("count", 100).set("B", 4).set("buckets", 0x900000);
  f->target.mem.add(0x100000, h.bytes);
  s = walkMap(*f->prog, f->mapType, 0x100000, {}, nullptr);
  EXPECT_TRUE(hasProblem(s.problems, "unreadable")) << dump(s.problems);
  EXPECT_TRUE(hasProblem(s.problems, "header count is 100 but 0 entries")) << dump(s.problems);
}

// Swiss: a directory laid out by hand.
struct SwissParts {
  const Type *map, *table, *group;
  uint64_t slotSize, slotsOff, keyOff, elemOff;
};

SwissParts swissParts(const Type* mapType) {
  SwissParts p;
  p.map = mapType->mapHeader;
  p.table = p.map->field("dirPtr")->type->elem->elem;
  p.group = p.table->field("groups")->type->field("data")->type->elem;
  const Field* slots = p.group->field("slots");
  p.slotsOff = slots->offset;
  p.slotSize = slots->type->elem->size;
  p.keyOff = slots->type->elem->field("key")->offset;
  p.elemOff = slots->type->elem->field("elem")->offset;
  return p;
}

// A table with one group (capacity 8) holding keys [k0, k0+n).
uint64_t addTable(Fixture& f, const SwissParts& sp, uint64_t addr, int64_t index, uint64_t depth,
                  int64_t k0, int n) {
  uint64_t groupAddr = addr + 0x1000;
  std::vector<uint8_t> g(sp.group->size);
  uint64_t ctrl = 0x8080808080808080ull;
  for (int i = 0; i < n; i++) {
    ctrl &= ~(0xffull << (8 * i));
    ctrl |= uint64_t(0x11) << (8 * i);
    int64_t k = k0 + i, v = -(k0 + i);
    std::memcpy(&g[sp.slotsOff + i * sp.slotSize + sp.keyOff], &k, 8);
    std::memcpy(&g[sp.slotsOff + i * sp.slotSize + sp.elemOff], &v, 8);
  }
  std::memcpy(&g[0], &ctrl, 8);
  Image t(sp.table);
  t.set("used", n).set("capacity", 8).set("growthLeft", 7 - n).set("localDepth", depth).set("index", index);
  const Field* groups = sp.table->field("groups");
  uint64_t mask = 0;
  std::memcpy(&t.bytes[groups->offset + groups->type->field("data")->offset], &groupAddr, 8);
  std::memcpy(&t.bytes[groups->offset + groups->type->field("lengthMask")->offset], &mask, 8);
  f.target.mem.add(addr, t.bytes);
  f.target.mem.add(groupAddr, g);
  return addr;
}

TEST(CorruptSwiss, DirLenNotAPowerOfTwo) {
  const Toolchain& tc = toolchain("go1.26");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto f = open(tc);
  Image h(f->mapType->mapHeader);
  h.set("used", 3).set("dirPtr", 0x200000).set("dirLen", 3).set("globalDepth", 2);
  f->target.mem.add(0x100000, h.bytes);
  MapSummary s = walkMap(*f->prog, f->mapType, 0x100000, {}, nullptr);
  EXPECT_TRUE(hasProblem(s.problems, "dirLen=3 is impossible")) << dump(s.problems);
}

TEST(CorruptSwiss, TablesSharedWronglyAreReportedAndReadOnce) {
  const Toolchain& tc = toolchain("go1.26");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto f = open(tc);
  SwissParts sp = swissParts(f->mapType);
  // globalDepth 2: four slots. Table A (localDepth 1) correctly fills slots 0-1;
  // table B (localDepth 2) wrongly fills slots 2-3; slot 3 should be its own table.
  uint64_t A = addTable(*f, sp, 0x300000, 0, 1, 100, 3);
  uint64_t B = addTable(*f, sp, 0x400000, 2, 2, 200, 2);
  std::vector<uint64_t> dir = {A, A, B, B};
  std::vector<uint8_t> dirBytes(32);
  std::memcpy(dirBytes.data(), dir.data(), 32);
  f->target.mem.add(0x200000, dirBytes);
  Image h(f->mapType->mapHeader);
  h.set("used", 5).set("dirPtr", 0x200000).set("dirLen", 4).set("globalDepth", 2).set("globalShift", 62);
  f->target.mem.add(0x100000, h.bytes);
  std::vector<int64_t> keys;
  MapSummary s = walkMap(*f->prog, f->mapType, 0x100000, {}, [&](uint64_t k, uint64_t) {
    keys.push_back(f->target.mem.readT<int64_t>(k));
    return true;
  });
  EXPECT_EQ(keys, (std::vector<int64_t>{100, 101, 102, 200, 201}));
  EXPECT_EQ(s.tables.size(), 2u);
  EXPECT_TRUE(hasProblem(s.problems, "fills 2 directory slots, expected 1")) << dump(s.problems);
}

TEST(CorruptSwiss, WildTablePointerAndCountMismatch) {
  const Toolchain& tc = toolchain("go1.26");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto f = open(tc);
  SwissParts sp = swissParts(f->mapType);
  uint64_t A = addTable(*f, sp, 0x300000, 0, 1, 1, 4);
  std::vector<uint64_t> dir = {A, 0xbad0000};
  std::vector<uint8_t> dirBytes(16);
  std::memcpy(dirBytes.data(), dir.data(), 16);
  f->target.mem.add(0x200000, dirBytes);
  Image h(f->mapType->mapHeader);
  h.set("used", 9).set("dirPtr", 0x200000).set("dirLen", 2).set("globalDepth", 1).set("globalShift", 63);
  f->target.mem.add(0x100000, h.bytes);
  MapSummary s = walkMap(*f->prog, f->mapType, 0x100000, {}, nullptr);
  EXPECT_EQ(s.found, 4u);
  EXPECT_TRUE(hasProblem(s.problems, "unreadable")) << dump(s.problems);
  EXPECT_TRUE(hasProblem(s.problems, "header used is 9 but 4 entries")) << dump(s.problems);
}

// A header that breaks one of the runtime's own invariants is no map header:
// the check is named, nothing past the header is walked, and
// requirePlausibleMap refuses it (an address that holds a pointer to a good
// header is said to be a variable).
TEST(CorruptClassic, HeaderInvariantsNameTheFailedCheck) {
  const Toolchain& tc = toolchain("go1.19");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto f = open(tc);
  struct {
    uint64_t count, flags, B, buckets;
    const char* check;
  } cases[] = {
      {1, 0x30, 0, 0x200000, "flags=0x30 has bits the runtime never sets"},
      {100000, 0, 2, 0x200000, "count=100000 cannot fit 2^B=4 buckets"},
      {1, 0, 0, 0x200003, "buckets=0x200003 is not 8-byte aligned"},
      {3, 0, 0, 0, "count=3 but no bucket array"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.check);
    FakeTarget t;
    Program prog(t, *f->bin);
    Image h(f->mapType->mapHeader);
    h.set("count", c.count).set("flags", c.flags).set("B", c.B).set("buckets", c.buckets);
    t.mem.add(0x100000, h.bytes);
    MapSummary s = walkMap(prog, f->mapType, 0x100000, {}, nullptr);
    EXPECT_NE(s.invalidHeader.find(c.check), std::string::npos) << s.invalidHeader;
    EXPECT_EQ(s.found, 0u);
    EXPECT_THROW(requirePlausibleMap(prog, f->mapType, 0x100000, "0x100000"), Error);
  }
  // A word holding a pointer to a good (empty) header: "probably a variable".
  Image good(f->mapType->mapHeader);
  f->target.mem.add(0x600000, good.bytes);
  uint64_t slot = 0x600000;
  std::vector<uint8_t> slotBytes(8);
  std::memcpy(slotBytes.data(), &slot, 8);
  f->target.mem.add(0x700000, slotBytes);
  EXPECT_NO_THROW(requirePlausibleMap(*f->prog, f->mapType, 0x600000, "good"));
  EXPECT_NE(guessMapAddress(*f->prog, f->mapType, 0x700000).find("holds 0x600000"),
            std::string::npos);
}

TEST(CorruptSwiss, HeaderInvariantsNameTheFailedCheck) {
  const Toolchain& tc = toolchain("go1.26");
  GMS_REQUIRE_TOOLCHAIN(tc);
  auto f = open(tc);
  struct {
    uint64_t used, dirPtr, dirLen, globalDepth, writing;
    const char* check;
  } cases[] = {
      {3, 0x200000, 0, 0, 177, "writing=177 (a flag toggled between 0 and 1)"},
      {9, 0x200000, 0, 0, 0, "used=9 with dirLen=0"},
      {5000, 0x200000, 4, 2, 0, "used=5000 exceeds what 4 tables hold"},
      {1, 0x200004, 0, 0, 0, "dirPtr=0x200004 is not 8-byte aligned"},
      {2, 0, 0, 0, 0, "used=2 but no groups"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.check);
    FakeTarget t;
    Program prog(t, *f->bin);
    Image h(f->mapType->mapHeader);
    h.set("used", c.used).set("dirPtr", c.dirPtr).set("dirLen", c.dirLen);
    h.set("globalDepth", c.globalDepth).set("writing", c.writing);
    t.mem.add(0x100000, h.bytes);
    MapSummary s = walkMap(prog, f->mapType, 0x100000, {}, nullptr);
    EXPECT_NE(s.invalidHeader.find(c.check), std::string::npos) << s.invalidHeader;
    EXPECT_EQ(s.found, 0u);
    EXPECT_THROW(requirePlausibleMap(prog, f->mapType, 0x100000, "0x100000"), Error);
  }
}

// Lists and Elements laid out with the lists fixture's DWARF, per toolchain.
class CorruptList : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const Toolchain& tc = toolchain(GetParam());
    GMS_REQUIRE_TOOLCHAIN(tc);
    bin_ = Binary::open(buildFixture(tc, "lists"));
    prog_ = std::make_unique<Program>(target_, *bin_);
  }
  const Program& prog() { return *prog_; }
  // A List at addr: root.next, root.prev and len (root.list and root.Value nil).
  void addList(uint64_t addr, uint64_t next, uint64_t prev, uint64_t len) {
    const Type* E = elementType(prog());
    const Type* L = listType(prog());
    Image l(L);
    uint64_t root = L->field("root")->offset;
    std::memcpy(l.bytes.data() + root + E->field("next")->offset, &next, 8);
    std::memcpy(l.bytes.data() + root + E->field("prev")->offset, &prev, 8);
    l.set("len", len);
    target_.mem.add(addr, l.bytes);
  }
  void addElement(uint64_t addr, uint64_t next, uint64_t prev, uint64_t list) {
    Image e(elementType(prog()));
    e.set("next", next).set("prev", prev).set("list", list);
    target_.mem.add(addr, e.bytes);
  }

 private:
  std::unique_ptr<Binary> bin_;
  FakeTarget target_;
  std::unique_ptr<Program> prog_;
};

// An Element read as a List (its list and Value are set; a root's never are)
// and a List whose root.next is no element of it are refused, not walked.
TEST_P(CorruptList, ListInvariantsNameTheFailedCheck) {
  uint64_t root = 0x100000, e1 = 0x200000, stray = 0x300000;
  addList(root, e1, e1, 1);
  addElement(e1, root, root, root);
  EXPECT_EQ(walkList(prog(), root, nullptr).invalidHeader, "");
  EXPECT_NO_THROW(requirePlausibleList(prog(), root, "root"));
  ListSummary asList = walkList(prog(), e1, nullptr);
  EXPECT_NE(asList.invalidHeader.find("root.list=0x100000 is set"), std::string::npos)
      << asList.invalidHeader;
  try {
    requirePlausibleList(prog(), e1, "e1");
    ADD_FAILURE() << "an Element passed as a List";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("looks like an Element of the List at 0x100000"),
              std::string::npos)
        << e.what();
  }
  addList(0x400000, stray, 0, 0);
  addElement(stray, 0x123000, 0x456000, 0x789000);
  ListSummary bad = walkList(prog(), 0x400000, nullptr);
  EXPECT_NE(bad.invalidHeader.find("root.next=0x300000 is no element of this list"),
            std::string::npos)
      << bad.invalidHeader;
  EXPECT_EQ(bad.found, 0u);
}

TEST_P(CorruptList, CycleAvoidingTheRootAndBadBackPointers) {
  uint64_t root = 0x100000, e1 = 0x200000, e2 = 0x300000;
  addList(root, e1, e2, 2);
  addElement(e1, e2, root, root);
  addElement(e2, e1, e1, 0);  // loops back to e1; removed-looking
  uint64_t seen = 0;
  ListSummary s = walkList(prog(), root, [&](const ListElementRef&) { return ++seen < 1000; });
  EXPECT_EQ(seen, 2u);
  EXPECT_TRUE(hasProblem(s.problems, "cycle")) << dump(s.problems);
  EXPECT_TRUE(hasProblem(s.problems, "list == nil")) << dump(s.problems);
}

TEST_P(CorruptList, WildNextPointer) {
  uint64_t root = 0x100000, e1 = 0x200000;
  addList(root, e1, 0, 5);
  addElement(e1, 0xdeadbeef000, root, root);
  ListSummary s = walkList(prog(), root, nullptr);
  EXPECT_EQ(s.found, 1u);
  EXPECT_TRUE(hasProblem(s.problems, "unreadable")) << dump(s.problems);
  EXPECT_TRUE(hasProblem(s.problems, "len is 5 but 1 elements")) << dump(s.problems);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, CorruptList, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
