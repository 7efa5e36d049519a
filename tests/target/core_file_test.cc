// CoreFile on hand-built ELF cores: segment lookup, unsaved tails (underlay,
// zero-fill, fault), notes, truncation, malformed input and a mutation fuzz.
#include "target/core_file.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <random>

#include "support/fixture.h"
#include "target/proc_pagemap.h"

namespace gms::test {
namespace {

// Builds a minimal x86-64 ELF core in memory.
struct CoreBuilder {
  struct Load {
    uint64_t vaddr = 0, memsz = 0;
    std::vector<uint8_t> bytes;  // p_filesz = bytes.size()
    uint32_t flags = PF_R | PF_W;
  };
  std::vector<Load> loads;
  std::vector<uint8_t> notes;
  uint16_t type = ET_CORE;
  uint16_t machine = EM_X86_64;

  void note(const std::string& owner, uint32_t ntype, const void* desc, size_t n) {
    auto put = [&](const void* p, size_t k) {
      auto* b = static_cast<const uint8_t*>(p);
      notes.insert(notes.end(), b, b + k);
    };
    uint32_t hdr[3] = {uint32_t(owner.size() + 1), uint32_t(n), ntype};
    put(hdr, sizeof hdr);
    put(owner.c_str(), owner.size() + 1);
    notes.resize((notes.size() + 3) & ~size_t(3));
    put(desc, n);
    notes.resize((notes.size() + 3) & ~size_t(3));
  }
  void zeroFillNote() {
    uint32_t v = 1;
    note("GOMEMSCOPE", NT_GMS_ZEROFILL, &v, 4);
  }
  void prstatus(int tid, uint64_t rip, uint64_t rsp) {
    std::vector<uint8_t> d(336, 0);
    std::memcpy(&d[32], &tid, 4);
    std::memcpy(&d[112 + 16 * 8], &rip, 8);
    std::memcpy(&d[112 + 19 * 8], &rsp, 8);
    uint64_t fs = 0xf5f5;
    std::memcpy(&d[112 + 21 * 8], &fs, 8);
    note("CORE", NT_PRSTATUS, d.data(), d.size());
  }

