#include "goruntime/heap_graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "common/big_buffer.h"
#include "common/error.h"
#include "goruntime/discover.h"
#include "goruntime/heap.h"
#include "goruntime/layout.h"
#include "goruntime/pointer_mask.h"
#include "goruntime/runtime_facts.h"
#include "goruntime/stack.h"
#include "goruntime/stack_roots.h"

namespace gms {

namespace {

constexpr uint64_t kMaxRead = uint64_t(256) << 20;  // one object, one stack, one section
constexpr size_t kMaxProblems = 20;
constexpr int kMaxTypeDepth = 32;

// What a referrer's typed word says of the object it points to.
struct Hint {
  const Type* type = nullptr;  // the object is an array of these (nullptr: unknown)
  uint32_t label = 0;          // its frame name (0: unknown)
  bool inherit = false;        // untyped objects below carry this name (a map's, a chan's)
};

// An object waiting to be scanned, as it waits in the queue: small, since a
// breadth-first walk of a large map holds millions at once (its slot is
// found again when it is scanned).
// (No member initialisers: a level's buffer grows without being zeroed.)
struct Queued {
  uint64_t base;
  uint32_t node;
  uint32_t type;  // Walk::typeId(): its data is an array of this type (0: unknown)
};
using QueuedBuffer = std::vector<Queued, BigBufferAllocator<Queued>>;

// An object being scanned.
struct Pending {
  uint64_t base = 0, size = 0;
  uint64_t descriptor = 0;  // the type the runtime recorded (HeapObject::typeDescriptor)
  HeapIndex::Slot slot;
  uint32_t header = 0;         // bytes of malloc header before its data
  const Type* type = nullptr;  // its data is an array of these
  uint32_t node = 0;
};

class Walk {
 public:
  Walk(const Program& p, const HeapGraphOptions& o, HeapGraph& g)
      : p_(p), m_(p.mem()), o_(o), g_(g), heap_(p) {
    const auto& spans = heap_.spans();
    if (!spans.empty()) lo_ = spans.front().start, hi_ = spans.back().end;
    // Room for every object that can be queued (each is, at most once), so
    // that a level never moves as it grows: the memory is the kernel's
    // until it is used.
    uint64_t scannable = 0;
    for (const HeapSpan& s : spans)
      if (!s.noscan()) scannable += s.nelems;
    const size_t room = std::min<uint64_t>(scannable, kReserveQueued);
    level_.reserve(room);
    next_.reserve(room);
    // The heap's bytes brought in on another thread while this one walks
    // (a core: one pass over the file instead of a fault per page).
    if (hi_ - lo_ >= kPrefaultBytes)
      prefault_ = std::jthread([this] { m_.willRead(lo_, hi_ - lo_); });
    g_.nodes.push_back({});  // the tree's root: no frame
    g_.labels.push_back("");
    runtimeLabel_.push_back(false);
    stringLabel_ = label("string");
  }

  // Roots in order of ownership, each phase walked to the end before the
  // next: the program's globals; words of .data/.bss that no global names
  // (all of them without DWARF); the program's stack frames; the runtime's
  // frames; the globals of the runtime and of the standard library's
  // plumbing (discover.h's default skip list). What the program holds keeps
  // its name, even where a stale stack slot or the runtime's bookkeeping (a
  // GC worker's stack, a P's write barrier buffer) also points at it.
  void run() {
    const StaticWords words = staticWords();
    for (Owner w : {Owner::Program, Owner::Nobody}) {
      globals(words, w);
      drain();
    }
    StackRoots roots = goroutineStacks();
    stacks(roots, false);
    drain();
    specials();
    drain();
    stacks(roots, true);
    drain();
    deferRuntime_ = false;
    next_.insert(next_.end(), deferred_.begin(), deferred_.end());
    deferred_.clear();
    globals(words, Owner::Runtime);
    drain();
    unreached();
    g_.maskScheme = masks_.scheme();
    // The index's problems last: it reads allocation bits as the walk goes.
    std::vector<std::string> own = std::move(g_.problems);
    g_.problems.clear();
    for (const std::string& pr : heap_.problems()) problem(pr);
    for (std::string& pr : own) problem(std::move(pr));
  }

 private:
  // ---- labels and the chain tree ----
  uint32_t label(const std::string& s) {
    auto [it, fresh] = labelIds_.try_emplace(s, uint32_t(g_.labels.size()));
    if (fresh) {
      g_.labels.push_back(s);
      runtimeLabel_.push_back(isRuntimeType(s));
    }
    return it->second;
  }
  uint32_t child(uint32_t parent, uint32_t lab) {
    if (parent && g_.nodes[parent].label == lab) return parent;  // a list of one type: one frame
    if (parent && g_.nodes[parent].depth >= o_.maxChain) return parent;
    const uint64_t key = (uint64_t(parent) << 32) | lab;
    // A small direct-mapped cache in front of the map: a walk asks this once
    // per object, and for few distinct pairs.
    ChildCache& c = childCache_[(key * 0x9e3779b97f4a7c15) >> (64 - kChildCacheBits)];
    if (c.node && c.key == key) return c.node;
    auto [it, fresh] = children_.try_emplace(key, uint32_t(g_.nodes.size()));
    if (fresh) {
      HeapChainNode n;
      n.parent = parent;
      n.label = lab;
      n.depth = parent ? g_.nodes[parent].depth + 1 : 1;
      g_.nodes.push_back(n);
    }
    c = {key, it->second};
    return it->second;
  }

