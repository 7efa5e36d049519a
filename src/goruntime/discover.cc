#include "goruntime/discover.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <exception>
#include <unordered_map>
#include <unordered_set>

#include "goruntime/alloc.h"
#include "goruntime/heap.h"
#include "goruntime/layout.h"
#include "goruntime/list.h"
#include "goruntime/recognize.h"
#include "goruntime/retained.h"
#include "goruntime/stack.h"
#include "goruntime/stack_roots.h"
#include "goruntime/sync_map.h"

namespace gms {

std::vector<std::string> defaultSkipPackages() {
  return {"runtime", "runtime/...", "internal/...", "vendor/...", "sync",     "sync/...",
          "reflect", "unicode",     "unicode/...",  "syscall",    "unique",   "weak",
          "iter",    "unsafe",      "errors",       "math",       "math/...", "strconv",
          "sort",    "slices",      "maps",         "cmp",        "go:...",   "type:..."};
}

bool packageMatches(std::string_view pkg, std::string_view pattern) {
  if (pattern.size() >= 4 && pattern.substr(pattern.size() - 4) == "/...") {
    std::string_view base = pattern.substr(0, pattern.size() - 4);
    return pkg == base || (pkg.size() > base.size() && pkg.substr(0, base.size()) == base &&
                           pkg[base.size()] == '/');
  }
  // "go:..." / "type:...": linker pseudo-packages, matched by prefix.
  if (pattern.size() >= 4 && pattern.substr(pattern.size() - 3) == "..." &&
      pattern[pattern.size() - 4] == ':')
    return pkg.substr(0, pattern.size() - 3) == pattern.substr(0, pattern.size() - 3);
  return pkg == pattern;
}

std::string packageOf(std::string_view name) {
  // Linker pseudo-variables ("go:buildinfo", "type:*", older "go.itab.…").
  for (std::string_view pre : {"go:", "type:", "go."})
    if (name.substr(0, pre.size()) == pre) return std::string(pre.substr(0, pre.size() - 1)) + ":";
  size_t slash = name.rfind('/');
  size_t dot = name.find('.', slash == std::string_view::npos ? 0 : slash + 1);
  if (dot == std::string_view::npos) return std::string(name);
  std::string pkg(name.substr(0, dot));
  // Dots in the last path element are escaped in symbol names: yaml%2ev3.
  for (size_t i; (i = pkg.find("%2e")) != std::string::npos;) pkg.replace(i, 3, ".");
  return pkg;
}

double DiscoverStats::objectsPerSecond() const {
  double s = std::chrono::duration<double>(elapsed).count();
  return s > 0 ? double(objects) / s : 0;
}

namespace {

constexpr size_t kMaxErrors = 100;
constexpr uint64_t kChunk = uint64_t(4) << 20;        // bulk reads of arrays
constexpr uint64_t kMaxObject = uint64_t(256) << 20;  // a larger single object is corrupt here
constexpr size_t kMaxRingMembers = size_t(1) << 20;   // a ring followed round to find its members
constexpr uint64_t kMaxLinkOffset =
    256;                            // root.next past the word holding it: a link field's offset
constexpr int kMaxDepthCap = 1000;  // the walk recurses: keep the stack bounded
constexpr size_t kWalkStack = size_t(256) << 20;  // reserved for the walking thread

struct Seg {
  enum K : uint8_t { Root, Local, Object, Field, Index, MapValue, MapKey, Assert } kind;
  const std::string* name = nullptr;  // Root, Field, Assert; Object: its type (%T)
  uint64_t n = 0;                     // Index; MapValue/MapKey: key address; Object: address
  const Type* keyType = nullptr;      // MapValue/MapKey
  const StackVar* local = nullptr;    // Local
};

// The visited set: (address, type) pairs in an open-addressing table (a
// node-based std::unordered_set spends most of a big walk in malloc).
class VisitedSet {
 public:
  VisitedSet() : slots_(1024) {}
  // True when (addr, t) was not in the set (and is now).
  bool insert(uint64_t addr, const Type* t) {
    if ((used_ + 1) * 4 > slots_.size() * 3) grow();
    return place(addr, t);
  }

 private:
  struct Slot {
    uint64_t addr = 0;
    const Type* type = nullptr;  // nullptr: empty
  };
  static uint64_t mix(uint64_t addr, const Type* t) {
    uint64_t h = addr ^ (reinterpret_cast<uintptr_t>(t) * 0x9e3779b97f4a7c15ull);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h;
  }
  bool place(uint64_t addr, const Type* t) {
    size_t mask = slots_.size() - 1;
    for (size_t i = mix(addr, t) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (!s.type) {
        s = {addr, t};
        used_++;
        return true;
      }
      if (s.addr == addr && s.type == t) return false;
    }
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    used_ = 0;
    for (const Slot& s : old)
      if (s.type) place(s.addr, s.type);
  }
  std::vector<Slot> slots_;
  size_t used_ = 0;
};

struct SliceKey {
  uint64_t arr;
  const Type* elem;
  bool operator==(const SliceKey&) const = default;
};
struct SliceKeyHash {
  size_t operator()(const SliceKey& k) const {
    return std::hash<uint64_t>()(k.arr ^ (reinterpret_cast<uintptr_t>(k.elem) << 1));
  }
};

struct StructRole {
  bool syncMap = false;
  std::optional<ListShape> list;        // a list of this shape
  const Field* back = nullptr;          // an element's pointer back to its list...
  const ListShape* backList = nullptr;  // ...of this shape
  std::vector<bool> links;              // its link fields (empty: no list element)
};

class Walker {
 public:
  Walker(const Program& p, const DiscoverOptions& o, Discovery& out)
      : p_(p),
        m_(p.mem()),
        o_(o),
        out_(out),
        start_(std::chrono::steady_clock::now()),
        maxDepth_(std::clamp(o.maxDepth, 0, kMaxDepthCap)) {
    const TypeProvider& tp = p.types();
    listT_ = tp.findType("container/list.List");
    elemT_ = tp.findType("container/list.Element");
    if (elemT_) {
      if (const Field* f = optionalField(elemT_, "Value")) elemValue_ = f;
      if (const Field* f = optionalField(elemT_, "list")) elemList_ = f;
    }
  }

