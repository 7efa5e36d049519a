#include "target/core_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "common/checked.h"

namespace gms {

namespace {

// x86-64 struct elf_prstatus (see <sys/procfs.h>): the layout is fixed by the
// kernel ABI; read field by field through ByteView since the note is untrusted.
constexpr uint64_t kPrstatusPid = 32;
constexpr uint64_t kPrstatusReg = 112;
constexpr uint64_t kNumGregs = 27;  // user_regs_struct
// Register indices in user_regs_struct order:
// r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs
// eflags rsp ss fs_base gs_base ds es fs gs
constexpr int kRegR14 = 1, kRegRbp = 4, kRegRip = 16, kRegRsp = 19, kRegFsBase = 21;
// DWARF register number -> user_regs_struct index (rax rdx rcx rbx rsi rdi
// rbp rsp r8 .. r15 rip).
constexpr int kDwarfToUserRegs[17] = {10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16};
// x86-64 struct elf_prpsinfo: pr_pid follows state/sname/zomb/nice, pr_flag,
// pr_uid and pr_gid.
constexpr uint64_t kPrpsinfoPid = 24;

struct Segment {
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t filesz = 0;  // bytes the core claims to hold
  uint64_t avail = 0;   // bytes the file really holds (< filesz if truncated)
  // Bytes readable in one piece from vaddr: avail, plus the following
  // segments while each continues the last in memory and in the file (our
  // cores cut the heap into many; a bucket array may straddle two).
  uint64_t run = 0;
  uint64_t runStart = 0;             // where the run holding this segment starts
  const uint8_t* runData = nullptr;  // ... and its bytes
  const uint8_t* data = nullptr;
  uint32_t flags = 0;
};

uint64_t alignUp(uint64_t v, uint64_t a, const char* what) {
  return checkedAdd(v, a - 1, what) & ~(a - 1);
}

// Everything parsed out of the core; the memory view reads it.
struct CoreData {
  ByteView file;

  std::vector<Segment> segs;  // sorted by vaddr
  std::vector<ThreadState> threads;
  std::vector<CoreFileMapping> files;  // NT_FILE, sorted by start
  std::vector<std::pair<uint64_t, uint64_t>> auxv;
  int prpsinfoPid = 0;
  bool zeroFill = false;
  std::string exePath;
  std::vector<std::string> warnings;
  const Memory* underlay = nullptr;

  void parse();
  void parseNotes(ByteView notes, uint64_t align);
  void parseNote(std::string_view owner, uint32_t type, ByteView desc);
  void parseFileNote(ByteView desc);
};

class CoreMemory : public Memory {
 public:
  explicit CoreMemory(const CoreData* d) : impl_(d) {}
  void read(uint64_t addr, void* out, size_t n) const override;
  const uint8_t* view(uint64_t addr, size_t n) const override;
  ViewRange viewRange(uint64_t addr) const override;
  void willRead(uint64_t addr, uint64_t n) const override;
  std::vector<Mapping> mappings() const override;

