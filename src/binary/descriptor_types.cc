// The runtime's type descriptors as a TypeProvider (see descriptor_types.h).
//
// Layouts mirrored here (amd64, 8-byte pointers):
//  - abi.Type / runtime._type, 48 bytes: Size_ 0, PtrBytes 8, Hash 16,
//    TFlag 20, Align_ 21, FieldAlign_ 22, Kind_ 23, Equal 24, GCData 32,
//    Str (nameOff) 40, PtrToThis (typeOff) 44 — go1.19 runtime/type.go,
//    go1.26/go1.27 internal/abi/type.go;
//  - the kind-specific tails and UncommonType (16 bytes, right after the
//    kind's struct), StructField {name *byte, typ *Type, offset uintptr},
//    Imethod {nameOff, typeOff}, FuncType {inCount, outCount uint16} with the
//    parameter pointers after the uncommon part — the same files;
//  - maptype: go1.19 runtime/type.go (key, elem, bucket, hasher, keysize u8,
//    elemsize u8, bucketsize u16, flags u32); abi.SwissMapType/MapType of
//    go1.24-1.26 (key, elem, group, hasher, GroupSize, SlotSize, ElemOff,
//    Flags); go1.27 internal/abi/map.go (..., GroupSize, KeysOff, KeyStride,
//    ElemsOff, ElemStride, ElemOff, Flags);
//  - names: go1.19 runtime/type.go and internal/abi/type.go Name: one flag
//    byte (1<<1 tag follows, 1<<3 embedded), a uvarint length, the bytes;
//  - moduledata: go1.19, go1.26 and go1.27 runtime/symtab.go (offsets below).
#include "binary/descriptor_types.h"

#include <map>
#include <deque>
#include <unordered_map>

#include "binary/binary.h"
#include "common/checked.h"
#include "common/error.h"

namespace gms {
namespace {

constexpr uint64_t kPtr = 8;
constexpr uint64_t kTypeSize = 48;         // sizeof(abi.Type)
constexpr uint64_t kUncommonSize = 16;     // sizeof(abi.UncommonType)
constexpr uint64_t kMethodSize = 16;       // sizeof(abi.Method)
constexpr uint64_t kStructFieldSize = 24;  // sizeof(abi.StructField)
constexpr uint8_t kTFlagUncommon = 1, kTFlagExtraStar = 2, kTFlagNamed = 4;
constexpr uint64_t kMaxFields = 1 << 16, kMaxParams = 1 << 12, kMaxName = 1 << 16;
constexpr uint64_t kMaxTypes = 1 << 22;

// ---- moduledata ----------------------------------------------------------
// Offsets of the moduledata fields read here. Common to every release:
// pcHeader 0, funcnametab 8 (a slice), text 176 (after six slices,
// findfunctab, minpc and maxpc).
constexpr uint64_t kMdFuncnametab = 8, kMdText = 176;

struct MdLayout {
  int minor = 0;  // the release it was verified against
  uint64_t types = 0, etypes = 0, gofunc = 0;
  uint64_t typedesclen = 0, itaboffset = 0, itabsize = 0;  // 1.27
};
// go1.19 runtime/symtab.go: ..., end, gcdata, gcbss, types, etypes, rodata,
// gofunc, textsectmap, typelinks, itablinks.
constexpr MdLayout kMd19{19, 280, 288, 304, 0, 0, 0};
// go1.20-1.26 add covctrs, ecovctrs before end (go1.26: epclntab after
// gofunc, detected by its value below).
constexpr MdLayout kMd26{26, 296, 304, 320, 0, 0, 0};
// go1.27: types, typedesclen, etypes, itaboffset, itabsize, rodata, gofunc,
// epclntab, textsectmap; no typelinks/itablinks.
constexpr MdLayout kMd27{27, 296, 312, 344, 304, 320, 328};

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// ---- reading ---------------------------------------------------------------

class Reader {
 public:
  explicit Reader(const Memory& m) : m_(m) {}
  uint64_t u64(uint64_t a) const { return m_.readT<uint64_t>(a); }
  uint32_t u32(uint64_t a) const { return m_.readT<uint32_t>(a); }
  uint16_t u16(uint64_t a) const { return m_.readT<uint16_t>(a); }
  uint8_t u8(uint64_t a) const { return m_.readT<uint8_t>(a); }
  void read(uint64_t a, void* out, size_t n) const { m_.read(a, out, n); }