  void run() {
    const auto& all = p_.types().globals();
    std::vector<const Global*> roots;
    roots.reserve(all.size());
    for (const auto& g : all) {
      std::string pkg = packageOf(g.name);
      bool skip = std::any_of(o_.skipPackages.begin(), o_.skipPackages.end(),
                              [&](const std::string& pat) { return packageMatches(pkg, pat); });
      if (!skip && !o_.onlyPackages.empty())
        skip = std::none_of(o_.onlyPackages.begin(), o_.onlyPackages.end(),
                            [&](const std::string& pat) { return packageMatches(pkg, pat); });
      if (skip) {
        out_.stats.globalsSkipped++;
        continue;
      }
      if (!g.type || !g.type->size) continue;
      roots.push_back(&g);
    }
    // main first, then by name: deterministic, and "the first path" of a
    // shared object is the program's own when it has one.
    auto isMain = [](const Global* g) { return g->name.rfind("main.", 0) == 0; };
    std::sort(roots.begin(), roots.end(), [&](const Global* a, const Global* b) {
      bool ma = isMain(a), mb = isMain(b);
      if (ma != mb) return ma;
      return a->name < b->name;
    });
    // A pointer to a global is not followed: the global is walked as its own
    // root, so what it holds keeps the global's name.
    for (const Global* g : roots)
      if (reach(g->type)) visited_.insert(g->addr + p_.loadBias(), g->type);
    for (const Global* g : roots) {
      if (stop_ || !o_.roots.globals) break;
      out_.stats.globals++;
      if (!reach(g->type)) continue;
      uint64_t addr = g->addr + p_.loadBias();
      path_.push_back({Seg::Root, &g->name});
      if (!count()) {
        path_.pop_back();
        break;
      }
      object(addr, g->type, 0);
      path_.pop_back();
    }
    if (o_.roots.stacks && !stop_) walkStacks();
    if (o_.roots.heap && !stop_) walkHeap();
    if ((o_.roots.globals || o_.roots.stacks) && (!p_.hasDwarf() || o_.searchShapes) && !stop_)
      walkUntyped();
    for (auto it = stale_.rbegin(); it != stale_.rend(); ++it)
      out_.items.erase(out_.items.begin() + static_cast<std::ptrdiff_t>(*it));
    if (o_.retained) retainedSizes();
    if (!stale_.empty()) out_.stats.maps -= stale_.size();
    out_.stats.elapsed = std::chrono::steady_clock::now() - start_;
    std::stable_sort(out_.items.begin(), out_.items.end(), [](const Found& a, const Found& b) {
      if (a.footprint != b.footprint) return a.footprint > b.footprint;
      return a.path.str() < b.path.str();
    });
  }

 private:
  // Every goroutine's locals and parameters, as roots of their own.
  void walkStacks() {
    try {
      stacks_ = stackRoots(p_);
    } catch (const Error& e) {
      error(fmt::format("goroutine stacks not walked: {}", e.what()));
      return;
    }
    out_.stats.goroutines = stacks_.stats.goroutines;
    out_.stats.stackVarsUnavailable = stacks_.stats.unavailable;
    // Without DWARF frames have no variables: their words are searched by
    // shape instead (walkUntyped), which is not an error.
    for (const std::string& pr : stacks_.stats.problems)
      if (p_.hasDwarf() || !pr.starts_with("no DWARF")) error(pr);
    for (const StackVar& v : stacks_.vars) {
      if (stop_) break;
      out_.stats.stackVars++;
      if (!reach(v.type)) continue;
      path_.push_back({Seg::Local, nullptr, 0, nullptr, &v});
      if (!count()) {
        path_.pop_back();
        break;
      }
      if (v.byValue) {  // the register's word, as if read from memory
        uint8_t b[8];
        std::memcpy(b, &v.value, 8);
        scan(v.type, b, 0, 0);
      } else {
        object(v.addr, v.type, 0);
      }
      path_.pop_back();
    }
  }

  // Every allocated heap object whose type the runtime recorded, as roots
  // of their own: (*T)(0xADDR) for each T the object holds (an array made
  // by make([]T, n) records T: each element is a root).
  void walkHeap() {
    if (!p_.build().atLeast(1, 22)) {
      out_.stats.heapNote = fmt::format(
          "go1.{} records no type in heap objects (malloc headers came in Go 1.22): no heap roots",
          p_.build().minor);
      return;
    }
    const HeapIndex* heap = heapIndex();
    if (!heap) {
      out_.stats.heapNote = fmt::format("heap not walked: {}", heapError_);
      error(out_.stats.heapNote);
      return;
    }
    for (const std::string& pr : heap->problems()) error(pr);
    std::unordered_map<uint64_t, const std::string*> names;  // descriptor -> %T
    for (const HeapSpan& s : heap->spans()) {
      if (stop_) break;
      if (!heap->recordsTypes(s)) continue;
      for (uint64_t i = 0; i < s.nelems && !stop_; i++) {
        auto o = heap->find(s.start + i * s.elemsize);
        if (!o || !o->allocated || !o->typeDescriptor) continue;
        out_.stats.heapObjects++;
        const DynType* dt;
        try {
          dt = &p_.dynamicType(o->typeDescriptor);
        } catch (const Error& e) {
          error(fmt::format("heap object {:#x}: type descriptor {:#x} unreadable: {}", o->base,
                            o->typeDescriptor, e.what()));
          continue;
        }
        // A map's own arrays (Swiss groups, classic buckets) belong to the
        // map: their entries are walked from its header, never as roots.
        if (dt->name.starts_with("map.group[") || dt->name.starts_with("map.bucket[")) continue;
        const Type* t = dt->type;
        if (!t || !t->size || !reach(t)) continue;
        out_.stats.heapRoots++;
        auto [it, fresh] = names.try_emplace(o->typeDescriptor, nullptr);
        if (fresh) it->second = &heapNames_.emplace_back(dt->name);
        uint64_t data = o->base + o->headerBytes;
        uint64_t n = std::max<uint64_t>(1, (o->size - o->headerBytes) / t->size);
        for (uint64_t k = 0; k < n && !stop_; k++) {
          uint64_t a = data + k * t->size;
          if (!visited_.insert(a, t)) continue;  // reached from a global or a stack
          path_.push_back({Seg::Object, it->second, a});
          if (count()) object(a, t, 0);
          path_.pop_back();
        }
      }
    }
  }

