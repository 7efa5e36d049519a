// Binary::open: an ELF64 x86-64 executable, mmap'd read-only and parsed with
// bounds-checked reads (ByteView), plus DWARF through binary/dwarf_types.cc.
//
// Addresses (symbols, sections, segments, globals, fileMemory) are the
// link-time virtual addresses in the file. For a PIE (ET_DYN) binary the
// process maps it at a load bias the caller must add (the bias is known only
// from the target: /proc/PID/maps, a core's NT_FILE or AT_ENTRY - e_entry).
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "binary/binary.h"
#include "binary/buildinfo.h"
#include "binary/descriptor_types.h"
#include "binary/dwarf_types.h"
#include "common/checked.h"

namespace gms {
namespace {

constexpr uint32_t kNtGoBuildId = 4;  // cmd/link/internal/ld/elf.go ELF_NOTE_GOBUILDID_TAG

// The file image of the PT_LOAD segments: vaddr -> file bytes, p_filesz only
// (the zero-filled tail up to p_memsz is not in the file, so it faults).
class FileImage final : public Memory {
 public:
  FileImage(std::string path, ByteView file, const std::vector<Segment>& segs)
      : path_(std::move(path)), file_(file), segs_(segs) {
    std::sort(segs_.begin(), segs_.end(),
              [](const Segment& a, const Segment& b) { return a.vaddr < b.vaddr; });
  }

  void read(uint64_t addr, void* out, size_t n) const override {
    auto* dst = static_cast<uint8_t*>(out);
    while (n > 0) {
      const Segment* s = find(addr);
      if (!s) throw Fault(addr, fmt::format("not in the file image of {}", path_));
      uint64_t off = addr - s->vaddr;
      size_t k = std::min<uint64_t>(n, s->filesz - off);
      std::memcpy(dst, file_.data() + s->offset + off, k);
      dst += k;
      addr += k;
      n -= k;
    }
  }

  const uint8_t* view(uint64_t addr, size_t n) const override {
    const Segment* s = find(addr);
    if (!s || n > s->filesz - (addr - s->vaddr)) return nullptr;
    return file_.data() + s->offset + (addr - s->vaddr);
  }

  std::vector<Mapping> mappings() const override {
    std::vector<Mapping> out;
    for (const auto& s : segs_) {
      if (s.filesz == 0) continue;
      Mapping m;
      m.start = s.vaddr;
      m.end = s.vaddr + s.filesz;
      m.read = s.read;
      m.write = s.write;
      m.exec = s.exec;
      m.offset = s.offset;
      m.path = path_;
      out.push_back(m);
    }
    return out;
  }

 private:
  // Segments were validated to lie inside the file with no address overflow.
  const Segment* find(uint64_t addr) const {
    for (const auto& s : segs_)
      if (addr >= s.vaddr && addr - s.vaddr < s.filesz) return &s;
    return nullptr;
  }

  std::string path_;
  ByteView file_;
  std::vector<Segment> segs_;
};

std::string hex(ByteView b) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (size_t i = 0; i < b.size(); i++) {
    s += digits[b.data()[i] >> 4];
    s += digits[b.data()[i] & 15];
  }
  return s;
}

class ElfBinary final : public Binary {
 public:
  explicit ElfBinary(std::string path) : path_(std::move(path)) {}
  ~ElfBinary() override {
    types_.reset();
    descriptors_.reset();
    if (map_ && map_ != MAP_FAILED) munmap(map_, mapSize_);
    if (fd_ >= 0) close(fd_);
  }

  void load() {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) failErrno(fmt::format("cannot open {}", path_));
    struct stat st;
    if (fstat(fd_, &st) != 0) failErrno(fmt::format("cannot stat {}", path_));
    if (!S_ISREG(st.st_mode)) fail(ErrorKind::Unsupported, "{} is not a regular file", path_);
    if (st.st_size < EI_NIDENT)
      fail(ErrorKind::Unsupported, "{} is not an ELF file (too small)", path_);
    mapSize_ = static_cast<size_t>(st.st_size);
    map_ = mmap(nullptr, mapSize_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (map_ == MAP_FAILED) failErrno(fmt::format("cannot mmap {}", path_));
    close(fd_);  // the mapping keeps the file
    fd_ = -1;
    file_ = ByteView(static_cast<const uint8_t*>(map_), mapSize_);
    try {
      parseHeaders();
    } catch (const Fault&) {
      throw;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Corrupt) throw;
      fail(ErrorKind::Corrupt, "{}: malformed ELF: {}", path_, e.what());
    }
    image_ = std::make_unique<FileImage>(path_, file_, segments_);
    parseNotes();
    parseBuildInfo();
    loadDwarf();
  }