  void problem(std::string s) {
    if (g_.problems.size() < kMaxProblems) g_.problems.push_back(std::move(s));
  }

  // ---- visits ----

  // The label a node's untyped pointees take (0: none).
  uint32_t inheritOf(uint32_t node) const {
    return node < inherited_.size() ? inherited_[node] : 0;
  }

  // A frame name for a type, spelled one way (cached: no string work per object).
  enum class Spelling : uint8_t { Plain, SliceOf, FuncValue };
  uint32_t typeLabel(const Type* t, Spelling sp = Spelling::Plain) {
    TypeLabelCache& c =
        typeLabelCache_[((reinterpret_cast<uintptr_t>(t) >> 4) ^ static_cast<uintptr_t>(sp)) % 64];
    if (c.label && c.type == t && c.sp == sp) return c.label;
    auto [it, fresh] = typeLabels_.try_emplace({t, sp}, 0);
    if (fresh) {
      switch (sp) {
        case Spelling::Plain:
          it->second = label(t->name);
          break;
        case Spelling::SliceOf:
          it->second = label("[]" + t->name);
          break;
        case Spelling::FuncValue:
          it->second = label("func value (" + t->name + ")");
          break;
      }
    }
    c = {t, sp, it->second};
    return it->second;
  }
  struct TypeLabelCache {
    const Type* type = nullptr;
    Spelling sp = Spelling::Plain;
    uint32_t label = 0;  // 0: empty
  };
  std::array<TypeLabelCache, 64> typeLabelCache_{};
  uint32_t sizeLabel(uint64_t size) {
    auto [it, fresh] = sizeLabels_.try_emplace(size, 0);
    if (fresh) it->second = label(fmt::format("<{} B object>", size));
    return it->second;
  }
  // The runtime's type descriptor: its type and name (cached).
  std::pair<const Type*, uint32_t> described(uint64_t desc) {
    auto [it, fresh] = descLabels_.try_emplace(desc, std::pair<const Type*, uint32_t>{});
    if (fresh) {
      const DynType& dt = p_.dynamicType(desc);
      it->second = {dt.type && dt.type->size ? dt.type : nullptr, label(dt.name)};
    }
    return it->second;
  }

  // The word w of a referrer at node `from`: the object it points into,
  // when allocated and not yet visited, joins the walk.
  template <typename HintFn>
  void reach(uint64_t w, uint32_t from, HintFn&& hint) {
    if (w < lo_ || w >= hi_) return;
    auto sl = heap_.slot(w);
    if (!sl) return;
    reachSlot(*sl, from, std::forward<HintFn>(hint));
  }
  template <typename HintFn>
  void reachSlot(const HeapIndex::Slot& slot, uint32_t from, HintFn&& hint) {
    const HeapIndex::Slot* sl = &slot;
    if (!heap_.allocated(*sl) || !heap_.mark(*sl)) return;
    if (g_.reachedObjects >= o_.maxObjects) {
      g_.budgetHit = true;
      return;
    }
    const HeapObject obj = heap_.object(*sl);  // reads the malloc header, where there is one
    const HeapObject* o = &obj;
    struct {
      const Type* type = nullptr;
      uint32_t node = 0;
    } x;
    uint32_t name = 0, inherit = 0;
    if (o->typeDescriptor) {  // what the runtime recorded
      try {
        std::tie(x.type, name) = described(o->typeDescriptor);
      } catch (const Error& e) {
        problem(fmt::format("object {:#x}: type descriptor {:#x} unreadable: {}", o->base,
                            o->typeDescriptor, e.what()));
      }
    }
    // What the referrer's typed word says: where there is no recorded type,
    // or where it is a type of the same size spelled more precisely (a
    // map's directory array records the runtime's generic *maps.table, the
    // map's own header field says *table<K,V>).
    Hint h = hint();
    if (!name || (h.type && x.type && h.type->size == x.type->size && h.label != name)) {
      name = h.label;
      x.type = h.type;
      if (h.inherit) inherit = name;
    }
    if (name) {
      g_.typedObjects++;
    } else if (uint32_t in = inheritOf(from)) {  // inside a map or a chan
      name = in;
      inherit = in;
    } else {
      name = sizeLabel(o->size);
    }
    x.node = child(from, name);
    if (inherit) {
      if (inherited_.size() <= x.node) inherited_.resize(g_.nodes.size(), 0);
      inherited_[x.node] = inherit;
    }
    HeapChainNode& n = g_.nodes[x.node];
    n.objects++;
    n.bytes += o->size;
    g_.reachedObjects++;
    g_.reachedBytes += o->size;
    if (!sl->noscan) next_.push_back({o->base, x.node, typeId(x.type)});
  }