  // A Name at addr: flag byte, uvarint length, bytes.
  struct Name {
    std::string text;
    bool embedded = false;
  };
  Name name(uint64_t addr) const {
    Name n;
    if (!addr) return n;
    uint8_t hdr[11] = {};
    // The header may end the file image: read what there is.
    size_t got = 0;
    for (; got < sizeof hdr; got++) {
      try {
        m_.read(addr + got, hdr + got, 1);
      } catch (const Error&) {
        break;  // the file image ends here: `got` bytes are all there is
      }
    }
    if (got < 2) fail(ErrorKind::Corrupt, "type name at {:#x} is unreadable", addr);
    ByteView b(hdr, got);
    uint64_t p = 1;
    uint64_t len = b.uvarint(p);
    if (len > kMaxName) fail(ErrorKind::Corrupt, "type name at {:#x} has length {}", addr, len);
    n.embedded = (hdr[0] & (1 << 3)) != 0;
    n.text = m_.readString(addr + p, len);
    return n;
  }

 private:
  const Memory& m_;
};

bool plausibleSlice(const Reader& r, uint64_t at, uint64_t* ptr, uint64_t* len) {
  *ptr = r.u64(at);
  *len = r.u64(at + 8);
  uint64_t cap = r.u64(at + 16);
  return cap >= *len && *len < (uint64_t(1) << 32) && (*len == 0 || *ptr != 0);
}

bool inRange(uint64_t v, uint64_t lo, uint64_t hi) { return v >= lo && v < hi; }

}  // namespace

DescriptorSource descriptorSourceOf(const Binary& bin) {
  if (!bin.buildInfo()) fail(ErrorKind::Unsupported, "{} is not a Go program", bin.path());
  DescriptorSource src;
  src.file = &bin.fileMemory();
  const Section* p = bin.section(".gopclntab");
  if (!p) p = bin.section(".data.rel.ro.gopclntab");
  if (p) {
    src.pclntab = p->addr;
    src.pclntabSize = p->size;
  }
  if (const Section* t = bin.section(".text")) src.text = t->addr, src.textSize = t->size;
  for (const char* n : {".go.module", ".noptrdata", ".data", ".data.rel.ro"})
    if (const Section* d = bin.section(n)) src.dataRanges.emplace_back(d->addr, d->addr + d->size);
  const GoBuildInfo& b = *bin.buildInfo();
  src.goMinor = b.major == 1 ? b.minor : 99;
  auto exp = b.settings.find("GOEXPERIMENT");
  bool noswiss = exp != b.settings.end() && exp->second.find("noswissmap") != std::string::npos;
  src.swissMaps = b.atLeast(1, 24) && !noswiss;
  return src;
}

ModuleInfo findModuledata(const DescriptorSource& src) {
  if (!src.file || !src.pclntab)
    fail(ErrorKind::MissingDebugInfo,
         "no .gopclntab section: the type descriptors cannot be found");
  Reader r(*src.file);
  MdLayout L = src.goMinor >= 27 ? kMd27 : src.goMinor >= 20 ? kMd26 : kMd19;
  ModuleInfo mi;
  if (src.goMinor > 27 || src.goMinor < 19)
    mi.layoutNote = fmt::format("Go 1.{} has no verified moduledata layout; using Go 1.{}'s",
                                src.goMinor, L.minor);
  uint64_t pclnEnd = src.pclntab + src.pclntabSize;
  // Only where the file has bytes: a range (from section headers, which may
  // lie) is cut to the file's images, so a huge one costs nothing.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  std::vector<Mapping> images = src.file->mappings();
  for (auto [lo, hi] : src.dataRanges)
    for (const Mapping& m : images) {
      uint64_t a = std::max(lo, m.start), b = std::min(hi, m.end);
      if (a < b) ranges.emplace_back(a, b);
    }
  for (auto [lo, hi] : ranges) {
    constexpr uint64_t kChunk = 1 << 16;
    std::vector<uint64_t> words(kChunk / 8);
    for (uint64_t at = alignUp(lo, 8); at < hi; at += kChunk) {
      uint64_t n = std::min(kChunk, (hi - at) & ~uint64_t(7));
      if (!n) break;
      try {
        src.file->read(at, words.data(), n);
      } catch (const Error&) {
        continue;  // .noptrbss-like ranges with no file bytes
      }
      for (uint64_t i = 0; i < n / 8; i++) {
        if (words[i] != src.pclntab) continue;
        uint64_t md = at + i * 8;
        try {
          uint64_t fn = r.u64(md + kMdFuncnametab);
          if (!inRange(fn, src.pclntab, pclnEnd + 1)) continue;
          if (src.text) {
            uint64_t text = r.u64(md + kMdText);
            if (text < src.text || text - src.text >= std::max<uint64_t>(src.textSize, 1)) continue;
          }
          uint64_t types = r.u64(md + L.types), etypes = r.u64(md + L.etypes);
          if (!types || etypes <= types || etypes - types > (uint64_t(1) << 32)) continue;
          mi.moduledata = md;
          mi.types = types;
          mi.etypes = etypes;
          mi.gofunc = r.u64(md + L.gofunc);
          if (L.minor >= 27) {
            mi.typedesclen = r.u64(md + L.typedesclen);
            mi.itaboffset = r.u64(md + L.itaboffset);
            mi.itabsize = r.u64(md + L.itabsize);
            if (mi.typedesclen > etypes - types || mi.itaboffset > etypes - types ||
                mi.itabsize > etypes - types - mi.itaboffset)
              fail(ErrorKind::Corrupt, "moduledata at {:#x}: type section bounds are inconsistent",
                   md);
            return mi;
          }
          // After gofunc: Go 1.26 has epclntab (an address at the end of the
          // pclntab), earlier releases go straight to textsectmap.
          uint64_t next = L.gofunc + 8;
          uint64_t w = r.u64(md + next);
          if (inRange(w, src.pclntab + 1, pclnEnd + 1)) next += 8;
          uint64_t ptr = 0, len = 0;
          if (!plausibleSlice(r, md + next, &ptr, &len)) continue;  // textsectmap
          if (!plausibleSlice(r, md + next + 24, &mi.typelinks, &mi.ntypelinks)) continue;
          if (!plausibleSlice(r, md + next + 48, &mi.itablinks, &mi.nitablinks)) continue;
          return mi;
        } catch (const Error&) {
          continue;  // not moduledata at this candidate: try the next one
        }
      }
    }
  }
  fail(ErrorKind::Corrupt,
       "no moduledata refers to the pclntab at {:#x}: type descriptors not found", src.pclntab);
}

namespace {

class DescriptorTypes final : public TypeProvider {
 public:
  DescriptorTypes(const DescriptorSource& src, ModuleInfo mi)
      : r_(*src.file), mi_(std::move(mi)), minor_(src.goMinor), swiss_(src.swissMaps) {
    if (minor_ >= 27) {
      walkTypeSection();
    } else {
      for (uint64_t i = 0; i < mi_.ntypelinks; i++) {
        int32_t off = static_cast<int32_t>(r_.u32(mi_.typelinks + 4 * i));
        get(mi_.types + static_cast<uint64_t>(static_cast<int64_t>(off)));
      }
      for (uint64_t i = 0; i < mi_.nitablinks; i++) itab(r_.u64(mi_.itablinks + 8 * i));
    }
    finish();
  }