  const std::string& path() const override { return path_; }
  const std::vector<Section>& sections() const override { return sections_; }
  const Section* section(std::string_view name) const override {
    for (const auto& s : sections_)
      if (s.name == name) return &s;
    return nullptr;
  }
  const std::vector<Segment>& segments() const override { return segments_; }

  std::optional<Symbol> symbol(std::string_view name) const override {
    if (!symIndexed_) indexSymbols();
    auto it = symByName_.find(name);
    if (it == symByName_.end()) return std::nullopt;
    auto sym = symtab_.get<Elf64_Sym>(uint64_t(it->second) * sizeof(Elf64_Sym));
    return Symbol{std::string(name), sym.st_value, sym.st_size};
  }
  bool hasSymbols() const override { return symtab_.size() > sizeof(Elf64_Sym); }
  const std::optional<GoBuildInfo>& buildInfo() const override { return buildInfo_; }
  const std::string& goBuildId() const override { return goBuildId_; }
  const std::string& gnuBuildId() const override { return gnuBuildId_; }
  const Memory& fileMemory() const override { return *image_; }
  const TypeProvider* types() const override { return types_ ? types_.get() : descriptorTypes(); }
  const TypeProvider* descriptorTypes() const override {
    std::call_once(descriptorsOnce_, [this] {
      if (!buildInfo_) {
        descriptorError_ = "not a Go program";
        return;
      }
      try {
        descriptors_ = openDescriptorTypes(descriptorSourceOf(*this));
      } catch (const Error& e) {
        descriptorError_ = e.what();
      }
    });
    return descriptors_.get();
  }
  std::string descriptorError() const override {
    descriptorTypes();
    return descriptorError_;
  }
  std::optional<uint64_t> moduledataAddress() const override {
    if (auto s = symbol("runtime.firstmoduledata")) return s->addr;
    std::call_once(moduledataOnce_, [this] {
      if (!buildInfo_) return;
      try {
        moduledata_ = findModuledata(descriptorSourceOf(*this)).moduledata;
      } catch (const Error&) {
        // no moduledata: moduledataAddress() is nullopt, and descriptorError() says why
      }
    });
    return moduledata_;
  }
  std::string missingDebugInfo() const override { return missingDebugInfo_; }
  const Pclntab* pclntab() const override {
    std::call_once(pclntabOnce_, [this] {
      try {
        loadPclntab();
      } catch (const Error&) {
        // pclntab() returns nullptr, which every caller reports as "no
        // pclntab" in its own terms.
        pclntab_.reset();
      }
    });
    return pclntab_ ? &*pclntab_ : nullptr;
  }

