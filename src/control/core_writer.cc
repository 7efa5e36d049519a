#include "control/core_writer.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "target/core_file.h"
#include "target/proc_fs.h"
#include "target/proc_mem.h"
#include "target/proc_pagemap.h"

namespace gms {

namespace {

using proc::kPageSize;
using proc::PageRange;

static_assert(sizeof(elf_prstatus) == 336, "x86-64 struct elf_prstatus");
static_assert(sizeof(elf_prpsinfo) == 136, "x86-64 struct elf_prpsinfo");
static_assert(sizeof(user_fpregs_struct) == 512, "x86-64 user_fpregs_struct");

// Inside an anonymous mapping, unsaved gaps up to this long are folded into
// the surrounding saved segment as zeroes (holes in a sparse file, so they
// cost no disk) instead of a segment of their own. Keeps a fragmented heap
// from turning into hundreds of thousands of program headers, which gdb and
// BFD handle slowly.
constexpr uint64_t kFoldGap = 4 * kPageSize;
// Bytes copied from the target per process_vm_readv.
constexpr size_t kChunk = 4 << 20;
// Spare program header slots: an unreadable page discovered while copying
// splits its segment, which needs one more header.
constexpr size_t kSpareHeaders = 64;

// One PT_LOAD to be written.
struct Seg {
  uint64_t vaddr = 0, memsz = 0;
  uint64_t filesz = 0;  // 0 or memsz
  uint32_t flags = 0;
  uint64_t offset = 0;  // in the core file
  // The parts of a saved segment to copy from the target; the rest of it is
  // known to be zero (folded gaps) and is left as a hole in the file.
  std::vector<PageRange> reads;
};

uint32_t elfFlags(const Mapping& m) {
  return (m.read ? PF_R : 0) | (m.write ? PF_W : 0) | (m.exec ? PF_X : 0);
}

bool deviceMapping(const proc::MapsEntry& e) {
  const std::string& p = e.m.path;
  // Device memory (GPU, frame buffers): reading it can have side effects or
  // fail, and it is never Go heap. /dev/zero and /dev/shm are ordinary memory.
  return p.rfind("/dev/", 0) == 0 && p.rfind("/dev/zero", 0) != 0 && p.rfind("/dev/shm/", 0) != 0;
}

void addSaved(std::vector<Seg>& segs, uint64_t start, uint64_t end, uint32_t flags,
              std::vector<PageRange> reads) {
  Seg s;
  s.vaddr = start;
  s.memsz = s.filesz = end - start;
  s.flags = flags;
  s.reads = std::move(reads);
  segs.push_back(std::move(s));
}

void addUnsaved(std::vector<Seg>& segs, uint64_t start, uint64_t end, uint32_t flags) {
  Seg s;
  s.vaddr = start;
  s.memsz = end - start;
  s.flags = flags;
  segs.push_back(std::move(s));
}

// Decides what of one mapping goes into the core.
void planMapping(const proc::MapsEntry& e, proc::PagemapScanner& pm, std::vector<Seg>& segs) {
  const Mapping& m = e.m;
  uint32_t flags = elfFlags(m);
  if (m.size() == 0 || e.special() || deviceMapping(e)) return;
  if (!m.read) {
    // PROT_NONE (Go's reservations, guard pages): the address space is
    // recorded, nothing can be read.
    addUnsaved(segs, m.start, m.end, flags);
    return;
  }
  if (e.fileBacked() && !m.write) {
    // Text and read-only data: the file has them. Keep the first page of a
    // mapping that starts the file: the ELF header and build-ID note, which
    // is how gdb and gomemscope check that a binary matches the core. Also
    // keep pages the process wrote before making them read-only (a PIE's
    // RELRO data after relocation): the file holds the unrelocated bytes.
    std::vector<PageRange> keep;
    if (m.offset == 0) keep.push_back({m.start, std::min(m.end, m.start + kPageSize)});
    if (!e.shared)
      for (const PageRange& r : pm.privateCopies(m.start, m.end)) {
        if (!keep.empty() && r.start < keep.back().end) {
          keep.back().end = std::max(keep.back().end, r.end);
        } else {
          keep.push_back(r);
        }
      }
    for (const PageRange& r : keep) addSaved(segs, r.start, r.end, flags, {r});
    return;
  }
  std::vector<PageRange> runs = pm.resident(m.start, m.end);
  // Anonymous private memory that was never touched (or was returned with
  // MADV_DONTNEED) is zero: say so with a segment that saves nothing (see
  // NT_GMS_ZEROFILL). For file-backed or shared memory an absent page is not
  // zero — it is whatever the file or the other sharers hold — so there the
  // gaps are left out and a reader falls back to the file or faults.
  bool zeroGaps = e.anonymous() && !e.shared;
  if (!zeroGaps) {
    for (const PageRange& r : runs) addSaved(segs, r.start, r.end, flags, {r});
    return;
  }
  uint64_t pos = m.start;
  size_t i = 0;
  while (i < runs.size()) {
    if (runs[i].start > pos) addUnsaved(segs, pos, runs[i].start, flags);
    // Fold following runs separated by short gaps into this segment.
    uint64_t segStart = runs[i].start;
    std::vector<PageRange> reads{runs[i]};
    size_t j = i + 1;
    while (j < runs.size() && runs[j].start - reads.back().end <= kFoldGap)
      reads.push_back(runs[j++]);
    uint64_t segEnd = reads.back().end;
    addSaved(segs, segStart, segEnd, flags, std::move(reads));
    pos = segEnd;
    i = j;
  }
  if (pos < m.end) addUnsaved(segs, pos, m.end, flags);
}

// ---------------------------------------------------------------------------
// Notes

class NoteWriter {
 public:
  void add(std::string_view owner, uint32_t type, const void* desc, size_t size) {
    uint32_t hdr[3] = {static_cast<uint32_t>(owner.size() + 1), static_cast<uint32_t>(size), type};
    put(hdr, sizeof hdr);
    put(owner.data(), owner.size());
    put("", 1);
    pad();
    put(desc, size);
    pad();
  }
  const std::vector<uint8_t>& bytes() const { return buf_; }