  // What the word at `off` of a value of type t (its bytes at b) points to.
  Hint pointee(const Type* t, uint64_t off, const uint8_t* b, int depth = 0) {
    if (!t || depth > kMaxTypeDepth) return {};
    switch (t->kind) {
      case Kind::Struct:
        for (const Field& f : t->fields)
          if (f.type && off >= f.offset && off - f.offset < f.type->size)
            return pointee(f.type, off - f.offset, b + f.offset, depth + 1);
        return {};
      case Kind::Array:
        if (!t->elem || !t->elem->size) return {};
        return pointee(t->elem, off % t->elem->size, b + off / t->elem->size * t->elem->size,
                       depth + 1);
      case Kind::Pointer:
        if (off || !t->elem || !t->elem->size) return {};
        return {t->elem, typeLabel(t->elem)};
      case Kind::Slice:
        if (off || !t->elem) return {};
        return {t->elem->size ? t->elem : nullptr, typeLabel(t->elem, Spelling::SliceOf)};
      case Kind::String:
        return off ? Hint{} : Hint{nullptr, stringLabel_};
      case Kind::Map:  // the header, typed when the type model has it (hash<K,V>, map<K,V>)
        if (off) return {};
        return {t->mapHeader && t->mapHeader->size ? t->mapHeader : nullptr, typeLabel(t), true};
      case Kind::Chan:
        return off ? Hint{} : Hint{nullptr, typeLabel(t), true};
      case Kind::Func:
        return off ? Hint{} : Hint{nullptr, typeLabel(t, Spelling::FuncValue)};
      case Kind::Interface: {
        if (off != 8) return {};
        uint64_t tw = loadU64(b);
        if (!tw) return {};
        try {
          uint64_t desc = interfaceTypeDescriptor(m_, t->nonEmptyInterface, tw);
          const DynType& dt = p_.dynamicType(desc);
          if (!dt.directIface)
            return {dt.type && dt.type->size ? dt.type : nullptr, described(desc).second};
          // A pointer-shaped value in the data word itself.
          if (dt.type && dt.type->kind == Kind::Pointer && dt.type->elem && dt.type->elem->size)
            return {dt.type->elem, typeLabel(dt.type->elem)};
          if (dt.type && dt.type->kind == Kind::Map) return pointee(dt.type, 0, b, depth + 1);
          return {nullptr, described(desc).second};
        } catch (const Error&) {
          return {};  // not a type word after all: the object stays unnamed
        }
      }
      default:
        return {};
    }
  }

  // ---- roots ----
  enum class Owner { Program, Nobody, Runtime };

  // The words of .data and .bss that point into the heap, each with the
  // global DWARF places it in and whose it is, read once for every phase.
  struct StaticWord {
    uint64_t w, addr;
    const Global* gl;  // nullptr: no global names it
    size_t sec;        // index in StaticWords::secs
    Owner owner;
  };
  struct StaticWords {
    std::vector<StaticWord> words;                       // in address order
    std::vector<std::pair<const char*, uint64_t>> secs;  // name, runtime address
    std::vector<std::vector<uint8_t>> bytes;             // each section's bytes
  };
  StaticWords staticWords() {
    StaticWords out;
    std::vector<const Global*> named;
    const std::vector<std::string> plumbing = defaultSkipPackages();
    auto isProgram = [&](const Global* gl) {
      std::string pkg = packageOf(gl->name);
      return std::none_of(plumbing.begin(), plumbing.end(),
                          [&](const std::string& pat) { return packageMatches(pkg, pat); });
    };
    if (p_.hasDwarf())
      for (const Global& gl : p_.types().globals())
        if (gl.type && gl.type->size) named.push_back(&gl);
    const uint64_t bias = p_.loadBias();
    std::sort(named.begin(), named.end(),
              [](const Global* a, const Global* b) { return a->addr < b->addr; });
    for (const char* sec : {".data", ".bss"}) {
      const Section* s = p_.binary().section(sec);
      if (!s || !s->addr || !s->size) continue;
      if (s->size > kMaxRead) {
        problem(fmt::format("section {} is {} bytes: not scanned", sec, s->size));
        continue;
      }
      std::vector<uint8_t> b(s->size);
      const uint64_t at = s->addr + bias;
      try {
        m_.read(at, b.data(), b.size());
      } catch (const Fault& f) {
        problem(fmt::format("section {} unreadable: {}", sec, f.what()));
        continue;
      }
      for (uint64_t k = 0; k + 8 <= b.size(); k += 8) {
        uint64_t w = loadU64(b.data() + k);
        if (w < lo_ || w >= hi_) continue;
        uint64_t addr = at + k;
        // The words the GC reads as pointers, where the runtime's masks say.
        if (statics_ && statics_->covers(addr) && !statics_->pointer(addr)) continue;
        const Global* gl = nullptr;
        auto it = std::upper_bound(named.begin(), named.end(), addr - bias,
                                   [](uint64_t a, const Global* x) { return a < x->addr; });
        if (it != named.begin() && addr - bias - (*(it - 1))->addr < (*(it - 1))->type->size)
          gl = *(it - 1);
        Owner owner = !gl ? Owner::Nobody : isProgram(gl) ? Owner::Program : Owner::Runtime;
        out.words.push_back({w, addr, gl, out.secs.size(), owner});
      }
      out.secs.emplace_back(sec, at);
      out.bytes.push_back(std::move(b));
    }
    return out;
  }

