// sync.Map: the read/dirty Map of sync/map.go (Go <= 1.23) and the
// HashTrieMap of internal/sync/hashtriemap.go (Go >= 1.24); see sync_map.h.
//
// Read/dirty. Mirrors go1.19 and go1.20-1.23 sync/map.go:
//   Map{mu Mutex; read atomic.Value|atomic.Pointer[readOnly]; dirty map[any]*entry; misses int}
//   readOnly{m map[any]*entry; amended bool}
//   entry{p unsafe.Pointer|atomic.Pointer[any]}   var expunged = new(any)
// Go 1.19 keeps readOnly in an atomic.Value (sync/atomic/value.go: an eface
// whose type word is readOnly's descriptor, or &firstStoreInProgress while
// the first Store runs, and whose data word points at a boxed readOnly).
// Range (sync/map.go) visits the entries of dirty when read.amended (it
// promotes dirty first), else those of read.m, skipping p == nil (deleted)
// and p == expunged. The walk lists exactly those, reading both maps with
// the map decoders and counting each *entry once (read.m and dirty share
// them), and checks the invariants Range relies on: with a dirty map, every
// live entry of read.m is in dirty; expunged entries are only in read.m.
//
// Which pointer is expunged: the value of the global sync.expunged (DWARF or
// the symbol table). Without either it is inferred from the invariant that
// defines it: an entry is expunged exactly when it is in read.m, dirty is
// not nil and the entry is not in dirty (dirtyLocked expunges the deleted
// entries it leaves out; unexpungeLocked puts an entry back into dirty
// before storing into it). So when dirty exists, the read.m entries missing
// from it must all hold one pointer, to a nil `any` (new(any)): that pointer
// is expunged. Candidates that disagree (two pointers, or one to a non-nil
// value) are a problem and expunged stays unknown; a stored nil value (p to
// a nil `any` of its own) is never taken for it, as it is in dirty. With no
// dirty map no entry is expunged (promotion drops them), so none needs
// telling apart.
//
// Hash-trie. Mirrors go1.26 internal/sync/hashtriemap.go (identical in
// go1.27.3; sync.Map{_ noCopy; m HashTrieMap[any, any]} in sync/map.go):
//   HashTrieMap{inited atomic.Uint32; initMu Mutex; root atomic.Pointer[indirect];
//               keyHash; valEqual; seed}
//   node{isEntry bool}
//   indirect{node; dead atomic.Bool; mu Mutex; parent *indirect;
//            children [16]atomic.Pointer[node]}
//   entry{node; overflow atomic.Pointer[entry]; key K; value V}
// Range (HashTrieMap.iter) visits every child of every indirect node from
// the root and every entry of each chain through overflow; so does the walk,
// at most 16 levels deep (a 64-bit hash, 4 bits per level), each node once,
// checking each child's isEntry (0 or 1) and that an indirect child's parent
// is the node holding it. The entry type is taken by its name, built from
// the indirect node's (the go1.27 linker's DWARF omits it); without it the
// entry's layout is computed from the declaration above (node, then an
// 8-byte-aligned overflow pointer, then key and value, both `any`).
//
// Footprint (size-class rounded, goruntime/alloc.h): read/dirty: both map
// headers and arrays (walkMap's footprint), the boxed readOnly, every
// distinct *entry and the boxed `any` each live entry's p points to
// (newEntry and Store allocate one per value; expunged is not the map's);
// hash-trie: every indirect and entry node. Keys' and values' own data
// (strings, pointees) belongs to them, as for maps.
#include "goruntime/sync_map.h"

#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "goruntime/alloc.h"
#include "goruntime/layout.h"
#include "goruntime/maps.h"