 private:
  void put(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  void pad() { buf_.resize((buf_.size() + 3) & ~size_t(3), 0); }
  std::vector<uint8_t> buf_;
};

struct ProcStat {
  char state = 'R';
  int ppid = 0, pgrp = 0, sid = 0;
  long nice = 0;
  unsigned long flags = 0;
  std::string comm;
};

ProcStat readStat(int pid) {
  ProcStat ps;
  auto text = proc::tryReadFile(fmt::format("/proc/{}/stat", pid));
  if (!text) return ps;
  size_t lp = text->find('('), rp = text->rfind(')');
  if (lp == std::string::npos || rp == std::string::npos || rp < lp) return ps;
  ps.comm = text->substr(lp + 1, rp - lp - 1);
  // Fields after the command: state ppid pgrp session tty tpgid flags minflt
  // cminflt majflt cmajflt utime stime cutime cstime priority nice ...
  std::vector<std::string> f;
  size_t pos = rp + 2;
  while (pos < text->size()) {
    size_t sp = text->find(' ', pos);
    f.push_back(text->substr(pos, sp == std::string::npos ? std::string::npos : sp - pos));
    if (sp == std::string::npos) break;
    pos = sp + 1;
  }
  auto num = [&](size_t i) { return i < f.size() ? std::strtoll(f[i].c_str(), nullptr, 10) : 0; };
  if (!f.empty() && !f[0].empty()) ps.state = f[0][0];
  ps.ppid = static_cast<int>(num(1));
  ps.pgrp = static_cast<int>(num(2));
  ps.sid = static_cast<int>(num(3));
  ps.flags = static_cast<unsigned long>(num(6));
  ps.nice = static_cast<long>(num(16));
  return ps;
}

unsigned long sigMask(int tid, const char* key) {
  auto v = proc::statusField(tid, key);  // /proc/TID/status is the thread's own
  return v ? std::strtoul(v->c_str(), nullptr, 16) : 0;
}

std::vector<uint8_t> buildNotes(int pid, const std::vector<ThreadRegs>& regs,
                                const std::vector<proc::MapsEntry>& maps) {
  NoteWriter nw;
  ProcStat ps = readStat(pid);

  auto prstatus = [&](const ThreadRegs& r) {
    elf_prstatus st;
    std::memset(&st, 0, sizeof st);
    st.pr_pid = r.tid;
    st.pr_ppid = ps.ppid;
    st.pr_pgrp = ps.pgrp;
    st.pr_sid = ps.sid;
    st.pr_sigpend = sigMask(r.tid, "SigPnd");
    st.pr_sighold = sigMask(r.tid, "SigBlk");
    static_assert(sizeof(st.pr_reg) == sizeof(r.regs));
    std::memcpy(&st.pr_reg, &r.regs, sizeof r.regs);
    st.pr_fpvalid = r.hasFpregs ? 1 : 0;
    nw.add("CORE", NT_PRSTATUS, &st, sizeof st);
    if (r.hasFpregs) nw.add("CORE", NT_FPREGSET, &r.fpregs, sizeof r.fpregs);
  };

  // The first thread's notes come first: gdb makes it the current thread,
  // and the process-wide notes follow it as in kernel cores.
  prstatus(regs.front());

  elf_prpsinfo pi;
  std::memset(&pi, 0, sizeof pi);
  static constexpr std::string_view kStates = "RSDTZW";
  size_t si = kStates.find(ps.state);
  pi.pr_state = static_cast<char>(si == std::string_view::npos ? 0 : si);
  pi.pr_sname = ps.state;
  pi.pr_zomb = ps.state == 'Z';
  pi.pr_nice = static_cast<char>(ps.nice);
  pi.pr_flag = ps.flags;
  if (auto uid = proc::statusField(pid, "Uid")) pi.pr_uid = std::strtoul(uid->c_str(), nullptr, 10);
  if (auto gid = proc::statusField(pid, "Gid")) pi.pr_gid = std::strtoul(gid->c_str(), nullptr, 10);
  pi.pr_pid = pid;
  pi.pr_ppid = ps.ppid;
  pi.pr_pgrp = ps.pgrp;
  pi.pr_sid = ps.sid;
  std::strncpy(pi.pr_fname, ps.comm.c_str(), sizeof pi.pr_fname - 1);
  std::string args = proc::tryReadFile(fmt::format("/proc/{}/cmdline", pid)).value_or("");
  std::replace(args.begin(), args.end(), '\0', ' ');
  while (!args.empty() && args.back() == ' ') args.pop_back();
  std::strncpy(pi.pr_psargs, args.c_str(), sizeof pi.pr_psargs - 1);
  nw.add("CORE", NT_PRPSINFO, &pi, sizeof pi);

  // The auxiliary vector: AT_ENTRY locates a PIE executable, AT_SYSINFO_EHDR
  // the vDSO.
  std::string auxv = proc::tryReadFile(fmt::format("/proc/{}/auxv", pid)).value_or("");
  if (!auxv.empty()) nw.add("CORE", NT_AUXV, auxv.data(), auxv.size());

  // NT_FILE: count, page size, {start, end, offset in pages} per file
  // mapping, then the names.
  std::vector<uint64_t> words{0, kPageSize};
  std::string names;
  for (const auto& e : maps) {
    if (!e.fileBacked()) continue;
    words.push_back(e.m.start);
    words.push_back(e.m.end);
    words.push_back(e.m.offset / kPageSize);
    names += e.m.path;
    names.push_back('\0');
    words[0]++;
  }
  std::vector<uint8_t> file(words.size() * 8 + names.size());
  std::memcpy(file.data(), words.data(), words.size() * 8);
  std::memcpy(file.data() + words.size() * 8, names.data(), names.size());
  nw.add("CORE", NT_FILE, file.data(), file.size());

  // Our promise to the reader: the unsaved parts of readable segments were
  // never-touched anonymous memory, i.e. zero (see core_file.h).
  uint32_t version = 1;
  nw.add("GOMEMSCOPE", NT_GMS_ZEROFILL, &version, sizeof version);

  for (size_t i = 1; i < regs.size(); i++) prstatus(regs[i]);
  return nw.bytes();
}

// ---------------------------------------------------------------------------
// Output

class OutFile {
 public:
  explicit OutFile(const std::string& path) : path_(path) {
    // 0600 from the first byte: the core holds every secret of the process.
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) failErrno("cannot create " + path);
    // An existing file keeps its mode through O_TRUNC.
    if (fchmod(fd_, 0600) != 0) {
      int e = errno;
      discard();
      errno = e;
      failErrno("cannot chmod " + path);
    }
  }
  ~OutFile() { discard(); }

