#include "goruntime/goroutines.h"

#include "goruntime/layout.h"
#include "goruntime/runtime_globals.h"

namespace gms {

const char* goroutineStatusName(uint32_t s) {
  switch (s) {
    case 0: return "idle";
    case 1: return "runnable";
    case 2: return "running";
    case 3: return "syscall";
    case 4: return "waiting";
    case 6: return "dead";
    case 8: return "copystack";
    case 9: return "preempted";
    case 10: return "leaked";
    case 11: return "deadextra";
    default: return "unknown";
  }
}

std::vector<GoroutineInfo> goroutines(const Program& p) {
  // By name (DWARF, else the symbol table), else located (-s -w).
  uint64_t allgs = 0;
  if (p.hasDwarf()) {
    allgs = p.global("runtime.allgs").addr;
  } else if (auto s = p.binary().symbol("runtime.allgs")) {
    allgs = s->addr + p.loadBias();
  } else {
    allgs = locateAllgs(p, StaticData(p));
  }
  const Type* g = p.runtimeType("runtime.g");
  if (!g) fail(ErrorKind::MissingDebugInfo, "{} has no runtime.g", p.types().source());
  const Field& status = requireField(g, "atomicstatus");
  const Field& goid = requireField(g, "goid");
  uint64_t hdr[3];
  p.mem().read(allgs, hdr, sizeof hdr);
  if (hdr[1] > 10'000'000) fail(ErrorKind::Corrupt, "runtime.allgs has implausible length {}", hdr[1]);
  std::vector<uint64_t> ptrs(hdr[1]);
  if (!ptrs.empty()) p.mem().read(hdr[0], ptrs.data(), ptrs.size() * 8);
  std::vector<GoroutineInfo> out;
  out.reserve(ptrs.size());
  std::vector<uint8_t> buf(g->size);
  for (uint64_t a : ptrs) {
    GoroutineInfo gi;
    gi.addr = a;
    try {
      p.mem().read(a, buf.data(), buf.size());
      gi.status = static_cast<uint32_t>(fieldValue(buf.data(), status)) & ~0x1000u;
      gi.goid = static_cast<int64_t>(fieldValue(buf.data(), goid));
    } catch (const Fault&) {
      gi.status = 0xffff;
    }
    out.push_back(gi);
  }
  return out;
}

}  // namespace gms