  // Without DWARF nothing names the globals, and the runtime records the
  // type of few objects: the words of .data and .bss, and the untyped heap
  // objects they reach (breadth-first, each once, pointer-holding spans
  // only), are searched for maps and lists by their shape
  // (goruntime/recognize.h). Each is named by the word that holds it, as Go
  // would convert that address: (*map[string]int)(0xWORD) for the word
  // holding a map, (*container/list.List)(0xADDR) for a list there. Objects
  // whose type the runtime recorded are left to walkHeap, which walked them
  // typed.
  void walkUntyped() {
    const HeapIndex* heap = heapIndex();
    if (!heap) {
      if (!o_.roots.heap) error(fmt::format("heap not walked: {}", heapError_));
      return;
    }
    std::optional<ShapeRecognizer> rec;
    try {
      rec.emplace(p_, *heap);
    } catch (const Error& e) {
      error(fmt::format("maps and lists by shape not searched: {}", e.what()));
      return;
    }
    std::unordered_set<uint64_t> queued;
    std::deque<uint64_t> queue;
    const GoroutineStack* onStack = nullptr;  // the stack being searched (stackWords)
    const auto& sync = rec->syncMapSignature();
    auto consider = [&](uint64_t at, uint64_t w) {
      if (sync.value && w == sync.value && at >= sync.offset) {
        untypedSyncMap(at - sync.offset, sync.type);
        return;
      }
      // An empty list's root links to itself: root.next holds &root, the
      // address of the element it is a field of.
      if (w <= at && at - w < kMaxLinkOffset)
        if (auto l = rec->emptyListAt(at, w))
          if (listByShape(*l, true)) return;
      if (onStack && w >= onStack->sp && w < onStack->hi) {
        // A map header in the frame that made it (it does not escape).
        if (maps_.count(w)) return;
        if (auto g = rec->mapAt(w)) untypedMap(at, w, *g);
        return;
      }
      auto o = heap->find(w);
      if (!o || !o->allocated || o->typeDescriptor) return;
      // A map or list found already is not counted again: the typed walk may
      // have come through this very word.
      if (w == o->base && rec->headerSized(*o)) {
        if (maps_.count(w)) return;
        if (auto g = rec->map(*o)) {
          if (untypedMap(at, w, *g)) return;
        }
      }
      // A shape the words only resemble is searched on as an object.
      if (auto l = w == o->base + o->headerBytes ? rec->listAt(at, *o) : std::nullopt)
        if (listByShape(*l, false)) return;
      if (o->span->noscan() || !queued.insert(o->base).second) return;
      queue.push_back(o->base);
    };
    auto words = [&](uint64_t at, uint64_t size) {
      for (uint64_t off = 0; off < size && !stop_; off += kChunk) {
        uint64_t n = std::min(kChunk, size - off) & ~uint64_t(7);
        if (!n) break;
        std::vector<uint8_t>& b = scratch_;
        b.resize(n);
        try {
          m_.read(at + off, b.data(), n);
        } catch (const Fault&) {
          return false;
        }
        addBytes(n);
        // consider() may read the target and reuse scratch_: copy the words first.
        std::vector<uint64_t> ws(n / 8);
        std::memcpy(ws.data(), b.data(), n);
        for (uint64_t k = 0; k < ws.size() && !stop_; k++)
          if (ws[k] >= 4096) consider(at + off + k * 8, ws[k]);
      }
      return true;
    };
    auto drain = [&] {
      while (!queue.empty() && !stop_) {
        uint64_t base = queue.front();
        queue.pop_front();
        auto o = heap->find(base);
        if (!o || !count()) continue;
        out_.stats.untypedObjects++;
        words(o->base, std::min(o->size, kMaxObject));
      }
    };
    if (o_.roots.globals) {
      for (const char* name : {".data", ".bss"}) {
        const Section* s = p_.binary().section(name);
        if (!s || !s->addr || !s->size) continue;
        if (!words(s->addr + p_.loadBias(), s->size))
          error(fmt::format("section {} unreadable: not searched for maps and lists", name));
      }
      drain();
    }
    if (o_.roots.stacks) {
      for (const GoroutineStack& st : stacks_.stacks) {
        if (stop_) break;
        onStack = &st;
        stackWords(st, consider);
      }
      onStack = nullptr;
      drain();
    }
  }

  // A list recognised by its shape (recognize.h): listed, path
  // (*T)(0xADDR), when it walks with no problem to the len it keeps (none
  // for an empty one). A ring is listed once, each member known as it.
  // false: no list after all.
  bool listByShape(const ShapeRecognizer::ListAt& l, bool empty) {
    if (lists_.count(l.addr)) return true;
    const ListShape& sh = *l.shape;
    // Every element of a ring looks like a ring: it is one, listed once
    // (from the first element met), each member known as it.
    std::vector<uint64_t> members;
    if (sh.kind == ListShape::Kind::Ring) {
      uint64_t r = l.addr;
      for (size_t k = 0; k < kMaxRingMembers; k++) {
        if (lists_.count(r)) return true;
        members.push_back(r);
        try {
          r = m_.readPtr(r + sh.next);
        } catch (const Fault&) {
          break;
        }
        if (!r || r == l.addr) break;
      }
    }
    // A shape the words only resemble is no list: it must walk with no
    // problem, to the len it keeps.
    try {
      ListSummary ls = walkList(p_, sh, l.addr, nullptr);
      if (!ls.invalidHeader.empty() || !ls.problems.empty()) return false;
      if (empty ? ls.found != 0 || ls.len != 0 : ls.found == 0) return false;
    } catch (const Error&) {
      return false;
    }
    path_.push_back({Seg::Object, &heapNames_.emplace_back(sh.list->name), l.addr});
    if (count()) visitList(l.addr, 0, sh);
    path_.pop_back();
    if (auto it = lists_.find(l.addr); it != lists_.end())
      for (uint64_t r : members) lists_.emplace(r, it->second);
    return true;
  }