  void pwriteAll(const void* p, size_t n, uint64_t off) {
    auto* b = static_cast<const uint8_t*>(p);
    while (n > 0) {
      ssize_t w = ::pwrite(fd_, b, n, static_cast<off_t>(off));
      if (w < 0) {
        if (errno == EINTR) continue;
        failErrno("cannot write " + path_);
      }
      b += w;
      n -= static_cast<size_t>(w);
      off += static_cast<uint64_t>(w);
    }
  }
  // Writes only the pages that are not all zero: the file is sparse, and
  // zero pages (plentiful in a Go heap) cost no disk.
  void writeSparse(const uint8_t* p, size_t n, uint64_t off) {
    size_t i = 0;
    while (i < n) {
      size_t k = std::min(n - i, size_t(kPageSize));
      if (isZero(p + i, k)) {
        i += k;
        continue;
      }
      size_t j = i + k;
      while (j < n) {
        size_t kk = std::min(n - j, size_t(kPageSize));
        if (isZero(p + j, kk)) break;
        j += kk;
      }
      pwriteAll(p + i, j - i, off + i);
      i = j;
    }
  }
  void finish(uint64_t size) {
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) failErrno("cannot size " + path_);
    if (::close(fd_) != 0) {
      fd_ = -1;
      failErrno("cannot write " + path_);
    }
    fd_ = -1;
  }