 private:
  void parseHeaders() {
    if (file_.str(0, 4) != std::string_view(ELFMAG, SELFMAG))
      fail(ErrorKind::Unsupported, "{} is not an ELF file", path_);
    if (file_.u8(EI_CLASS) != ELFCLASS64)
      fail(ErrorKind::Unsupported, "{} is a 32-bit ELF file; only ELF64 x86-64 is supported",
           path_);
    if (file_.u8(EI_DATA) != ELFDATA2LSB)
      fail(ErrorKind::Unsupported, "{} is a big-endian ELF file; only x86-64 is supported", path_);
    auto eh = file_.get<Elf64_Ehdr>(0);
    if (eh.e_machine != EM_X86_64)
      fail(ErrorKind::Unsupported, "{} is an ELF file for machine {}; only x86-64 is supported",
           path_, eh.e_machine);
    if (eh.e_type == ET_CORE)
      fail(ErrorKind::Unsupported, "{} is a core dump, not an executable", path_);
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
      fail(ErrorKind::Unsupported, "{} is not an executable (ELF type {})", path_, eh.e_type);

    if (eh.e_phnum && eh.e_phentsize != sizeof(Elf64_Phdr))
      fail(ErrorKind::Corrupt, "program header entry size {}", eh.e_phentsize);
    for (uint64_t i = 0; i < eh.e_phnum; i++) {
      auto ph = file_.get<Elf64_Phdr>(checkedAdd(eh.e_phoff, i * sizeof(Elf64_Phdr), "e_phoff"));
      if (ph.p_type == PT_NOTE) {
        notes_.push_back({file_.sub(ph.p_offset, ph.p_filesz), ph.p_align});
        continue;
      }
      if (ph.p_type != PT_LOAD) continue;
      file_.sub(ph.p_offset, ph.p_filesz);  // inside the file
      checkedAdd(ph.p_vaddr, ph.p_memsz, "p_vaddr + p_memsz");
      if (ph.p_filesz > ph.p_memsz) fail(ErrorKind::Corrupt, "PT_LOAD with p_filesz > p_memsz");
      Segment s;
      s.vaddr = ph.p_vaddr;
      s.memsz = ph.p_memsz;
      s.offset = ph.p_offset;
      s.filesz = ph.p_filesz;
      s.read = ph.p_flags & PF_R;
      s.write = ph.p_flags & PF_W;
      s.exec = ph.p_flags & PF_X;
      segments_.push_back(s);
    }

    if (eh.e_shoff == 0) return;  // sstripped: no section headers
    if (eh.e_shentsize != sizeof(Elf64_Shdr))
      fail(ErrorKind::Corrupt, "section header entry size {}", eh.e_shentsize);
    uint64_t shnum = eh.e_shnum;
    uint64_t shstrndx = eh.e_shstrndx;
    auto sh0 = file_.get<Elf64_Shdr>(eh.e_shoff);
    if (shnum == 0) shnum = sh0.sh_size;  // extended numbering
    if (shstrndx == SHN_XINDEX) shstrndx = sh0.sh_link;
    file_.sub(eh.e_shoff, checkedMul(shnum, sizeof(Elf64_Shdr), "e_shnum"));
    std::vector<Elf64_Shdr> shdrs(shnum);
    for (uint64_t i = 0; i < shnum; i++)
      shdrs[i] = file_.get<Elf64_Shdr>(eh.e_shoff + i * sizeof(Elf64_Shdr));
    ByteView names;
    if (shstrndx < shnum && shdrs[shstrndx].sh_type == SHT_STRTAB)
      names = file_.sub(shdrs[shstrndx].sh_offset, shdrs[shstrndx].sh_size);
    for (uint64_t i = 0; i < shnum; i++) {
      const auto& sh = shdrs[i];
      if (i == 0 && sh.sh_type == SHT_NULL) continue;
      Section s;
      s.name = cstring(names, sh.sh_name);
      s.addr = sh.sh_addr;
      s.offset = sh.sh_offset;
      s.size = sh.sh_size;
      s.nobits = sh.sh_type == SHT_NOBITS;
      if (!s.nobits) file_.sub(sh.sh_offset, sh.sh_size);
      sections_.push_back(s);
      shdrs_.push_back(sh);
      if (sh.sh_type == SHT_SYMTAB && symtab_.empty() && sh.sh_link < shnum) {
        const auto& str = shdrs[sh.sh_link];
        symtab_ = file_.sub(sh.sh_offset, sh.sh_size / sizeof(Elf64_Sym) * sizeof(Elf64_Sym));
        strtab_ = file_.sub(str.sh_offset, str.sh_size);
      }
      if (sh.sh_type == SHT_NOTE)
        sectionNotes_.push_back({file_.sub(sh.sh_offset, sh.sh_size), sh.sh_addralign});
    }
  }

  // A NUL-terminated string at off, bounded by the table.
  static std::string_view cstring(ByteView table, uint64_t off) {
    if (off >= table.size()) return {};
    const char* p = reinterpret_cast<const char*>(table.data()) + off;
    size_t n = strnlen(p, table.size() - off);
    return std::string_view(p, n);
  }

  void indexSymbols() const {
    symIndexed_ = true;
    size_t n = symtab_.size() / sizeof(Elf64_Sym);
    symByName_.reserve(n);
    std::vector<bool> global(n);
    for (size_t i = 1; i < n; i++) {
      auto s = symtab_.get<Elf64_Sym>(i * sizeof(Elf64_Sym));
      int type = ELF64_ST_TYPE(s.st_info);
      if (s.st_shndx == SHN_UNDEF || type == STT_SECTION || type == STT_FILE) continue;
      std::string_view name = cstring(strtab_, s.st_name);
      if (name.empty()) continue;
      bool isGlobal = ELF64_ST_BIND(s.st_info) != STB_LOCAL;
      auto [it, inserted] = symByName_.emplace(name, uint32_t(i));
      // Prefer a global definition over a local one of the same name.
      if (!inserted && isGlobal && !global[it->second]) it->second = uint32_t(i);
      global[i] = isGlobal;
    }
  }