  // The live pointer words of a goroutine's frames (liveStackSlots, the
  // program's frames only: what the runtime's hold, their callers hold too).
  template <typename Consider>
  void stackWords(const GoroutineStack& st, Consider& consider) {
    LiveSlotStats ls = liveStackSlots(p_, st, false, [&](uint64_t at) {
      if (stop_) return;
      try {
        uint64_t w = m_.readPtr(at);
        if (w >= 4096) consider(at, w);
      } catch (const Fault&) {
      }
    });
    out_.stats.stackFrames += ls.frames;
    out_.stats.stackFramesWhole += ls.framesWhole;
  }

  // A map recognised at hdr, held by the word at `at`: listed under the
  // first candidate type (the others in Found::candidates). An ambiguous
  // map's entries (no candidate with the most evidence alone) are not
  // walked typed: its arrays are searched by shape like any untyped object.
  // false: not listed (plumbing), search on.
  bool untypedMap(uint64_t at, uint64_t hdr, const MapGuess& g) {
    // The runtime's or the standard library's own map: every candidate is
    // (unicode.Categories: map[string]*unicode.RangeTable), or the best one
    // has more evidence than any candidate of the program's.
    bool plumbing = plumbingName(g.types.front()->name);
    for (size_t i = 1; i < g.types.size() && plumbing; i++)
      if (!plumbingName(g.types[i]->name) && g.scores[i] >= g.scores.front()) plumbing = false;
    if (plumbing) {
      out_.stats.plumbingMaps++;
      return false;
    }
    const Type* t = g.types.front();
    path_.push_back({Seg::Object, &heapNames_.emplace_back(t->name), at});
    // Its entries are walked typed when one type is known, or has more
    // evidence than any other.
    const bool typed = g.types.size() == 1 || g.scores[0] > g.scores[1];
    bool walked = false;
    if (count()) {
      size_t idx = out_.items.size();
      entries_ = typed;
      visitMap(t, hdr, 0);
      entries_ = true;
      walked = true;
      if (idx < out_.items.size()) {
        Found& f = out_.items[idx];
        f.byShape = true;
        f.typeExact = !g.unknown && (g.exact || g.types.size() == 1);
        if (g.unknown) out_.stats.unknownMaps++;
        for (size_t i = 1; i < g.types.size(); i++) f.candidates.push_back(g.types[i]->name);
      }
    }
    path_.pop_back();
    return walked && typed;
  }

  // A sync.Map at addr, told by its signature word: listed, path
  // (*sync.Map)(0xADDR), when it decodes with no problem. One the standard
  // library holds (encoding/json's caches) is listed too: nothing names it.
  void untypedSyncMap(uint64_t addr, const Type* t) {
    if (syncMaps_.count(addr)) return;
    try {
      SyncMapSummary s = walkSyncMap(p_, t, addr, nullptr);
      if (!s.invalidHeader.empty() || !s.problems.empty()) return;
    } catch (const Error&) {
      return;
    }
    path_.push_back({Seg::Object, &heapNames_.emplace_back(t->name), addr});
    if (count()) visitSyncMap(t, addr);
    path_.pop_back();
    // Its own maps (read/dirty, Go <= 1.23) are the sync.Map's, not maps
    // of the program: known as it, so the search does not list them again.
    auto it = syncMaps_.find(addr);
    if (it == syncMaps_.end()) return;
    try {
      if (const Field* dirty = t->field("dirty"))
        if (uint64_t h = m_.readPtr(addr + dirty->offset)) maps_.emplace(h, it->second);
      const Field* read = t->field("read");
      const Field* v = read && read->type ? read->type->field("v") : nullptr;
      const Type* ro = p_.types().findType("sync.readOnly");
      const Field* m = ro ? ro->field("m") : nullptr;
      if (v && m) {  // Go 1.19: read is an atomic.Value holding a *readOnly
        if (uint64_t r = m_.readPtr(addr + read->offset + v->offset + 8))
          if (uint64_t h = m_.readPtr(r + m->offset)) maps_.emplace(h, it->second);
      }
    } catch (const Fault&) {
    }
  }

  // A type spelled with a named type of the runtime or the standard
  // library's plumbing (map[string]*unicode.RangeTable, map[reflect.Type]bool).
  static bool plumbingName(std::string_view name) {
    static const std::vector<std::string> skip = defaultSkipPackages();
    size_t i = 0;
    while (i < name.size()) {
      size_t j = name.find_first_of("[]*,{}() ;", i);
      if (j == std::string_view::npos) j = name.size();
      std::string_view tok = name.substr(i, j - i);
      if (tok.find('.') != std::string_view::npos) {
        std::string pkg = packageOf(tok);
        if (std::any_of(skip.begin(), skip.end(),
                        [&](const std::string& pat) { return packageMatches(pkg, pat); }))
          return true;
      }
      i = j + 1;
    }
    return false;
  }

  // Each map's and list's retained bytes, from one walk of the live heap.
  void retainedSizes() {
    const HeapIndex* heap = heapIndex();
    if (!heap) {
      out_.stats.retainedNote = fmt::format("heap not indexed: {}", heapError_);
      return;
    }
    try {
      RetainedSizes r(p_, *heap, o_.maxObjects);
      if (r.budgetHit()) out_.stats.retainedNote = r.problems().back();
      for (Found& f : out_.items)
        if (f.kind != FoundKind::SyncMap) f.retained = r.of(f.addr);
    } catch (const Error& e) {
      out_.stats.retainedNote = e.what();
    }
  }

  // ---- budget and errors ----