 private:
  static bool isZero(const uint8_t* p, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w) return false;
    }
    for (; i < n; i++)
      if (p[i]) return false;
    return true;
  }
  void discard() {
    if (fd_ < 0) return;
    ::close(fd_);
    ::unlink(path_.c_str());  // never leave a half-written core behind
    fd_ = -1;
  }
  std::string path_;
  int fd_ = -1;
};

// Copies segment s's bytes from the target to the file. Returns the ranges
// that turned out to be unreadable (their bytes in the file are zero).
std::vector<PageRange> copySegment(proc::RemoteReader& reader, OutFile& out, const Seg& s,
                                   std::vector<uint8_t>& buf) {
  std::vector<PageRange> bad;
  for (const PageRange& r : s.reads) {
    uint64_t pos = r.start;
    while (pos < r.end) {
      size_t len = static_cast<size_t>(std::min<uint64_t>(kChunk, r.end - pos));
      size_t got = reader.readSome(pos, buf.data(), len);
      out.writeSparse(buf.data(), got, s.offset + (pos - s.vaddr));
      if (got == len) {
        pos += len;
        continue;
      }
      // Something in the middle could not be read (a page present per
      // pagemap but not readable: device memory, a racing munmap). Find
      // where readable memory resumes, a page at a time.
      uint64_t badStart = (pos + got) & ~(kPageSize - 1);
      uint64_t p = badStart + kPageSize;
      while (p < r.end && reader.readSome(p, buf.data(), 1) == 0) p += kPageSize;
      p = std::min(p, r.end);
      bad.push_back({badStart, p});
      pos = p;
    }
  }
  return bad;
}

}  // namespace