  // The static words of one owner as roots. The program's globals one at a
  // time, main's first, then by name, each walked to the end: what several
  // reach is the first one's (a pool of fmt that still points at a value of
  // main.m does not take it).
  void globals(const StaticWords& sw, Owner owner) {
    std::vector<const StaticWord*> words;
    for (const StaticWord& x : sw.words)
      if (x.owner == owner) words.push_back(&x);
    if (owner == Owner::Program) {
      auto isMain = [](const Global* g) { return g->name.starts_with("main."); };
      std::stable_sort(words.begin(), words.end(), [&](const StaticWord* a, const StaticWord* b) {
        if (isMain(a->gl) != isMain(b->gl)) return isMain(a->gl);
        return a->gl->name < b->gl->name;
      });
    }
    const uint64_t bias = p_.loadBias();
    for (size_t i = 0; i < words.size(); i++) {
      const StaticWord& x = *words[i];
      if (owner == Owner::Program && i && x.gl != words[i - 1]->gl) drain();
      uint32_t from = x.gl ? child(0, label(x.gl->name)) : child(0, label(sw.secs[x.sec].first));
      g_.rootWords++;
      reach(x.w, from, [&]() -> Hint {
        if (!x.gl) return {};
        const std::vector<uint8_t>& b = sw.bytes[x.sec];
        uint64_t start = x.gl->addr + bias - sw.secs[x.sec].second;  // its first byte in b
        if (start + x.gl->type->size > b.size()) return {};
        return pointee(x.gl->type, x.addr - bias - x.gl->addr, b.data() + start);
      });
    }
  }

  StackRoots goroutineStacks() {
    StackRoots roots;
    try {
      roots = stackRoots(p_);
    } catch (const Error& e) {
      problem(fmt::format("goroutine stacks not scanned: {}", e.what()));
      return roots;
    }
    for (const std::string& pr : roots.stats.problems)
      if (!pr.starts_with("no DWARF")) problem(pr);
    g_.goroutines = roots.stacks.size();
    return roots;
  }