  // Counts one object; false (and stop) once over budget.
  bool count() {
    auto& s = out_.stats;
    s.objects++;
    if (o_.maxObjects && s.objects > o_.maxObjects) return over("objects");
    if (o_.maxBytes && s.bytesRead > o_.maxBytes) return over("bytes");
    if (o_.maxTime.count() && (s.objects & 1023) == 0 &&
        std::chrono::steady_clock::now() - start_ > o_.maxTime)
      return over("time");
    return !stop_;
  }
  bool addBytes(uint64_t bytes) {
    out_.stats.bytesRead += bytes;
    if (o_.maxBytes && out_.stats.bytesRead > o_.maxBytes) return over("bytes");
    return !stop_;
  }
  bool over(const char* why) {
    if (!stop_) {
      stop_ = true;
      out_.stats.budgetHit = true;
      out_.stats.budgetReason = why;
    }
    return false;
  }
  void error(std::string msg) {
    out_.stats.errors++;
    if (out_.errors.size() < kMaxErrors)
      out_.errors.push_back({currentPath().display(), std::move(msg)});
  }

  // ---- "can this type lead to a map or list?" (cached per Type) ----

  bool reach(const Type* t) {
    if (!t) return false;
    if (auto it = reach_.find(t); it != reach_.end()) return it->second;
    std::vector<const Type*> todo{t};
    std::unordered_set<const Type*> seen{t};
    bool found = false;
    while (!todo.empty() && !found) {
      const Type* x = todo.back();
      todo.pop_back();
      if (x != t) {
        if (auto it = reach_.find(x); it != reach_.end()) {
          if (it->second) found = true;
          continue;
        }
      }
      auto push = [&](const Type* y) {
        if (y && seen.insert(y).second) todo.push_back(y);
      };
      switch (x->kind) {
        case Kind::Map:
          found = true;
          break;
        case Kind::Interface:
          found = o_.followInterfaces;
          break;
        case Kind::Struct: {
          const StructRole& role = roleOf(x);
          if (x == listT_ || x == elemT_ || role.syncMap || role.list || role.back) {
            found = true;
            break;
          }
          // A list element without a way back to its list (a head/tail
          // deque's node): its payload only, its links lead to its own type.
          const std::vector<bool>& links = role.links;
          for (size_t i = 0; i < x->fields.size(); i++)
            if (links.empty() || !links[i]) push(x->fields[i].type);
          break;
        }
        case Kind::Pointer:
        case Kind::Slice:
          push(x->elem);
          break;
        case Kind::Array:
          if (x->len) push(x->elem);
          break;
        default:
          break;
      }
    }
    if (found) {
      reach_[t] = true;
    } else {
      // Nothing reachable from t leads anywhere: neither does anything in between.
      for (const Type* x : seen) reach_[x] = false;
    }
    return found;
  }

  // ---- reading ----

  // [addr, addr+n) for the object being scanned at `depth`: a view of the
  // target when it lends one, else a copy in that depth's buffer (objects
  // nested inside it are read at deeper levels, so it stays valid).
  const uint8_t* fetch(uint64_t addr, uint64_t n, int depth) {
    if (const uint8_t* v = m_.view(addr, n)) return v;
    while (bufs_.size() <= size_t(depth)) bufs_.emplace_back();
    auto& b = bufs_[size_t(depth)];
    if (b.size() < n) b.resize(n);
    m_.read(addr, b.data(), n);
    return b.data();
  }

  // The object of type t at addr, read and scanned at `depth`.
  void object(uint64_t addr, const Type* t, int depth) {
    if (t->kind == Kind::Array && t->size > kChunk) {
      array(addr, 0, t->len, t->elem, depth);
      return;
    }
    if (t->size > kMaxObject) {
      error(fmt::format("{} at {:#x}: size {} is implausible", t->name, addr, t->size));
      return;
    }
    const uint8_t* b;
    try {
      b = fetch(addr, t->size, depth);
    } catch (const Error& e) {
      error(fmt::format("{} at {:#x} unreadable: {}", t->name, addr, e.what()));
      return;
    }
    if (!addBytes(t->size)) return;
    scan(t, b, addr, depth);
  }

  // Elements [from, len) of elem at base, read in chunks.
  void array(uint64_t base, uint64_t from, uint64_t len, const Type* elem, int depth) {
    if (!elem) return;
    uint64_t es = elem->size;
    if (!es) return;
    if (len > (uint64_t(1) << 40) / es) {
      error(fmt::format("array at {:#x}: length {} of {} is implausible", base, len, elem->name));
      return;
    }
    uint64_t per = std::max<uint64_t>(1, kChunk / es);
    for (uint64_t i = from; i < len && !stop_; i += per) {
      uint64_t n = std::min(per, len - i);
      const uint8_t* b;
      try {
        b = fetch(base + i * es, n * es, depth);
      } catch (const Error& e) {
        error(fmt::format("elements {}..{} at {:#x} unreadable: {}", i, i + n, base + i * es,
                          e.what()));
        continue;
      }
      if (!addBytes(n * es)) return;
      for (uint64_t j = 0; j < n && !stop_; j++) {
        path_.push_back({Seg::Index, nullptr, i + j});
        scan(elem, b + j * es, base + (i + j) * es, depth);
        path_.pop_back();
      }
    }
  }

  // Follows a pointer to a `t` (reach(t) is known true).
  void follow(uint64_t target, const Type* t, int depth) {
    if (!target || !t->size) return;
    if (depth + 1 > maxDepth_) {
      out_.stats.depthLimited++;
      return;
    }
    if (!visited_.insert(target, t)) return;
    if (!count()) return;
    object(target, t, depth + 1);
  }

