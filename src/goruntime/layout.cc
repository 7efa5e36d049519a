#include "goruntime/layout.h"

#include <cstring>
#include <unordered_set>

#include "common/error.h"
#include "goruntime/runtime_facts.h"

namespace gms {

namespace {

void requireListed(const Type* t, std::string_view name) {
  if (!t || !isRuntimeTypeName(t->name)) return;
  if (const RuntimeStruct* s = runtimeStructFor(t->name))
    for (const auto& f : s->fields)
      if (f.name == name) return;
  fail(ErrorKind::Internal,
       "internal error: a decoder reads {}.{}, which goruntime/runtime_facts.cc does not list",
       t->name, name);
}

}  // namespace

const Field* optionalField(const Type* t, std::string_view name) {
  requireListed(t, name);
  return t ? t->field(name) : nullptr;
}

const Field& requireField(const Type* t, std::string_view name) {
  const Field* f = optionalField(t, name);
  if (!f)
    fail(ErrorKind::MissingDebugInfo, "DWARF type {} has no field '{}' (unsupported Go runtime layout?)",
         t ? t->name : "<null>", name);
  return *f;
}

uint64_t fieldValue(const uint8_t* b, const Field& f) {
  uint64_t sz = f.type ? f.type->size : 8;
  switch (sz) {
    case 1: return b[f.offset];
    case 2: { uint16_t v; std::memcpy(&v, b + f.offset, 2); return v; }
    case 4: { uint32_t v; std::memcpy(&v, b + f.offset, 4); return v; }
    default: { uint64_t v; std::memcpy(&v, b + f.offset, 8); return v; }
  }
}

std::vector<HeaderField> scalarFields(const Type* t, const uint8_t* bytes) {
  std::vector<HeaderField> out;
  for (const auto& f : t->fields) {
    if (!f.type) continue;
    uint64_t sz = f.type->size;
    bool scalar = (sz == 1 || sz == 2 || sz == 4 || sz == 8) && f.type->kind != Kind::Struct &&
                  f.type->kind != Kind::Array;
    bool ptr = f.type->kind == Kind::Pointer || f.type->kind == Kind::UnsafePointer ||
               f.name == "seed" || f.name == "hash0";
    if (scalar) out.push_back({f.name, fieldValue(bytes, f), ptr});
  }
  return out;
}

void addProblem(std::vector<std::string>& problems, std::string p) {
  constexpr size_t kMax = 100;
  if (problems.size() < kMax) problems.push_back(std::move(p));
  else if (problems.size() == kMax) problems.push_back("(more problems not shown)");
}

const Type* pointee(const Type* t, const char* what) {
  if (!t || t->kind != Kind::Pointer || !t->elem)
    fail(ErrorKind::MissingDebugInfo, "DWARF: {} is not a typed pointer ({})", what,
         t ? t->name : "<null>");
  return t->elem;
}

static bool hasPointersRec(const Type* t, std::unordered_set<const Type*>& seen) {
  if (!t) return false;
  switch (t->kind) {
    case Kind::Pointer: case Kind::String: case Kind::Slice: case Kind::Interface:
    case Kind::Map: case Kind::Chan: case Kind::Func: case Kind::UnsafePointer:
      return true;
    case Kind::Array:
      return t->len > 0 && hasPointersRec(t->elem, seen);
    case Kind::Struct:
      if (!seen.insert(t).second) return false;
      for (const auto& f : t->fields)
        if (hasPointersRec(f.type, seen)) return true;
      return false;
    default:
      return false;
  }
}

bool typeHasPointers(const Type* t) {
  std::unordered_set<const Type*> seen;
  return hasPointersRec(t, seen);
}

}  // namespace gms