namespace gms {

namespace {

constexpr uint32_t kMutexLocked = 1;  // mutexLocked, sync/mutex.go and internal/sync/mutex.go
constexpr uint64_t kTrieLevels = 16;  // 64 hash bits / nChildrenLog2 (4)
constexpr uint64_t kMaxTrieNodes = uint64_t(1) << 26;  // a bound on the walk, not on Go
constexpr uint64_t kMaxStructSize = 4096;  // sync.Map is a few words, an indirect node 152 bytes

bool dataError(const Error& e) {
  return e.kind() == ErrorKind::Fault || e.kind() == ErrorKind::Corrupt;
}

// T of an atomic.Pointer[T] (sync/atomic/type.go): its `_ [0]*T` field.
const Type* atomicPointerElem(const Type* t) {
  if (!t || t->kind != Kind::Struct) return nullptr;
  for (const auto& f : t->fields)
    if (f.type && f.type->kind == Kind::Array && f.type->len == 0 && f.type->elem &&
        f.type->elem->kind == Kind::Pointer && f.type->elem->elem)
      return f.type->elem->elem;
  return nullptr;
}

// Where the pointer word of an unsafe.Pointer, *T or atomic.Pointer[T]
// (its field v) lies, from the start of a value of type t.
uint64_t pointerWord(const Type* t, const char* what) {
  if (!t) fail(ErrorKind::MissingDebugInfo, "no type for {}", what);
  if (t->kind == Kind::UnsafePointer || t->kind == Kind::Pointer) return 0;
  const Field& v = requireField(t, "v");
  if (!v.type || v.type->size != 8)
    fail(ErrorKind::MissingDebugInfo, "{} ({}) has no pointer word", what, t->name);
  return v.offset;
}

// The offset of a Mutex's state word in a value of type t: sync.Mutex{state;
// sema} (<= 1.23), sync.Mutex{_ noCopy; mu internal/sync.Mutex} (>= 1.24),
// internal/sync.Mutex{state; sema}. nullopt when the type does not say.
std::optional<uint64_t> mutexState(const Type* t, int depth = 0) {
  if (!t || t->kind != Kind::Struct || depth > 3) return std::nullopt;
  if (const Field* s = t->field("state"); s && s->type && s->type->size == 4) return s->offset;
  for (const auto& f : t->fields)
    if (auto o = mutexState(f.type, depth + 1)) return f.offset + *o;
  return std::nullopt;
}

bool locked(const uint8_t* bytes, std::optional<uint64_t> stateOff) {
  if (!stateOff) return false;
  uint32_t v;
  __builtin_memcpy(&v, bytes + *stateOff, 4);
  return (v & kMutexLocked) != 0;
}

uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// ---------------------------------------------------------------------------
// Read/dirty

struct ReadDirtyLayout {
  uint64_t size = 0;  // of the sync.Map
  std::optional<uint64_t> muState;
  uint64_t readOff = 0;
  bool readIsValue = false;        // atomic.Value (eface) rather than atomic.Pointer[readOnly]
  const Type* readOnly = nullptr;  // from atomic.Pointer's T, or by name
  const Type* mapType = nullptr;   // map[any]*entry
  uint64_t dirtyOff = 0, missesOff = 0;
  uint64_t entrySize = 8, entryP = 0;
  const Type* anyType = nullptr;
};

ReadDirtyLayout readDirtyLayout(const Program& p, const Type* M) {
  ReadDirtyLayout L;
  L.size = M->size;
  const Field& mu = requireField(M, "mu");
  if (auto s = mutexState(mu.type)) L.muState = mu.offset + *s;
  const Field& read = requireField(M, "read");
  const Field& dirty = requireField(M, "dirty");
  L.dirtyOff = dirty.offset;
  L.missesOff = requireField(M, "misses").offset;
  if (!dirty.type || dirty.type->kind != Kind::Map)
    fail(ErrorKind::MissingDebugInfo, "sync.Map.dirty is not a map ({})",
         dirty.type ? dirty.type->name : "<null>");
  L.mapType = dirty.type;
  L.anyType = L.mapType->key;
  const Type* entry = pointee(L.mapType->elem, "sync.Map.dirty's values");
  L.entrySize = entry->size;
  const Field& ep = requireField(entry, "p");
  L.entryP = ep.offset + pointerWord(ep.type, "sync.entry.p");
  const Field& v = requireField(read.type, "v");
  L.readIsValue = v.type && v.type->kind == Kind::Interface;
  L.readOff = read.offset + v.offset;
  L.readOnly = L.readIsValue ? nullptr : atomicPointerElem(read.type);
  if (!L.readOnly) L.readOnly = p.types().findType("sync.readOnly");
  uint64_t need = std::max({L.readOff + (L.readIsValue ? 16 : 8), L.dirtyOff + 8, L.missesOff + 8,
                            L.muState ? *L.muState + 4 : 0});
  if (need > L.size || L.size > kMaxStructSize)
    fail(ErrorKind::MissingDebugInfo, "sync.Map's fields do not fit its size ({})", L.size);
  return L;
}

struct Slot {
  uint64_t key = 0;    // address of the key's eface (in the map's slot)
  uint64_t entry = 0;  // the *entry
};

class ReadDirtyWalker {
 public:
  ReadDirtyWalker(const Program& p, const ReadDirtyLayout& L, SyncMapSummary& s)
      : p_(p), m_(p.mem()), L_(L), s_(s) {}