  // The words of every goroutine's frames of the program's functions, or of
  // the runtime's, and the registers of the thread running it (a loop keeps
  // a pointer in a register and nowhere else): "registers of main.spin".
  void stacks(const StackRoots& roots, bool runtime) {
    // Locals DWARF places in memory: a word inside one is typed by it.
    std::vector<const StackVar*> vars;
    for (const StackVar& v : roots.vars)
      if (!v.byValue && v.type && v.type->size) vars.push_back(&v);
    std::sort(vars.begin(), vars.end(),
              [](const StackVar* a, const StackVar* b) { return a->addr < b->addr; });
    std::vector<uint8_t> b;
    for (const GoroutineStack& st : roots.stacks) {
      if (!st.registers.empty()) {
        std::string fn =
            st.frames.empty() ? fmt::format("goroutine {}", st.goid) : st.frames[0].function;
        if (isRuntimeFunction(fn) == runtime)
          for (size_t r = 0; r < st.registers.size(); r++) {
            // Not rsp (7), r14 (14: the g itself, the runtime's record) nor rip (16).
            if (r == 7 || r == 14 || r == 16) continue;
            uint64_t w = st.registers[r];
            if (w < lo_ || w >= hi_) continue;
            g_.rootWords++;
            reach(w, child(0, label("registers of " + fn)), [] { return Hint{}; });
          }
      }
      if (!st.sp || st.hi <= st.sp || st.hi - st.sp > kMaxRead) {
        problem(
            fmt::format("goroutine {}: stack [{:#x}, {:#x}) not scanned", st.goid, st.sp, st.hi));
        continue;
      }
      uint64_t sp = st.sp & ~uint64_t(7);
      b.resize(st.hi - sp);
      try {
        m_.read(sp, b.data(), b.size());
      } catch (const Fault& f) {
        problem(fmt::format("goroutine {}: stack unreadable: {}", st.goid, f.what()));
        continue;
      }
      // Only the live slots, as the GC reads them (liveStackSlots: each
      // frame's stack maps; a frame none describes, word by word): a dead
      // local's stale pointer keeps nothing.
      std::vector<bool> live(b.size() / 8, false);
      liveStackSlots(p_, st, true, [&](uint64_t at) {
        if (at >= sp && (at - sp) / 8 < live.size()) live[(at - sp) / 8] = true;
      });
      size_t fi = 0;
      for (uint64_t k = 0; k + 8 <= b.size(); k += 8) {
        if (!live[k / 8]) continue;
        uint64_t w = loadU64(b.data() + k);
        if (w < lo_ || w >= hi_) continue;
        uint64_t addr = sp + k;
        while (fi + 1 < st.frames.size() && st.frames[fi].cfa && addr >= st.frames[fi].cfa) fi++;
        std::string fn =
            st.frames.empty() ? fmt::format("goroutine {}", st.goid) : st.frames[fi].function;
        if (isRuntimeFunction(fn) != runtime) continue;
        g_.rootWords++;
        reach(w, child(0, label("stack of " + fn)), [&]() -> Hint {
          auto it = std::upper_bound(vars.begin(), vars.end(), addr,
                                     [](uint64_t a, const StackVar* v) { return a < v->addr; });
          if (it == vars.begin()) return {};
          const StackVar* v = *(it - 1);
          if (addr - v->addr >= v->type->size || v->addr < sp || v->addr + v->type->size > st.hi)
            return {};
          return pointee(v->type, addr - v->addr, b.data() + (v->addr - sp));
        });
      }
    }
  }

  // Finalizer and cleanup specials (runtime/mheap.go): records outside the
  // heap that the GC takes for roots (mgcmark.go, markrootSpans): a
  // finalizer keeps its function (a closure, and what it captured) and what
  // its object references (the object itself is counted here too: once
  // unreachable, its queued finalizer keeps it until it has run); a cleanup
  // (Go >= 1.24; read for go1.26 on) keeps its function and its argument. Each is a root named by
  // its object's type: "finalizer of *main.T", "cleanup of *main.T".
  void specials() {
    const int minor = p_.build().minor;
    // _KindSpecialFinalizer and _KindSpecialCleanup (runtime/mheap.go): 1 and
    // none in go1.19; 2 and 7 since tiny-block specials came first (go1.26, go1.27).
    const int finKind = minor <= 19 ? 1 : minor >= 26 ? 2 : -1;
    const int cleanupKind = minor >= 26 ? 7 : -1;
    uint64_t offNext, offOffset, offKind, offFn, offOt, offCleanup = 0, offCfn = 0, offCarg = 0;
    try {
      offNext = runtimeConstant("runtime.special", "next", minor);
      offOffset = runtimeConstant("runtime.special", "offset", minor);
      offKind = runtimeConstant("runtime.special", "kind", minor);
      offFn = runtimeConstant("runtime.specialfinalizer", "fn", minor);
      offOt = runtimeConstant("runtime.specialfinalizer", "ot", minor);
      if (cleanupKind > 0) {
        offCleanup = runtimeConstant("runtime.specialCleanup", "cleanup", minor);
        offCfn = runtimeConstant("runtime.cleanupFn", "fn", minor);
        offCarg = runtimeConstant("runtime.cleanupFn", "arg", minor);
      }
    } catch (const Error&) {
      // A release whose special layouts are not verified (go1.20 to go1.25):
      // no finalizer roots rather than guessed ones; what only they hold is
      // then counted as not reached, as before they were read at all.
      return;
    }
    if (finKind < 0) return;
    const size_t offsetBytes = minor <= 19 ? 2 : 8;  // special.offset: uint16, then uintptr
    uint64_t budget = uint64_t(1) << 22;             // specials followed in all
    for (const HeapSpan& s : heap_.spans()) {
      uint64_t sp = s.specials;
      uint64_t steps = 0;
      while (sp && budget) {
        if (++steps > s.nelems + 64) {  // more than one of each kind per object: a cycle
          problem(fmt::format("span {:#x}: specials list does not end", s.addr));
          break;
        }
        budget--;
        uint64_t next = 0, offset = 0;
        uint8_t kind = 0;
        try {
          next = m_.readPtr(sp + offNext);
          m_.read(sp + offOffset, &offset, offsetBytes);
          kind = m_.readU8(sp + offKind);
          uint64_t obj = s.start + offset;
          if (kind == finKind) {
            uint64_t fn = m_.readPtr(sp + offFn), ot = m_.readPtr(sp + offOt);
            const Type* elem = nullptr;
            std::string what = fmt::format("<{} B object>", s.objectSize());
            if (ot) {
              const DynType& dt = p_.dynamicType(ot);
              what = dt.name;
              if (dt.type && dt.type->kind == Kind::Pointer) elem = dt.type->elem;
            }
            uint32_t node = child(0, label("finalizer of " + what));
            g_.rootWords += 2;
            reach(obj, node, [&]() -> Hint {
              return elem && elem->size ? Hint{elem, label(elem->name)} : Hint{};
            });
            reach(fn, node, [] { return Hint{}; });
          } else if (kind == cleanupKind) {
            uint64_t fn = m_.readPtr(sp + offCleanup + offCfn);
            uint64_t arg = m_.readPtr(sp + offCleanup + offCarg);
            std::string what = fmt::format("<{} B object>", s.objectSize());
            if (auto o = heap_.find(obj); o && o->typeDescriptor)
              what = "*" + p_.dynamicType(o->typeDescriptor).name;
            uint32_t node = child(0, label("cleanup of " + what));
            g_.rootWords += 2;
            reach(fn, node, [] { return Hint{}; });
            reach(arg, node, [] { return Hint{}; });
          }
        } catch (const Error& e) {
          problem(fmt::format("special {:#x} of span {:#x} unreadable: {}", sp, s.addr, e.what()));
          break;
        }
        sp = next;
      }
    }
  }