  const Type* findType(std::string_view name) const override {
    auto it = byName_.find(std::string(name));
    return it == byName_.end() ? nullptr : it->second;
  }
  std::optional<Global> findGlobal(std::string_view) const override { return std::nullopt; }
  const std::vector<Global>& globals() const override { return globals_; }
  const Type* findByRuntimeOffset(uint64_t off) const override {
    if (off >= mi_.etypes - mi_.types) return nullptr;
    const Type* t = get(mi_.types + off);
    finish();
    if (t && t->kind == Kind::Invalid) return nullptr;
    return t;
  }
  std::vector<std::string_view> typeNames() const override {
    std::vector<std::string_view> out;
    out.reserve(byName_.size());
    for (const auto& [n, t] : byName_) out.push_back(n);
    return out;
  }
  std::string_view source() const override { return "type descriptors"; }
  std::vector<std::pair<std::string, std::string>> packageNames() const override {
    return {pkgNames_.begin(), pkgNames_.end()};
  }

  size_t count() const { return types_.size(); }

 private:
  // ---- materialising ----

  // The Type for the descriptor at addr, created on first sight and parsed
  // by finish(); nullptr for 0 or an address outside the type section.
  Type* get(uint64_t addr) const {
    if (!addr) return nullptr;
    auto it = byAddr_.find(addr);
    if (it != byAddr_.end()) return it->second;
    if (!inRange(addr, mi_.types, mi_.etypes) || addr % 4 || types_.size() >= kMaxTypes)
      return nullptr;
    Type& t = types_.emplace_back();
    t.runtimeTypeOff = static_cast<int64_t>(addr - mi_.types);
    byAddr_.emplace(addr, &t);
    pending_.push_back(&t);
    return &t;
  }
  uint64_t addrOf(const Type* t) const {
    return mi_.types + static_cast<uint64_t>(t->runtimeTypeOff);
  }
  Type* typeOff(int32_t off) const {
    if (off <= 0) return nullptr;  // 0 is nil; -1 marks "none" in some fields
    return get(mi_.types + static_cast<uint64_t>(off));
  }

