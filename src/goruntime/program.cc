#include "goruntime/program.h"

#include "common/checked.h"
#include "goruntime/layout.h"

namespace gms {

const char* mapImplName(MapImpl i) { return i == MapImpl::Classic ? "classic" : "swiss"; }

Program::Program(const Target& target, const Binary& binary, uint64_t loadBias)
    : target_(target), binary_(binary), bias_(loadBias) {
  if (!binary_.buildInfo())
    fail(ErrorKind::Unsupported, "{} is not a Go program (no .go.buildinfo section)",
         binary_.path());
}

const TypeProvider& Program::types() const {
  if (!binary_.types())
    fail(ErrorKind::MissingDebugInfo, "{}; its type descriptors are unreadable: {}",
         binary_.missingDebugInfo(), binary_.descriptorError());
  return *binary_.types();
}

MapImpl Program::mapImpl() const {
  if (hasTypes()) {
    if (types().findType("runtime.hmap")) return MapImpl::Classic;
    if (types().findType("internal/runtime/maps.Map")) return MapImpl::Swiss;
  }
  // Without DWARF: the version and GOEXPERIMENT decide.
  const auto& b = build();
  auto exp = b.settings.find("GOEXPERIMENT");
  bool noswiss = exp != b.settings.end() && exp->second.find("noswissmap") != std::string::npos;
  return b.atLeast(1, 24) && !noswiss ? MapImpl::Swiss : MapImpl::Classic;
}

const Type* Program::runtimeType(std::string_view name) const {
  if (hasTypes())
    if (const Type* t = types().findType(name)) return t;
  std::call_once(builtinOnce_, [&] {
    builtin_ = std::make_unique<BuiltinTypes>(builtinLayoutFor(build().minor));
  });
  return builtin_->find(name);
}

const Type* Program::unknownMapType() const {
  std::call_once(unknownMapOnce_, [&] {
    if (!hasTypes()) return;
    const TypeProvider& tp = types();
    // The header's own field tells its implementation (as mapImplOf does).
    const char* probe = mapImpl() == MapImpl::Swiss ? "dirPtr" : "buckets";
    for (std::string_view name : tp.typeNames()) {
      if (!name.starts_with("map[")) continue;
      const Type* t = tp.findType(name);
      if (!t || t->kind != Kind::Map || !t->mapHeader || !t->mapHeader->field(probe)) continue;
      unknownKey_.name.assign(1, '?');
      unknownKey_.kind = Kind::Invalid;
      unknownMap_.name.assign(kUnknownMapName.begin(), kUnknownMapName.end());
      unknownMap_.kind = Kind::Map;
      unknownMap_.size = t->size;
      unknownMap_.key = unknownMap_.elem = &unknownKey_;
      unknownMap_.mapHeader = t->mapHeader;  // the same for every map type (its layout)
      return;
    }
  });
  return unknownMap_.mapHeader ? &unknownMap_ : nullptr;
}

std::optional<Global> Program::findGlobal(std::string_view name) const {
  auto g = types().findGlobal(name);
  if (g) g->addr += bias_;
  return g;
}

Global Program::global(std::string_view name) const {
  auto g = findGlobal(name);
  if (!g && !hasDwarf())
    fail(ErrorKind::MissingDebugInfo,
         "no global variable {}: {}; address a map as 0xADDR --type 'map[K]V'", name,
         binary_.missingDebugInfo());
  if (!g) fail(ErrorKind::NotFound, "no global variable {} in {}", name, binary_.path());
  return *g;
}

std::optional<uint64_t> Program::moduledata() const {
  try {
    if (hasTypes())
      if (auto g = findGlobal("runtime.firstmoduledata")) return g->addr;
    if (auto s = binary_.symbol("runtime.firstmoduledata")) return s->addr + bias_;
    if (auto a = binary_.moduledataAddress()) return *a + bias_;
  } catch (const Error&) {
  }
  return std::nullopt;
}

std::optional<uint64_t> Program::typesBase() const {
  std::lock_guard lock(typesBaseMu_);
  if (typesBase_) return *typesBase_;
  std::optional<uint64_t> base;
  try {
    uint64_t md = 0, off = 0;
    if (hasTypes()) {
      if (auto g = findGlobal("runtime.firstmoduledata")) {
        md = g->addr;
        if (const Field* f = optionalField(g->type, "types")) off = f->offset;
      }
    }
    if (!md) {
      if (auto s = binary_.symbol("runtime.firstmoduledata")) md = s->addr + bias_;
    }
    if (!md) {
      if (auto a = binary_.moduledataAddress()) md = *a + bias_;
    }
    if (md && !off) off = build().atLeast(1, 20) ? 296 : 280;  // reference §6.3
    if (md) base = mem().readPtr(md + off);
  } catch (const Error&) {
    // No moduledata readable: typesBase() says so with nullopt, and every
    // caller names what it cannot do without it.
    base.reset();
  }
  typesBase_ = base;
  return base;
}

const DynType& Program::dynamicType(uint64_t descriptor) const {
  std::lock_guard lock(dynMu_);
  auto it = dynTypes_.find(descriptor);
  if (it != dynTypes_.end()) return it->second;
  DynType d;
  d.descriptor = descriptor;
  uint8_t raw[48];
  mem().read(descriptor, raw, sizeof raw);
  ByteView b(raw, sizeof raw);
  d.size = b.u64(0);
  uint8_t tflag = b.u8(20);
  uint8_t kind = b.u8(23);
  d.kind = kind & 0x1f;
  // 1.26 moved DirectIface from kind bit 0x20 to tflag bit 0x20.
  d.directIface = build().atLeast(1, 26) ? (tflag & 0x20) != 0 : (kind & 0x20) != 0;
  int32_t nameOff = static_cast<int32_t>(b.u32(40));
  if (auto base = typesBase()) {
    try {
      uint64_t n = *base + static_cast<uint64_t>(static_cast<int64_t>(nameOff));
      uint8_t hdr[11];
      mem().read(n, hdr, sizeof hdr);
      ByteView hv(hdr, sizeof hdr);
      uint64_t p = 1;
      uint64_t len = hv.uvarint(p);
      if (len > 4096) fail(ErrorKind::Corrupt, "type name length {} is implausible", len);
      d.name = mem().readString(n + p, len);
      if ((tflag & 2) && !d.name.empty() && d.name[0] == '*') d.name.erase(0, 1);  // ExtraStar
    } catch (const Error&) {
      // An unreadable name: the DynType has none and callers print the
      // descriptor's address instead (its kind and size were read above).
      d.name.clear();
    }
    if (hasTypes() && descriptor >= *base) d.type = types().findByRuntimeOffset(descriptor - *base);
  }
  if (d.name.empty()) d.name = d.type ? d.type->name : fmt::format("<type {:#x}>", descriptor);
  // Not every DWARF type carries DW_AT_go_runtime_type (Go 1.19 omits it on
  // many pointer types): fall back to the name the descriptor gives.
  if (!d.type && hasTypes()) {
    d.type = types().findType(d.name);
    if (!d.type && d.name.size() > 1 && d.name[0] == '*') {
      if (const Type* elem = types().findType(std::string_view(d.name).substr(1))) {
        Type& t = synthesized_.emplace_back();
        t.name = d.name;
        t.kind = Kind::Pointer;
        t.size = 8;
        t.elem = elem;
        d.type = &t;
      }
    }
  }
  return dynTypes_.emplace(descriptor, std::move(d)).first->second;
}

uint64_t interfaceTypeDescriptor(const Memory& m, bool nonEmpty, uint64_t word0) {
  if (!word0) return 0;
  return nonEmpty ? m.readPtr(word0 + kItabTypeOffset) : word0;
}

InterfaceValue interfaceValue(const Program& p, uint64_t addr, bool nonEmpty) {
  uint64_t w[2];
  p.mem().read(addr, w, sizeof w);
  InterfaceValue v;
  uint64_t desc = interfaceTypeDescriptor(p.mem(), nonEmpty, w[0]);
  if (!desc) return v;
  v.type = &p.dynamicType(desc);
  v.data = w[1];
  v.valueAddr = v.type->directIface ? addr + 8 : w[1];
  return v;
}

}  // namespace gms
