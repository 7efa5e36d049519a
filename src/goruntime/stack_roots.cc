#include "goruntime/stack_roots.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <unordered_map>

#include "common/error.h"
#include "goruntime/goroutines.h"
#include "goruntime/layout.h"
#include "goruntime/stack.h"

namespace gms {

namespace {

constexpr size_t kMaxFrames = 1024;  // deeper than the runtime's own traceback (100) shows
constexpr uint32_t kGrunning = 2, kGsyscall = 3, kGdead = 6, kGcopystack = 8;

struct GLayout {
  uint64_t size = 0, schedSp = 0, schedPc = 0, syscallSp = 0, syscallPc = 0, stackLo = 0,
           stackHi = 0;
};

GLayout gLayout(const Program& p) {
  const Type* g = p.runtimeType("runtime.g");
  if (!g) fail(ErrorKind::MissingDebugInfo, "{} has no runtime.g", p.types().source());
  const Field& sched = requireField(g, "sched");
  const Field& stack = requireField(g, "stack");
  GLayout l;
  l.size = g->size;
  l.schedSp = sched.offset + requireField(sched.type, "sp").offset;
  l.schedPc = sched.offset + requireField(sched.type, "pc").offset;
  l.syscallSp = requireField(g, "syscallsp").offset;
  l.syscallPc = requireField(g, "syscallpc").offset;
  l.stackLo = stack.offset + requireField(stack.type, "lo").offset;
  l.stackHi = stack.offset + requireField(stack.type, "hi").offset;
  return l;
}

uint64_t word(const std::vector<uint8_t>& b, uint64_t off) {
  uint64_t v = 0;
  if (off + 8 <= b.size()) std::memcpy(&v, b.data() + off, 8);
  return v;
}

// The address of a variable's whole value, when it lies in memory.
std::optional<uint64_t> whereInMemory(const FrameVar& v, uint64_t cfa, uint64_t bias) {
  if (v.pieces.empty() || !v.type) return std::nullopt;
  std::optional<uint64_t> start;
  uint64_t next = 0;
  for (const VarPiece& pc : v.pieces) {
    uint64_t at;
    if (pc.kind == VarPiece::Kind::CfaOffset) {
      if (!cfa) return std::nullopt;
      at = cfa + uint64_t(pc.offset);
    } else if (pc.kind == VarPiece::Kind::Address) {
      at = pc.addr + bias;
    } else {
      return std::nullopt;  // a register
    }
    if (start && at != next) return std::nullopt;  // pieces apart: no one address holds it
    if (!start) start = at;
    next = at + (pc.size ? pc.size : v.type->size);
  }
  return start;
}

bool pointerShaped(const Type* t) {
  return t->size == 8 && (t->kind == Kind::Pointer || t->kind == Kind::Map ||
                          t->kind == Kind::Chan || t->kind == Kind::UnsafePointer);
}

}  // namespace

std::string StackVar::rootText() const {
  if (occurrence > 1)
    return fmt::format("goroutine {} {}#{}: {}", goid, function, occurrence, name);
  return fmt::format("goroutine {} {}: {}", goid, function, name);
}

std::optional<std::pair<StackRootRef, size_t>> parseStackRoot(std::string_view e) {
  constexpr std::string_view kHead = "goroutine ";
  if (!e.starts_with(kHead)) return std::nullopt;
  StackRootRef r;
  size_t i = kHead.size();
  size_t d = i;
  while (i < e.size() && std::isdigit(static_cast<unsigned char>(e[i]))) i++;
  if (i == d || i - d > 18 || i >= e.size() || e[i] != ' ')
    fail(ErrorKind::Usage,
         "'{}': a stack path is 'goroutine N FUNCTION: VARIABLE...' (N the goroutine id)", e);
  r.goid = std::stoll(std::string(e.substr(d, i - d)));
  size_t colon = e.find(": ", i + 1);
  if (colon == std::string_view::npos || colon == i + 1)
    fail(ErrorKind::Usage,
         "'{}': no 'FUNCTION: ' after the goroutine id (e.g. goroutine 1 main.main: s)", e);
  std::string_view fn = e.substr(i + 1, colon - i - 1);
  if (size_t h = fn.rfind('#'); h != std::string_view::npos && h + 1 < fn.size() &&
                                std::all_of(fn.begin() + h + 1, fn.end(), [](char c) {
                                  return std::isdigit(static_cast<unsigned char>(c));
                                })) {
    r.occurrence = static_cast<uint32_t>(std::stoul(std::string(fn.substr(h + 1))));
    fn = fn.substr(0, h);
    if (r.occurrence == 0) fail(ErrorKind::Usage, "'{}': frames are counted from #1", e);
  }
  r.function = std::string(fn);
  size_t n = colon + 2, k = n;
  while (k < e.size() && (std::isalnum(static_cast<unsigned char>(e[k])) || e[k] == '_' ||
                          static_cast<unsigned char>(e[k]) >= 0x80))
    k++;
  if (k == n) fail(ErrorKind::Usage, "'{}': no variable name after '{}: '", e, r.function);
  r.name = std::string(e.substr(n, k - n));
  return std::pair{r, k};
}

StackRoots stackRoots(const Program& p, std::optional<int64_t> only) {
  StackRoots out;
  const Memory& mem = p.mem();
  StackUnwinder unwinder(p);
  const GLayout gl = gLayout(p);
  const TypeProvider* tp = p.hasDwarf() ? &p.types() : nullptr;
  if (!tp)
    out.stats.problems.push_back(
        "no DWARF: stack frames have no named variables (give --debug-file)");
  const uint64_t bias = p.loadBias();

  std::vector<GoroutineInfo> gs = goroutines(p);
  // Which g each thread runs: its TLS slot or R14, if the thread's SP is on that g's stack.
  std::unordered_map<uint64_t, ThreadState> onThread;
  for (const ThreadState& t : p.target().threads()) {
    if (!t.hasRegs) continue;
    for (uint64_t g : {t.fsBase >= 8 ? mem.readPtr(t.fsBase - 8) : 0, t.r14}) {
      if (!g) continue;
      try {
        uint64_t lo = mem.readPtr(g + gl.stackLo), hi = mem.readPtr(g + gl.stackHi);
        if (t.rsp >= lo && t.rsp < hi) {
          onThread.emplace(g, t);
          break;
        }
      } catch (const Fault&) {
        // not a g: the register held something else
      }
    }
  }

  std::vector<uint8_t> gb(gl.size);
  for (const GoroutineInfo& gi : gs) {
    if (only && gi.goid != *only) continue;
    if (gi.status == kGdead || gi.status == 0 || gi.status > 11) continue;
    try {
      mem.read(gi.addr, gb.data(), gb.size());
    } catch (const Fault& f) {
      out.stats.problems.push_back(
          fmt::format("goroutine {}: its g is unreadable: {}", gi.goid, f.what()));
      continue;
    }
    if (gi.status == kGcopystack) {
      out.stats.problems.push_back(fmt::format("goroutine {}: its stack is being copied", gi.goid));
      continue;
    }
    RawStack st;
    const ThreadState* thread = nullptr;  // frame 0 is at this thread's real PC
    if (auto t = onThread.find(gi.addr); t != onThread.end()) {
      st = unwinder.unwindFrom(mem, t->second.rip, t->second.rsp, kMaxFrames);
      thread = &t->second;
    } else if (gi.status == kGsyscall && word(gb, gl.syscallPc)) {
      st = unwinder.unwindFrom(mem, word(gb, gl.syscallPc), word(gb, gl.syscallSp), kMaxFrames);
    } else if (gi.status == kGrunning) {
      out.stats.problems.push_back(fmt::format(
          "goroutine {}: running, but on no thread whose registers were read", gi.goid));
      continue;
    } else if (word(gb, gl.schedPc)) {
      st = unwinder.unwindFrom(mem, word(gb, gl.schedPc), word(gb, gl.schedSp), kMaxFrames);
    } else {
      continue;  // never ran
    }
    out.stats.goroutines++;
    const uint64_t lo = word(gb, gl.stackLo), hi = word(gb, gl.stackHi);
    std::vector<GoFrame> frames = unwinder.symbolize(st.pcs);
    GoroutineStack& gst = out.stacks.emplace_back();
    gst.goid = gi.goid;
    gst.hi = hi;
    gst.sp = thread                                             ? thread->rsp
             : gi.status == kGsyscall && word(gb, gl.syscallPc) ? word(gb, gl.syscallSp)
                                                                : word(gb, gl.schedSp);
    for (size_t i = 0; i < frames.size(); i++)
      gst.frames.push_back({frames[i].function, i < st.cfas.size() ? st.cfas[i] : 0,
                            i < st.pcs.size() ? st.pcs[i] : 0});
    gst.interrupted = thread != nullptr;
    if (thread) gst.registers.assign(thread->dwarfRegs.begin(), thread->dwarfRegs.end());
    if (!tp) continue;
    std::map<std::string, uint32_t> seen;  // function -> frames of it so far
    for (size_t i = 0; i < st.pcs.size() && i < frames.size(); i++) {
      if (isRuntimeFunction(frames[i].function) || frames[i].function == "?") continue;
      out.stats.frames++;
      uint64_t pc = st.pcs[i];
      if (pc < bias) continue;
      std::vector<FrameVar> vars = tp->frameVars(pc - bias, i > 0 || !thread);
      std::map<std::string, uint32_t> occ;  // this frame's functions (inlined ones included)
      std::vector<std::string> names;
      for (const FrameVar& v : vars) {
        if (!occ.count(v.function)) occ[v.function] = ++seen[v.function];
        std::string name = v.name;
        const Type* type = v.type;
        if (name.starts_with('&')) name.erase(0, 1);
        if (name.empty() || name.starts_with('.') || name == "~r0" || name.starts_with("~"))
          continue;
        std::string key = v.function + "\n" + name;
        if (std::find(names.begin(), names.end(), key) != names.end()) continue;  // shadowed
        names.push_back(key);
        auto at = whereInMemory(v, i < st.cfas.size() ? st.cfas[i] : 0, bias);
        if (!at && i == 0 && thread && type && pointerShaped(type) && v.pieces.size() == 1 &&
            v.pieces[0].kind == VarPiece::Kind::Register && v.pieces[0].reg >= 0 &&
            size_t(v.pieces[0].reg) < thread->dwarfRegs.size()) {
          StackVar sv;
          sv.goid = gi.goid;
          sv.function = v.function;
          sv.occurrence = occ[v.function];
          sv.frame = i;
          sv.name = std::move(name);
          sv.type = type;
          sv.param = v.param;
          sv.byValue = true;
          sv.value = thread->dwarfRegs[size_t(v.pieces[0].reg)];
          out.vars.push_back(std::move(sv));
          out.stats.variables++;
          continue;
        }
        if (!at || !type || !type->size) {
          out.stats.unavailable++;
          continue;
        }
        bool onStack = *at >= lo && *at + type->size <= hi;
        bool staticAddr = v.pieces.front().kind == VarPiece::Kind::Address;
        if (!onStack && !staticAddr) {
          out.stats.unavailable++;
          continue;
        }
        StackVar sv;
        sv.goid = gi.goid;
        sv.function = v.function;
        sv.occurrence = occ[v.function];
        sv.frame = i;
        sv.name = std::move(name);
        sv.type = type;
        sv.addr = *at;
        sv.param = v.param;
        out.vars.push_back(std::move(sv));
        out.stats.variables++;
      }
    }
  }
  return out;
}

LiveSlotStats liveStackSlots(const Program& p, const GoroutineStack& st, bool runtimeFrames,
                             const std::function<void(uint64_t at)>& slot) {
  constexpr uint64_t kMaxFrame = uint64_t(1) << 20;
  LiveSlotStats stats;
  const Pclntab* tab = p.binary().pclntab();
  const uint64_t bias = p.loadBias();
  auto word = [&](uint64_t at) {
    if (at >= st.sp && at + 8 <= st.hi) slot(at);
  };
  auto whole = [&](uint64_t from, uint64_t to) {
    stats.framesWhole++;
    for (uint64_t at = from & ~uint64_t(7); at + 8 <= to; at += 8) word(at);
  };
  uint64_t lo = st.sp;
  for (size_t i = 0; i < st.frames.size(); i++) {
    const GoroutineStack::Frame& f = st.frames[i];
    const uint64_t frameLo = lo;
    if (!f.cfa || f.cfa <= frameLo || f.cfa > st.hi || f.cfa - frameLo > kMaxFrame) break;
    lo = f.cfa;
    if (!runtimeFrames && (isRuntimeFunction(f.function) || f.function == "?")) continue;
    std::optional<StackPointerMaps> maps;
    if (tab && f.pc >= bias && !(i == 0 && st.interrupted)) maps = tab->pointerMaps(f.pc - bias);
    if (!maps) {
      whole(frameLo, f.cfa);
      continue;
    }
    stats.frames++;
    // amd64: fp is the CFA; below it the return address, then the saved
    // frame pointer when the frame has room for one (runtime/traceback.go).
    uint64_t varp = f.cfa - 8;
    if (varp > frameLo) varp -= 8;
    const uint64_t nl = maps->locals.size();
    if (nl && nl * 8 <= varp - frameLo)
      for (uint64_t k = 0; k < nl; k++)
        if (maps->locals[k]) word(varp - nl * 8 + k * 8);
    for (uint64_t k = 0; k < maps->args.size(); k++)
      if (maps->args[k]) word(f.cfa + k * 8);
    for (const StackPointerMaps::Object& o : maps->objects) {
      uint64_t at = o.off < 0 ? varp - uint64_t(-int64_t(o.off)) : f.cfa + uint64_t(o.off);
      for (uint64_t k = 0; k + 8 <= o.ptrBytes; k += 8) word((at & ~uint64_t(7)) + k);
    }
  }
  // What the unwinder did not reach (the outermost frames) is taken whole,
  // when the runtime's frames are wanted (the GC would scan them).
  if (runtimeFrames && lo < st.hi && st.hi - lo <= kMaxFrame * 16) whole(lo, st.hi);
  return stats;
}

}  // namespace gms