  void itab(uint64_t addr) const {
    if (!addr) return;
    try {
      get(r_.u64(addr));      // Inter
      get(r_.u64(addr + 8));  // Type
    } catch (const Error&) {
      // an unreadable itab names no types; the types it would have named are still reached
      // elsewhere or absent
    }
  }

  // Go 1.27: descriptors back to back from types+8 (runtime.moduleTypelinks).
  void walkTypeSection() const {
    uint64_t td = mi_.types + kPtr, end = mi_.types + mi_.typedesclen;
    while (td < end) {
      td = alignUp(td, kPtr);
      if (td >= end) break;
      uint64_t size = descriptorSize(td);
      if (size < kTypeSize)
        fail(ErrorKind::Corrupt, "type descriptor at {:#x} in the type section is corrupt", td);
      get(td);
      td += size;
    }
    // itabs: runtime.addModuleItabs.
    uint64_t p = mi_.types + mi_.itaboffset, iend = p + mi_.itabsize;
    while (p < iend) {
      uint64_t inter = r_.u64(p);
      itab(p);
      uint64_t size = 32;  // sizeof(abi.ITab)
      if (r_.u64(p + 24) != 0 && inter) {
        uint64_t nm = r_.u64(inter + 56 + 8);
        if (nm > kMaxFields) fail(ErrorKind::Corrupt, "itab at {:#x} is corrupt", p);
        if (nm > 1) size += (nm - 1) * kPtr;
      }
      p += size;
    }
  }

  // sizeof the kind's descriptor struct (abi.ArrayType, ...), where the
  // UncommonType follows.
  uint64_t baseSize(Kind k) const {
    switch (k) {
      case Kind::Array:
        return 72;  // Elem, Slice, Len
      case Kind::Chan:
        return 64;  // Elem, Dir
      case Kind::Func:
        return 56;  // InCount, OutCount
      case Kind::Interface:
        return 80;  // PkgPath, Methods
      case Kind::Map:
        if (!swiss_) return 88;  // key, elem, bucket, hasher, sizes, flags
        return minor_ >= 27 ? 136 : 112;
      case Kind::Pointer:
      case Kind::Slice:
        return 56;  // Elem
      case Kind::Struct:
        return 80;  // PkgPath, Fields
      default:
        return kTypeSize;
    }
  }

  // abi.Type.DescriptorSize (go1.27 internal/abi/type.go).
  uint64_t descriptorSize(uint64_t a) const {
    uint8_t tflag = r_.u8(a + 20);
    Kind k = static_cast<Kind>(r_.u8(a + 23) & 0x1f);
    if (k == Kind::Invalid || k > Kind::UnsafePointer) return 0;
    uint64_t base = baseSize(k), add = 0;
    switch (k) {
      case Kind::Func: {
        uint64_t in = r_.u16(a + 48), out = r_.u16(a + 50) & 0x7fff;
        add = (in + out) * kPtr;
        break;
      }
      case Kind::Interface:
        add = r_.u64(a + 56 + 8) * 8;
        break;  // Imethod
      case Kind::Struct:
        add = r_.u64(a + 56 + 8) * kStructFieldSize;
        break;
      default:
        break;
    }
    uint64_t size = base;
    if (tflag & kTFlagUncommon)
      size += kUncommonSize + uint64_t(r_.u16(a + base + 4)) * kMethodSize;
    if (add > (uint64_t(1) << 24)) return 0;
    return size + add;
  }