  void problem(std::string msg) { addProblem(s_.problems, std::move(msg)); }
  void invalid(std::string why) {
    s_.invalidHeader = why;
    problem(std::move(why));
  }

  void walk(uint64_t addr, const std::function<bool(uint64_t, uint64_t)>& onEntry) {
    const int minor = p_.build().minor;
    uint64_t readMap = 0, dirty = 0;
    bool readTorn = false;
    {
      std::vector<uint8_t> hdr(L_.size);
      try {
        m_.read(addr, hdr.data(), hdr.size());
      } catch (const Fault& f) {
        invalid(fmt::format("unreadable ({})", f.what()));
        return;
      }
      s_.torn = locked(hdr.data(), L_.muState);
      dirty = loadU64(hdr.data() + L_.dirtyOff);
      s_.dirtyNil = dirty == 0;
      int64_t misses = static_cast<int64_t>(loadU64(hdr.data() + L_.missesOff));
      if (misses < 0) problem(fmt::format("misses={} is negative", misses));
      s_.misses = misses < 0 ? 0 : static_cast<uint64_t>(misses);
      uint64_t box = 0;
      const Type* ro = L_.readOnly;
      if (L_.readIsValue) {
        uint64_t typ = loadU64(hdr.data() + L_.readOff);
        box = loadU64(hdr.data() + L_.readOff + 8);
        if (typ && !readOnlyDescriptor(typ, &ro)) {
          // The first Store into an atomic.Value parks its type word at
          // &firstStoreInProgress; sync.Map stores read only with mu held.
          if (firstStoreInProgress(typ) || s_.torn) {
            readTorn = s_.torn = true;
            box = 0;
          } else {
            invalid(fmt::format("read holds a {}, not a sync.readOnly", describeDescriptor(typ)));
            return;
          }
        }
        if (!typ) box = 0;
      } else {
        box = loadU64(hdr.data() + L_.readOff);
      }
      if (box) {
        uint64_t mOff = 0, amendedOff = 8, size = 16;  // readOnly{m; amended} without a type
        if (ro) {
          mOff = requireField(ro, "m").offset;
          amendedOff = requireField(ro, "amended").offset;
          size = ro->size;
        }
        uint8_t amended = 0;
        try {
          readMap = m_.readPtr(box + mOff);
          amended = m_.readU8(box + amendedOff);
        } catch (const Fault& f) {
          invalid(fmt::format("read points at {:#x}, which is unreadable ({})", box, f.what()));
          return;
        }
        if (amended > 1) {
          invalid(fmt::format("read.amended={} at {:#x} (a bool is 0 or 1)", amended, box));
          return;
        }
        s_.amended = amended == 1;
        s_.footprint += allocSize(size, true, minor);
      }
    }
    if (readTorn) problem("read is being stored for the first time: read.m not decoded");

    std::vector<Slot> readSlots = slots(readMap, "read.m", &s_.readSlots);
    std::vector<Slot> dirtySlots = slots(dirty, "dirty", &s_.dirtySlots);

    // Each distinct entry's p, once.
    std::unordered_map<uint64_t, uint64_t> pOf;
    std::unordered_set<uint64_t> inDirty;
    for (const Slot& sl : dirtySlots) inDirty.insert(sl.entry);
    auto load = [&](const std::vector<Slot>& v) {
      for (const Slot& sl : v) {
        if (pOf.count(sl.entry)) continue;
        try {
          pOf[sl.entry] = m_.readPtr(sl.entry + L_.entryP);
        } catch (const Fault& f) {
          problem(fmt::format("entry at {:#x} unreadable: {}", sl.entry, f.what()));
          pOf[sl.entry] = 0;
          unreadable_.insert(sl.entry);
        }
      }
    };
    load(readSlots);
    load(dirtySlots);
    findExpunged(readSlots, inDirty, pOf);

    for (const auto& [e, ptr] : pOf) {
      s_.footprint += allocSize(L_.entrySize, true, minor);
      if (unreadable_.count(e)) continue;
      if (!ptr)
        s_.deleted++;
      else if (s_.expungedPtr && ptr == s_.expungedPtr)
        s_.expunged++;
      else
        s_.footprint += allocSize(16, true, minor);  // the boxed `any`
    }
    auto live = [&](uint64_t e) {
      uint64_t ptr = pOf[e];
      return ptr && !unreadable_.count(e) && !(s_.expungedPtr && ptr == s_.expungedPtr);
    };

    // The invariants Range relies on.
    if (s_.amended && !dirty) problem("read.amended is set but dirty is nil: Range lists nothing");
    if (dirty) {
      uint64_t missing = 0;
      for (const Slot& sl : readSlots)
        if (live(sl.entry) && !inDirty.count(sl.entry) && !ambiguous_.count(sl.entry)) missing++;
      if (missing)
        problem(fmt::format("{} live entries of read.m are not in dirty{}", missing,
                            s_.amended ? " (Range, which lists dirty, misses them)" : ""));
      uint64_t exInDirty = 0;
      for (const Slot& sl : dirtySlots)
        if (s_.expungedPtr && pOf[sl.entry] == s_.expungedPtr) exInDirty++;
      if (exInDirty) problem(fmt::format("{} expunged entries are in dirty", exInDirty));
      if (s_.misses && s_.misses >= s_.dirtySlots)
        problem(
            fmt::format("misses={} with {} entries in dirty (missLocked promotes dirty at "
                        "misses >= len(dirty))",
                        s_.misses, s_.dirtySlots));
      if (!s_.amended && !s_.torn) {
        std::unordered_set<uint64_t> inRead;
        for (const Slot& sl : readSlots) inRead.insert(sl.entry);
        uint64_t extra = 0;
        for (const Slot& sl : dirtySlots)
          if (live(sl.entry) && !inRead.count(sl.entry)) extra++;
        if (extra)
          problem(
              fmt::format("{} live entries of dirty are not in read.m, which is not amended "
                          "(Range misses them)",
                          extra));
      }
    } else if (s_.misses) {
      problem(fmt::format("misses={} without a dirty map (a miss needs one)", s_.misses));
    }

    // What Range lists.
    const std::vector<Slot>& listed = s_.amended ? dirtySlots : readSlots;
    bool receiving = static_cast<bool>(onEntry);
    std::unordered_set<uint64_t> seen;
    for (const Slot& sl : listed) {
      if (!live(sl.entry) || !seen.insert(sl.entry).second) continue;
      s_.len++;
      if (receiving) receiving = onEntry(sl.key, pOf[sl.entry]);
    }
  }

