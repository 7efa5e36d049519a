#include "goruntime/value.h"

#include <algorithm>
#include <cstring>

#include "goruntime/layout.h"
#include "goruntime/list.h"
#include "goruntime/maps.h"

namespace gms {

void ValueRenderer::render(uint64_t addr, const Type* t, ValueSink& sink) {
  stack_.clear();
  value(addr, t, sink, 0);
}

void ValueRenderer::value(uint64_t addr, const Type* t, ValueSink& sink, int depth) {
  if (!t) {
    sink.unreadable(addr, "no type information");
    return;
  }
  const Memory& m = p_.mem();
  try {
    switch (t->kind) {
      case Kind::Bool:
        sink.boolean(m.readU8(addr) != 0);
        return;
      case Kind::Int8:
        sink.integer(m.readT<int8_t>(addr));
        return;
      case Kind::Int16:
        sink.integer(m.readT<int16_t>(addr));
        return;
      case Kind::Int32:
        sink.integer(m.readT<int32_t>(addr));
        return;
      case Kind::Int:
      case Kind::Int64:
        sink.integer(m.readT<int64_t>(addr));
        return;
      case Kind::Uint8:
        sink.uinteger(m.readT<uint8_t>(addr));
        return;
      case Kind::Uint16:
        sink.uinteger(m.readT<uint16_t>(addr));
        return;
      case Kind::Uint32:
        sink.uinteger(m.readT<uint32_t>(addr));
        return;
      case Kind::Uint:
      case Kind::Uint64:
      case Kind::Uintptr:
        sink.uinteger(m.readT<uint64_t>(addr));
        return;
      case Kind::Float32:
        sink.floating(m.readT<float>(addr), true);
        return;
      case Kind::Float64:
        sink.floating(m.readT<double>(addr), false);
        return;
      case Kind::Complex64: {
        float c[2];
        m.read(addr, c, sizeof c);
        sink.complex(c[0], c[1], true);
        return;
      }
      case Kind::Complex128: {
        double c[2];
        m.read(addr, c, sizeof c);
        sink.complex(c[0], c[1], false);
        return;
      }
      case Kind::String: {
        uint64_t hdr[2];
        m.read(addr, hdr, sizeof hdr);
        uint64_t len = hdr[1];
        if (len > kMaxStringBytes) {
          sink.unreadable(addr, fmt::format("string length {} is implausible", len));
          return;
        }
        uint64_t n = lim_.maxString ? std::min(len, lim_.maxString) : len;
        if (n == 0) {
          sink.string({}, len);
          return;
        }
        if (const uint8_t* v = m.view(hdr[0], n)) {
          sink.string(std::string_view(reinterpret_cast<const char*>(v), n), len);
        } else {
          std::string s = m.readString(hdr[0], n);
          sink.string(s, len);
        }
        return;
      }
      case Kind::Pointer: {
        uint64_t target = m.readPtr(addr);
        pointerTo(target, t->elem, sink, depth);
        return;
      }
      case Kind::UnsafePointer:
        sink.address("unsafe.Pointer", m.readPtr(addr));
        return;
      case Kind::Chan: {
        uint64_t c = m.readPtr(addr);
        if (!c)
          sink.nil();
        else
          sink.address("chan", c);
        return;
      }
      case Kind::Func: {
        uint64_t f = m.readPtr(addr);
        if (!f)
          sink.nil();
        else
          sink.address("func", f);
        return;
      }
      case Kind::Array:
        array(addr, t->len, t->elem, sink, depth);
        return;
      case Kind::Slice: {
        uint64_t hdr[3];
        m.read(addr, hdr, sizeof hdr);
        if (!hdr[0]) {
          sink.nil();
          return;
        }
        if (hdr[1] > hdr[2]) {
          sink.unreadable(addr, fmt::format("slice len {} > cap {}", hdr[1], hdr[2]));
          return;
        }
        array(hdr[0], hdr[1], t->elem, sink, depth);
        return;
      }
      case Kind::Struct:
        structValue(addr, t, sink, depth, false);
        return;
      case Kind::Interface:
        iface(addr, t, sink, depth);
        return;
      case Kind::Map:
        mapValue(m.readPtr(addr), t, sink, depth);
        return;
      case Kind::Invalid:
        break;
    }
    sink.unreadable(addr, fmt::format("type {} has no known kind", t->name));
  } catch (const Error& e) {
    sink.unreadable(addr, e.what());
  }
}

void ValueRenderer::structValue(uint64_t addr, const Type* t, ValueSink& sink, int depth,
                                bool anchored) {
  const Memory& m = p_.mem();
  sink.beginStruct(t);
  if (anchored) sink.anchor(addr);
  // A list element's links lead through the whole list; show them as
  // addresses and render only its payload (what an LRU map points at).
  auto [it, fresh] = links_.try_emplace(t);
  if (fresh) it->second = elementLinkFields(t);
  const std::vector<bool>& links = it->second;
  for (size_t i = 0; i < t->fields.size(); i++) {
    const Field& f = t->fields[i];
    sink.field(f.name);
    if (!links.empty() && links[i]) {
      uint64_t ptr = 0;
      try {
        ptr = m.readPtr(addr + f.offset);
      } catch (const Error& e) {
        sink.unreadable(addr + f.offset, e.what());
        continue;
      }
      if (ptr)
        sink.address("link", ptr);
      else
        sink.nil();
      continue;
    }
    value(addr + f.offset, f.type, sink, depth);
  }
  sink.endStruct();
}

void ValueRenderer::pointerTo(uint64_t target, const Type* elem, ValueSink& sink, int depth) {
  if (!target) {
    sink.nil();
    return;
  }
  if (std::find(stack_.begin(), stack_.end(), target) != stack_.end()) {
    sink.address("cycle", target);
    return;
  }
  bool object = elem && elem->kind == Kind::Struct;
  if (object && rendered_.count({target, elem})) {
    sink.address("ref", target);
    return;
  }
  if (depth >= lim_.depth || !elem) {
    sink.address("depth", target);
    return;
  }
  stack_.push_back(target);
  sink.beginPointer(target);
  if (object) {
    rendered_.insert({target, elem});
    structValue(target, elem, sink, depth + 1, true);  // never throws: each field is caught
  } else {
    value(target, elem, sink, depth + 1);
  }
  sink.endPointer();
  stack_.pop_back();
}

void ValueRenderer::array(uint64_t base, uint64_t len, const Type* elem, ValueSink& sink,
                          int depth) {
  if (!elem) {
    sink.unreadable(base, "array without element type");
    return;
  }
  uint64_t shown = len;
  if (depth > 0 && lim_.maxElems) shown = std::min(len, lim_.maxElems);
  // Bound absurd lengths by what could possibly be mapped.
  if (elem->size && len > (uint64_t(1) << 40) / elem->size) {
    sink.unreadable(base, fmt::format("array/slice length {} is implausible", len));
    return;
  }
  sink.beginArray(len);
  for (uint64_t i = 0; i < shown; i++) value(base + i * elem->size, elem, sink, depth);
  sink.endArray(len - shown);
}

void ValueRenderer::iface(uint64_t addr, const Type* t, ValueSink& sink, int depth) {
  uint64_t w[2];
  p_.mem().read(addr, w, sizeof w);
  if (!w[0]) {
    sink.nil();
    return;
  }
  uint64_t desc = interfaceTypeDescriptor(p_.mem(), t->nonEmptyInterface, w[0]);
  const DynType& dt = p_.dynamicType(desc);
  sink.beginInterface(dt.name);
  if (depth >= lim_.depth) {
    sink.address("depth", w[1]);
  } else if (!dt.type) {
    sink.unreadable(w[1], fmt::format("no DWARF type for dynamic type {}", dt.name));
  } else if (dt.directIface) {
    // Pointer-shaped: the data word is the value itself.
    value(addr + 8, dt.type, sink, depth + 1);
  } else if (!w[1]) {
    sink.nil();
  } else {
    value(w[1], dt.type, sink, depth + 1);
  }
  sink.endInterface();
}

void ValueRenderer::mapValue(uint64_t hdr, const Type* t, ValueSink& sink, int depth) {
  if (!hdr) {
    sink.nil();
    return;
  }
  if (std::find(stack_.begin(), stack_.end(), hdr) != stack_.end()) {
    sink.address("cycle", hdr);
    return;
  }
  if (depth >= lim_.depth) {
    sink.address("depth", hdr);
    return;
  }
  // Collect the slots first: rendering a key may itself walk a map.
  std::vector<std::pair<uint64_t, uint64_t>> slots;
  uint64_t limit = depth > 0 && lim_.maxElems ? lim_.maxElems : UINT64_MAX;
  MapSummary s = walkMap(p_, t, hdr, {}, [&](uint64_t k, uint64_t v) {
    slots.emplace_back(k, v);
    return slots.size() < limit;
  });
  stack_.push_back(hdr);
  sink.beginMap(s.found);
  // Each entry gets the depth an entry gets from `map`: the same value
  // renders the same way whichever command reached it. Maps nested in maps
  // are bounded by kMaxMapNesting (and by the cycle check).
  int entryDepth = ++mapNesting_ < kMaxMapNesting ? 0 : depth + 1;
  for (auto [k, v] : slots) {
    sink.entryKey();
    value(k, t->key, sink, entryDepth);
    sink.entryValue();
    value(v, t->elem, sink, entryDepth);
    sink.endEntry();
  }
  mapNesting_--;
  sink.endMap(s.found > slots.size() ? s.found - slots.size() : 0);
  stack_.pop_back();
}

namespace {

bool mayRefer(const Type* t, std::vector<const Type*>& seen) {
  if (!t) return false;
  switch (t->kind) {
    case Kind::Pointer:
      return t->elem && t->elem->kind == Kind::Struct;
    case Kind::Interface:
      return true;
    case Kind::Array:
    case Kind::Slice:
      break;
    case Kind::Map:
      break;
    case Kind::Struct:
      break;
    default:
      return false;
  }
  if (std::find(seen.begin(), seen.end(), t) != seen.end()) return false;
  seen.push_back(t);
  if (t->kind == Kind::Struct) {
    for (const auto& f : t->fields)
      if (mayRefer(f.type, seen)) return true;
    return false;
  }
  if (t->kind == Kind::Map && mayRefer(t->key, seen)) return true;
  return mayRefer(t->elem, seen);
}

}  // namespace

bool mayReferToObjects(const Type* t) {
  std::vector<const Type*> seen;
  return mayRefer(t, seen);
}

bool ScalarReader::isScalar(const Type* t) {
  if (!t) return false;
  switch (t->kind) {
    case Kind::Bool:
    case Kind::Int:
    case Kind::Int8:
    case Kind::Int16:
    case Kind::Int32:
    case Kind::Int64:
    case Kind::Uint:
    case Kind::Uint8:
    case Kind::Uint16:
    case Kind::Uint32:
    case Kind::Uint64:
    case Kind::Uintptr:
    case Kind::Float32:
    case Kind::Float64:
      return t->size > 0 && t->size <= 8;
    case Kind::String:
      return t->size == 16;
    default:
      return false;
  }
}

const uint8_t* ScalarReader::at(Memory::ViewRange& w, uint64_t addr, uint64_t n) const {
  if (const uint8_t* p = w.at(addr, n)) return p;
  w = mem_.viewRange(addr);
  return w.at(addr, n);
}

bool ScalarReader::load(uint64_t addr, const Type* t, ScalarView& out) {
  out.p = at(slots_, addr, t->size);
  if (!out.p) return false;
  if (t->kind != Kind::String) return true;
  uint64_t str[2];  // the string header: data, len
  std::memcpy(str, out.p, sizeof str);
  out.len = str[1];
  if (out.len > kMaxStringBytes) return false;
  uint64_t n = maxString_ ? std::min(out.len, maxString_) : out.len;
  out.s = {};
  if (n == 0) return true;
  const uint8_t* d = at(strings_, str[0], n);
  if (!d) return false;
  __builtin_prefetch(d);
  out.s = std::string_view(reinterpret_cast<const char*>(d), n);
  return true;
}

void StringPrefetch::one(uint64_t addr) const {
  const uint8_t* h = mem_.view(addr, 16);
  if (!h) return;
  uint64_t str[2];
  std::memcpy(str, h, sizeof str);
  if (str[1] == 0) return;
  if (const uint8_t* d = mem_.view(str[0], 1)) __builtin_prefetch(d);
}

}  // namespace gms