  void finish() const {
    while (!pending_.empty()) {
      std::vector<Type*> batch;
      batch.swap(pending_);
      for (size_t i = 0; i < batch.size(); i++) {
        parse(*batch[i]);
        // parse() may add more; keep them in this batch so names see parsed children.
        if (!pending_.empty()) {
          batch.insert(batch.end(), pending_.begin(), pending_.end());
          pending_.clear();
        }
      }
      for (Type* t : batch) nameOf(t, 0);
      for (Type* t : batch)
        if (t->kind == Kind::Map && !t->mapHeader) synthesizeMapHeader(*t);
      for (Type* t : unnamedPtrs_)
        if (t->name.empty() && t->elem) t->name = "*" + t->elem->name;
      unnamedPtrs_.clear();
      for (Type* t : batch)
        if (t->kind != Kind::Invalid && !t->name.empty()) byName_.emplace(t->name, t);
    }
  }

  void parse(Type& t) const {
    uint64_t a = addrOf(&t);
    try {
      uint8_t raw[kTypeSize];
      r_.read(a, raw, sizeof raw);
      ByteView b(raw, sizeof raw);
      t.size = b.u64(0);
      uint8_t tflag = b.u8(20);
      Kind k = static_cast<Kind>(b.u8(23) & 0x1f);
      if (k == Kind::Invalid || k > Kind::UnsafePointer)
        fail(ErrorKind::Corrupt, "kind {}", b.u8(23) & 0x1f);
      int32_t str = static_cast<int32_t>(b.u32(40));
      std::string s = r_.name(mi_.types + static_cast<uint64_t>(static_cast<int64_t>(str))).text;
      if ((tflag & kTFlagExtraStar) && !s.empty() && s[0] == '*') s.erase(0, 1);
      uint64_t uncommon = (tflag & kTFlagUncommon) ? a + baseSize(k) : 0;
      if (tflag & kTFlagNamed) {
        std::string pkg;
        if (uncommon) {
          int32_t pp = static_cast<int32_t>(r_.u32(uncommon));
          if (pp > 0) pkg = r_.name(mi_.types + static_cast<uint64_t>(pp)).text;
        }
        t.name = qualify(s, pkg);
        notePackageName(s, pkg);
      } else {
        str_.emplace(&t, std::move(s));
      }
      typeOff(static_cast<int32_t>(b.u32(44)));  // PtrToThis: *T for a named T
      t.kind = k;
      switch (k) {
        case Kind::Pointer:
          t.elem = get(r_.u64(a + 48));
          break;
        case Kind::Slice:
          t.elem = get(r_.u64(a + 48));
          t.fields = {{"array", 0, pointerTo(t.elem), false},
                      {"len", 8, basic(Kind::Int), false},
                      {"cap", 16, basic(Kind::Int), false}};
          break;
        case Kind::Array:
          t.elem = get(r_.u64(a + 48));
          get(r_.u64(a + 56));  // the slice type
          t.len = r_.u64(a + 64);
          break;
        case Kind::Chan:
          t.elem = get(r_.u64(a + 48));
          chanDir_.emplace(&t, r_.u64(a + 56));
          break;
        case Kind::Map:
          t.key = get(r_.u64(a + 48));
          t.elem = get(r_.u64(a + 56));
          mapBucket_.emplace(&t, get(r_.u64(a + 64)));
          break;
        case Kind::String:
          t.fields = {{"str", 0, pointerTo(basic(Kind::Uint8)), false},
                      {"len", 8, basic(Kind::Int), false}};
          break;
        case Kind::Interface: {
          uint64_t mp = r_.u64(a + 56), nm = r_.u64(a + 64);
          if (nm > kMaxFields) fail(ErrorKind::Corrupt, "{} methods", nm);
          t.nonEmptyInterface = nm > 0;
          for (uint64_t i = 0; i < nm; i++) typeOff(static_cast<int32_t>(r_.u32(mp + 8 * i + 4)));
          t.fields = {{nm ? "tab" : "_type", 0, basic(Kind::UnsafePointer), false},
                      {"data", 8, basic(Kind::UnsafePointer), false}};
          break;
        }
        case Kind::Struct: {
          uint64_t fp = r_.u64(a + 56), nf = r_.u64(a + 64);
          if (nf > kMaxFields) fail(ErrorKind::Corrupt, "{} fields", nf);
          t.fields.reserve(nf);
          for (uint64_t i = 0; i < nf; i++) {
            uint64_t f = fp + i * kStructFieldSize;
            Reader::Name n = r_.name(r_.u64(f));
            Field fld;
            fld.name = std::move(n.text);
            fld.embedded = n.embedded;
            fld.type = get(r_.u64(f + 8));
            fld.offset = r_.u64(f + 16);
            if (fld.offset > t.size) fail(ErrorKind::Corrupt, "field {} past the struct", fld.name);
            t.fields.push_back(std::move(fld));
          }
          break;
        }
        case Kind::Func: {
          uint64_t in = r_.u16(a + 48), out = r_.u16(a + 50) & 0x7fff;
          if (in + out > kMaxParams) fail(ErrorKind::Corrupt, "{} parameters", in + out);
          uint64_t params = a + 56 + (uncommon ? kUncommonSize : 0);
          FuncSig& sig = funcSig_[&t];
          sig.in = in;
          sig.variadic = r_.u16(a + 50) & 0x8000;
          for (uint64_t i = 0; i < in + out; i++) sig.params.push_back(get(r_.u64(params + 8 * i)));
          t.size = kPtr;
          break;
        }
        default:
          break;
      }
    } catch (const Error& e) {
      t = Type{};
      t.runtimeTypeOff = static_cast<int64_t>(a - mi_.types);
      t.name = fmt::format("<bad type descriptor {:#x}: {}>", a, e.what());
      t.kind = Kind::Invalid;
    }
  }