 private:
  // The key and *entry of every slot of the map at hdr.
  std::vector<Slot> slots(uint64_t hdr, const char* what, uint64_t* count) {
    std::vector<Slot> out;
    if (!hdr) return out;
    MapSummary ms;
    try {
      ms = walkMap(p_, L_.mapType, hdr, WalkOptions{}, [&](uint64_t k, uint64_t v) {
        try {
          uint64_t e = m_.readPtr(v);
          if (e)
            out.push_back({k, e});
          else
            problem(fmt::format("{}: a nil *entry at {:#x}", what, v));
        } catch (const Fault& f) {
          problem(fmt::format("{}: value at {:#x} unreadable: {}", what, v, f.what()));
        }
        return true;
      });
    } catch (const Error& e) {
      if (!dataError(e)) throw;
      problem(fmt::format("{} at {:#x}: {}", what, hdr, e.what()));
      return out;
    }
    for (const auto& pr : ms.problems) problem(fmt::format("{}: {}", what, pr));
    if (ms.torn) s_.torn = true;
    *count = out.size();
    s_.footprint += ms.footprint.total();
    return out;
  }

  bool readOnlyDescriptor(uint64_t typ, const Type** ro) {
    try {
      const DynType& d = p_.dynamicType(typ);
      if (d.name != "sync.readOnly") return false;
      if (d.type && d.type->kind == Kind::Struct) *ro = d.type;
      return true;
    } catch (const Error& e) {
      if (!dataError(e)) throw;
      return false;
    }
  }

  std::string describeDescriptor(uint64_t typ) {
    try {
      return fmt::format("{} (type descriptor {:#x})", p_.dynamicType(typ).name, typ);
    } catch (const Error& e) {
      if (!dataError(e)) throw;
      return fmt::format("type word {:#x} that is no type descriptor", typ);
    }
  }