 private:
  const Segment* find(uint64_t addr) const;
  static constexpr size_t kCacheSlots = 4096;
  mutable std::array<std::atomic<uint64_t>, kCacheSlots> cache_{};  // find()'s granule cache
  void readUnderlay(uint64_t addr, uint8_t* out, size_t n) const;
  const CoreData* impl_;
};

}  // namespace

struct CoreFile::Impl {
  Impl() : mem(&d) {}
  ~Impl() {
    if (map) munmap(map, size);
  }
  std::string path;
  void* map = nullptr;
  size_t size = 0;
  CoreData d;
  CoreMemory mem;
};

namespace {

// ---------------------------------------------------------------------------
// Parsing

void CoreData::parse() {
  if (file.size() < sizeof(Elf64_Ehdr) || std::memcmp(file.data(), ELFMAG, SELFMAG) != 0)
    fail(ErrorKind::Corrupt, "not an ELF file");
  uint8_t cls = file.u8(EI_CLASS), data = file.u8(EI_DATA);
  if (cls != ELFCLASS64 || data != ELFDATA2LSB)
    fail(ErrorKind::Unsupported, "{}-bit {} ELF file; only x86-64 cores are supported",
         cls == ELFCLASS32 ? 32 : 64, data == ELFDATA2MSB ? "big-endian" : "little-endian");
  auto eh = file.get<Elf64_Ehdr>(0);
  if (eh.e_type != ET_CORE)
    fail(ErrorKind::Corrupt, "an ELF file but not a core dump (e_type {})", eh.e_type);
  if (eh.e_machine != EM_X86_64)
    fail(ErrorKind::Unsupported, "core for ELF machine {}; only x86-64 is supported", eh.e_machine);
  if (eh.e_phentsize < sizeof(Elf64_Phdr))
    fail(ErrorKind::Corrupt, "program header entries of {} bytes (need {})", eh.e_phentsize,
         sizeof(Elf64_Phdr));

  uint64_t phnum = eh.e_phnum;
  if (phnum == PN_XNUM) {
    // More than 65534 segments: the real count is in section header 0.
    if (eh.e_shoff == 0 || eh.e_shentsize < sizeof(Elf64_Shdr))
      fail(ErrorKind::Corrupt, "e_phnum is PN_XNUM but there is no section header 0");
    auto sh0 = file.get<Elf64_Shdr>(eh.e_shoff);
    phnum = sh0.sh_info;
  }
  uint64_t phBytes = checkedMul(phnum, eh.e_phentsize, "program header table size");
  if (eh.e_phoff > file.size() || phBytes > file.size() - eh.e_phoff)
    fail(ErrorKind::Corrupt,
         "program headers [{:#x}, +{:#x}) extend past the end of the file ({} bytes; truncated?)",
         eh.e_phoff, phBytes, file.size());

  uint64_t missing = 0, wanted = 0;
  for (uint64_t i = 0; i < phnum; i++) {
    auto ph = file.get<Elf64_Phdr>(eh.e_phoff + i * eh.e_phentsize);
    // Bytes of this segment actually present in the file.
    uint64_t avail = 0;
    if (ph.p_offset < file.size())
      avail = std::min<uint64_t>(ph.p_filesz, file.size() - ph.p_offset);
    if (ph.p_type == PT_NOTE) {
      if (avail < ph.p_filesz)
        warnings.push_back(fmt::format("PT_NOTE at offset {:#x} truncated ({} of {} bytes)",
                                       ph.p_offset, avail, ph.p_filesz));
      if (avail > 0) parseNotes(file.sub(ph.p_offset, avail), ph.p_align == 8 ? 8 : 4);
      continue;
    }
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    checkedAdd(ph.p_vaddr, ph.p_memsz - 1, "PT_LOAD address range");
    checkedAdd(ph.p_offset, ph.p_filesz, "PT_LOAD file range");
    Segment s;
    s.vaddr = ph.p_vaddr;
    s.memsz = ph.p_memsz;
    s.filesz = ph.p_filesz;
    if (s.filesz > s.memsz) {
      warnings.push_back(fmt::format("PT_LOAD at {:#x}: p_filesz {:#x} > p_memsz {:#x}; clamped",
                                     s.vaddr, s.filesz, s.memsz));
      s.filesz = s.memsz;
    }
    s.avail = std::min(avail, s.filesz);
    s.data = s.avail ? file.data() + ph.p_offset : nullptr;
    s.flags = ph.p_flags;
    wanted += s.filesz;
    missing += s.filesz - s.avail;
    segs.push_back(s);
  }
  if (missing > 0)
    warnings.push_back(fmt::format(
        "core file truncated: {} of {} saved memory bytes are missing (file has {} bytes); "
        "reads there fail",
        missing, wanted, file.size()));
  if (segs.empty()) warnings.push_back("core has no PT_LOAD segments: no memory was saved");
  std::stable_sort(segs.begin(), segs.end(),
                   [](const Segment& a, const Segment& b) { return a.vaddr < b.vaddr; });
  for (size_t i = 1; i < segs.size(); i++) {
    if (segs[i].vaddr - segs[i - 1].vaddr < segs[i - 1].memsz) {
      warnings.push_back(fmt::format("PT_LOAD segments overlap at {:#x}", segs[i].vaddr));
      break;
    }
  }
  // Does segment i + 1 continue segment i, in memory and in the file?
  auto continues = [&](size_t i) {
    const Segment& a = segs[i];
    const Segment& b = segs[i + 1];
    return a.avail && a.avail == a.memsz && b.vaddr == a.vaddr + a.memsz &&
           b.data == a.data + a.avail;
  };
  for (size_t i = segs.size(); i-- > 0;) {
    Segment& a = segs[i];
    a.run = a.avail;
    if (i + 1 < segs.size() && continues(i)) a.run += segs[i + 1].run;
  }
  for (size_t i = 0; i < segs.size(); i++) {
    bool cont = i > 0 && continues(i - 1);
    segs[i].runStart = cont ? segs[i - 1].runStart : segs[i].vaddr;
    segs[i].runData = cont ? segs[i - 1].runData : segs[i].data;
  }
  std::string firstFile = files.empty() ? "" : files.front().path;  // in note order
  std::sort(files.begin(), files.end(),
            [](const CoreFileMapping& a, const CoreFileMapping& b) { return a.start < b.start; });

  // The executable: the file mapping that contains the entry point. When the
  // core has no auxv, the first file mapping is (by kernel convention) it.
  uint64_t entry = 0;
  for (auto& [k, v] : auxv)
    if (k == AT_ENTRY) entry = v;
  if (entry)
    for (auto& f : files)
      if (entry >= f.start && entry < f.end) exePath = f.path;
  if (exePath.empty()) exePath = firstFile;
}

void CoreData::parseNotes(ByteView notes, uint64_t align) {
  uint64_t off = 0;
  while (notes.size() - off >= 12) {
    uint32_t namesz = notes.u32(off), descsz = notes.u32(off + 4), type = notes.u32(off + 8);
    uint64_t nameOff = off + 12;
    uint64_t descOff = alignUp(checkedAdd(nameOff, namesz, "note name"), align, "note name");
    uint64_t next = alignUp(checkedAdd(descOff, descsz, "note desc"), align, "note desc");
    if (descOff > notes.size() || descsz > notes.size() - descOff) {
      warnings.push_back(
          fmt::format("note {} at offset {:#x} extends past its segment", type, off));
      return;
    }
    std::string_view owner = notes.str(nameOff, namesz);
    while (!owner.empty() && owner.back() == '\0') owner.remove_suffix(1);
    try {
      parseNote(owner, type, notes.sub(descOff, descsz));
    } catch (const Error& e) {
      // One malformed note must not hide the rest of the core.
      warnings.push_back(fmt::format("note {} type {:#x}: {}", owner, type, e.what()));
    }
    if (next >= notes.size()) return;
    off = next;
  }
}

void CoreData::parseNote(std::string_view owner, uint32_t type, ByteView desc) {
  if (owner == "GOMEMSCOPE" && type == NT_GMS_ZEROFILL) {
    zeroFill = true;
    return;
  }
  if (owner != "CORE") return;
  switch (type) {
    case NT_PRSTATUS: {
      ThreadState t;
      t.tid = static_cast<int>(desc.u32(kPrstatusPid));
      ByteView regs = desc.sub(kPrstatusReg, kNumGregs * 8);
      t.hasRegs = true;
      t.r14 = regs.u64(kRegR14 * 8);
      t.rbp = regs.u64(kRegRbp * 8);
      t.rip = regs.u64(kRegRip * 8);
      t.rsp = regs.u64(kRegRsp * 8);
      t.fsBase = regs.u64(kRegFsBase * 8);
      for (size_t d = 0; d < t.dwarfRegs.size(); d++)
        t.dwarfRegs[d] = regs.u64(kDwarfToUserRegs[d] * 8);
      threads.push_back(t);
      break;
    }
    case NT_PRPSINFO:
      prpsinfoPid = static_cast<int>(desc.u32(kPrpsinfoPid));
      break;
    case NT_AUXV:
      for (uint64_t o = 0; desc.size() - o >= 16; o += 16) {
        uint64_t k = desc.u64(o);
        if (k == AT_NULL) break;
        auxv.emplace_back(k, desc.u64(o + 8));
      }
      break;
    case NT_FILE:
      parseFileNote(desc);
      break;
    default:
      break;
  }
}

void CoreData::parseFileNote(ByteView desc) {
  // count, page_size, count x {start, end, page offset}, count NUL-terminated names.
  uint64_t count = desc.u64(0), pageSize = desc.u64(8);
  if (count > (desc.size() - 16) / 24)
    fail(ErrorKind::Corrupt, "NT_FILE claims {} entries in {} bytes", count, desc.size());
  uint64_t names = 16 + count * 24;
  for (uint64_t i = 0; i < count; i++) {
    CoreFileMapping f;
    f.start = desc.u64(16 + i * 24);
    f.end = desc.u64(16 + i * 24 + 8);
    f.fileOffset = checkedMul(desc.u64(16 + i * 24 + 16), pageSize, "NT_FILE offset");
    ByteView rest = desc.from(names);
    const void* nul = std::memchr(rest.data(), 0, rest.size());
    if (!nul) fail(ErrorKind::Corrupt, "NT_FILE name {} is not terminated", i);
    size_t len = static_cast<const uint8_t*>(nul) - rest.data();
    f.path = std::string(rest.str(0, len));
    names += len + 1;
    if (f.end > f.start) files.push_back(std::move(f));
  }
}

// ---------------------------------------------------------------------------
// Memory

const Segment* CoreMemory::find(uint64_t addr) const {
  // Decoders read in runs (a bucket array) and at random (the strings its
  // entries point to, all over a heap our own cores split into many
  // segments). A direct-mapped cache of 64 KiB granules -> segment answers
  // nearly every lookup without a binary search. Each slot packs the
  // granule's tag (bits 16..47 of the address) and the segment index + 1.
  const auto& segs = impl_->segs;
  uint64_t granule = addr >> 16;
  auto& slot = cache_[granule & (kCacheSlots - 1)];
  uint64_t c = slot.load(std::memory_order_relaxed);
  if (c && (c >> 32) == (granule & 0xffffffff)) {
    const Segment* s = &segs[(c & 0xffffffff) - 1];
    if (addr - s->vaddr < s->memsz) return s;
  }
  auto it = std::upper_bound(segs.begin(), segs.end(), addr,
                             [](uint64_t a, const Segment& s) { return a < s.vaddr; });
  if (it == segs.begin()) return nullptr;
  --it;
  if (addr - it->vaddr >= it->memsz) return nullptr;
  slot.store((granule & 0xffffffff) << 32 | uint64_t(it - segs.begin() + 1),
             std::memory_order_relaxed);
  return &*it;
}

void CoreMemory::readUnderlay(uint64_t addr, uint8_t* out, size_t n) const {
  if (!impl_->underlay) throw Fault(addr, "not saved in core");
  try {
    impl_->underlay->read(addr, out, n);
  } catch (const Fault& f) {
    throw Fault(f.addr(), "not saved in core");
  }
}

void CoreMemory::read(uint64_t addr, void* out, size_t n) const {
  auto* dst = static_cast<uint8_t*>(out);
  if (n > 0 && addr + (n - 1) < addr) throw Fault(addr, "address range wraps around");
  while (n > 0) {
    size_t k;
    if (const Segment* s = find(addr)) {
      uint64_t off = addr - s->vaddr;
      if (off < s->avail) {
        k = static_cast<size_t>(std::min<uint64_t>(n, s->avail - off));
        std::memcpy(dst, s->data + off, k);
      } else if (off < s->filesz) {
        throw Fault(addr, "not saved in core (core file truncated)");
      } else {
        // The segment's unsaved tail.
        k = static_cast<size_t>(std::min<uint64_t>(n, s->memsz - off));
        if (impl_->zeroFill) {
          // gomemscope saved every page the process had touched; the rest of
          // a readable mapping is what the process would read: zeroes. A
          // mapping without read permission faulted in the process too.
          if (!(s->flags & PF_R))
            throw Fault(addr, "not readable in the process (no read permission)");
          std::memset(dst, 0, k);
        } else {
          readUnderlay(addr, dst, k);
        }
      }
    } else {
      // Between segments: up to the next one, from the underlay.
      const auto& segs = impl_->segs;
      auto it = std::upper_bound(segs.begin(), segs.end(), addr,
                                 [](uint64_t a, const Segment& sg) { return a < sg.vaddr; });
      k = n;
      if (it != segs.end()) k = static_cast<size_t>(std::min<uint64_t>(n, it->vaddr - addr));
      readUnderlay(addr, dst, k);
    }
    dst += k;
    addr += k;
    n -= k;
  }
}

const uint8_t* CoreMemory::view(uint64_t addr, size_t n) const {
  const Segment* s = find(addr);
  if (!s) return nullptr;
  uint64_t off = addr - s->vaddr;
  if (off >= s->avail || n > s->run - off) return nullptr;
  return s->data + off;
}

Memory::ViewRange CoreMemory::viewRange(uint64_t addr) const {
  const Segment* s = find(addr);
  if (!s || addr - s->vaddr >= s->avail) return {};
  return {s->runStart, s->vaddr + s->run - s->runStart, s->runData};
}

void CoreMemory::willRead(uint64_t addr, uint64_t n) const {
  const uint64_t end = addr + n < addr ? UINT64_MAX : addr + n;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  for (const Segment& s : impl_->segs) {
    if (!s.avail || !s.data || s.vaddr >= end || s.vaddr + s.avail <= addr) continue;
    const uint64_t from = std::max(addr, s.vaddr) - s.vaddr;
    const uint64_t to = std::min(end, s.vaddr + s.avail) - s.vaddr;
    const auto first = reinterpret_cast<uintptr_t>(s.data + from) & ~(page - 1);
    const auto last = reinterpret_cast<uintptr_t>(s.data + to);
    // The file's pages into this mapping now (Linux >= 5.14); an older
    // kernel is only asked to read them ahead. A failure costs nothing but
    // the faults it would have saved.
    if (madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_READ) != 0)
      madvise(reinterpret_cast<void*>(first), last - first, MADV_WILLNEED);
  }
}

std::vector<Mapping> CoreMemory::mappings() const {
  const auto& files = impl_->files;
  auto fileAt = [&](uint64_t a) -> const CoreFileMapping* {
    auto it = std::upper_bound(files.begin(), files.end(), a,
                               [](uint64_t x, const CoreFileMapping& f) { return x < f.start; });
    if (it == files.begin()) return nullptr;
    --it;
    return a < it->end ? &*it : nullptr;
  };
  std::vector<Mapping> out;
  for (const Segment& s : impl_->segs) {
    Mapping m;
    m.start = s.vaddr;
    m.end = s.vaddr + s.memsz;
    if (m.end < m.start) m.end = UINT64_MAX;  // a segment ending exactly at 2^64
    m.read = s.flags & PF_R;
    m.write = s.flags & PF_W;
    m.exec = s.flags & PF_X;
    if (const CoreFileMapping* f = fileAt(s.vaddr)) {
      m.path = f->path;
      m.offset = f->fileOffset + (s.vaddr - f->start);
    }
    // Cores split one mapping into several segments (saved runs, unsaved
    // gaps); show the mapping, as /proc/PID/maps would.
    if (!out.empty()) {
      Mapping& p = out.back();
      bool contiguousFile = p.path.empty() || m.offset == p.offset + p.size();
      if (p.end == m.start && p.read == m.read && p.write == m.write && p.exec == m.exec &&
          p.path == m.path && contiguousFile) {
        p.end = m.end;
        continue;
      }
    }
    out.push_back(std::move(m));
  }
  // File mappings the core saved nothing of (read-only text and data are left
  // to the executable): they are part of the address space all the same.
  std::vector<Mapping> extra;
  auto gap = [&](const CoreFileMapping& f, uint64_t a, uint64_t b) {
    Mapping g;
    g.start = a;
    g.end = b;
    g.read = true;  // a file mapping; its permissions are not recorded
    g.path = f.path;
    g.offset = f.fileOffset + (a - f.start);
    extra.push_back(std::move(g));
  };
  for (const CoreFileMapping& f : files) {
    uint64_t a = f.start;
    // out is sorted and disjoint: start at the first mapping ending after f.start.
    auto it = std::upper_bound(out.begin(), out.end(), f.start,
                               [](uint64_t x, const Mapping& m) { return x < m.end; });
    for (; it != out.end() && it->start < f.end && a < f.end; ++it) {
      if (it->start > a) gap(f, a, it->start);
      a = std::max(a, it->end);
    }
    if (a < f.end) gap(f, a, f.end);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  std::sort(out.begin(), out.end(),
            [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// CoreFile

std::unique_ptr<CoreFile> CoreFile::open(const std::string& path) {
  std::unique_ptr<CoreFile> cf(new CoreFile());
  cf->impl_ = std::make_unique<Impl>();
  Impl& im = *cf->impl_;
  im.path = path;

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) fail(ErrorKind::NotFound, "core {}: no such file", path);
    failErrno("cannot open core " + path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    failErrno("cannot stat core " + path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorKind::Corrupt, "core {}: not a regular file", path);
  }
  if (st.st_size == 0) {
    ::close(fd);
    fail(ErrorKind::Corrupt, "core {}: empty file", path);
  }
  im.size = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, im.size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (p == MAP_FAILED) {
    errno = e;
    failErrno("cannot map core " + path);
  }
  im.map = p;
  im.d.file = ByteView(static_cast<const uint8_t*>(p), im.size);
  try {
    im.d.parse();
  } catch (const Error& err) {
    throw Error(err.kind(), fmt::format("core {}: {}", path, err.what()));
  }
  return cf;
}

CoreFile::~CoreFile() = default;

void CoreFile::setUnderlay(const Memory* underlay) { impl_->d.underlay = underlay; }
const Memory& CoreFile::memory() const { return impl_->mem; }

int CoreFile::pid() const {
  if (impl_->d.prpsinfoPid > 0) return impl_->d.prpsinfoPid;
  if (!impl_->d.threads.empty()) return impl_->d.threads.front().tid;
  return 0;
}

std::string CoreFile::exePath() const { return impl_->d.exePath; }
std::vector<ThreadState> CoreFile::threads() const { return impl_->d.threads; }
std::string CoreFile::describe() const { return "core " + impl_->path; }
const std::vector<CoreFileMapping>& CoreFile::fileMappings() const { return impl_->d.files; }
bool CoreFile::zeroFill() const { return impl_->d.zeroFill; }
std::vector<std::string> CoreFile::warnings() const { return impl_->d.warnings; }

}  // namespace gms