  // The package name the descriptor spells a named type with, when it is
  // not its import path's last element ("lru" for ".../golang-lru/v2").
  void notePackageName(const std::string& s, const std::string& pkg) const {
    size_t dot = s.find('.');
    if (pkg.empty() || dot == std::string::npos || dot > s.find_first_of("[{ ")) return;
    std::string_view name(s.data(), dot);
    std::string_view last(pkg);
    if (size_t slash = last.rfind('/'); slash != std::string_view::npos) last.remove_prefix(slash + 1);
    if (name != last) pkgNames_.emplace(pkg, std::string(name));
  }

  // "list.List" with package path "container/list" -> "container/list.List";
  // generic arguments keep the spelling the descriptor gives them.
  // The descriptor writes the package's name first ("list.List", "go.shape.
  // struct { ... }" for the compiler's shape package).
  static std::string qualify(const std::string& s, const std::string& pkg) {
    if (pkg.empty() || s.starts_with(pkg + ".")) return s;
    size_t dot = s.find('.');
    if (dot == std::string::npos || dot > s.find_first_of("[{ ")) return s;
    return pkg + s.substr(dot);
  }

  // The DWARF spelling of an unnamed type, built from its parts (whose
  // package paths are then full too); the descriptor's own string for
  // structs and interfaces.
  const std::string& nameOf(const Type* ct, int depth) const {
    static const std::string kNil = "<nil>";
    if (!ct) return kNil;
    if (!ct->name.empty() || ct->kind == Kind::Invalid) return ct->name;
    // Only descriptor types (types_, owned here) are ever unnamed.
    Type* t = const_cast<Type*>(ct);
    auto sit = str_.find(t);
    std::string own = sit == str_.end() ? std::string() : sit->second;
    if (depth > 32) return t->name = own;
    switch (t->kind) {
      case Kind::Pointer:
        t->name = t->elem ? "*" + nameOf(t->elem, depth + 1) : own;
        break;
      case Kind::Slice:
        t->name = "[]" + nameOf(t->elem, depth + 1);
        break;
      case Kind::Array:
        t->name = fmt::format("[{}]{}", t->len, nameOf(t->elem, depth + 1));
        break;
      case Kind::Map:
        t->name = "map[" + nameOf(t->key, depth + 1) + "]" + nameOf(t->elem, depth + 1);
        break;
      case Kind::Chan: {
        auto d = chanDir_.find(t);
        uint64_t dir = d == chanDir_.end() ? 3 : d->second;
        const char* pre = dir == 1 ? "<-chan " : dir == 2 ? "chan<- " : "chan ";
        t->name = pre + nameOf(t->elem, depth + 1);
        break;
      }
      case Kind::Func: {
        auto f = funcSig_.find(t);
        if (f == funcSig_.end()) {
          t->name = own;
          break;
        }
        const FuncSig& sig = f->second;
        std::string n = "func(";
        for (size_t i = 0; i < sig.in; i++) {
          if (i) n += ", ";
          const Type* p = sig.params[i];
          if (sig.variadic && i + 1 == sig.in && p && p->kind == Kind::Slice)
            n += "..." + nameOf(p->elem, depth + 1);
          else
            n += nameOf(p, depth + 1);
        }
        n += ")";
        size_t outs = sig.params.size() - sig.in;
        if (outs == 1) n += " " + nameOf(sig.params[sig.in], depth + 1);
        if (outs > 1) {
          n += " (";
          for (size_t i = sig.in; i < sig.params.size(); i++)
            n += (i > sig.in ? ", " : "") + nameOf(sig.params[i], depth + 1);
          n += ")";
        }
        t->name = std::move(n);
        break;
      }
      default:
        t->name = own;
        break;
    }
    return t->name;
  }