  bool firstStoreInProgress(uint64_t typ) {
    if (auto s = p_.binary().symbol("sync/atomic.firstStoreInProgress"))
      return typ == s->addr + p_.loadBias();
    return false;
  }

  std::optional<uint64_t> expungedSymbol() {
    try {
      std::optional<uint64_t> at;
      if (p_.hasTypes())
        if (auto g = p_.findGlobal("sync.expunged")) at = g->addr;
      if (!at)
        if (auto s = p_.binary().symbol("sync.expunged")) at = s->addr + p_.loadBias();
      if (!at) return std::nullopt;
      uint64_t v = m_.readPtr(*at);
      if (!v) {
        problem(fmt::format("sync.expunged at {:#x} is nil (package sync not initialised?)", *at));
        return std::nullopt;
      }
      return v;
    } catch (const Error& e) {
      if (!dataError(e)) throw;
      problem(fmt::format("sync.expunged unreadable: {}", e.what()));
      return std::nullopt;
    }
  }

  // Sets s_.expungedPtr: the symbol's value, or inferred (see the top of this file).
  void findExpunged(const std::vector<Slot>& readSlots, const std::unordered_set<uint64_t>& inDirty,
                    const std::unordered_map<uint64_t, uint64_t>& pOf) {
    if (auto v = expungedSymbol()) {
      s_.expungedPtr = *v;
      return;
    }
    if (s_.dirtyNil) return;                  // no entry is expunged without a dirty map
    std::unordered_set<uint64_t> candidates;  // p of read.m entries missing from dirty
    std::vector<uint64_t> holders;
    for (const Slot& sl : readSlots) {
      uint64_t ptr = pOf.at(sl.entry);
      if (!ptr || inDirty.count(sl.entry) || unreadable_.count(sl.entry)) continue;
      candidates.insert(ptr);
      holders.push_back(sl.entry);
    }
    if (candidates.empty()) return;
    uint64_t c = *candidates.begin();
    std::string why;
    if (candidates.size() > 1) {
      why = fmt::format("they point at {} different values", candidates.size());
    } else {
      try {
        uint64_t w[2];
        m_.read(c, w, sizeof w);
        if (w[0] || w[1]) why = fmt::format("their value at {:#x} is not a nil any", c);
      } catch (const Fault& f) {
        why = fmt::format("their value at {:#x} is unreadable ({})", c, f.what());
      }
    }
    if (why.empty()) {
      s_.expungedPtr = c;
      s_.expungedInferred = true;
      return;
    }
    problem(
        fmt::format("cannot tell sync.expunged (no symbol): {} entries of read.m are missing "
                    "from dirty, but {}",
                    holders.size(), why));
    ambiguous_.insert(holders.begin(), holders.end());
  }