  std::vector<uint8_t> build() const {
    size_t phnum = 1 + loads.size();
    bool xnum = phnum >= PN_XNUM;
    uint64_t off = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr);
    uint64_t notesOff = off;
    off += notes.size();
    std::vector<uint64_t> dataOff;
    for (auto& l : loads) {
      off = (off + 7) & ~uint64_t(7);
      dataOff.push_back(off);
      off += l.bytes.size();
    }
    uint64_t shOff = off;
    if (xnum) off += sizeof(Elf64_Shdr);
    std::vector<uint8_t> out(off, 0);
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = type;
    eh.e_machine = machine;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_ehsize = sizeof(Elf64_Ehdr);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = xnum ? PN_XNUM : uint16_t(phnum);
    if (xnum) {
      eh.e_shoff = shOff;
      eh.e_shentsize = sizeof(Elf64_Shdr);
      eh.e_shnum = 1;
      Elf64_Shdr sh{};
      sh.sh_info = uint32_t(phnum);
      std::memcpy(&out[shOff], &sh, sizeof sh);
    }
    std::memcpy(out.data(), &eh, sizeof eh);
    Elf64_Phdr ph{};
    ph.p_type = PT_NOTE;
    ph.p_offset = notesOff;
    ph.p_filesz = notes.size();
    ph.p_align = 4;
    std::memcpy(&out[eh.e_phoff], &ph, sizeof ph);
    if (!notes.empty()) std::memcpy(&out[notesOff], notes.data(), notes.size());
    for (size_t i = 0; i < loads.size(); i++) {
      Elf64_Phdr lp{};
      lp.p_type = PT_LOAD;
      lp.p_flags = loads[i].flags;
      lp.p_offset = dataOff[i];
      lp.p_vaddr = loads[i].vaddr;
      lp.p_filesz = loads[i].bytes.size();
      lp.p_memsz = loads[i].memsz;
      lp.p_align = 4096;
      std::memcpy(&out[eh.e_phoff + (i + 1) * sizeof(Elf64_Phdr)], &lp, sizeof lp);
      if (!loads[i].bytes.empty())
        std::memcpy(&out[dataOff[i]], loads[i].bytes.data(), loads[i].bytes.size());
    }
    return out;
  }
};

std::string writeTemp(const std::string& name, const std::vector<uint8_t>& bytes) {
  std::string path = tempDir() + "/" + name;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::vector<uint8_t> seq(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = uint8_t(seed + i * 7);
  return v;
}

// Segment A: 0x10000, 0x2000 saved of 0x3000. Segment B: 0x20000, PROT_NONE.
CoreBuilder basicCore() {
  CoreBuilder b;
  b.loads.push_back({0x10000, 0x3000, seq(0x2000, 1), PF_R | PF_W});
  b.loads.push_back({0x20000, 0x1000, {}, 0});
  return b;
}

template <typename F>
std::pair<uint64_t, std::string> fault(F f) {
  try {
    f();
  } catch (const Fault& e) {
    return {e.addr(), e.what()};
  }
  ADD_FAILURE() << "no Fault";
  return {0, ""};
}

template <typename F>
std::pair<ErrorKind, std::string> error(F f) {
  try {
    f();
  } catch (const Fault& e) {
    ADD_FAILURE() << "unexpected Fault " << e.what();
  } catch (const Error& e) {
    return {e.kind(), e.what()};
  }
  ADD_FAILURE() << "no Error";
  return {ErrorKind::Usage, ""};
}

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != s.npos; }

TEST(CoreFile, SavedBytesReadAndView) {
  auto core = CoreFile::open(writeTemp("basic.core", basicCore().build()));
  const Memory& m = core->memory();
  auto want = seq(0x2000, 1);
  std::vector<uint8_t> got(0x2000);
  m.read(0x10000, got.data(), got.size());
  EXPECT_EQ(got, want);
  EXPECT_EQ(m.readU8(0x11fff), want[0x1fff]);
  const uint8_t* v = m.view(0x10010, 0x100);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(std::memcmp(v, want.data() + 0x10, 0x100), 0);
  EXPECT_NE(m.view(0x10000, 0x2000), nullptr);
  EXPECT_EQ(m.view(0x10000, 0x2001), nullptr);  // runs into the unsaved tail
  EXPECT_EQ(m.view(0x30000, 1), nullptr);
  EXPECT_FALSE(core->zeroFill());
  EXPECT_TRUE(core->warnings().empty());
  EXPECT_FALSE(core->isLive());
  EXPECT_EQ(core->pid(), 0);
  EXPECT_EQ(core->exePath(), "");
}

// Our cores cut a heap into many segments; a view (and a view range) runs on
// across segments that continue each other in memory and in the file.
TEST(CoreFile, ViewsSpanSegmentsThatContinueEachOther) {
  CoreBuilder b;
  b.loads.push_back({0x40000, 0x1000, seq(0x1000, 3)});
  b.loads.push_back({0x41000, 0x2000, seq(0x2000, 5)});
  b.loads.push_back({0x44000, 0x1000, seq(0x1000, 7)});  // after a gap in memory
  b.loads.push_back({0x45000, 0x2000, seq(0x1000, 9)});  // continues, but half unsaved
  auto core = CoreFile::open(writeTemp("spans.core", b.build()));
  const Memory& m = core->memory();
  const uint8_t* v = m.view(0x40ff0, 0x20);
  ASSERT_NE(v, nullptr);
  uint8_t want[0x20];
  m.read(0x40ff0, want, sizeof want);
  EXPECT_EQ(std::memcmp(v, want, sizeof want), 0);
  EXPECT_EQ(want[0x10], seq(0x2000, 5)[0]);
  EXPECT_EQ(m.view(0x42ff0, 0x20), nullptr);  // runs into the gap

  Memory::ViewRange r = m.viewRange(0x41800);
  EXPECT_EQ(r.start, 0x40000u);
  EXPECT_EQ(r.size, 0x3000u);
  ASSERT_NE(r.at(0x42ff0, 0x10), nullptr);
  EXPECT_EQ(*r.at(0x42fff, 1), seq(0x2000, 5)[0x1fff]);
  EXPECT_EQ(r.at(0x42ff0, 0x11), nullptr);
  EXPECT_EQ(r.at(0x3ffff, 1), nullptr);
  EXPECT_EQ(m.viewRange(0x43000).size, 0u);
  Memory::ViewRange r2 = m.viewRange(0x44800);
  EXPECT_EQ(r2.start, 0x44000u);
  EXPECT_EQ(r2.size, 0x2000u);  // the next segment's saved part only
  EXPECT_EQ(m.viewRange(0x46000).size, 0u);
}

// willRead() maps the saved pages of a range into the core's mapping in one
// pass: afterwards they are all present (our own pagemap says so), where a
// freshly opened core has none of them until they are read.
TEST(CoreFile, WillReadMapsTheSavedPagesAhead) {
  CoreBuilder b;
  const size_t kBytes = size_t(16) << 20;  // more than the kernel maps around a fault
  b.loads.push_back({0x1000000, kBytes, seq(kBytes, 11)});
  const std::string path = writeTemp("willread.core", b.build());
  auto presentBytes = [&](const Memory& m) {
    const auto start = reinterpret_cast<uint64_t>(m.view(0x1000000, kBytes));
    uint64_t n = 0;
    for (const proc::PageRange& r : proc::PagemapScanner(getpid()).resident(start, start + kBytes))
      n += r.end - r.start;
    return n;
  };
  auto fresh = CoreFile::open(path);
  EXPECT_LT(presentBytes(fresh->memory()), kBytes / 2);
  auto ahead = CoreFile::open(path);
  ahead->memory().willRead(0x1000000, kBytes);
  EXPECT_GE(presentBytes(ahead->memory()), kBytes);
  std::vector<uint8_t> got(kBytes);
  ahead->memory().read(0x1000000, got.data(), kBytes);
  EXPECT_EQ(got, seq(kBytes, 11));
  // Anything outside what the core saved is left alone, a truncated core too.
  ahead->memory().willRead(0, UINT64_MAX);
  ahead->memory().willRead(0x1000000 + kBytes - 1, UINT64_MAX);
  auto bytes = basicCore().build();
  bytes.resize(bytes.size() - 0x1800);
  auto cut = CoreFile::open(writeTemp("willread-trunc.core", bytes));
  cut->memory().willRead(0, UINT64_MAX);
  EXPECT_EQ(cut->memory().readU8(0x10000), seq(0x2000, 1)[0]);
}

TEST(CoreFile, UnsavedBytesFaultOrComeFromTheUnderlay) {
  auto core = CoreFile::open(writeTemp("basic2.core", basicCore().build()));
  const Memory& m = core->memory();
  uint8_t buf[0x2000];
  auto [a1, msg1] = fault([&] { m.read(0x11ff0, buf, 0x20); });
  EXPECT_EQ(a1, 0x12000u);
  EXPECT_TRUE(contains(msg1, "not saved in core")) << msg1;
  EXPECT_EQ(fault([&] { m.read(0x15000, buf, 1); }).first, 0x15000u);
  EXPECT_EQ(fault([&] { m.read(0x20000, buf, 1); }).first, 0x20000u);

  FakeMemory under;
  under.add(0x12000, std::vector<uint8_t>(0x1000, 0xee));  // the tail of A
  under.add(0x13000, std::vector<uint8_t>(0x800, 0xdd));   // between segments
  core->setUnderlay(&under);
  m.read(0x11ff0, buf, 0x20);
  EXPECT_EQ(buf[0xf], seq(0x2000, 1)[0x1fff]);
  EXPECT_EQ(buf[0x10], 0xee);
  m.read(0x12ff0, buf, 0x20);  // tail, then the gap after A
  EXPECT_EQ(buf[0], 0xee);
  EXPECT_EQ(buf[0x1f], 0xdd);
  // The underlay's own fault is reported with its exact address.
  auto [a2, msg2] = fault([&] { m.read(0x13700, buf, 0x200); });
  EXPECT_EQ(a2, 0x13800u);
  EXPECT_TRUE(contains(msg2, "not saved in core")) << msg2;
}

TEST(CoreFile, ZeroFillNoteMakesUnsavedTailsZero) {
  CoreBuilder b = basicCore();
  b.zeroFillNote();
  auto core = CoreFile::open(writeTemp("zero.core", b.build()));
  EXPECT_TRUE(core->zeroFill());
  const Memory& m = core->memory();
  uint8_t buf[0x20];
  std::memset(buf, 0xff, sizeof buf);
  m.read(0x11ff0, buf, 0x20);
  EXPECT_EQ(buf[0xf], seq(0x2000, 1)[0x1fff]);
  EXPECT_EQ(buf[0x10], 0);
  EXPECT_EQ(buf[0x1f], 0);
  EXPECT_EQ(m.readPtr(0x12ff8), 0u);
  // Not readable in the process: not zero either.
  auto [a, msg] = fault([&] { m.read(0x20000, buf, 1); });
  EXPECT_EQ(a, 0x20000u);
  EXPECT_TRUE(contains(msg, "not readable")) << msg;
  // Outside every segment: still faults.
  EXPECT_EQ(fault([&] { m.read(0x13000, buf, 1); }).first, 0x13000u);
}

TEST(CoreFile, NotesGiveThreadsPidAuxvAndFiles) {
  CoreBuilder b = basicCore();
  b.prstatus(101, 0x401234, 0x7ffc0000);
  uint8_t psinfo[136] = {};
  int pid = 100;
  std::memcpy(psinfo + 24, &pid, 4);
  b.note("CORE", NT_PRPSINFO, psinfo, sizeof psinfo);
  uint64_t auxv[] = {AT_PAGESZ, 4096, AT_ENTRY, 0x401000, AT_NULL, 0};
  b.note("CORE", NT_AUXV, auxv, sizeof auxv);
  // NT_FILE: a library first, then the executable (containing AT_ENTRY).
  std::vector<uint64_t> w = {2, 4096, 0x7f0000, 0x7f2000, 0, 0x400000, 0x402000, 0};
  std::string names = std::string("/lib/x.so") + '\0' + "/usr/bin/app" + '\0';
  std::vector<uint8_t> nf(w.size() * 8 + names.size());
  std::memcpy(nf.data(), w.data(), w.size() * 8);
  std::memcpy(nf.data() + w.size() * 8, names.data(), names.size());
  b.note("CORE", NT_FILE, nf.data(), nf.size());
  b.prstatus(102, 0x405678, 0x7ffd0000);
  b.note("LINUX", 0x202, "xx", 2);  // other notes are skipped
  // The first page of the executable was saved (ELF header); the rest is in the file.
  b.loads.push_back({0x400000, 0x1000, seq(0x1000, 9), PF_R | PF_X});

  auto core = CoreFile::open(writeTemp("notes.core", b.build()));
  EXPECT_EQ(core->pid(), 100);
  auto t = core->threads();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].tid, 101);
  EXPECT_TRUE(t[0].hasRegs);
  EXPECT_EQ(t[0].rip, 0x401234u);
  EXPECT_EQ(t[0].rsp, 0x7ffc0000u);
  EXPECT_EQ(t[0].fsBase, 0xf5f5u);
  EXPECT_EQ(t[1].tid, 102);
  EXPECT_EQ(t[1].rip, 0x405678u);
  EXPECT_EQ(core->exePath(), "/usr/bin/app");
  ASSERT_EQ(core->fileMappings().size(), 2u);
  EXPECT_EQ(core->fileMappings()[0].path, "/usr/bin/app");  // sorted by address
  EXPECT_EQ(core->describe(), "core " + tempDir() + "/notes.core");

  auto maps = core->memory().mappings();
  auto at = [&](uint64_t a) -> const Mapping* {
    for (auto& m : maps)
      if (m.contains(a)) return &m;
    return nullptr;
  };
  ASSERT_NE(at(0x400000), nullptr);
  EXPECT_EQ(at(0x400000)->path, "/usr/bin/app");
  EXPECT_TRUE(at(0x400000)->exec);
  ASSERT_NE(at(0x401000), nullptr);  // from NT_FILE alone
  EXPECT_EQ(at(0x401000)->path, "/usr/bin/app");
  EXPECT_EQ(at(0x401000)->offset, 0x1000u);
  ASSERT_NE(at(0x7f1000), nullptr);
  ASSERT_NE(at(0x12000), nullptr);  // the unsaved tail is still address space
  EXPECT_EQ(at(0x14000), nullptr);

  // Without auxv the first NT_FILE entry is taken.
  CoreBuilder b2 = basicCore();
  b2.note("CORE", NT_FILE, nf.data(), nf.size());
  EXPECT_EQ(CoreFile::open(writeTemp("noauxv.core", b2.build()))->exePath(), "/lib/x.so");
  // Without PRPSINFO the first thread's pid.
  CoreBuilder b3 = basicCore();
  b3.prstatus(555, 1, 2);
  EXPECT_EQ(CoreFile::open(writeTemp("nopsinfo.core", b3.build()))->pid(), 555);
}