  // ---- synthesised types ----

  const Type* basic(Kind k) const {
    auto it = basics_.find(k);
    if (it != basics_.end()) return it->second;
    // The basic types the synthesised runtime structs use; anything else is int.
    static constexpr struct {
      Kind kind;
      const char* name;
      uint64_t size;
    } kBasics[] = {{Kind::Bool, "bool", 1},
                   {Kind::Uint8, "uint8", 1},
                   {Kind::Uint16, "uint16", 2},
                   {Kind::Uint32, "uint32", 4},
                   {Kind::Uint64, "uint64", 8},
                   {Kind::Uintptr, "uintptr", 8},
                   {Kind::UnsafePointer, "unsafe.Pointer", 8}};
    Type& t = synth_.emplace_back();
    t.kind = Kind::Int;
    t.name = "int";
    t.size = 8;
    for (const auto& b : kBasics)
      if (b.kind == k) {
        t.kind = b.kind;
        t.name = b.name;
        t.size = b.size;
      }
    basics_.emplace(k, &t);
    return &t;
  }
  const Type* pointerTo(const Type* elem, std::string name = "") const {
    Type& t = synth_.emplace_back();
    t.kind = Kind::Pointer;
    t.size = kPtr;
    t.elem = elem;
    t.name = !name.empty() ? std::move(name) : elem && !elem->name.empty() ? "*" + elem->name : "";
    if (t.name.empty()) unnamedPtrs_.push_back(&t);
    return &t;
  }
  Type& structType(std::string name, uint64_t size) const {
    Type& t = synth_.emplace_back();
    t.kind = Kind::Struct;
    t.name = std::move(name);
    t.size = size;
    return t;
  }
  void add(Type& s, const char* name, uint64_t off, const Type* type) const {
    s.fields.push_back({name, off, type, false});
  }

  // runtime.mapextra and runtime.bmap as go1.19-1.23 runtime/map.go declare
  // them (the overflow buckets a map with pointer-free buckets keeps alive).
  const Type* mapextra() const {
    if (mapextra_) return mapextra_;
    Type& arr = synth_.emplace_back();
    arr.kind = Kind::Array;
    arr.name = "[8]uint8";
    arr.elem = basic(Kind::Uint8);
    arr.len = 8;
    arr.size = 8;
    Type& bmap = structType("runtime.bmap", 8);
    add(bmap, "tophash", 0, &arr);
    const Type* bp = pointerTo(&bmap);
    Type& sl = synth_.emplace_back();
    sl.kind = Kind::Slice;
    sl.name = "[]*runtime.bmap";
    sl.size = 24;
    sl.elem = bp;
    add(sl, "array", 0, pointerTo(bp));
    add(sl, "len", 8, basic(Kind::Int));
    add(sl, "cap", 16, basic(Kind::Int));
    const Type* sp = pointerTo(&sl);
    Type& x = structType("runtime.mapextra", 24);
    add(x, "overflow", 0, sp);
    add(x, "oldoverflow", 8, sp);
    add(x, "nextOverflow", 16, bp);
    mapextra_ = &x;
    return mapextra_;
  }