  const Program& p_;
  const Memory& m_;
  const ReadDirtyLayout& L_;
  SyncMapSummary& s_;
  std::unordered_set<uint64_t> unreadable_;  // entries whose p could not be read
  std::unordered_set<uint64_t> ambiguous_;   // entries that may or may not be expunged
};

// ---------------------------------------------------------------------------
// Hash-trie

struct HashTrieLayout {
  uint64_t inited = 0;  // HashTrieMap.inited's uint32, from the sync.Map
  std::optional<uint64_t> initMuState;
  uint64_t root = 0;  // the root pointer word, from the sync.Map
  uint64_t headerSize = 0;
  uint64_t isEntry = 0;  // node.isEntry, first in both node kinds
  // indirect
  uint64_t iSize = 0, iDead = 0, iParent = 0, iChildren = 0, childStride = 8, childWord = 0,
           nChildren = 16;
  std::optional<uint64_t> iMuState;
  // entry
  uint64_t eSize = 0, eOverflow = 0, eKey = 0, eValue = 0;
  const Type* anyType = nullptr;
};

// The isEntry byte's offset in a node type, or in a struct embedding one as `node`.
uint64_t isEntryOffset(const Type* t, const char* what) {
  if (const Field* direct = t->field("isEntry")) return direct->offset;
  const Field& node = requireField(t, "node");
  const Field& is = requireField(node.type, "isEntry");
  if (!is.type || is.type->size != 1)
    fail(ErrorKind::MissingDebugInfo, "{}.isEntry is not a bool", what);
  return node.offset + is.offset;
}

HashTrieLayout hashTrieLayout(const Program& p, const Type* M) {
  HashTrieLayout L;
  const Field& mf = requireField(M, "m");
  const Type* H = mf.type;
  const Field& inited = requireField(H, "inited");
  L.inited = mf.offset + inited.offset + requireField(inited.type, "v").offset;
  const Field& initMu = requireField(H, "initMu");
  if (auto s = mutexState(initMu.type)) L.initMuState = mf.offset + initMu.offset + *s;
  const Field& root = requireField(H, "root");
  L.root = mf.offset + root.offset + pointerWord(root.type, "HashTrieMap.root");
  L.headerSize = M->size;
  const Type* I = atomicPointerElem(root.type);
  if (!I)
    fail(ErrorKind::MissingDebugInfo, "HashTrieMap.root ({}) names no indirect node type",
         root.type ? root.type->name : "<null>");
  L.iSize = I->size;
  L.isEntry = isEntryOffset(I, "indirect");
  const Field& dead = requireField(I, "dead");
  L.iDead = dead.offset + requireField(dead.type, "v").offset;
  const Field& mu = requireField(I, "mu");
  if (auto s = mutexState(mu.type)) L.iMuState = mu.offset + *s;
  L.iParent = requireField(I, "parent").offset;
  const Field& children = requireField(I, "children");
  if (!children.type || children.type->kind != Kind::Array || !children.type->elem ||
      children.type->len == 0)
    fail(ErrorKind::MissingDebugInfo, "indirect.children is not an array");
  L.iChildren = children.offset;
  L.nChildren = children.type->len;
  L.childStride = children.type->elem->size;
  L.childWord = pointerWord(children.type->elem, "indirect.children[i]");
  // The walk reads these from copies of the Map and of each indirect node.
  auto fits = [](uint64_t off, uint64_t n, uint64_t size) {
    return off <= size && n <= size - off;
  };
  if (L.headerSize > kMaxStructSize || L.iSize > kMaxStructSize ||
      !fits(L.inited, 4, L.headerSize) || !fits(L.root, 8, L.headerSize) ||
      (L.initMuState && !fits(*L.initMuState, 4, L.headerSize)) || !fits(L.isEntry, 1, L.iSize) ||
      !fits(L.iDead, 4, L.iSize) || !fits(L.iParent, 8, L.iSize) ||
      (L.iMuState && !fits(*L.iMuState, 4, L.iSize)))
    fail(ErrorKind::MissingDebugInfo, "HashTrieMap's fields do not fit their structs");
  if (L.childStride < 8 || L.childWord + 8 > L.childStride || !fits(L.iChildren, 0, L.iSize) ||
      L.nChildren > (L.iSize - L.iChildren) / L.childStride)
    fail(ErrorKind::MissingDebugInfo, "indirect.children does not fit its node");
  const Type* node = atomicPointerElem(children.type->elem);

  // The entry node: by the name of this instance (the indirect's, with
  // `entry` for `indirect`), else from its declaration.
  const Type* E = nullptr;
  if (auto at = I->name.find("indirect["); at != std::string::npos) {
    std::string name = I->name;
    name.replace(at, 8, "entry");
    E = p.types().findType(name);
  }
  L.anyType = p.types().findType("interface {}");
  if (E) {
    L.eSize = E->size;
    if (isEntryOffset(E, "entry") != L.isEntry)
      fail(ErrorKind::MissingDebugInfo, "{} and {} place node.isEntry apart", I->name, E->name);
    L.eOverflow = requireField(E, "overflow").offset +
                  pointerWord(requireField(E, "overflow").type, "entry.overflow");
    const Field& key = requireField(E, "key");
    L.eKey = key.offset;
    L.eValue = requireField(E, "value").offset;
    if (key.type && key.type->kind == Kind::Interface) L.anyType = key.type;
  } else {
    // entry{node; overflow atomic.Pointer[entry]; key any; value any}
    uint64_t nodeSize = node ? node->size : 1;
    uint64_t anySize = L.anyType ? L.anyType->size : 16;
    L.eOverflow = alignUp(nodeSize, 8);
    L.eKey = L.eOverflow + 8;
    L.eValue = L.eKey + anySize;
    L.eSize = L.eValue + anySize;
  }
  return L;
}

class HashTrieWalker {
 public:
  HashTrieWalker(const Program& p, const HashTrieLayout& L, SyncMapSummary& s,
                 const std::function<bool(uint64_t, uint64_t)>& fn)
      : m_(p.mem()),
        L_(L),
        s_(s),
        fn_(fn),
        receiving_(static_cast<bool>(fn)),
        minor_(p.build().minor) {}