  // The value of type t held in b (its address addr); reach(t) is true.
  void scan(const Type* t, const uint8_t* b, uint64_t addr, int depth) {
    if (stop_) return;
    switch (t->kind) {
      case Kind::Pointer:
        if (t->elem && reach(t->elem)) follow(loadU64(b), t->elem, depth);
        return;
      case Kind::Map:
        if (uint64_t h = loadU64(b)) visitMap(t, h, depth);
        return;
      case Kind::Slice: {
        uint64_t arr = loadU64(b), len = loadU64(b + 8), cap = loadU64(b + 16);
        if (!arr || !len || !t->elem || !reach(t->elem)) return;
        if (len > cap) {
          error(fmt::format("slice at {:#x}: len {} > cap {}", addr, len, cap));
          return;
        }
        if (depth + 1 > maxDepth_) {
          out_.stats.depthLimited++;
          return;
        }
        // Slices sharing a backing array: visit only elements no slice of
        // it has covered yet (s[:2] then s[:10] walks 2..9 the second time).
        uint64_t& done = slices_[SliceKey{arr, t->elem}];
        if (len <= done) return;
        uint64_t from = done;
        done = len;
        if (!count()) return;
        array(arr, from, len, t->elem, depth + 1);
        return;
      }
      case Kind::Array: {
        if (!t->elem || !reach(t->elem)) return;
        uint64_t es = t->elem->size;
        for (uint64_t i = 0; i < t->len && !stop_; i++) {
          path_.push_back({Seg::Index, nullptr, i});
          scan(t->elem, b + i * es, addr + i * es, depth);
          path_.pop_back();
        }
        return;
      }
      case Kind::Struct: {
        if (t == elemT_) {
          visitElement(b, addr, depth);
          return;
        }
        const StructRole& role = roleOf(t);
        if (role.syncMap) {
          visitSyncMap(t, addr);
          return;
        }
        if (role.list) {
          visitList(addr, depth, *role.list);
          return;
        }
        if (role.back) {
          // An element of a list of another shape reached by pointer (an
          // LRU's map[K]*Entry): its list, then its payload.
          if (uint64_t l = loadU64(b + role.back->offset)) {
            path_.push_back({Seg::Field, &role.back->name});
            if (depth + 1 > maxDepth_)
              out_.stats.depthLimited++;
            else
              visitList(l, depth + 1, *role.backList);
            path_.pop_back();
          }
        }
        const std::vector<bool>& links = role.links;
        for (size_t i = 0; i < t->fields.size(); i++) {
          const Field& f = t->fields[i];
          if (stop_) return;
          if (!links.empty() && links[i]) continue;  // the list walk covers them
          if (!reach(f.type) || f.offset + f.type->size > t->size) continue;
          path_.push_back({Seg::Field, &f.name});
          scan(f.type, b + f.offset, addr + f.offset, depth);
          path_.pop_back();
        }
        return;
      }
      case Kind::Interface:
        iface(t, b, addr, depth);
        return;
      default:
        return;
    }
  }

  void iface(const Type* t, const uint8_t* b, uint64_t addr, int depth) {
    if (!o_.followInterfaces) return;
    uint64_t w0 = loadU64(b), w1 = loadU64(b + 8);
    if (!w0) return;
    const DynType* dt;
    try {
      uint64_t desc = w0;
      if (t->nonEmptyInterface) {  // word 0 is the *itab (cached: few itabs, many values)
        auto it = itabs_.find(w0);
        if (it == itabs_.end())
          it = itabs_.emplace(w0, interfaceTypeDescriptor(m_, true, w0)).first;
        desc = it->second;
      }
      dt = &p_.dynamicType(desc);
    } catch (const Error& e) {
      error(fmt::format("interface at {:#x}: dynamic type unreadable: {}", addr, e.what()));
      return;
    }
    if (!dt->type) {
      out_.stats.untypedInterfaces++;
      return;
    }
    if (!reach(dt->type)) return;
    path_.push_back({Seg::Assert, &dt->name});
    if (dt->directIface) {
      // Pointer-shaped: the data word is the value itself.
      if (dt->type->size <= 8) scan(dt->type, b + 8, addr + 8, depth);
    } else {
      follow(w1, dt->type, depth);
    }
    path_.pop_back();
  }

  Found& record(FoundKind kind, const Type* t, uint64_t addr) {
    Found& f = out_.items.emplace_back();
    f.kind = kind;
    f.path = currentPath();
    // A list reached through a map key no path can spell ([*]: an
    // interface key) is named by its own address instead, which every
    // command reads back: (*container/list.List)(0xADDR).
    if (kind == FoundKind::List && t &&
        std::any_of(f.path.steps.begin(), f.path.steps.end(), [](const PathStep& s) {
          return (s.kind == PathStep::Kind::MapValue || s.kind == PathStep::Kind::MapKey) &&
                 s.key.kind == PathKey::Kind::Opaque;
        })) {
      f.path.steps.clear();
      f.path.steps.push_back({PathStep::Kind::Object, t->name, addr});
    }
    f.type = t;
    f.typeName = t ? t->name : "";
    f.addr = addr;
    return f;
  }

  // A sync.Map: listed as one map (its read/dirty maps or trie nodes are
  // its own, not maps of the program). Its entries are not descended into.
  void visitSyncMap(const Type* t, uint64_t addr) {
    if (auto it = syncMaps_.find(addr); it != syncMaps_.end()) {
      out_.items[it->second].otherRefs++;
      return;
    }
    if (!count()) return;
    size_t idx = out_.items.size();
    syncMaps_.emplace(addr, idx);
    record(FoundKind::SyncMap, t, addr);
    out_.stats.maps++;
    SyncMapSummary s;
    try {
      s = walkSyncMap(p_, t, addr, nullptr);
    } catch (const Error& e) {
      error(fmt::format("sync.Map at {:#x}: {}", addr, e.what()));
      Found& f = out_.items[idx];
      f.problems = 1;
      f.firstProblem = e.what();
      return;
    }
    addBytes(s.footprint);
    Found& f = out_.items[idx];
    f.len = s.len;
    f.found = s.len;
    f.footprint = s.footprint;
    f.shape.torn = s.torn;
    f.problems = s.problems.size();
    if (!s.problems.empty()) f.firstProblem = s.problems.front();
    if (o_.keepRegions) f.regions.push_back({addr, t->size, "header"});
  }

  // A stack slot DWARF places a variable in may still hold a pointer the
  // program dropped, to an object the GC has since freed (its memory may
  // look intact until it is reused). Such a value is stale, not the
  // program's: true when addr lies in a heap slot that is not allocated.
  // Without a heap index only the header checks judge stack values.
  bool staleStackPointer(uint64_t addr) {
    if (path_.empty() || path_.front().kind != Seg::Local) return false;
    const HeapIndex* heap = heapIndex();
    if (!heap) return false;
    auto slot = heap->slot(addr);
    if (!slot || heap->allocated(slot->span, slot->index)) return false;
    out_.stats.staleStackValues++;
    return true;
  }