TEST(CoreFile, TruncatedCoreOpensWithWarningAndFaultsPastEof) {
  auto bytes = basicCore().build();
  // Cut the file 0x800 bytes into segment A's data.
  auto eh = *reinterpret_cast<const Elf64_Ehdr*>(bytes.data());
  Elf64_Phdr a;
  std::memcpy(&a, bytes.data() + eh.e_phoff + sizeof(Elf64_Phdr), sizeof a);
  bytes.resize(a.p_offset + 0x800);
  auto core = CoreFile::open(writeTemp("trunc.core", bytes));
  ASSERT_EQ(core->warnings().size(), 1u);
  EXPECT_TRUE(contains(core->warnings()[0], "truncated")) << core->warnings()[0];
  const Memory& m = core->memory();
  EXPECT_EQ(m.readU8(0x107ff), seq(0x2000, 1)[0x7ff]);
  uint8_t buf[16];
  auto [addr, msg] = fault([&] { m.read(0x107f8, buf, 16); });
  EXPECT_EQ(addr, 0x10800u);
  EXPECT_TRUE(contains(msg, "not saved in core (core file truncated)")) << msg;
  EXPECT_EQ(m.view(0x107f8, 16), nullptr);
  // Even with an underlay: the core did save those bytes; they are lost.
  FakeMemory under;
  under.add(0x10000, std::vector<uint8_t>(0x3000, 1));
  core->setUnderlay(&under);
  EXPECT_EQ(fault([&] { m.read(0x10900, buf, 1); }).first, 0x10900u);
}