  // The map header the linker synthesises for DWARF (cmd/link dwarf.go
  // synthesizemaptypes / synthesizemaptypesSwiss), from built-in layouts.
  void synthesizeMapHeader(Type& m) const {
    auto bit = mapBucket_.find(&m);
    const Type* bucket = bit == mapBucket_.end() ? nullptr : bit->second;
    if (!bucket || bucket->kind != Kind::Struct || !m.key || !m.elem) return;
    std::string kv = m.key->name + "," + m.elem->name;
    const Type* u8 = basic(Kind::Uint8);
    if (!swiss_) {
      // bucket<K,V>: maptype.bucket with DWARF's field names (topbits ->
      // tophash; cmd/compile reflectdata.MapBucketType names the rest).
      // Like the linker, the slot arrays are "[]key<K>" and "[]val<V>" (of
      // *K / *V when stored indirectly) and overflow is *bucket<K,V>.
      Type& bk = structType("bucket<" + kv + ">", bucket->size);
      bk.fields = bucket->fields;
      const Type* bp = pointerTo(&bk);
      for (Field& f : bk.fields) {
        if (f.name == "topbits") f.name = "tophash";
        if (f.name == "elems") f.name = "values";
        if (f.name == "overflow") f.type = bp;
        if ((f.name == "keys" || f.name == "values") && f.type && f.type->kind == Kind::Array) {
          bool key = f.name == "keys";
          Type& a = synth_.emplace_back(*f.type);
          a.name = fmt::format("[]{}<{}>", key ? "key" : "val", key ? m.key->name : m.elem->name);
          f.type = &a;
        }
      }
      // runtime.hmap, go1.19-1.23 runtime/map.go (map_noswiss.go in 1.24/1.25).
      Type& h = structType("hash<" + kv + ">", 48);
      add(h, "count", 0, basic(Kind::Int));
      add(h, "flags", 8, u8);
      add(h, "B", 9, u8);
      add(h, "noverflow", 10, basic(Kind::Uint16));
      add(h, "hash0", 12, basic(Kind::Uint32));
      add(h, "buckets", 16, bp);
      add(h, "oldbuckets", 24, bp);
      add(h, "nevacuate", 32, basic(Kind::Uintptr));
      add(h, "extra", 40, pointerTo(mapextra()));
      m.mapHeader = &h;
      return;
    }
    // Swiss: go1.26/go1.27 internal/runtime/maps map.go (Map), table.go
    // (table), group.go (groupsReference); the group is abi.MapType.Group.
    Type& g = structType("noalg.map.group[" + m.key->name + "]" + m.elem->name, bucket->size);
    g.fields = bucket->fields;
    Type& ref = structType("groupReference<" + kv + ">", 16);
    add(ref, "data", 0, pointerTo(&g));
    add(ref, "lengthMask", 8, basic(Kind::Uint64));
    Type& tab = structType("table<" + kv + ">", 32);
    add(tab, "used", 0, basic(Kind::Uint16));
    add(tab, "capacity", 2, basic(Kind::Uint16));
    add(tab, "growthLeft", 4, basic(Kind::Uint16));
    add(tab, "localDepth", 6, u8);
    add(tab, "index", 8, basic(Kind::Int));
    add(tab, "groups", 16, &ref);
    const Type* tp = pointerTo(&tab);
    Type& h = structType("map<" + kv + ">", 48);
    add(h, "used", 0, basic(Kind::Uint64));
    add(h, "seed", 8, basic(Kind::Uintptr));
    add(h, "dirPtr", 16, pointerTo(tp));
    add(h, "dirLen", 24, basic(Kind::Int));
    add(h, "globalDepth", 32, u8);
    add(h, "globalShift", 33, u8);
    add(h, "writing", 34, u8);
    add(h, "tombstonePossible", 35, basic(Kind::Bool));
    add(h, "clearSeq", 40, basic(Kind::Uint64));
    m.mapHeader = &h;
  }

  Reader r_;
  ModuleInfo mi_;
  int minor_ = 0;
  bool swiss_ = false;
  std::vector<Global> globals_;
  mutable std::deque<Type> types_;
  mutable std::deque<Type> synth_;
  mutable const Type* mapextra_ = nullptr;
  mutable std::unordered_map<uint64_t, Type*> byAddr_;
  mutable std::vector<Type*> pending_;
  mutable std::unordered_map<const Type*, std::string> str_;
  mutable std::unordered_map<const Type*, uint64_t> chanDir_;
  struct FuncSig {
    size_t in = 0;  // params[0, in) are the parameters, the rest the results
    bool variadic = false;
    std::vector<const Type*> params;
  };
  mutable std::unordered_map<const Type*, FuncSig> funcSig_;
  mutable std::unordered_map<const Type*, const Type*> mapBucket_;
  mutable std::unordered_map<Kind, const Type*> basics_;
  mutable std::unordered_map<std::string, const Type*> byName_;
  mutable std::map<std::string, std::string> pkgNames_;  // import path -> package name
  mutable std::vector<Type*> unnamedPtrs_;  // synthesised pointers named once their pointee is
};

}  // namespace

std::unique_ptr<TypeProvider> openDescriptorTypes(const DescriptorSource& src) {
  ModuleInfo mi = findModuledata(src);
  return std::make_unique<DescriptorTypes>(src, std::move(mi));
}

}  // namespace gms