  // ---- the walk ----
  // Objects of the runtime's own types (a P, an M, a g) reached from the
  // program's roots are scanned only in the last phase: their references
  // are bookkeeping (a P's write barrier buffer, timers), not ownership.
  //
  // Breadth first, a level at a time: the objects one level reaches are
  // the next level, scanned region by region up the heap (a sweep rather
  // than a jump per object; each object is still reached through a
  // shortest chain, and the same one on every run).
  void drain() {
    while (!g_.budgetHit) {
      if (at_ == level_.size()) {
        if (next_.empty()) break;
        nextLevel();
        at_ = 0;
      }
      // A batch of objects in level order: the words of all of them that
      // point into the heap are looked up together, their index entries
      // and allocation/mark bits prefetched before any is visited (each is
      // a cache miss, and they overlap). Visits stay in order.
      nBatch_ = 0;
      cands_.clear();
      uint64_t words = 0;
      std::optional<Pending> alone;
      while (at_ < level_.size() && nBatch_ < kBatchObjects && words < kBatchWords) {
        const Queued q = level_[at_++];
        if (deferRuntime_ && runtimeLabel_[g_.nodes[q.node].label]) {
          deferred_.push_back(q);
          continue;
        }
        Batched& e = batch_[nBatch_];  // filled in place
        pending(q, e.x);
        const Pending& x = e.x;
        // Straight from an mmap'd core where it can be (no copy); a large
        // object, or one only a copy reaches, on its own after the batch.
        e.b = x.size <= kBatchObjectBytes ? viewed(objects_, x.base, x.size) : nullptr;
        if (!e.b) {
          alone = x;
          break;
        }
        for (uint64_t line = 0; line < x.size; line += 64) __builtin_prefetch(e.b + line);
        if (uint64_t bits = masks_.bitsAddress(x.slot))
          if (const uint8_t* v = viewed(bitmap_, bits, 1)) __builtin_prefetch(v);
        nBatch_++;
        words += x.size / 8;
      }
      // The objects' lines were asked for above; their words now.
      for (uint32_t obj = 0; obj < nBatch_; obj++) {
        const Pending& x = batch_[obj].x;
        const uint8_t* b = batch_[obj].b;
        const bool masked = pointerWords(x, x.size / 8);
        for (uint64_t k = x.header; k + 8 <= x.size; k += 8) {
          if (masked && !((mask_[k / 512] >> (k / 8 % 64)) & 1)) continue;
          uint64_t w = loadU64(b + k);
          if (w < lo_ || w >= hi_) continue;
          heap_.prefetchPage(w);
          cands_.push_back({obj, k, w});
        }
      }
      visitBatch();
      if (alone && !g_.budgetHit) scan(*alone);
    }
  }
  // level_ := next_ by address, nearly: by region of the heap (a counting
  // sort on the address's high bits, one pass; a level can hold millions),
  // so that the scan sweeps the heap once per level. A small level is
  // sorted exactly.
  void nextLevel() {
    if (next_.size() < 4096) {
      level_.assign(next_.begin(), next_.end());
      std::sort(level_.begin(), level_.end(),
                [](const Queued& a, const Queued& b) { return a.base < b.base; });
    } else {
      const int shift = std::max(static_cast<int>(std::bit_width(hi_ - lo_)) - kRegionBits, 0);
      counts_.assign((size_t(1) << kRegionBits) + 1, 0);
      for (const Queued& q : next_) counts_[((q.base - lo_) >> shift) + 1]++;
      for (size_t d = 1; d < counts_.size(); d++) counts_[d] += counts_[d - 1];
      level_.resize(next_.size());
      for (const Queued& q : next_) level_[counts_[(q.base - lo_) >> shift]++] = q;
    }
    next_.clear();
  }
  // n bytes at addr straight from the target's memory (an mmap'd core), or
  // nullptr: through r, the run of memory the last such view fell in (a
  // level is scanned up the heap: one lookup per run, not per object).
  const uint8_t* viewed(Memory::ViewRange& r, uint64_t addr, uint64_t n) const {
    if (const uint8_t* b = r.at(addr, n)) return b;
    r = m_.viewRange(addr);
    if (const uint8_t* b = r.at(addr, n)) return b;
    return m_.view(addr, n);
  }
  // The object a queue entry stands for: its slot, and the type the
  // runtime recorded, found again.
  void pending(const Queued& q, Pending& x) const {
    heap_.slotInto(q.base, x.slot);  // it had a slot when it was queued
    x.base = q.base;
    x.size = x.slot.size;
    x.type = types_[q.type];
    x.node = q.node;
    uint64_t header = 0;
    x.descriptor = heap_.recordedType(x.slot, header);
    x.header = static_cast<uint32_t>(header);
  }
  // A queue entry's number for a type (the last one asked for, cached).
  uint32_t typeId(const Type* t) {
    if (t == lastType_) return lastTypeId_;
    auto [it, fresh] = typeIds_.try_emplace(t, static_cast<uint32_t>(types_.size()));
    if (fresh) types_.push_back(t);
    lastType_ = t;
    lastTypeId_ = it->second;
    return it->second;
  }
  void visitBatch() {
    if (slots_.size() < cands_.size()) slots_.resize(cands_.size());
    size_t n = 0;  // slots_ in use: written in place, never copied
    for (const Cand& c : cands_) {
      SlotAt& s = slots_[n];
      if (!heap_.slotInto(c.w, s.slot)) continue;
      heap_.prefetchBits(s.slot);
      s.obj = c.obj;
      s.k = c.k;
      n++;
    }
    for (size_t i = 0; i < n; i++) {
      if (g_.budgetHit) return;
      const SlotAt& s = slots_[i];
      const Batched& o = batch_[s.obj];
      visitWord(o.x, o.b, o.x.size, s.k, s.slot);
    }
  }
  // The word at offset k of object x (its bytes b, n of them) points into
  // the heap at slot.
  void visitWord(const Pending& x, const uint8_t* b, uint64_t n, uint64_t k,
                 const HeapIndex::Slot& slot) {
    reachSlot(slot, x.node, [&]() -> Hint {
      const uint64_t es = x.type ? x.type->size : 0;
      if (!es) return {};
      uint64_t off = k - x.header;
      uint64_t inst = off < es ? 0 : off / es * es;  // most objects hold one value
      if (x.header + inst + es > n) return {};
      return pointee(x.type, off - inst, b + x.header + inst);
    });
  }
  // The scheduler's own records (not a map's or a channel's internals,
  // which belong to their owner).
  static bool isRuntimeType(std::string_view name) {
    while (name.starts_with('*')) name.remove_prefix(1);
    for (std::string_view t :
         {"runtime.p", "runtime.m", "runtime.mPadded", "runtime.g", "runtime.sudog",
          "runtime.timer", "runtime.timeTimer", "runtime.timers"})
      if (name == t) return true;
    return false;
  }