TEST(CoreFile, GarbageAndWrongFilesAreOneLineErrors) {
  std::mt19937 rng(1);
  std::vector<uint8_t> junk(4096);
  for (auto& c : junk) c = uint8_t(rng());
  auto check = [](const std::string& path, ErrorKind kind, const std::string& what) {
    auto [k, msg] = error([&] { CoreFile::open(path); });
    EXPECT_EQ(k, kind) << msg;
    EXPECT_TRUE(contains(msg, what)) << msg;
    EXPECT_FALSE(contains(msg, "\n")) << msg;
  };
  check(writeTemp("junk.core", junk), ErrorKind::Corrupt, "not an ELF file");
  check(writeTemp("empty.core", {}), ErrorKind::Corrupt, "empty file");
  check(writeTemp("short.core", {0x7f, 'E', 'L', 'F'}), ErrorKind::Corrupt, "not an ELF file");
  check(tempDir() + "/missing.core", ErrorKind::NotFound, "no such file");
  check(tempDir(), ErrorKind::Corrupt, "not a regular file");

  CoreBuilder exec = basicCore();
  exec.type = ET_EXEC;
  check(writeTemp("exec.core", exec.build()), ErrorKind::Corrupt, "not a core dump");
  CoreBuilder arm = basicCore();
  arm.machine = EM_AARCH64;
  check(writeTemp("arm.core", arm.build()), ErrorKind::Unsupported, "only x86-64");

  auto cut = basicCore().build();
  cut.resize(sizeof(Elf64_Ehdr) + 10);  // program headers lost
  check(writeTemp("cut.core", cut), ErrorKind::Corrupt, "program headers");

  auto c32 = basicCore().build();
  c32[EI_CLASS] = ELFCLASS32;
  check(writeTemp("c32.core", c32), ErrorKind::Unsupported, "32-bit");
}

