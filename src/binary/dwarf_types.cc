#include "binary/dwarf_types.h"

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <libelf.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "common/error.h"

namespace gms {
namespace {

// Go's DWARF extensions (cmd/internal/dwarf/dwarf.go).
constexpr unsigned kAtGoKind = 0x2900;
constexpr unsigned kAtGoKey = 0x2901;
constexpr unsigned kAtGoElem = 0x2902;
constexpr unsigned kAtGoEmbeddedField = 0x2903;
constexpr unsigned kAtGoRuntimeType = 0x2904;

constexpr uint64_t kPtrSize = 8;
// Longest chain of same-named typedefs followed before giving up (corrupt
// DWARF could make one loop).
constexpr int kMaxTypedefHops = 32;

bool isTypeTag(int tag) {
  switch (tag) {
    case DW_TAG_base_type:
    case DW_TAG_pointer_type:
    case DW_TAG_structure_type:
    case DW_TAG_array_type:
    case DW_TAG_typedef:
    case DW_TAG_subroutine_type:
    case DW_TAG_union_type:
    case DW_TAG_unspecified_type:
      return true;
    default:
      return false;
  }
}

std::optional<uint64_t> udata(Dwarf_Die* die, unsigned at) {
  Dwarf_Attribute a;
  Dwarf_Word v;
  if (!dwarf_attr(die, at, &a) || dwarf_formudata(&a, &v) != 0) return std::nullopt;
  return v;
}

bool flag(Dwarf_Die* die, unsigned at) {
  Dwarf_Attribute a;
  bool v = false;
  if (!dwarf_attr(die, at, &a)) return false;
  if (dwarf_formflag(&a, &v) == 0) return v;
  Dwarf_Word w;
  return dwarf_formudata(&a, &w) == 0 && w != 0;
}

// Global offset of the DIE an attribute refers to.
std::optional<Dwarf_Off> ref(Dwarf_Die* die, unsigned at) {
  Dwarf_Attribute a;
  Dwarf_Die target;
  if (!dwarf_attr(die, at, &a) || !dwarf_formref_die(&a, &target)) return std::nullopt;
  return dwarf_dieoffset(&target);
}

std::string_view dieName(Dwarf_Die* die) {
  const char* n = dwarf_diename(die);
  return n ? std::string_view(n) : std::string_view();
}

// DW_AT_go_runtime_type is DW_FORM_addr holding an offset, not an address
// (but see typesRange in dwarf_types.h).
int64_t runtimeTypeOff(Dwarf_Die* die, std::pair<uint64_t, uint64_t> typesRange) {
  Dwarf_Attribute a;
  if (!dwarf_attr(die, kAtGoRuntimeType, &a)) return -1;
  Dwarf_Addr v = 0;
  if (dwarf_formaddr(&a, &v) != 0) {
    Dwarf_Word w;
    if (dwarf_formudata(&a, &w) != 0) return -1;
    v = w;
  }
  // Real offsets are < typesEnd - typesStart; when that is <= typesStart an
  // address in the range cannot be mistaken for one.
  auto [start, end] = typesRange;
  if (start != 0 && end - start <= start && v >= start && v < end) v -= start;
  return v == 0 || v > uint64_t(INT64_MAX) ? -1 : int64_t(v);
}

Kind validGoKind(uint64_t k) {
  return k <= uint64_t(Kind::UnsafePointer) ? Kind(k) : Kind::Invalid;
}

Kind baseKind(Dwarf_Die* die, uint64_t size) {
  switch (udata(die, DW_AT_encoding).value_or(0)) {
    case DW_ATE_boolean: return Kind::Bool;
    case DW_ATE_signed:
    case DW_ATE_signed_char:
      return size == 1   ? Kind::Int8
             : size == 2 ? Kind::Int16
             : size == 4 ? Kind::Int32
                         : Kind::Int64;
    case DW_ATE_unsigned:
    case DW_ATE_unsigned_char:
      return size == 1   ? Kind::Uint8
             : size == 2 ? Kind::Uint16
             : size == 4 ? Kind::Uint32
                         : Kind::Uint64;
    case DW_ATE_float: return size == 4 ? Kind::Float32 : Kind::Float64;
    case DW_ATE_complex_float: return size == 8 ? Kind::Complex64 : Kind::Complex128;
    default: return Kind::Invalid;
  }
}

// DW_AT_data_member_location: a constant (what Go emits), or the DWARF 2
// style expression DW_OP_plus_uconst N.
uint64_t memberOffset(Dwarf_Die* die) {
  Dwarf_Attribute a;
  if (!dwarf_attr(die, DW_AT_data_member_location, &a)) return 0;
  Dwarf_Word w;
  if (dwarf_formudata(&a, &w) == 0) return w;
  Dwarf_Block b;
  if (dwarf_formblock(&a, &b) == 0 && b.length >= 2 && b.data[0] == DW_OP_plus_uconst) {
    uint64_t v = 0;
    for (size_t i = 1, shift = 0; i < b.length && shift < 64; i++, shift += 7) {
      v |= uint64_t(b.data[i] & 0x7f) << shift;
      if (!(b.data[i] & 0x80)) break;
    }
    return v;
  }
  return 0;
}

// The static address of a CU-level variable, from DW_AT_location.
std::optional<uint64_t> variableAddress(Dwarf_Die* die) {
  Dwarf_Attribute a;
  if (!dwarf_attr(die, DW_AT_location, &a)) return std::nullopt;
  // Fast path: a single DW_OP_addr (both go1.19 and go1.26 emit this).
  Dwarf_Block b;
  if (dwarf_formblock(&a, &b) == 0) {
    if (b.length == 9 && b.data[0] == DW_OP_addr) {
      uint64_t v;
      std::memcpy(&v, b.data + 1, 8);
      return v;
    }
  }
  Dwarf_Op* ops;
  size_t nops;
  if (dwarf_getlocation(&a, &ops, &nops) != 0 || nops != 1) return std::nullopt;
  switch (ops[0].atom) {
    case DW_OP_addr:
      return ops[0].number;
    case DW_OP_addrx:
    case DW_OP_GNU_addr_index: {
      Dwarf_Attribute res;
      Dwarf_Addr addr;
      if (dwarf_getlocation_attr(&a, &ops[0], &res) == 0 && dwarf_formaddr(&res, &addr) == 0)
        return addr;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

// The debug sections type loading reads; the rest stay out of libdw's sight.
// With `locations`, also those a variable's location and scope need
// (location lists, range lists), for frameVars.
bool neededSection(std::string_view name, bool locations) {
  if (name.starts_with(".zdebug_")) name.remove_prefix(2);
  else if (name.starts_with(".debug_")) name.remove_prefix(1);
  else return false;
  if (locations && (name == "debug_loc" || name == "debug_loclists" || name == "debug_ranges" ||
                    name == "debug_rnglists"))
    return true;
  return name == "debug_info" || name == "debug_abbrev" || name == "debug_str" ||
         name == "debug_str_offsets" || name == "debug_addr" || name == "debug_line_str";
}

// A minimal ELF64 x86-64 file holding copies of the needed sections with
// their original flags (so libdw still inflates SHF_COMPRESSED/.zdebug ones):
// header | section bytes (8-aligned) | .shstrtab | section headers.
std::vector<char> debugImage(const std::vector<DebugSection>& all, bool locations) {
  std::vector<const DebugSection*> secs;
  for (const auto& s : all)
    if (neededSection(s.name, locations)) secs.push_back(&s);
  auto align8 = [](uint64_t v) { return (v + 7) & ~uint64_t(7); };
  std::string shstr(1, '\0');
  std::vector<uint32_t> nameOff;
  for (const auto* s : secs) {
    nameOff.push_back(uint32_t(shstr.size()));
    shstr += s->name;
    shstr += '\0';
  }
  uint32_t shstrName = uint32_t(shstr.size());
  shstr += ".shstrtab";
  shstr += '\0';
  uint64_t off = sizeof(Elf64_Ehdr);
  std::vector<uint64_t> dataOff;
  for (const auto* s : secs) {
    off = align8(off);
    dataOff.push_back(off);
    off += s->size;
  }
  uint64_t strOff = off;
  off = align8(off + shstr.size());
  uint64_t shoff = off;
  size_t nsh = secs.size() + 2;
  off += nsh * sizeof(Elf64_Shdr);

  std::vector<char> image(off);
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_shoff = shoff;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = uint16_t(nsh);
  eh.e_shstrndx = uint16_t(nsh - 1);
  std::memcpy(image.data(), &eh, sizeof eh);
  std::vector<Elf64_Shdr> sh(nsh);
  for (size_t i = 0; i < secs.size(); i++) {
    if (secs[i]->size) std::memcpy(image.data() + dataOff[i], secs[i]->data, secs[i]->size);
    Elf64_Shdr& h = sh[i + 1];
    h.sh_name = nameOff[i];
    h.sh_type = SHT_PROGBITS;
    h.sh_flags = secs[i]->flags & SHF_COMPRESSED;
    h.sh_offset = dataOff[i];
    h.sh_size = secs[i]->size;
    h.sh_addralign = secs[i]->addralign ? secs[i]->addralign : 1;
  }
  std::memcpy(image.data() + strOff, shstr.data(), shstr.size());
  Elf64_Shdr& h = sh[nsh - 1];
  h.sh_name = shstrName;
  h.sh_type = SHT_STRTAB;
  h.sh_offset = strOff;
  h.sh_size = shstr.size();
  h.sh_addralign = 1;
  std::memcpy(image.data() + shoff, sh.data(), nsh * sizeof(Elf64_Shdr));
  return image;
}

struct ElfInit {
  ElfInit() { elf_version(EV_CURRENT); }
};

class DwarfTypes final : public TypeProvider {
 public:
  DwarfTypes(std::vector<char> image, Elf* elf, Dwarf* dw, std::pair<uint64_t, uint64_t> typesRange,
             std::vector<DebugSection> sections)
      : image_(std::move(image)),
        elf_(elf),
        dw_(dw),
        typesRange_(typesRange),
        sections_(std::move(sections)),
        s_(std::make_unique<State>()) {}
  ~DwarfTypes() override {
    if (locDw_) dwarf_end(locDw_);
    if (locElf_) elf_end(locElf_);
    dwarf_end(dw_);
    elf_end(elf_);
  }

  const Type* findType(std::string_view name) const override {
    index();
    if (auto it = s_->typeByName.find(name); it != s_->typeByName.end())
      return materialize(it->second);
    if (auto it = s_->foreignTypeByName.find(name); it != s_->foreignTypeByName.end())
      return materialize(it->second);
    if (auto it = s_->synthetic.find(std::string(name)); it != s_->synthetic.end())
      return it->second;
    // "*T" when the program never uses *T: make the pointer type ourselves.
    if (name.starts_with('*')) {
      if (const Type* elem = findType(name.substr(1))) {
        Type& t = s_->types.emplace_back();
        t.name = std::string(name);
        t.kind = Kind::Pointer;
        t.size = kPtrSize;
        t.elem = elem;
        s_->synthetic.emplace(t.name, &t);
        return &t;
      }
    }
    return nullptr;
  }

  std::vector<std::string_view> typeNames() const override {
    index();
    std::vector<std::string_view> out;
    out.reserve(s_->typeByName.size());
    for (const auto& [n, off] : s_->typeByName) out.push_back(n);
    return out;
  }

  std::optional<Global> findGlobal(std::string_view name) const override {
    index();
    auto it = s_->globalByName.find(name);
    if (it == s_->globalByName.end()) return std::nullopt;
    return makeGlobal(s_->globalRefs[it->second]);
  }

  const std::vector<Global>& globals() const override {
    index();
    if (!s_->allGlobalsDone) {
      s_->allGlobals.reserve(s_->globalRefs.size());
      for (const auto& g : s_->globalRefs) s_->allGlobals.push_back(makeGlobal(g));
      s_->allGlobalsDone = true;
    }
    return s_->allGlobals;
  }

  const Type* findByRuntimeOffset(uint64_t off) const override {
    index();
    if (!s_->runtimeIndexed) {
      for (Dwarf_Off d : s_->typeDies) {
        Dwarf_Die die;
        if (!dwarf_offdie(dw_, d, &die)) continue;
        int64_t rt = runtimeTypeOff(&die, typesRange_);
        if (rt > 0) s_->byRuntimeOff.emplace(uint64_t(rt), d);
      }
      s_->runtimeIndexed = true;
    }
    auto it = s_->byRuntimeOff.find(off);
    return it == s_->byRuntimeOff.end() ? nullptr : materialize(it->second);
  }

  std::vector<FrameVar> frameVars(uint64_t pc, bool returnAddress) const override {
    std::vector<FrameVar> out;
    if (!openLocations()) return out;
    const uint64_t look = returnAddress && pc ? pc - 1 : pc;
    auto it = std::upper_bound(funcs_.begin(), funcs_.end(), look,
                               [](uint64_t a, const FuncRange& f) { return a < f.lo; });
    if (it == funcs_.begin()) return out;
    --it;
    if (look >= it->hi) return out;
    Dwarf_Die fn;
    if (!dwarf_offdie(locDw_, it->off, &fn)) return out;
    // Go's frame base is the CFA; anything else is not a frame this reads.
    Dwarf_Attribute fb;
    Dwarf_Op* ops = nullptr;
    size_t nops = 0;
    if (dwarf_attr(&fn, DW_AT_frame_base, &fb) && dwarf_getlocation(&fb, &ops, &nops) == 0 &&
        !(nops == 1 && ops[0].atom == DW_OP_call_frame_cfa))
      return out;
    collectScope(&fn, pc, look, std::string(dieName(&fn)), false, out, 0);
    return out;
  }

 private:
  struct FuncRange {
    uint64_t lo = 0, hi = 0;
    Dwarf_Off off = 0;
  };

  // A second libdw handle over the same .debug_info plus the location and
  // range lists, opened on the first frameVars call (DIE offsets are the
  // same in both, so types still come from dw_'s memo); and every concrete
  // function's [low_pc, high_pc), sorted.
  bool openLocations() const {
    if (locTried_) return locDw_ != nullptr;
    locTried_ = true;
    locImage_ = debugImage(sections_, true);
    locElf_ = elf_memory(locImage_.data(), locImage_.size());
    if (!locElf_) return false;
    locDw_ = dwarf_begin_elf(locElf_, DWARF_C_READ, nullptr);
    if (!locDw_) return false;
    Dwarf_CU* cu = nullptr;
    Dwarf_CU* next;
    Dwarf_Half version;
    uint8_t unitType;
    Dwarf_Die cudie, subdie;
    while (dwarf_get_units(locDw_, cu, &next, &version, &unitType, &cudie, &subdie) == 0) {
      cu = next;
      if (dwarf_srclang(&cudie) != DW_LANG_Go) continue;
      Dwarf_Die die;
      if (dwarf_child(&cudie, &die) != 0) continue;
      do {
        if (dwarf_tag(&die) != DW_TAG_subprogram) continue;
        Dwarf_Addr lo = 0, hi = 0;
        if (dwarf_lowpc(&die, &lo) != 0 || dwarf_highpc(&die, &hi) != 0 || hi <= lo) continue;
        funcs_.push_back({lo, hi, dwarf_dieoffset(&die)});
      } while (dwarf_siblingof(&die, &die) == 0);
    }
    std::sort(funcs_.begin(), funcs_.end(),
              [](const FuncRange& a, const FuncRange& b) { return a.lo < b.lo; });
    return true;
  }

  // The variables of a scope (a function, a lexical block or an inlined
  // call) in scope at look: those of the nested scopes that contain it first.
  void collectScope(Dwarf_Die* scope, uint64_t pc, uint64_t look, const std::string& function,
                    bool inlined, std::vector<FrameVar>& out, int depth) const {
    if (depth > 64) return;  // nesting no compiler emits
    Dwarf_Die child;
    if (dwarf_child(scope, &child) != 0) return;
    std::vector<Dwarf_Off> own;
    do {
      int tag = dwarf_tag(&child);
      if (tag == DW_TAG_variable || tag == DW_TAG_formal_parameter) {
        own.push_back(dwarf_dieoffset(&child));
      } else if (tag == DW_TAG_lexical_block) {
        if (dwarf_haspc(&child, look) == 1)
          collectScope(&child, pc, look, function, inlined, out, depth + 1);
      } else if (tag == DW_TAG_inlined_subroutine) {
        if (dwarf_haspc(&child, look) != 1) continue;
        std::string name;
        Dwarf_Attribute a;
        Dwarf_Die origin;
        if (dwarf_attr(&child, DW_AT_abstract_origin, &a) && dwarf_formref_die(&a, &origin))
          name = std::string(dieName(&origin));
        collectScope(&child, pc, look, name.empty() ? function : name, true, out, depth + 1);
      }
    } while (dwarf_siblingof(&child, &child) == 0);
    for (Dwarf_Off off : own) {
      Dwarf_Die v;
      if (!dwarf_offdie(locDw_, off, &v)) continue;
      FrameVar fv;
      Dwarf_Attribute a;
      const char* nm = dwarf_attr_integrate(&v, DW_AT_name, &a) ? dwarf_formstring(&a) : nullptr;
      if (!nm || !*nm) continue;
      fv.name = nm;
      fv.function = function;
      fv.inlined = inlined;
      fv.param = dwarf_tag(&v) == DW_TAG_formal_parameter;
      Dwarf_Die td;
      if (dwarf_attr_integrate(&v, DW_AT_type, &a) && dwarf_formref_die(&a, &td))
        fv.type = materialize(dwarf_dieoffset(&td));
      if (dwarf_attr(&v, DW_AT_location, &a)) {
        fv.pieces = location(&a, pc);
        if (fv.pieces.empty() && look != pc) fv.pieces = location(&a, look);
      }
      out.push_back(std::move(fv));
    }
  }

  // The location expression valid at pc, as pieces; empty when there is
  // none or it uses an operation a Go compiler does not emit for variables.
  static std::vector<VarPiece> location(Dwarf_Attribute* a, uint64_t pc) {
    Dwarf_Op* ops = nullptr;
    size_t n = 0;
    if (dwarf_getlocation_addr(a, pc, &ops, &n, 1) != 1 || !ops || n == 0) return {};
    std::vector<VarPiece> out;
    std::optional<VarPiece> cur;
    for (size_t i = 0; i < n; i++) {
      const Dwarf_Op& op = ops[i];
      if (op.atom == DW_OP_fbreg) {
        cur = VarPiece{VarPiece::Kind::CfaOffset, int64_t(op.number), 0, -1, 0};
      } else if (op.atom == DW_OP_call_frame_cfa) {
        cur = VarPiece{VarPiece::Kind::CfaOffset, 0, 0, -1, 0};
      } else if (op.atom == DW_OP_addr) {
        cur = VarPiece{VarPiece::Kind::Address, 0, op.number, -1, 0};
      } else if (op.atom >= DW_OP_reg0 && op.atom <= DW_OP_reg31) {
        cur = VarPiece{VarPiece::Kind::Register, 0, 0, int(op.atom - DW_OP_reg0), 0};
      } else if (op.atom == DW_OP_regx) {
        cur = VarPiece{VarPiece::Kind::Register, 0, 0, int(op.number), 0};
      } else if (op.atom == DW_OP_piece) {
        if (!cur) return {};  // a piece optimized away: the value is incomplete
        cur->size = op.number;
        out.push_back(*cur);
        cur.reset();
      } else {
        return {};
      }
    }
    if (cur) out.push_back(*cur);
    return out;
  }

  struct GlobalRef {
    std::string_view name;
    uint64_t addr = 0;
    std::optional<Dwarf_Off> type;
  };
  struct Copy {
    Type* dst;
    const Type* src;
    bool keepKind;  // dst's kind (from its own go_kind) wins over src's
    int state = 0;  // 0 pending, 1 in progress, 2 done
  };
  struct State {
    bool indexed = false;
    // Keys point into libdw's (decompressed) section data, alive with dw_.
    std::unordered_map<std::string_view, Dwarf_Off> typeByName;
    std::unordered_map<std::string_view, Dwarf_Off> foreignTypeByName;  // non-Go units
    std::vector<Dwarf_Off> typeDies;
    std::vector<GlobalRef> globalRefs;
    std::unordered_map<std::string_view, size_t> globalByName;
    bool runtimeIndexed = false;
    std::unordered_map<uint64_t, Dwarf_Off> byRuntimeOff;
    std::deque<Type> types;  // stable addresses
    std::unordered_map<Dwarf_Off, Type*> memo;
    std::unordered_map<std::string, const Type*> synthetic;
    // Work of the materialisation in progress.
    std::vector<std::pair<Type*, Dwarf_Off>> pending;
    std::vector<Copy> copies;
    std::unordered_map<const Type*, size_t> copyOf;
    std::vector<Type*> sizeless;  // arrays without DW_AT_byte_size
    bool allGlobalsDone = false;
    std::vector<Global> allGlobals;
  };

  Global makeGlobal(const GlobalRef& g) const {
    Global out;
    out.name = std::string(g.name);
    out.addr = g.addr;
    if (g.type) out.type = materialize(*g.type);
    return out;
  }

  // One pass over the top-level DIEs of every unit.
  void index() const {
    if (s_->indexed) return;
    s_->indexed = true;
    Dwarf_CU* cu = nullptr;
    Dwarf_CU* next;
    Dwarf_Half version;
    uint8_t unitType;
    Dwarf_Die cudie, subdie;
    while (dwarf_get_units(dw_, cu, &next, &version, &unitType, &cudie, &subdie) == 0) {
      cu = next;
      // C units of a cgo binary have their own "int", "char"...: Go's win.
      auto& byName = dwarf_srclang(&cudie) == DW_LANG_Go ? s_->typeByName : s_->foreignTypeByName;
      Dwarf_Die die;
      if (dwarf_child(&cudie, &die) != 0) continue;
      do {
        int tag = dwarf_tag(&die);
        if (tag == DW_TAG_variable) {
          std::string_view name = dieName(&die);
          auto addr = variableAddress(&die);
          if (name.empty() || !addr) continue;
          if (s_->globalByName.emplace(name, s_->globalRefs.size()).second)
            s_->globalRefs.push_back({name, *addr, ref(&die, DW_AT_type)});
        } else if (isTypeTag(tag)) {
          Dwarf_Off off = dwarf_dieoffset(&die);
          s_->typeDies.push_back(off);
          std::string_view name = dieName(&die);
          if (!name.empty()) byName.emplace(name, off);
        }
      } while (dwarf_siblingof(&die, &die) == 0);
    }
  }

  const Type* materialize(Dwarf_Off off) const {
    Type* t = get(off);
    while (!s_->pending.empty()) {
      auto [node, d] = s_->pending.back();
      s_->pending.pop_back();
      fill(*node, d);
    }
    for (size_t i = 0; i < s_->copies.size(); i++) applyCopy(i);
    for (auto it = s_->sizeless.rbegin(); it != s_->sizeless.rend(); ++it)
      if ((*it)->elem) (*it)->size = (*it)->len * (*it)->elem->size;
    s_->copies.clear();
    s_->copyOf.clear();
    s_->sizeless.clear();
    return t;
  }

  // The node for a DIE, created (and queued for filling) on first sight.
  Type* get(Dwarf_Off off) const {
    if (auto it = s_->memo.find(off); it != s_->memo.end()) return it->second;
    Dwarf_Off cur = off;
    for (int hop = 0; hop < kMaxTypedefHops; hop++) {
      if (auto it = s_->memo.find(cur); it != s_->memo.end()) {
        s_->memo.emplace(off, it->second);
        return it->second;
      }
      Dwarf_Die die, target;
      if (!dwarf_offdie(dw_, cur, &die)) return nullptr;
      if (dwarf_tag(&die) != DW_TAG_typedef || udata(&die, kAtGoKind).value_or(0) != 0) break;
      auto t = ref(&die, DW_AT_type);
      if (!t || !dwarf_offdie(dw_, *t, &target) || dieName(&target) != dieName(&die)) break;
      cur = *t;  // `typedef main.T main.T`: the named DIE is the type
    }
    Type& node = s_->types.emplace_back();
    s_->memo.emplace(cur, &node);
    s_->memo.emplace(off, &node);
    s_->pending.emplace_back(&node, cur);
    return &node;
  }

  Type* getRef(Dwarf_Die* die, unsigned at) const {
    auto r = ref(die, at);
    return r ? get(*r) : nullptr;
  }

  // Follows typedefs from a DIE to the first non-typedef DIE.
  std::optional<Dwarf_Off> stripTypedefs(Dwarf_Off off) const {
    for (int hop = 0; hop < kMaxTypedefHops; hop++) {
      Dwarf_Die die;
      if (!dwarf_offdie(dw_, off, &die)) return std::nullopt;
      if (dwarf_tag(&die) != DW_TAG_typedef) return off;
      auto t = ref(&die, DW_AT_type);
      if (!t) return std::nullopt;
      off = *t;
    }
    return std::nullopt;
  }

  // The pointee DIE of the pointer a typedef (map[K]V, chan T) refers to.
  std::optional<Dwarf_Off> pointee(Dwarf_Die* typedefDie) const {
    auto p = ref(typedefDie, DW_AT_type);
    if (!p || !(p = stripTypedefs(*p))) return std::nullopt;
    Dwarf_Die ptr;
    if (!dwarf_offdie(dw_, *p, &ptr) || dwarf_tag(&ptr) != DW_TAG_pointer_type) return std::nullopt;
    return ref(&ptr, DW_AT_type);
  }

  void addCopy(Type& dst, const Type* src, bool keepKind) const {
    if (!src || src == &dst) return;
    s_->copyOf.emplace(&dst, s_->copies.size());
    s_->copies.push_back({&dst, src, keepKind});
  }

  // Copies the layout of src into dst (keeping dst's name and runtime type),
  // after src's own copy if it has one.
  void applyCopy(size_t i) const {
    Copy& c = s_->copies[i];
    if (c.state != 0) return;
    c.state = 1;
    if (auto it = s_->copyOf.find(c.src); it != s_->copyOf.end()) applyCopy(it->second);
    Type& d = *c.dst;
    const Type& s = *c.src;
    if (!c.keepKind || d.kind == Kind::Invalid) d.kind = s.kind;
    d.size = s.size;
    d.elem = s.elem;
    d.key = s.key;
    d.mapHeader = s.mapHeader;
    d.len = s.len;
    d.fields = s.fields;
    if (!c.keepKind) d.nonEmptyInterface = s.nonEmptyInterface;
    c.state = 2;
  }

  void fill(Type& t, Dwarf_Off off) const {
    Dwarf_Die die;
    if (!dwarf_offdie(dw_, off, &die)) return;
    int tag = dwarf_tag(&die);
    t.name = std::string(dieName(&die));
    t.runtimeTypeOff = runtimeTypeOff(&die, typesRange_);
    Kind goKind = validGoKind(udata(&die, kAtGoKind).value_or(0));
    auto byteSize = udata(&die, DW_AT_byte_size);
    switch (tag) {
      case DW_TAG_base_type:
        t.size = byteSize.value_or(0);
        t.kind = goKind != Kind::Invalid ? goKind : baseKind(&die, t.size);
        break;
      case DW_TAG_pointer_type: {
        t.size = byteSize.value_or(kPtrSize);
        auto target = ref(&die, DW_AT_type);
        if (!target || t.name == "unsafe.Pointer") {
          t.kind = Kind::UnsafePointer;
        } else {
          t.kind = Kind::Pointer;
          t.elem = get(*target);
        }
        if (t.name.empty()) t.name = t.elem ? "*" + t.elem->name : "unsafe.Pointer";
        break;
      }
      case DW_TAG_structure_type:
      case DW_TAG_union_type:
        t.size = byteSize.value_or(0);
        t.kind = goKind != Kind::Invalid ? goKind : Kind::Struct;
        fillFields(t, &die);
        if (t.kind == Kind::Slice) {
          t.elem = getRef(&die, kAtGoElem);
          if (!t.elem)
            if (const Field* f = t.field("array"); f && f->type) t.elem = f->type->elem;
        }
        if (t.kind == Kind::Interface) t.nonEmptyInterface = t.field("tab") != nullptr;
        break;
      case DW_TAG_array_type:
        t.kind = Kind::Array;
        t.elem = getRef(&die, DW_AT_type);
        t.len = arrayLen(&die);
        if (byteSize) {
          t.size = *byteSize;
        } else {
          s_->sizeless.push_back(&t);
        }
        break;
      case DW_TAG_subroutine_type:
        t.kind = Kind::Func;
        t.size = kPtrSize;
        break;
      case DW_TAG_typedef:
        fillTypedef(t, &die, goKind);
        break;
      default:
        t.kind = Kind::Invalid;
        t.size = byteSize.value_or(0);
        break;
    }
  }

  // A typedef with a Go kind (map, chan, interface, func) or a named typedef
  // whose target has another name.
  void fillTypedef(Type& t, Dwarf_Die* die, Kind goKind) const {
    t.kind = goKind;
    switch (goKind) {
      case Kind::Map:
        t.size = kPtrSize;
        t.key = getRef(die, kAtGoKey);
        t.elem = getRef(die, kAtGoElem);
        if (auto h = pointee(die)) t.mapHeader = get(*h);
        break;
      case Kind::Chan:
        t.size = kPtrSize;
        t.elem = getRef(die, kAtGoElem);
        break;
      case Kind::Func:
      case Kind::Pointer:
      case Kind::UnsafePointer:
        t.size = kPtrSize;
        break;
      case Kind::Interface: {
        t.size = 2 * kPtrSize;
        auto u = ref(die, DW_AT_type);
        if (u) u = stripTypedefs(*u);
        if (u) {
          Dwarf_Die s;
          if (dwarf_offdie(dw_, *u, &s)) t.nonEmptyInterface = dieName(&s) == "runtime.iface";
          addCopy(t, get(*u), true);
        }
        break;
      }
      default:
        addCopy(t, getRef(die, DW_AT_type), goKind != Kind::Invalid);
        break;
    }
  }

  void fillFields(Type& t, Dwarf_Die* die) const {
    Dwarf_Die m;
    if (dwarf_child(die, &m) != 0) return;
    do {
      if (dwarf_tag(&m) != DW_TAG_member) continue;
      Field f;
      f.name = std::string(dieName(&m));
      f.offset = memberOffset(&m);
      f.type = getRef(&m, DW_AT_type);
      f.embedded = flag(&m, kAtGoEmbeddedField);
      t.fields.push_back(std::move(f));
    } while (dwarf_siblingof(&m, &m) == 0);
  }

  static uint64_t arrayLen(Dwarf_Die* die) {
    Dwarf_Die c;
    if (dwarf_child(die, &c) != 0) return 0;
    do {
      if (dwarf_tag(&c) != DW_TAG_subrange_type) continue;
      if (auto n = udata(&c, DW_AT_count)) return *n;
      Dwarf_Attribute a;
      Dwarf_Sword ub;
      if (dwarf_attr(&c, DW_AT_upper_bound, &a) && dwarf_formsdata(&a, &ub) == 0)
        return ub < 0 ? 0 : uint64_t(ub) + 1;
      return 0;
    } while (dwarf_siblingof(&c, &c) == 0);
    return 0;
  }

  std::vector<char> image_;  // the ELF libelf reads (elf_memory does not copy)
  Elf* elf_;
  Dwarf* dw_;
  std::pair<uint64_t, uint64_t> typesRange_;
  std::vector<DebugSection> sections_;  // data in the Binary's file image
  std::unique_ptr<State> s_;
  mutable bool locTried_ = false;
  mutable std::vector<char> locImage_;
  mutable Elf* locElf_ = nullptr;
  mutable Dwarf* locDw_ = nullptr;
  mutable std::vector<FuncRange> funcs_;
};

}  // namespace

std::unique_ptr<TypeProvider> openDwarfTypes(const std::string& path,
                                             const std::vector<DebugSection>& sections,
                                             std::pair<uint64_t, uint64_t> typesRange,
                                             std::string* why) {
  static ElfInit init;
  std::vector<char> image = debugImage(sections, false);
  Elf* elf = elf_memory(image.data(), image.size());
  if (!elf) {
    *why = fmt::format("libelf cannot read the debug sections of {}: {}", path, elf_errmsg(-1));
    return nullptr;
  }
  Dwarf* dw = dwarf_begin_elf(elf, DWARF_C_READ, nullptr);
  if (!dw) {
    *why = fmt::format("libdw cannot read the DWARF of {}: {}", path, dwarf_errmsg(-1));
    elf_end(elf);
    return nullptr;
  }
  return std::make_unique<DwarfTypes>(std::move(image), elf, dw, typesRange, sections);
}

}  // namespace gms
