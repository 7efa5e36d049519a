#include "goruntime/recognize.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/error.h"
#include "goruntime/alloc.h"
#include "goruntime/layout.h"
#include "goruntime/maps.h"
#include "goruntime/runtime_facts.h"

namespace gms {

namespace {

constexpr uint64_t kMaxB = 40;                // 2^40 buckets: far beyond any heap
constexpr uint64_t kMaxGlobalDepth = 24;      // swiss_map.cc's kMaxDirLen
constexpr uint64_t kSwissGroupSlots = 8;      // abi.MapGroupSlots
constexpr uint64_t kMaxTableCapacity = 1024;  // maps.maxTableCapacity
constexpr uint64_t kCheckedEntries = 32;      // entries checked per candidate
// A string or slice longer is not one (nor is a heap address, 0xc000000000
// on, read as a length).
constexpr uint64_t kMaxLen = uint64_t(1) << 32;
constexpr uint8_t kClassicFlagsMask = 0x0F;  // iterator|oldIterator|hashWriting|sameSizeGrow
constexpr int kMaxPlausibleDepth = 4;

uint64_t load(const uint8_t* b, uint64_t off, uint64_t size = 8) {
  uint64_t v = 0;
  std::memcpy(&v, b + off, std::min<uint64_t>(size, 8));
  return v;
}

// The bucket (classic) or group (Swiss) type of a map type, from the header
// struct the type model gives it; nullptr when the layout is not there.
const Type* arrayElemOf(const Type* mapType) {
  const Type* h = mapType->mapHeader;
  if (!h) return nullptr;
  if (mapImplOf(mapType) == MapImpl::Classic) {
    const Field* b = optionalField(h, "buckets");
    return b && b->type ? b->type->elem : nullptr;
  }
  const Field* dir = optionalField(h, "dirPtr");
  if (!dir || !dir->type || !dir->type->elem) return nullptr;
  const Type* table = dir->type->elem->elem;
  if (!table) return nullptr;
  const Field* groups = optionalField(table, "groups");
  if (!groups) return nullptr;
  const Field* data = optionalField(groups->type, "data");
  return data && data->type ? data->type->elem : nullptr;
}

// A type name with each package path cut to its last element, as %T
// spells it: "map.group[string]*internal.Entry[string,int]" for
// ".../golang-lru/v2/internal.Entry".
std::string shortNames(std::string_view name) {
  std::string out;
  size_t i = 0;
  while (i < name.size()) {
    size_t j = name.find_first_of("[]*,{}() ;", i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view tok = name.substr(i, j - i);
    size_t slash = tok.rfind('/');
    if (slash != std::string_view::npos && tok.find('.', slash) != std::string_view::npos)
      tok = tok.substr(slash + 1);
    out += tok;
    if (j < name.size()) out += name[j];
    i = j + 1;
  }
  return out;
}

}  // namespace

ShapeRecognizer::ShapeRecognizer(const Program& p, const HeapIndex& heap) : p_(p), heap_(heap) {
  const TypeProvider& tp = p.types();
  for (std::string_view name : tp.typeNames()) {
    if (!name.starts_with("map[")) continue;
    const Type* t = tp.findType(name);
    if (!t || t->kind != Kind::Map || !t->key || !t->elem) continue;
    const Type* elem = nullptr;
    try {
      elem = arrayElemOf(t);
    } catch (const Error&) {
      continue;  // a header the model cannot tell: not a candidate
    }
    if (!elem || !elem->size) continue;
    if (!header_) header_ = t->mapHeader;
    // Whether the array holds pointers, as the runtime allocates it: the
    // keys' and values' own (a classic bucket's overflow link does not
    // count: a pointer-free bucket is noscan), or out-of-line ones (> 128 B).
    const bool ptrs = typeHasPointers(t->key) || typeHasPointers(t->elem) || t->key->size > 128 ||
                      t->elem->size > 128;
    cands_.push_back({t, elem, elem->size, ptrs});
  }
  std::sort(cands_.begin(), cands_.end(),
            [](const Candidate& a, const Candidate& b) { return a.map->name < b.map->name; });
  // How a recorded group array finds its map type: by the descriptor's
  // offset, the group Type, or the name the runtime gives the descriptor
  // ("map.group[K]V", packages short; "noalg.map.group[K]V" in DWARF): the
  // map type's name with "map" for "map.group". A generic function's shape
  // types (map[go.shape.string]...) share their group with the program's own
  // spelling, which is registered first.
  std::vector<size_t> order(cands_.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::stable_partition(order.begin(), order.end(), [&](size_t i) {
    return cands_[i].map->name.find("go.shape.") == std::string::npos;
  });
  for (size_t i : order) {
    byGroup_.emplace(shortNames("map.group" + cands_[i].map->name.substr(3)), i);
    byArray_.emplace(cands_[i].array, i);
    if (cands_[i].array->runtimeTypeOff >= 0)
      byDescriptor_.emplace(uint64_t(cands_[i].array->runtimeTypeOff), i);
  }
  if (auto base = p.typesBase()) typesBase_ = *base;
  unknownMap_ = p.unknownMapType();
  // The header fields map() reads, looked up once (it runs for every
  // object of the header's size class).
  if (header_) {
    try {
      headerSize_ = header_->size;
      if (mapImplOf(cands_.front().map) == MapImpl::Swiss) {
        const Field& dir = requireField(header_, "dirPtr");
        if (dir.type && dir.type->elem) table_ = dir.type->elem->elem;
        if (!table_) fail(ErrorKind::MissingDebugInfo, "no table type behind Map.dirPtr");
        f_ = {&requireField(header_, "used"), &requireField(header_, "seed"), &dir,
              &requireField(header_, "dirLen"), &requireField(header_, "globalDepth")};
        f_.capacity = &requireField(table_, "capacity");
        const Field& groups = requireField(table_, "groups");
        f_.groupsData = groups.offset + requireField(groups.type, "data").offset;
      } else {
        f_.flags = &requireField(header_, "flags");
        f_.B = &requireField(header_, "B");
        f_.hash0 = &requireField(header_, "hash0");
        f_.buckets = &requireField(header_, "buckets");
      }
    } catch (const Error&) {
      header_ = nullptr;  // a layout the model cannot tell: no map is recognised
    }
  }
  // Every list shape among the program's struct types (container/list's
  // first), as listShapeOf tells them apart.
  for (std::string_view name : tp.typeNames()) {
    const Type* t = tp.findType(name);
    if (!t || t->kind != Kind::Struct || name.find("go.shape.") != std::string_view::npos) continue;
    if (isRuntimeTypeName(name) && !name.starts_with("container/list.")) continue;
    try {
      auto shape = listShapeOf(t);
      if (!shape || !shape->elem || !shape->elem->size) continue;
      if (shape->kind == ListShape::Kind::HeadTail && !shape->hasBack && !shape->hasTail) continue;
      ListCandidate c{*shape, allocSize(shape->elem->size, true, p.build().minor)};
      if (shape->containerList())
        lists_.insert(lists_.begin(), std::move(c));
      else
        lists_.push_back(std::move(c));
    } catch (const Error&) {
      // links that cannot be told apart without names: not searched
    }
  }
  syncSignature(p);
  // The main module: the modinfo's "mod\t<path>\t<version>" line.
  std::string_view mi = p.build().modinfo;
  if (size_t at = mi.rfind("\nmod\t", std::string_view::npos);
      at != std::string_view::npos || mi.starts_with("mod\t")) {
    size_t from = (at == std::string_view::npos ? 0 : at + 1) + 4;
    module_ = std::string(mi.substr(from, mi.find_first_of("\t\n", from) - from));
  }
  for (const Segment& s : p.binary().segments())
    if (s.memsz) image_.emplace_back(s.vaddr + p.loadBias(), s.vaddr + p.loadBias() + s.memsz);
}

void ShapeRecognizer::syncSignature(const Program& p) {
  const TypeProvider& tp = p.types();
  const Type* t = tp.findType("sync.Map");
  auto base = p.typesBase();
  if (!t || !base) return;
  try {
    if (const Field* m = t->field("m")) {  // Go >= 1.24: internal/sync.HashTrieMap[any,any]
      const Field& keyHash = requireField(m->type, "keyHash");
      const Type* mt = tp.findType("map[interface {}]interface {}");
      if (!mt || mt->runtimeTypeOff < 0) return;
      // abi.MapType: Type (48 bytes), Key, Elem, Group, Hasher (as
      // maptype's key, elem, bucket, hasher before it).
      constexpr uint64_t kHasherOffset = 72;
      sync_.value = p.mem().readPtr(*base + uint64_t(mt->runtimeTypeOff) + kHasherOffset);
      sync_.offset = m->offset + keyHash.offset;
    } else if (const Field* read = t->field("read")) {  // Go 1.19: atomic.Value{v any}
      const Field* v = read->type ? read->type->field("v") : nullptr;
      const Type* ro = tp.findType("sync.readOnly");
      if (!v || !v->type || v->type->kind != Kind::Interface || !ro || ro->runtimeTypeOff < 0)
        return;  // atomic.Pointer[readOnly] (Go 1.20-1.23): no type word
      sync_.value = *base + uint64_t(ro->runtimeTypeOff);
      sync_.offset = read->offset + v->offset;
    }
    if (sync_.value) sync_.type = t;
  } catch (const Error&) {  // a Fault too: the descriptor unreadable
    sync_ = {};
  }
}

bool ShapeRecognizer::headerSized(const HeapObject& o) const {
  return headerSize_ && !o.span->noscan() && o.headerBytes == 0 &&
         o.size == allocSize(headerSize_, true, p_.build().minor);
}

bool ShapeRecognizer::inImage(uint64_t addr) const {
  for (const auto& [lo, hi] : image_)
    if (addr >= lo && addr < hi) return true;
  return false;
}

bool ShapeRecognizer::validPointer(uint64_t addr) const {
  if (!addr) return false;
  if (inImage(addr)) return true;
  auto o = heap_.find(addr);
  return o && o->allocated;
}

std::optional<HeapObject> ShapeRecognizer::objectAt(uint64_t addr) const {
  auto o = heap_.find(addr);
  if (!o || !o->allocated || o->base + o->headerBytes != addr) return std::nullopt;
  return o;
}

std::optional<MapGuess> ShapeRecognizer::map(const HeapObject& o) const {
  if (!headerSized(o) || !o.allocated) return std::nullopt;
  return mapAt(o.base);
}

std::optional<MapGuess> ShapeRecognizer::mapAt(uint64_t hdr) const {
  if (!header_ || hdr % 8) return std::nullopt;
  std::vector<uint8_t> h(headerSize_);
  try {
    p_.mem().read(hdr, h.data(), h.size());
  } catch (const Fault&) {
    return std::nullopt;
  }
  return table_ ? swiss(hdr, h.data()) : classic(hdr, h.data());
}

std::optional<MapGuess> ShapeRecognizer::classic(uint64_t hdr, const uint8_t* h) const {
  // runtime/map.go (go1.19..1.23): hmap{count, flags, B, noverflow, hash0,
  // buckets, oldbuckets, nevacuate, extra}.
  const uint64_t flags = fieldValue(h, *f_.flags);
  const uint64_t B = fieldValue(h, *f_.B);
  const uint64_t hash0 = fieldValue(h, *f_.hash0);
  const uint64_t buckets = fieldValue(h, *f_.buckets);
  if (!buckets) return neverWritten(h, *f_.hash0);
  if (!hash0 || B > kMaxB || (flags & ~uint64_t(kClassicFlagsMask))) return std::nullopt;
  auto arr = objectAt(buckets);
  if (!arr) return std::nullopt;
  // makeBucketArray: 2^B buckets, plus 2^(B-4) preallocated overflow
  // buckets from B = 4, rounded up to the size class.
  uint64_t n = (uint64_t(1) << B) + (B >= 4 ? uint64_t(1) << (B - 4) : 0);
  return judge(hdr, *arr, n);
}

std::optional<MapGuess> ShapeRecognizer::swiss(uint64_t hdr, const uint8_t* h) const {
  // internal/runtime/maps/map.go: Map{used, seed, dirPtr, dirLen,
  // globalDepth, globalShift, writing, tombstonePossible, clearSeq}.
  const uint64_t used = fieldValue(h, *f_.used);
  const uint64_t seed = fieldValue(h, *f_.seed);
  const uint64_t dirPtr = fieldValue(h, *f_.dirPtr);
  const uint64_t dirLen = fieldValue(h, *f_.dirLen);
  const uint64_t depth = fieldValue(h, *f_.depth);
  if (!dirPtr) return neverWritten(h, *f_.seed);
  if (!seed || depth > kMaxGlobalDepth) return std::nullopt;
  if (dirLen == 0) {  // small: dirPtr is one group
    if (depth != 0 || used > kSwissGroupSlots) return std::nullopt;
    auto g = objectAt(dirPtr);
    if (!g) return std::nullopt;
    return judge(hdr, *g, 1);
  }
  if (dirLen != uint64_t(1) << depth) return std::nullopt;
  auto dir = objectAt(dirPtr);
  if (!dir || dir->size - dir->headerBytes < dirLen * 8) return std::nullopt;
  // The first table's group array sets the candidates; judge() decodes the rest.
  uint64_t table = 0;
  try {
    table = p_.mem().readPtr(dirPtr);
  } catch (const Fault&) {
    return std::nullopt;
  }
  if (!objectAt(table)) return std::nullopt;
  std::vector<uint8_t> tb(table_->size);
  try {
    p_.mem().read(table, tb.data(), tb.size());
  } catch (const Fault&) {
    return std::nullopt;
  }
  const uint64_t capacity = fieldValue(tb.data(), *f_.capacity);
  const uint64_t data = load(tb.data(), f_.groupsData);
  if (capacity < kSwissGroupSlots || capacity > kMaxTableCapacity || (capacity & (capacity - 1)))
    return std::nullopt;
  auto g = objectAt(data);
  if (!g) return std::nullopt;
  return judge(hdr, *g, capacity / kSwissGroupSlots);
}

std::optional<MapGuess> ShapeRecognizer::neverWritten(const uint8_t* h, const Field& seed) const {
  // makemap_small (classic: hash0 = fastrand()) and NewEmptyMap (Swiss:
  // seed = uintptr(rand())) set the seed alone; the first write allocates
  // the buckets or the group. A random seed has about half its bits set; a
  // pointer, a length or a flag word does not look like one.
  if (!unknownMap_ || !seed.type) return std::nullopt;
  const uint64_t size = seed.type->size;
  for (uint64_t i = 0; i < headerSize_; i++)
    if (h[i] && (i < seed.offset || i >= seed.offset + size)) return std::nullopt;
  const uint64_t v = fieldValue(h, seed);
  const int bits = std::popcount(v), width = int(size * 8);
  if (bits < width / 8 || bits > width - width / 8) return std::nullopt;
  if (size == 8 && validPointer(v)) return std::nullopt;
  MapGuess g;
  g.types.push_back(unknownMap_);
  g.scores.push_back(0);
  g.unknown = true;
  return g;
}

std::optional<MapGuess> ShapeRecognizer::judge(uint64_t hdr, const HeapObject& array,
                                               uint64_t n) const {
  std::vector<size_t> idx;
  bool exact = false;
  if (array.typeDescriptor) {
    // The map type whose group is that descriptor: by the descriptor's
    // offset, the very Type, or the name with packages spelled short (as
    // %T does: map.group[string]*internal.Entry[string,int]).
    try {
      auto byOff = typesBase_ && array.typeDescriptor >= *typesBase_
                       ? byDescriptor_.find(array.typeDescriptor - *typesBase_)
                       : byDescriptor_.end();
      const DynType& dt = p_.dynamicType(array.typeDescriptor);
      if (byOff != byDescriptor_.end()) {
        idx.push_back(byOff->second);
      } else if (auto it = byArray_.find(dt.type); dt.type && it != byArray_.end()) {
        idx.push_back(it->second);
      } else {
        std::string name = shortNames(dt.name);
        if (name.starts_with("noalg.")) name = name.substr(6);
        auto byName = byGroup_.find(name);
        if (byName == byGroup_.end()) return std::nullopt;  // typed, and not a map's array
        idx.push_back(byName->second);
      }
      exact = true;
    } catch (const Error&) {
      return std::nullopt;
    }
  } else {
    const int minor = p_.build().minor;
    for (size_t i = 0; i < cands_.size(); i++) {
      const Candidate& c = cands_[i];
      if (c.pointers == array.span->noscan()) continue;  // its array's span would be the other kind
      if (allocSize(c.arrayElem * n, c.pointers, minor) == array.size) idx.push_back(i);
    }
  }
  MapGuess g;
  g.exact = exact;
  std::vector<std::pair<const Type*, uint64_t>> kept;  // with their scores
  for (size_t i : idx) {
    const Type* t = cands_[i].map;
    std::vector<uint8_t> key(t->key->size), val(t->elem->size);
    bool ok = true;
    uint64_t checked = 0, score = 0;
    MapSummary s;
    try {
      WalkOptions wo;
      s = walkMap(p_, t, hdr, wo, [&](uint64_t k, uint64_t v) {
        // The runtime named the type: the entries are only counted.
        if (exact || checked++ >= kCheckedEntries) return true;
        try {
          if (!key.empty()) p_.mem().read(k, key.data(), key.size());
          if (!val.empty()) p_.mem().read(v, val.data(), val.size());
        } catch (const Fault&) {
          ok = false;
          return false;
        }
        ok = plausible(t->key, key.data(), 0, score) && plausible(t->elem, val.data(), 0, score);
        return ok;
      });
    } catch (const Error&) {
      continue;
    }
    if (!ok || !s.problems.empty() || !s.invalidHeader.empty() || s.found != s.len) continue;
    kept.emplace_back(t, score);
  }
  if (kept.empty()) return std::nullopt;
  // The types whose pointers point where new(T) would have put them first,
  // then the program's own types (main's, its module's), then by name.
  // A generic function's shape types (map[go.shape.string]...) describe
  // its dictionary, never a value: the program's own spelling comes first.
  auto shaped = [](const Type* t) { return t->name.find("go.shape.") != std::string::npos; };
  std::stable_sort(kept.begin(), kept.end(), [&](const auto& a, const auto& b) {
    if (shaped(a.first) != shaped(b.first)) return !shaped(a.first);
    if (a.second != b.second) return a.second > b.second;
    return ownTypes(a.first->name) > ownTypes(b.first->name);
  });
  for (const auto& [t, sc] : kept) {
    g.types.push_back(t);
    g.scores.push_back(sc);
  }
  return g;
}

// How many of the named types spelled in name are the program's: package
// main, or a package of the main module.
int ShapeRecognizer::ownTypes(std::string_view name) const {
  int n = 0;
  for (size_t i = name.find('.'); i != std::string_view::npos; i = name.find('.', i + 1)) {
    size_t start = name.find_last_of("[]*,{}() ;", i);
    std::string_view pkg = name.substr(start == std::string_view::npos ? 0 : start + 1,
                                       i - (start == std::string_view::npos ? 0 : start + 1));
    if (pkg == "main" || (!module_.empty() && pkg.starts_with(module_))) n++;
  }
  return n;
}

bool ShapeRecognizer::plausible(const Type* t, const uint8_t* b, int depth, uint64_t& score) const {
  if (!t || depth > kMaxPlausibleDepth) return true;
  auto ptrOk = [&](uint64_t w) { return w == 0 || validPointer(w); };
  switch (t->kind) {
    case Kind::Bool:
      return b[0] <= 1;
    case Kind::Pointer:
      return pointsAt(t->elem, load(b, 0), score);
    case Kind::Map: {
      // A map value points at a header: an object of the header's size.
      uint64_t w = load(b, 0);
      if (!w) return true;
      auto o = heap_.find(w);
      if (!o || !o->allocated) return false;
      if (o->base == w && headerSized(*o)) score++;
      return true;
    }
    case Kind::UnsafePointer:
    case Kind::Chan:
    case Kind::Func:
      return ptrOk(load(b, 0));
    case Kind::String: {
      uint64_t ptr = load(b, 0), len = load(b, 8);
      return len == 0 || (len < kMaxLen && validPointer(ptr));
    }
    case Kind::Slice: {
      uint64_t ptr = load(b, 0), len = load(b, 8), cap = load(b, 16);
      return len <= cap && cap < kMaxLen && (cap == 0 || validPointer(ptr));
    }
    case Kind::Interface: {
      uint64_t typ = load(b, 0), data = load(b, 8);
      // The data word is a pointer whatever the dynamic type (Go >= 1.4;
      // small integers point into runtime.staticuint64s), nil only for a
      // nil pointer of a pointer-shaped type.
      if (!typ) return data == 0;
      if (!validPointer(typ) || (data && !validPointer(data))) return false;
      score++;
      return true;
    }
    case Kind::Struct:
      for (const Field& f : t->fields)
        if (f.type && f.offset + f.type->size <= t->size &&
            !plausible(f.type, b + f.offset, depth + 1, score))
          return false;
      return true;
    case Kind::Array:
      if (!t->elem || !t->elem->size) return true;
      for (uint64_t i = 0; i < std::min<uint64_t>(t->len, 16); i++)
        if (!plausible(t->elem, b + i * t->elem->size, depth + 1, score)) return false;
      return true;
    default:
      return true;
  }
}

// A *T value w: nil, into the binary, or into a heap object that can hold
// a T where w points (and, when the runtime recorded the object's type, of
// that type or holding it: an array of T). score gains one when w is what
// new(T) returns: the start of an object of T's own size class.
bool ShapeRecognizer::pointsAt(const Type* elem, uint64_t w, uint64_t& score) const {
  if (!w || inImage(w)) return true;
  auto o = heap_.find(w);
  if (!o || !o->allocated) return false;
  if (!elem || !elem->size) return true;
  if (w + elem->size > o->base + o->size) return false;
  if (w == o->base + o->headerBytes && o->typeDescriptor && elem->kind == Kind::Struct) {
    try {
      const DynType& dt = p_.dynamicType(o->typeDescriptor);
      if (dt.type && dt.type->kind == Kind::Struct && dt.name != elem->name) return false;
    } catch (const Error&) {
      return false;
    }
  }
  if (w == o->base + o->headerBytes &&
      o->size == allocSize(elem->size, typeHasPointers(elem), p_.build().minor))
    score++;
  return true;
}

std::optional<ShapeRecognizer::ListAt> ShapeRecognizer::listAt(uint64_t at,
                                                               const HeapObject& e) const {
  const uint64_t w = e.base + e.headerBytes;
  if (lists_.empty() || !e.allocated || e.span->noscan()) return std::nullopt;
  const Memory& m = p_.mem();
  try {
    for (const ListCandidate& c : lists_) {
      const ListShape& sh = c.shape;
      if (e.size != c.elemSlot) continue;
      switch (sh.kind) {
        case ListShape::Kind::Sentinel: {
          // at is root.next of the List at L: root = L + sh.root.
          if (at < sh.root + sh.next) continue;
          const uint64_t root = at - sh.next, list = root - sh.root;
          if (w == root || m.readPtr(w + sh.prev) != root) continue;
          if (sh.hasBack && m.readPtr(w + sh.back) != list) continue;
          if (sh.hasLen && m.readPtr(list + sh.len) == 0) continue;
          if (!sh.hasBack && !sh.hasLen) continue;  // too little to tell it by
          return ListAt{list, &sh};
        }
        case ListShape::Kind::Ring: {
          if (at < sh.next) continue;
          const uint64_t r = at - sh.next;
          if (w == r || m.readPtr(w + sh.prev) != r) continue;
          return ListAt{r, &sh};
        }
        case ListShape::Kind::HeadTail: {
          if (at < sh.head) continue;
          const uint64_t list = at - sh.head;
          if (m.readPtr(w + sh.prev) != 0) continue;
          if (sh.hasBack && m.readPtr(w + sh.back) != list) continue;
          if (sh.hasTail) {
            uint64_t tail = m.readPtr(list + sh.tail);
            auto t = heap_.find(tail);
            if (!t || !t->allocated || t->size != c.elemSlot || m.readPtr(tail + sh.next) != 0)
              continue;
          }
          if (sh.hasLen && m.readPtr(list + sh.len) == 0) continue;
          return ListAt{list, &sh};
        }
      }
    }
  } catch (const Fault&) {
  }
  return std::nullopt;
}

std::optional<ShapeRecognizer::ListAt> ShapeRecognizer::emptyListAt(uint64_t at, uint64_t w) const {
  const Memory& m = p_.mem();
  for (const ListCandidate& c : lists_) {
    const ListShape& sh = c.shape;
    if (sh.kind != ListShape::Kind::Sentinel || !sh.hasLen) continue;
    if (at < sh.root + sh.next || w != at - sh.next) continue;
    const uint64_t root = w, list = root - sh.root;
    try {
      if (m.readPtr(root + sh.prev) != root || m.readPtr(list + sh.len) != 0) continue;
      if (sh.hasBack && m.readPtr(root + sh.back) != 0 && m.readPtr(root + sh.back) != list)
        continue;
    } catch (const Fault&) {
      continue;
    }
    return ListAt{list, &sh};
  }
  return std::nullopt;
}

}  // namespace gms