TEST(CoreFile, MalformedNotesAreWarningsNotFailures) {
  CoreBuilder b = basicCore();
  std::vector<uint64_t> bad = {1ull << 40, 4096};  // NT_FILE claiming 2^40 entries
  b.note("CORE", NT_FILE, bad.data(), bad.size() * 8);
  b.note("CORE", NT_PRSTATUS, "short", 5);
  b.prstatus(7, 1, 2);
  auto core = CoreFile::open(writeTemp("badnotes.core", b.build()));
  EXPECT_EQ(core->warnings().size(), 2u);
  ASSERT_EQ(core->threads().size(), 1u);  // the good note after the bad ones
  EXPECT_EQ(core->threads()[0].tid, 7);
}

TEST(CoreFile, ManySegmentsUsePnXnum) {
  CoreBuilder b;
  b.zeroFillNote();
  for (uint64_t i = 0; i < 70000; i++) b.loads.push_back({0x100000 + i * 0x2000, 0x1000, {}, PF_R});
  b.loads.back().bytes = {42};
  auto core = CoreFile::open(writeTemp("xnum.core", b.build()));
  const uint64_t last = 0x100000 + 69999 * 0x2000;
  EXPECT_EQ(core->memory().readU8(last), 42);
  EXPECT_EQ(core->memory().readU8(last + 1), 0);  // zero-filled tail
  EXPECT_EQ(fault([&] { core->memory().readU8(last + 0x1000); }).first, last + 0x1000);
  EXPECT_EQ(core->memory().mappings().size(), 70000u);
}