  // The heap's index (allspans and allocation bits), read once for both its
  // uses: heap roots and stale stack values. nullptr when it cannot be
  // read; heapError_ says why.
  const HeapIndex* heapIndex() {
    if (!heap_ && heapError_.empty()) {
      try {
        heap_.emplace(p_);
      } catch (const Error& e) {
        heapError_ = e.what();
      }
    }
    return heap_ ? &*heap_ : nullptr;
  }

  void visitMap(const Type* t, uint64_t hdr, int depth) {
    if (auto it = maps_.find(hdr); it != maps_.end()) {
      out_.items[it->second].otherRefs++;
      return;
    }
    if (staleStackPointer(hdr)) return;
    if (depth + 1 > maxDepth_) {
      out_.stats.depthLimited++;
      return;
    }
    if (!count()) return;
    size_t idx = out_.items.size();
    maps_.emplace(hdr, idx);
    record(FoundKind::Map, t, hdr);
    out_.stats.maps++;
    int d = depth + 1;
    bool keys = entries_ && t->key && reach(t->key);
    bool vals = entries_ && t->elem && reach(t->elem);
    EntryFn fn;
    if (keys || vals) {
      fn = [&, d](uint64_t k, uint64_t v) {
        if (stop_ || !count()) return false;
        if (keys) {
          path_.push_back({Seg::MapKey, nullptr, k, t->key});
          object(k, t->key, d);
          path_.pop_back();
        }
        if (vals && !stop_) {
          path_.push_back({Seg::MapValue, nullptr, k, t->key});
          object(v, t->elem, d);
          path_.pop_back();
        }
        return !stop_;
      };
    }
    MapSummary s;
    try {
      WalkOptions wo;
      wo.regions = o_.keepRegions;
      s = walkMap(p_, t, hdr, wo, fn);
    } catch (const Error& e) {
      Found& f = out_.items[idx];
      f.problems = 1;
      f.firstProblem = e.what();
      if (!path_.empty() && path_.front().kind == Seg::Local) {  // a stale slot (below)
        stale_.push_back(idx);
        out_.stats.staleStackValues++;
        return;
      }
      error(fmt::format("map {} at {:#x}: {}", t->name, hdr, e.what()));
      return;
    }
    addBytes(s.footprint.total());
    Found& f = out_.items[idx];
    f.shape = shapeOf(s);
    f.len = s.len;
    f.found = s.found;
    f.footprint = s.footprint.total();
    f.problems = s.problems.size();
    if (!s.problems.empty()) f.firstProblem = s.problems.front();
    f.regions = std::move(s.regions);
    // A stack slot DWARF places a variable in may still hold an older value
    // at that PC: a "map" there that fails the header checks is such a
    // stale word, not a corrupt map; it is left out (and counted).
    if (!s.invalidHeader.empty() && !path_.empty() && path_.front().kind == Seg::Local) {
      stale_.push_back(idx);
      out_.stats.staleStackValues++;
    }
  }

  void visitList(uint64_t addr, int depth, const ListShape& shape) {
    if (auto it = lists_.find(addr); it != lists_.end()) {
      out_.items[it->second].otherRefs++;
      return;
    }
    if (staleStackPointer(addr)) return;
    if (!count()) return;
    size_t idx = out_.items.size();
    lists_.emplace(addr, idx);
    record(FoundKind::List, shape.list, addr);
    out_.stats.lists++;
    // What each element holds: container/list's Value (an any), or the
    // element's fields but its links.
    const std::vector<bool> links = shape.linkFlags();
    std::vector<const Field*> payload;
    for (size_t i = 0; i < shape.elem->fields.size(); i++) {
      const Field& f = shape.elem->fields[i];
      if (shape.efaceValue ? f.offset == shape.value : !links[i]) payload.push_back(&f);
    }
    bool reaching = false;
    for (const Field* f : payload)
      if (f->type && reach(f->type) && f->offset + f->type->size <= shape.elem->size)
        reaching = true;
    bool descend = reaching && depth + 1 <= maxDepth_;
    uint64_t i = 0;
    ListSummary s;
    std::vector<Region> regions;
    const int minor = p_.build().minor;
    const uint64_t elemSize = shape.elem->size;
    if (o_.keepRegions) regions.push_back({addr, shape.list->size, "list"});
    try {
      s = walkList(p_, shape, addr, [&](const ListElementRef& e) {
        uint64_t n = i++;
        if (o_.keepRegions)
          regions.push_back({e.addr, allocSize(elemSize, true, minor), "element"});
        if (!descend) return o_.keepRegions;
        if (stop_ || !visited_.insert(e.addr, shape.elem)) return !stop_;
        if (!count()) return false;
        const uint8_t* b;
        try {
          b = fetch(e.addr, elemSize, depth + 1);
        } catch (const Error& err) {
          error(fmt::format("list element {} at {:#x} unreadable: {}", n, e.addr, err.what()));
          return true;
        }
        path_.push_back({Seg::Index, nullptr, n});
        for (const Field* f : payload) {
          if (stop_ || !f->type || !reach(f->type) || f->offset + f->type->size > elemSize)
            continue;
          path_.push_back({Seg::Field, &f->name});
          scan(f->type, b + f->offset, e.addr + f->offset, depth + 1);
          path_.pop_back();
        }
        path_.pop_back();
        return !stop_;
      });
    } catch (const Error& e) {
      error(fmt::format("list at {:#x}: {}", addr, e.what()));
      Found& f = out_.items[idx];
      f.problems = 1;
      f.firstProblem = e.what();
      return;
    }
    if (reaching && depth + 1 > maxDepth_ && s.found) out_.stats.depthLimited++;
    addBytes(s.footprint);
    Found& f = out_.items[idx];
    f.len = s.len;
    f.found = s.found;
    f.footprint = s.footprint;
    f.problems = s.problems.size();
    if (!s.problems.empty()) f.firstProblem = s.problems.front();
    f.regions = std::move(regions);
  }