  void problem(std::string msg) { addProblem(s_.problems, std::move(msg)); }
  void invalid(std::string why) {
    s_.invalidHeader = why;
    problem(std::move(why));
  }

  void walk(uint64_t addr) {
    std::vector<uint8_t> hdr(L_.headerSize);
    try {
      m_.read(addr, hdr.data(), hdr.size());
    } catch (const Fault& f) {
      invalid(fmt::format("unreadable ({})", f.what()));
      return;
    }
    uint32_t inited;
    __builtin_memcpy(&inited, hdr.data() + L_.inited, 4);
    uint64_t root = loadU64(hdr.data() + L_.root);
    if (locked(hdr.data(), L_.initMuState)) s_.torn = true;
    if (inited > 1) {
      invalid(fmt::format("inited={} (0 before the first use, then 1)", inited));
      return;
    }
    if (!root) {
      if (inited)
        invalid("inited=1 but root is nil (initSlow stores the root first)");
      else
        s_.uninitialised = true;
      return;
    }
    if (!inited) s_.torn = true;  // initSlow has stored the root, not yet inited
    uint8_t isEntry = 0;
    uint64_t parent = 0;
    try {
      isEntry = m_.readU8(root + L_.isEntry);
      if (isEntry == 0) parent = m_.readPtr(root + L_.iParent);
    } catch (const Fault& f) {
      invalid(fmt::format("root {:#x} unreadable ({})", root, f.what()));
      return;
    }
    if (isEntry != 0) {
      invalid(fmt::format("root {:#x} is no indirect node (isEntry={:#04x})", root, isEntry));
      return;
    }
    if (parent)
      problem(fmt::format("root {:#x} has parent {:#x} (the root has none)", root, parent));

    std::vector<Item> stack{{root, 1}};
    seen_.insert(root);
    while (!stack.empty()) {
      Item it = stack.back();
      stack.pop_back();
      indirect(it.addr, it.depth, stack);
    }
  }

 private:
  struct Item {
    uint64_t addr, depth;
  };

  void indirect(uint64_t addr, uint64_t depth, std::vector<Item>& stack) {
    std::vector<uint8_t>& b = buf_;
    b.resize(L_.iSize);
    try {
      m_.read(addr, b.data(), b.size());
    } catch (const Fault& f) {
      problem(fmt::format("indirect node at {:#x} unreadable: {}", addr, f.what()));
      return;
    }
    s_.indirectNodes++;
    s_.depth = std::max(s_.depth, depth);
    s_.footprint += allocSize(L_.iSize, true, minor_);
    if (locked(b.data(), L_.iMuState)) s_.torn = true;
    // Delete marks an emptied node dead, then unlinks it, holding its parent's lock.
    uint32_t dead;
    __builtin_memcpy(&dead, b.data() + L_.iDead, 4);
    if (dead) s_.torn = true;
    std::vector<uint64_t> kids(L_.nChildren);
    for (uint64_t i = 0; i < L_.nChildren; i++)
      kids[i] = loadU64(b.data() + L_.iChildren + i * L_.childStride + L_.childWord);
    for (uint64_t i = 0; i < L_.nChildren; i++) {
      uint64_t c = kids[i];
      if (!c) continue;
      if (++nodes_ > kMaxTrieNodes) {
        if (nodes_ == kMaxTrieNodes + 1)
          problem(fmt::format("more than {} nodes: walk stopped", kMaxTrieNodes));
        return;
      }
      if (!seen_.insert(c).second) {
        problem(fmt::format("cycle: node {:#x} (child {} of {:#x}) reached again", c, i, addr));
        continue;
      }
      uint8_t isEntry;
      try {
        isEntry = m_.readU8(c + L_.isEntry);
      } catch (const Fault& f) {
        problem(fmt::format("node {:#x} (child {} of {:#x}) unreadable: {}", c, i, addr, f.what()));
        continue;
      }
      if (isEntry > 1) {
        problem(
            fmt::format("node {:#x} (child {} of {:#x}) has isEntry={:#04x}: neither entry "
                        "nor indirect",
                        c, i, addr, isEntry));
        continue;
      }
      if (isEntry) {
        chain(c, addr, i);
        continue;
      }
      if (depth >= kTrieLevels) {
        problem(fmt::format("indirect node {:#x} below level {} (a 64-bit hash has {} levels)", c,
                            depth, kTrieLevels));
        continue;
      }
      try {
        uint64_t parent = m_.readPtr(c + L_.iParent);
        if (parent != addr)
          problem(fmt::format("indirect node {:#x}: parent is {:#x}, but it is a child of {:#x}", c,
                              parent, addr));
      } catch (const Fault& f) {
        problem(fmt::format("indirect node {:#x} unreadable: {}", c, f.what()));
        continue;
      }
      stack.push_back({c, depth + 1});
    }
  }