// Random corruption of a valid core may fail to open or fault on reads, but
// only ever with gms::Error (and never crash; run under ASan+UBSan).
TEST(CoreFile, MutatedCoresFailCleanly) {
  CoreBuilder b = basicCore();
  b.zeroFillNote();
  b.prstatus(3, 4, 5);
  uint64_t auxv[] = {AT_ENTRY, 0x10000, AT_NULL, 0};
  b.note("CORE", NT_AUXV, auxv, sizeof auxv);
  std::vector<uint64_t> w = {1, 4096, 0x10000, 0x13000, 0};
  std::string names = std::string("/bin/a") + '\0';
  std::vector<uint8_t> nf(w.size() * 8 + names.size());
  std::memcpy(nf.data(), w.data(), w.size() * 8);
  std::memcpy(nf.data() + w.size() * 8, names.data(), names.size());
  b.note("CORE", NT_FILE, nf.data(), nf.size());
  const auto good = b.build();
  // Mutate the headers and notes (the data bytes are not interpreted).
  const size_t interesting = std::min<size_t>(good.size(), 0x200 + b.notes.size());
  std::mt19937_64 rng(1234);
  int opened = 0;
  for (int iter = 0; iter < 3000; iter++) {
    auto bytes = good;
    int flips = 1 + int(rng() % 4);
    for (int i = 0; i < flips; i++) {
      size_t pos = rng() % interesting;
      switch (rng() % 3) {
        case 0:
          bytes[pos] ^= uint8_t(1 << (rng() % 8));
          break;
        case 1:
          bytes[pos] = uint8_t(rng());
          break;
        default:
          bytes[pos] = (rng() & 1) ? 0xff : 0;
          break;
      }
    }
    if (rng() % 8 == 0) bytes.resize(rng() % bytes.size());
    std::string path = writeTemp("fuzz.core", bytes);
    try {
      auto core = CoreFile::open(path);
      opened++;
      core->threads();
      core->exePath();
      core->memory().mappings();
      uint8_t buf[64];
      for (uint64_t a : {0x10000ull, 0x11ff0ull, 0x12ff0ull, 0x20000ull, ~0ull - 8}) try {
          core->memory().read(a, buf, sizeof buf);
          core->memory().view(a, sizeof buf);
        } catch (const Fault&) {
        }
    } catch (const Error&) {
    }
  }
  EXPECT_GT(opened, 100);
}

}  // namespace
}  // namespace gms::test