  void scan(const Pending& x) {
    uint64_t n = std::min(x.size, kMaxRead);
    if (n < x.size)
      problem(fmt::format("object {:#x} of {} B: first {} B scanned", x.base, x.size, n));
    // Straight from an mmap'd core where it can be (no copy), else a copy.
    const uint8_t* b = m_.view(x.base, n);
    if (!b) {
      buf_.resize(n);
      try {
        m_.read(x.base, buf_.data(), n);
      } catch (const Fault& f) {
        problem(fmt::format("object {:#x} unreadable: {}", x.base, f.what()));
        return;
      }
      b = buf_.data();
    }
    // In batches of words, as drain() does.
    const bool masked = pointerWords(x, n / 8);
    for (uint64_t from = x.header; from + 8 <= n && !g_.budgetHit; from += kBatchWords * 8) {
      const uint64_t to = std::min(n, from + kBatchWords * 8);
      if (slots_.size() < kBatchWords) slots_.resize(kBatchWords);
      size_t used = 0;
      for (uint64_t k = from; k + 8 <= to; k += 8) {
        if (masked && !((mask_[k / 512] >> (k / 8 % 64)) & 1)) continue;
        uint64_t w = loadU64(b + k);
        if (w < lo_ || w >= hi_) continue;
        SlotAt& s = slots_[used];
        if (!heap_.slotInto(w, s.slot)) continue;
        heap_.prefetchBits(s.slot);
        s.obj = 0;
        s.k = k;
        used++;
      }
      for (size_t i = 0; i < used; i++) {
        if (g_.budgetHit) return;
        visitWord(x, b, n, slots_[i].k, slots_[i].slot);
      }
    }
  }