  void parseNotes() {
    // Section headers name each note; a binary without them still has PT_NOTE.
    const auto& notes = sectionNotes_.empty() ? notes_ : sectionNotes_;
    for (const auto& [data, align] : notes) {
      try {
        parseNoteBlock(data, align == 8 ? 8 : 4);
      } catch (const Error&) {
        // A malformed note loses its build id, nothing else.
      }
    }
  }

  void parseNoteBlock(ByteView b, uint64_t align) {
    auto up = [align](uint64_t v) { return checkedAdd(v, align - 1, "note") & ~(align - 1); };
    uint64_t off = 0;
    while (off + 12 <= b.size()) {
      uint32_t namesz = b.u32(off), descsz = b.u32(off + 4), type = b.u32(off + 8);
      uint64_t nameOff = off + 12;
      uint64_t descOff = up(checkedAdd(nameOff, namesz, "note name"));
      std::string_view name = b.str(nameOff, namesz);
      ByteView desc = b.sub(descOff, descsz);
      while (!name.empty() && name.back() == '\0') name.remove_suffix(1);  // "Go\0\0"

      if (name == "Go" && type == kNtGoBuildId && goBuildId_.empty()) {
        goBuildId_ = std::string(desc.str(0, desc.size()));
      } else if (name == "GNU" && type == NT_GNU_BUILD_ID && gnuBuildId_.empty()) {
        gnuBuildId_ = hex(desc);
      }
      off = up(descOff + descsz);
    }
  }

  // .go.buildinfo, or (no section headers) a 16-aligned magic near the start
  // of the first writable segment, as debug/buildinfo searches.
  void parseBuildInfo() {
    ByteView blob;
    if (const Section* s = section(".go.buildinfo")) {
      if (s->nobits) return;  // a debug-only file (objcopy --only-keep-debug)
      blob = file_.sub(s->offset, s->size);
    } else {
      for (const auto& seg : segments_) {
        if (!seg.write || seg.exec) continue;
        ByteView data = file_.sub(seg.offset, std::min<uint64_t>(seg.filesz, 64 * 1024));
        for (uint64_t i = 0; i + 32 <= data.size(); i += 16) {
          if (data.str(i, kBuildInfoMagic.size()) == kBuildInfoMagic) {
            blob = data.from(i);
            break;
          }
        }
        break;
      }
    }
    if (blob.empty()) return;
    try {
      buildInfo_ = gms::parseBuildInfo(blob, *image_);
    } catch (const Error& e) {
      ErrorKind k = e.kind() == ErrorKind::Fault ? ErrorKind::Corrupt : e.kind();
      fail(k, "{}: bad Go build info: {}", path_, e.what());
    }
  }

  // [runtime.types, runtime.etypes): go1.19 gives uintptr's
  // DW_AT_go_runtime_type as an address in it instead of an offset.
  std::pair<uint64_t, uint64_t> typesRange() const {
    auto start = symbol("runtime.types"), end = symbol("runtime.etypes");
    if (start && end && start->addr < end->addr) return {start->addr, end->addr};
    if (const Section* ro = section(".rodata")) return {ro->addr, ro->addr + ro->size};
    return {0, 0};
  }

  void loadDwarf() {
    bool hasInfo = section(".debug_info") || section(".zdebug_info");
    std::string why;
    if (hasInfo) {
      std::vector<DebugSection> debug;
      for (size_t i = 0; i < sections_.size(); i++) {
        const Section& s = sections_[i];
        if (!s.name.starts_with(".debug_") && !s.name.starts_with(".zdebug_")) continue;
        if (shdrs_[i].sh_type == SHT_NOBITS) continue;
        debug.push_back(
            {s.name, file_.data() + s.offset, s.size, shdrs_[i].sh_flags, shdrs_[i].sh_addralign});
      }
      types_ = openDwarfTypes(path_, debug, typesRange(), &why);
    }
    if (types_) return;
    if (!hasInfo) {
      // Say how it was built when the build info records it.
      std::string how = buildInfo_ ? " (built with -ldflags=-w?)" : "";
      if (buildInfo_) {
        auto ld = buildInfo_->settings.find("-ldflags");
        if (ld != buildInfo_->settings.end() && ld->second.find("-w") != std::string::npos)
          how = fmt::format(" (built with -ldflags={:?})", ld->second);
        else if (ld != buildInfo_->settings.end() || !buildInfo_->settings.empty())
          how = " (stripped after the build, e.g. by strip or objcopy?)";
      }
      why = fmt::format("{} has no DWARF debug info{}", path_, how);
    }
    if (buildInfo_) {
      why += ": variables have no names; types come from the runtime's type descriptors";
    }
    missingDebugInfo_ = why;
  }