  // The entry chain at e (a child of parent's slot i), through overflow.
  void chain(uint64_t e, uint64_t parent, uint64_t slot) {
    uint64_t pos = 0;
    while (e) {
      if (pos > 0) {
        if (++nodes_ > kMaxTrieNodes) return;
        if (!seen_.insert(e).second) {
          problem(
              fmt::format("cycle: overflow entry {:#x} (in the chain at {:#x}[{}]) reached "
                          "again",
                          e, parent, slot));
          return;
        }
        uint8_t isEntry;
        try {
          isEntry = m_.readU8(e + L_.isEntry);
        } catch (const Fault& f) {
          problem(fmt::format("overflow entry {:#x} unreadable: {}", e, f.what()));
          return;
        }
        if (isEntry != 1) {
          problem(
              fmt::format("overflow entry {:#x} (in the chain at {:#x}[{}]) has isEntry={:#04x}", e,
                          parent, slot, isEntry));
          return;
        }
        s_.overflowEntries++;
      }
      uint64_t next;
      try {
        next = m_.readPtr(e + L_.eOverflow);
      } catch (const Fault& f) {
        problem(fmt::format("entry {:#x} unreadable: {}", e, f.what()));
        return;
      }
      s_.entryNodes++;
      s_.len++;
      s_.footprint += allocSize(L_.eSize, true, minor_);
      if (receiving_) receiving_ = fn_(e + L_.eKey, e + L_.eValue);
      e = next;
      pos++;
    }
  }

  const Memory& m_;
  const HashTrieLayout& L_;
  SyncMapSummary& s_;
  const std::function<bool(uint64_t, uint64_t)>& fn_;
  bool receiving_;
  int minor_;
  std::unordered_set<uint64_t> seen_;
  uint64_t nodes_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace

const char* syncMapImplName(SyncMapSummary::Impl i) {
  return i == SyncMapSummary::Impl::HashTrie ? "hash-trie" : "read/dirty";
}

bool isSyncMap(const Type* t) {
  if (!t || t->kind != Kind::Struct || t->name != "sync.Map") return false;
  if (t->field("read") && t->field("dirty") && t->field("misses")) return true;
  const Field* m = t->field("m");
  return m && m->type && m->type->field("root") && m->type->field("inited");
}

SyncMapSummary walkSyncMap(const Program& p, const Type* syncMapType, uint64_t addr,
                           const std::function<bool(uint64_t, uint64_t)>& onEntry) {
  if (!isSyncMap(syncMapType))
    fail(ErrorKind::Usage, "{} is not a sync.Map of a known layout",
         syncMapType ? syncMapType->name : "<null>");
  SyncMapSummary s;
  s.addr = addr;
  if (syncMapType->field("dirty")) {
    s.impl = SyncMapSummary::Impl::ReadDirty;
    ReadDirtyLayout L = readDirtyLayout(p, syncMapType);
    s.anyType = L.anyType;
    ReadDirtyWalker(p, L, s).walk(addr, onEntry);
  } else {
    s.impl = SyncMapSummary::Impl::HashTrie;
    HashTrieLayout L = hashTrieLayout(p, syncMapType);
    s.anyType = L.anyType;
    HashTrieWalker(p, L, s, onEntry).walk(addr);
  }
  // As for built-in maps (hashWriting / writing), a store caught in progress
  // is a problem: what was listed may be torn.
  if (s.torn)
    addProblem(s.problems, "a store was in progress (a lock held, or a half-done initialisation "
                           "or deletion): entries may be torn");
  return s;
}

}  // namespace gms