  // mask_ := the pointer words of x's first n words, as the GC reads them
  // (pointer_mask.h); false: not known, every word is looked at.
  bool pointerWords(const Pending& x, uint64_t n) {
    if (masks_.of(x.slot, x.descriptor, x.header, n, mask_)) {
      g_.maskedObjects++;
      return true;
    }
    return false;
  }

  void unreached() {
    const auto& spans = heap_.spans();
    uint32_t node = 0;
    for (size_t si = 0; si < spans.size(); si++) {
      const auto [allocated, unmarked] = heap_.allocatedAndUnmarked(static_cast<uint32_t>(si));
      const uint64_t size = spans[si].objectSize();
      g_.objects += allocated;
      g_.bytes += allocated * size;
      if (!unmarked) continue;
      if (!node) node = child(0, label("(not reached from any root)"));
      g_.nodes[node].objects += unmarked;
      g_.nodes[node].bytes += unmarked * size;
    }
  }

  const Program& p_;
  const Memory& m_;
  const HeapGraphOptions& o_;
  HeapGraph& g_;
  HeapIndex heap_;
  PointerMasks masks_{p_, heap_};
  std::optional<StaticPointerMask> statics_ = StaticPointerMask::read(p_);
  std::vector<uint64_t> mask_;  // pointerWords()
  uint64_t lo_ = 0, hi_ = 0;
  QueuedBuffer level_, next_;                // drain(): the level being scanned, the one it reaches
  std::vector<const Type*> types_{nullptr};  // typeId() -> type
  std::unordered_map<const Type*, uint32_t> typeIds_{{nullptr, 0}};
  const Type* lastType_ = nullptr;
  uint32_t lastTypeId_ = 0;
  size_t at_ = 0;                       // in level_
  Memory::ViewRange objects_, bitmap_;  // viewed(): the runs last viewed
  static constexpr uint64_t kReserveQueued = uint64_t(1) << 24;
  static constexpr int kRegionBits = 12;  // nextLevel(): 4096 regions
  static constexpr uint64_t kPrefaultBytes = 64 << 20;
  std::vector<uint32_t> counts_;
  std::vector<Queued> deferred_;  // runtime-typed objects, scanned in the last phase
  bool deferRuntime_ = true;
  std::vector<uint8_t> buf_;
  // drain()'s batch: its objects, their words into the heap, their slots.
  static constexpr size_t kBatchObjects = 64, kBatchWords = 512;
  static constexpr uint64_t kBatchObjectBytes = 32 << 10;
  struct Batched {
    Pending x;
    const uint8_t* b;
  };
  struct Cand {
    uint32_t obj;
    uint64_t k, w;
  };
  struct SlotAt {
    uint32_t obj;
    uint64_t k;
    HeapIndex::Slot slot;
  };
  std::array<Batched, kBatchObjects> batch_;
  uint32_t nBatch_ = 0;  // in use
  std::vector<Cand> cands_;
  std::vector<SlotAt> slots_;
  std::unordered_map<std::string, uint32_t> labelIds_;
  std::unordered_map<uint64_t, uint32_t> children_;
  struct ChildCache {
    uint64_t key = 0;
    uint32_t node = 0;  // 0: empty (the root is nobody's child)
  };
  static constexpr int kChildCacheBits = 8;
  std::array<ChildCache, size_t(1) << kChildCacheBits> childCache_{};
  std::vector<uint32_t> inherited_;  // per node: the label its untyped pointees take
  struct TypeKeyHash {
    size_t operator()(const std::pair<const Type*, Spelling>& k) const {
      return std::hash<const void*>()(k.first) ^ static_cast<size_t>(k.second);
    }
  };
  std::unordered_map<std::pair<const Type*, Spelling>, uint32_t, TypeKeyHash> typeLabels_;
  std::unordered_map<uint64_t, uint32_t> sizeLabels_;
  std::unordered_map<uint64_t, std::pair<const Type*, uint32_t>> descLabels_;
  uint32_t stringLabel_ = 0;
  std::vector<bool> runtimeLabel_;  // per label: a scheduler's record (isRuntimeType)
  std::jthread prefault_;           // last: joined before anything it reads goes
};

}  // namespace

std::vector<uint32_t> HeapGraph::chain(uint32_t n) const {
  std::vector<uint32_t> out;
  for (; n; n = nodes[n].parent) out.push_back(nodes[n].label);
  std::reverse(out.begin(), out.end());
  return out;
}

HeapGraph heapGraph(const Program& p, const HeapGraphOptions& o) {
  HeapGraph g;
  Walk w(p, o, g);
  w.run();
  return g;
}

}  // namespace gms
