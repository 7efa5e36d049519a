#include "goruntime/stack.h"

#include "common/error.h"
#include "goruntime/layout.h"

namespace gms {

bool isRuntimeFunction(const std::string& n) {
  return n.starts_with("runtime.") || n.starts_with("internal/runtime/") ||
         n.starts_with("runtime/internal/");
}

bool isSiteInternal(const std::string& n) {
  return isRuntimeFunction(n) || n.starts_with("container/list.");
}

StackUnwinder::StackUnwinder(const Program& p) : tab_(p.binary().pclntab()), bias_(p.loadBias()) {
  if (!tab_) fail(ErrorKind::MissingDebugInfo, "{} has no readable .gopclntab", p.binary().path());
  if (p.hasTypes()) {
    if (const Type* g = p.types().findType("runtime.g")) {
      try {
        const Field& goid = requireField(g, "goid");
        const Field& stack = requireField(g, "stack");
        goidOff_ = goid.offset;
        goidSize_ = goid.type && goid.type->size ? goid.type->size : 8;
        stackOff_ = stack.offset;  // stack{lo, hi uintptr}
        haveG_ = goidSize_ <= 8;
      } catch (const Error&) {
        // no goid layout: haveG_ stays false and every stack says goroutine -1 (unknown), as
        // documented
      }
    }
  }
}

int64_t StackUnwinder::goidOf(const Memory& mem, uint64_t g, uint64_t rsp) const {
  if (!haveG_ || g == 0) return -1;
  try {
    uint64_t lohi[2];
    mem.read(g + stackOff_, lohi, sizeof lohi);
    if (rsp < lohi[0] || rsp >= lohi[1]) return -1;
    uint64_t v = 0;
    mem.read(g + goidOff_, &v, goidSize_);
    return int64_t(v);
  } catch (const Error&) {
    return -1;  // documented: -1 is "no goroutine found for this thread"
  }
}

RawStack StackUnwinder::unwind(const Memory& mem, uint64_t rip, uint64_t rsp, uint64_t r14,
                               uint64_t fsBase) const {
  RawStack out;
  if (fsBase >= 8) {
    try {
      uint64_t g = 0;
      mem.read(fsBase - 8, &g, 8);
      out.goid = goidOf(mem, g, rsp);
    } catch (const Error&) {
      // an unreadable TLS slot or g: out.goid stays -1 (unknown); the frames are still unwound
    }
  }
  if (out.goid < 0) out.goid = goidOf(mem, r14, rsp);

  walk(mem, rip, rsp, kMaxDepth, out);
  return out;
}

RawStack StackUnwinder::unwindFrom(const Memory& mem, uint64_t pc, uint64_t sp,
                                   size_t maxDepth) const {
  RawStack out;
  walk(mem, pc, sp, maxDepth, out);
  return out;
}

void StackUnwinder::walk(const Memory& mem, uint64_t pc, uint64_t sp, size_t maxDepth,
                         RawStack& out) const {
  for (size_t depth = 0;; depth++) {
    if (depth >= maxDepth) {
      out.truncated = true;
      break;
    }
    out.pcs.push_back(pc);
    out.cfas.push_back(0);
    // Outer frames hold return addresses: look up the call instruction.
    uint64_t look = depth == 0 ? pc : pc - 1;
    if (look < bias_) break;
    auto f = tab_->funcFor(look - bias_);
    if (!f) break;
    auto delta = tab_->spDelta(look - bias_);
    if (!delta || *delta < 0 || (*delta & 7)) break;
    uint64_t retAt = sp + uint64_t(*delta);
    out.cfas.back() = retAt + 8;
    if (f->name == "runtime.goexit" || f->name == "runtime.mstart" || f->name == "runtime.rt0_go" ||
        f->name == "runtime.mcall" || f->name == "runtime.morestack" ||
        f->name == "runtime.systemstack_switch")
      break;
    uint64_t ret = 0;
    try {
      mem.read(retAt, &ret, 8);
    } catch (const Error&) {
      break;  // an unreadable return address ends the unwind, as a 0 one does
    }
    if (ret == 0) break;
    uint64_t nsp = retAt + 8;
    if (nsp <= sp) break;  // stacks grow down: the caller's frame is above
    pc = ret;
    sp = nsp;
  }
}

// One physical frame: `look` is the pc to look up (pc-1 for a return address).
GoFrame StackUnwinder::frameAt(uint64_t look, uint64_t pc) const {
  GoFrame fr{pc, std::string(1, '?'), {}, 0};
  if (look >= bias_) {
    if (auto l = tab_->lineFor(look - bias_)) {
      fr.function = l->function;
      fr.file = l->file;
      fr.line = l->line;
    } else if (auto f = tab_->funcFor(look - bias_)) {
      fr.function = f->name;
    }
  }
  return fr;
}

std::vector<GoFrame> StackUnwinder::symbolize(const std::vector<uint64_t>& pcs) const {
  std::vector<GoFrame> out;
  for (size_t i = 0; i < pcs.size(); i++)
    out.push_back(frameAt(i == 0 ? pcs[i] : pcs[i] - 1, pcs[i]));
  return out;
}

std::vector<GoFrame> StackUnwinder::symbolizeInline(const std::vector<uint64_t>& pcs) const {
  std::vector<GoFrame> out;
  for (size_t i = 0; i < pcs.size(); i++) {
    uint64_t look = i == 0 ? pcs[i] : pcs[i] - 1;
    std::vector<PcLine> inl;
    if (look >= bias_) inl = tab_->framesFor(look - bias_);
    if (inl.empty()) {
      out.push_back(frameAt(look, pcs[i]));
      continue;
    }
    for (auto& l : inl) {
      GoFrame fr;
      fr.pc = pcs[i];
      fr.function = std::move(l.function);
      fr.file = std::move(l.file);
      fr.line = l.line;
      out.push_back(std::move(fr));
    }
  }
  return out;
}

}  // namespace gms