  // A container/list.Element reached by pointer (e.g. an LRU's
  // map[K]*list.Element): its list (when still in one) and its Value; never
  // next/prev, the list walk covers those.
  void visitElement(const uint8_t* b, uint64_t addr, int depth) {
    if (elemList_ && listT_) {
      uint64_t l = loadU64(b + elemList_->offset);
      if (l) {
        path_.push_back({Seg::Field, &elemList_->name});
        if (depth + 1 > maxDepth_)
          out_.stats.depthLimited++;
        else
          visitList(l, depth + 1, *roleOf(listT_).list);
        path_.pop_back();
      }
    }
    if (elemValue_ && elemValue_->type && !stop_) {
      path_.push_back({Seg::Field, &elemValue_->name});
      scan(elemValue_->type, b + elemValue_->offset, addr + elemValue_->offset, depth);
      path_.pop_back();
    }
  }

  // Whether t belongs to the runtime or the standard library's plumbing
  // (runtime.mSpanList and its mspans are linked next/prev too): their
  // lists are no program's.
  static bool plumbing(const Type* t) {
    std::string_view n = t->name;
    n = n.substr(0, n.find('['));
    std::string pkg = packageOf(n);
    static const std::vector<std::string> skip = defaultSkipPackages();
    return std::any_of(skip.begin(), skip.end(),
                       [&](const std::string& pat) { return packageMatches(pkg, pat); });
  }
  // What discovery makes of struct type t, decided once per type (scan
  // meets every struct object): a sync.Map, a list of some shape, an element
  // whose list can be walked through its back-pointer, and its link fields.
  // container/list.Element has its own visit (visitElement).
  const StructRole& roleOf(const Type* t) {
    auto [it, fresh] = roles_.try_emplace(t);
    StructRole& r = it->second;  // stable: roleOf below may add other types
    if (!fresh) return r;
    r.syncMap = isSyncMap(t);
    if (t == elemT_ || plumbing(t)) return r;
    r.list = listShapeOf(t);
    r.links = elementLinkFields(t);
    for (size_t i = 0; i < r.links.size() && !r.back; i++) {
      const Field& f = t->fields[i];
      if (!r.links[i] || !f.type || f.type->kind != Kind::Pointer || f.type->elem == t) continue;
      const StructRole& owner = roleOf(f.type->elem);
      if (owner.list && owner.list->elem == t) {
        r.back = &f;
        r.backList = &*owner.list;
      }
    }
    return r;
  }

  // ---- paths ----

  // The path of the object being visited, keys decoded from the target.
  Path currentPath() {
    Path out;
    out.steps.reserve(path_.size());
    for (const Seg& g : path_) {
      PathStep& st = out.steps.emplace_back();
      switch (g.kind) {
        case Seg::Root:
          st.kind = PathStep::Kind::Global;
          st.name = *g.name;
          break;
        case Seg::Local:
          st.kind = PathStep::Kind::Local;
          st.name = g.local->name;
          st.frame = g.local->function;
          st.index = static_cast<uint64_t>(g.local->goid);
          st.occurrence = g.local->occurrence;
          break;
        case Seg::Object:
          st.kind = PathStep::Kind::Object;
          st.name = *g.name;
          st.index = g.n;
          break;
        case Seg::Field:
          st.kind = PathStep::Kind::Field;
          st.name = *g.name;
          break;
        case Seg::Index:
          st.kind = PathStep::Kind::Index;
          st.index = g.n;
          break;
        case Seg::Assert:
          st.kind = PathStep::Kind::Assert;
          st.name = *g.name;
          break;
        case Seg::MapValue:
        case Seg::MapKey:
          st.kind = g.kind == Seg::MapValue ? PathStep::Kind::MapValue : PathStep::Kind::MapKey;
          if (o_.keysInPaths) st.key = decodePathKey(m_, g.n, g.keyType);
          break;
      }
    }
    return out;
  }

  const Program& p_;
  const Memory& m_;
  const DiscoverOptions& o_;
  Discovery& out_;
  std::chrono::steady_clock::time_point start_;
  const Type* listT_ = nullptr;
  const Type* elemT_ = nullptr;
  const Field* elemValue_ = nullptr;
  const Field* elemList_ = nullptr;
  int maxDepth_;
  bool stop_ = false;
  std::vector<Seg> path_;
  std::deque<std::vector<uint8_t>> bufs_;
  VisitedSet visited_;
  std::unordered_map<SliceKey, uint64_t, SliceKeyHash> slices_;  // backing array → elements visited
  std::unordered_map<uint64_t, size_t> maps_, lists_, syncMaps_;  // address → index in items
  std::unordered_map<const Type*, bool> reach_;
  std::optional<HeapIndex> heap_;  // heapIndex(), built on first need
  std::string heapError_;
  std::unordered_map<const Type*, StructRole> roles_;
  std::unordered_map<uint64_t, uint64_t> itabs_;  // itab → type descriptor
  StackRoots stacks_;                             // Seg::Local points into it
  std::deque<std::string> heapNames_;             // Seg::Object points into it
  std::vector<size_t> stale_;                     // items to drop (ascending)
  bool entries_ = true;           // visitMap walks the entries (false: the map's type is a guess)
  std::vector<uint8_t> scratch_;  // walkUntyped's reads
};

}  // namespace

Discovery discover(const Program& p, const DiscoverOptions& o) {
  // The walk recurses once or more per indirection: run it on a thread of
  // its own whose stack (reserved, touched only as deep as the walk goes)
  // fits maxDepth even in a sanitizer build, whatever the caller's stack.
  struct Job {
    const Program& p;
    const DiscoverOptions& o;
    Discovery d;
    std::exception_ptr err;
  } job{p, o, {}, nullptr};
  auto body = [](void* arg) -> void* {
    auto* j = static_cast<Job*>(arg);
    try {
      Walker w(j->p, j->o, j->d);
      w.run();
    } catch (...) {
      j->err = std::current_exception();
    }
    return nullptr;
  };
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kWalkStack);
  pthread_t th;
  int rc = pthread_create(&th, &attr, body, &job);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    body(&job);  // no thread: walk here, with the caller's stack
  } else {
    pthread_join(th, nullptr);
  }
  if (job.err) std::rethrow_exception(job.err);
  return std::move(job.d);
}

}  // namespace gms