CoreWriteStats writeCore(const LiveProcess& proc, const Freezer& frozen,
                         const std::string& outPath) {
  const int pid = proc.pid();
  if (frozen.pid() != pid)
    fail(ErrorKind::Usage, "writeCore: the freezer holds pid {}, not pid {}", frozen.pid(), pid);
  std::vector<ThreadRegs> regs = frozen.registers();
  if (regs.empty())
    fail(ErrorKind::Usage, "writeCore: pid {} is not frozen (freezer released)", pid);
  // The main thread first: gdb shows the first NT_PRSTATUS as the current thread.
  std::stable_partition(regs.begin(), regs.end(),
                        [pid](const ThreadRegs& r) { return r.tid == pid; });

  std::vector<proc::MapsEntry> maps = proc::readMaps(pid);
  proc::PagemapScanner pm(pid);
  std::vector<Seg> segs;
  uint64_t mapped = 0;
  for (const auto& e : maps) {
    mapped += e.m.size();
    planMapping(e, pm, segs);
  }
  std::vector<uint8_t> notes = buildNotes(pid, regs, maps);

  // Layout: ELF header, program headers (with spare slots), notes, then the
  // segment data from the next page boundary.
  size_t capacity = 1 + segs.size() + kSpareHeaders;
  uint64_t notesOff = sizeof(Elf64_Ehdr) + capacity * sizeof(Elf64_Phdr);
  uint64_t cursor = (notesOff + notes.size() + kPageSize - 1) & ~(kPageSize - 1);
  for (Seg& s : segs) {
    s.offset = cursor;
    cursor += s.filesz;
  }
  const uint64_t dataEnd = cursor;

  OutFile out(outPath);
  CoreWriteStats st;
  proc::RemoteReader reader(pid);
  std::vector<uint8_t> buf(kChunk);
  std::vector<Seg> final;
  final.reserve(segs.size() + kSpareHeaders);
  size_t sparesLeft = kSpareHeaders;
  for (Seg& s : segs) {
    if (s.filesz == 0) {
      final.push_back(std::move(s));
      continue;
    }
    std::vector<PageRange> bad = copySegment(reader, out, s, buf);
    // Leave unreadable pages out of the core (they fault when read), by
    // splitting the segment around them while spare headers last; past that,
    // they stay in as zeroes.
    uint64_t pos = s.vaddr;
    for (const PageRange& b : bad) {
      st.unreadableBytes += b.end - b.start;
      if (sparesLeft == 0) continue;
      sparesLeft--;  // cutting b out adds at most one segment
      if (b.start > pos) {
        Seg part = s;
        part.vaddr = pos;
        part.memsz = part.filesz = b.start - pos;
        part.offset = s.offset + (pos - s.vaddr);
        part.reads.clear();
        final.push_back(std::move(part));
      }
      pos = b.end;
    }
    if (pos < s.vaddr + s.memsz) {
      Seg part = s;
      part.vaddr = pos;
      part.memsz = part.filesz = s.vaddr + s.memsz - pos;
      part.offset = s.offset + (pos - s.vaddr);
      part.reads.clear();
      final.push_back(std::move(part));
    }
  }

  // Headers.
  uint64_t phnum = 1 + final.size();
  std::vector<uint8_t> head(notesOff, 0);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
  eh.e_type = ET_CORE;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  uint64_t fileSize = dataEnd;
  if (phnum >= PN_XNUM) {
    // Too many segments for e_phnum: the count goes in section header 0.
    eh.e_phnum = PN_XNUM;
    eh.e_shoff = dataEnd;
    eh.e_shentsize = sizeof(Elf64_Shdr);
    eh.e_shnum = 1;
    Elf64_Shdr sh0{};
    sh0.sh_size = 1;
    sh0.sh_info = static_cast<uint32_t>(phnum);
    out.pwriteAll(&sh0, sizeof sh0, dataEnd);
    fileSize += sizeof sh0;
  } else {
    eh.e_phnum = static_cast<uint16_t>(phnum);
  }
  std::memcpy(head.data(), &eh, sizeof eh);
  Elf64_Phdr note{};
  note.p_type = PT_NOTE;
  note.p_offset = notesOff;
  note.p_filesz = notes.size();
  note.p_align = 4;
  std::memcpy(head.data() + eh.e_phoff, &note, sizeof note);
  for (size_t i = 0; i < final.size(); i++) {
    const Seg& s = final[i];
    Elf64_Phdr ph{};
    ph.p_type = PT_LOAD;
    ph.p_flags = s.flags;
    ph.p_offset = s.offset;
    ph.p_vaddr = s.vaddr;
    ph.p_filesz = s.filesz;
    ph.p_memsz = s.memsz;
    ph.p_align = kPageSize;
    std::memcpy(head.data() + eh.e_phoff + (i + 1) * sizeof(Elf64_Phdr), &ph, sizeof ph);
    st.savedBytes += s.filesz;
  }
  out.pwriteAll(head.data(), head.size(), 0);
  out.pwriteAll(notes.data(), notes.size(), notesOff);
  out.finish(fileSize);

  st.fileBytes = fileSize;
  st.skippedBytes = mapped > st.savedBytes ? mapped - st.savedBytes : 0;
  st.segments = final.size();
  st.threads = regs.size();
  return st;
}

}  // namespace gms