  std::string path_;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t mapSize_ = 0;
  ByteView file_;
  // .gopclntab (PIE: .data.rel.ro.gopclntab), else runtime.pclntab..epclntab;
  // entry offsets are relative to runtime.text (the start of .text).
  void loadPclntab() const {
    uint64_t addr = 0, size = 0;
    const Section* s = section(".gopclntab");
    if (!s) s = section(".data.rel.ro.gopclntab");
    if (s) {
      addr = s->addr;
      size = s->size;
    } else if (auto b = symbol("runtime.pclntab"), e = symbol("runtime.epclntab"); b && e && e->addr > b->addr) {
      addr = b->addr;
      size = e->addr - b->addr;
    }
    if (!addr || !size || size > (1ull << 32)) return;
    uint64_t text = 0;
    if (auto t = symbol("runtime.text")) text = t->addr;
    else if (const Section* ts = section(".text")) text = ts->addr;
    std::vector<uint8_t> bytes(size);
    image_->read(addr, bytes.data(), size);
    pclntab_ = Pclntab::parse(std::move(bytes), text);
    // Funcdata (inline trees) are offsets from go:func.* (Go 1.20+;
    // go.func.* before): its symbol, or stripped the address moduledata.gofunc
    // records (the runtime's own reference to it).
    uint64_t gofunc = 0;
    if (auto g = symbol("go:func.*"))
      gofunc = g->addr;
    else if (auto g2 = symbol("go.func.*"))
      gofunc = g2->addr;
    else if (buildInfo_) {
      try {
        gofunc = findModuledata(descriptorSourceOf(*this)).gofunc;
      } catch (const Error&) {
        // no moduledata: no funcdata base, so no inline trees (frames name the outer function only)
      }
    }
    if (!gofunc) return;
    for (const Section& sec : sections_) {
      if (gofunc < sec.addr || gofunc - sec.addr >= sec.size) continue;
      uint64_t n = std::min<uint64_t>(sec.addr + sec.size - gofunc, 256ull << 20);
      std::vector<uint8_t> fd(n);
      try {
        image_->read(gofunc, fd.data(), n);
        pclntab_->setFuncData(std::move(fd));
      } catch (const Error&) {
        // funcdata outside the file image: no inline trees (frames name the outer function only)
      }
      break;
    }
  }

  std::vector<Section> sections_;
  mutable std::once_flag pclntabOnce_;
  mutable std::optional<Pclntab> pclntab_;
  std::vector<Elf64_Shdr> shdrs_;  // parallel to sections_
  std::vector<Segment> segments_;
  std::vector<std::pair<ByteView, uint64_t>> notes_, sectionNotes_;
  ByteView symtab_, strtab_;
  mutable bool symIndexed_ = false;
  mutable std::unordered_map<std::string_view, uint32_t> symByName_;
  std::unique_ptr<FileImage> image_;
  std::optional<GoBuildInfo> buildInfo_;
  std::string goBuildId_, gnuBuildId_;
  std::unique_ptr<TypeProvider> types_;
  std::string missingDebugInfo_;
  mutable std::once_flag descriptorsOnce_;
  mutable std::unique_ptr<TypeProvider> descriptors_;
  mutable std::string descriptorError_;
  mutable std::once_flag moduledataOnce_;
  mutable std::optional<uint64_t> moduledata_;
};

}  // namespace

std::optional<uint64_t> Binary::functionEntry(std::string_view name) const {
  if (auto s = symbol(name)) return s->addr;
  if (const Pclntab* t = pclntab())
    if (auto f = t->funcNamed(name)) return f->entry;
  return std::nullopt;
}

std::unique_ptr<Binary> Binary::open(const std::string& path) {
  auto b = std::make_unique<ElfBinary>(path);
  b->load();
  return b;
}

}  // namespace gms
