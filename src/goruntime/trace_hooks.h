// Where the tracers hook into a Go program (trace growth/writers/removed and
// watch, docs/trace.md and docs/watch.md): which runtime function, which
// argument registers, which fields, and what the words read there mean. Pure
// reads of a Program and of memory: the tracers (goruntime/tracers.h) decide
// with them, and tests drive them over FakeMemory.
//
// Go's internal register ABI on amd64 (cmd/compile/abi-internal.md): integer
// arguments in RAX, RBX, RCX, RDI, RSI, R8..R11 in order, the receiver first;
// R14 holds the current g. A breakpoint at a function's entry sees them as
// the call left them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "goruntime/expr.h"
#include "goruntime/program.h"

namespace gms {

// A stopped thread's registers, as far as the hooks and the unwinder read them.
struct TrapRegs {
  uint64_t rip = 0, rsp = 0;
  uint64_t rax = 0, rbx = 0, rcx = 0, rdi = 0;  // ABIInternal arguments 1-4
  uint64_t r14 = 0;                             // the current g
  uint64_t fsBase = 0;                          // TLS (g on g0/cgo threads)
};

// --- trace growth --------------------------------------------------------------

// The runtime functions that start a map's growth:
//   runtime.hashGrow(t *maptype, h *hmap)                        Go <= 1.23 (runtime/map.go)
//   internal/runtime/maps.(*table).grow(typ, m *Map, newCap uint16)  Go >= 1.24 (table.go)
//   internal/runtime/maps.(*table).split(typ, m *Map)
//   internal/runtime/maps.(*Map).growToTable(typ)                (map.go: small map -> table)
enum class GrowFn : uint8_t { HashGrow = 0, TableGrow = 1, TableSplit = 2, GrowToTable = 3 };
constexpr int kGrowFns = 4;
const char* growFnName(GrowFn fn);  // "hashGrow", "table.grow", "table.split", "growToTable"

struct GrowthHooks {
  bool classic = true;
  std::array<uint64_t, kGrowFns> entry{};  // by GrowFn, load-biased; 0 = absent
  // classic runtime.hmap
  uint64_t countOff = 0, bOff = 0, oldbucketsOff = 0;
  // Swiss internal/runtime/maps.Map and .table
  uint64_t usedOff = 0, globalDepthOff = 0, dirLenOff = 0;
  uint64_t tableCapOff = 0, tableDepthOff = 0;
};
// The entry points from the symbols (or, stripped, the pclntab) and the
// header offsets from the program's types. Error(Unsupported) when neither
// hashGrow nor all three Swiss functions are there.
GrowthHooks growthHooks(const Program& p);

// One growth, as its function's entry shows it.
struct GrowthArgs {
  uint64_t map = 0;                // the map header (hmap / maps.Map)
  uint64_t typeDesc = 0;           // the map type's descriptor
  uint64_t before = 0, after = 0;  // classic: B; Swiss: capacity (a small map: 8 -> 16)
  uint64_t len = 0;                // entries when it grows
  bool sameSize = false;           // classic: too many overflow buckets, not too many entries
  bool dirDoubles = false;         // split: the table's depth is the directory's, so it doubles
  uint64_t dirLen = 0;             // split: the directory's length before
  // The call itself (function and arguments): the prologue may call
  // morestack and run the entry again, and the same identity is the same growth.
  std::array<uint64_t, 4> identity{};
  bool complete = true;  // false: the header was unreadable (0 for what could not be read)
};
GrowthArgs readGrowthArgs(const GrowthHooks& g, GrowFn fn, const TrapRegs& r, const Memory& mem);

// runtime.overLoadFactor(count, B): count > bucketCnt && count > loadFactor * 2^B
// (loadFactorNum/loadFactorDen = 13/2, runtime/map.go).
bool overLoadFactor(uint64_t count, uint64_t B);

// A classic growth has ended when h.oldbuckets is nil again (the last
// evacuation cleared it), or when the map can no longer be read (freed).
bool classicGrowthEnded(const GrowthHooks& g, uint64_t map, const Memory& mem);

// --- trace writers -------------------------------------------------------------

// The byte a map writer sets while it writes: hmap.flags & hashWriting (4,
// runtime/map.go; mapassign/mapdelete/mapclear xor it in and out) or
// maps.Map.writing (Go >= 1.24, `m.writing ^= 1`).
struct WriterFlag {
  uint64_t header = 0;  // the map header
  uint64_t addr = 0;    // the flag byte
  uint64_t bit = 0;     // the writing bit in it
};
WriterFlag writerFlagOf(const Program& p, const MapRef& m);
// runtime.mapiterinit (Go <= 1.23) ors the iterator bits into the same byte
// atomically, from readers: not a write of the map.
bool isIteratorInit(const std::string& function);

// --- trace removed -------------------------------------------------------------

// A container/list.List and the Element fields a removal shows in
// (container/list/list.go: remove() sets e.next = e.prev = e.list = nil and
// l.len--; every use of e.Value reads its type word).
struct RemovedHooks {
  uint64_t list = 0;  // the List
  uint64_t root = 0;  // &list.root: the walk's end
  uint64_t lenOff = 0, rootNextOff = 0;
  uint64_t nextOff = 0, listOff = 0, valueOff = 0;
};
// l is a container/list.List or *list.List (Error(Usage) otherwise, or for a
// nil pointer); the List is checked against its invariants first.
RemovedHooks removedHooks(const Program& p, const Located& l);
// The elements reachable from the root, at most `limit` (truncated then, or
// on a cycle). An unreadable link ends the walk: what was seen is returned.
std::vector<uint64_t> listElements(const RemovedHooks& h, const Memory& mem, size_t limit,
                                   bool& truncated);
// e.list == nil (an unreadable element is not judged removed).
bool elementDetached(const RemovedHooks& h, uint64_t elem, const Memory& mem);

// --- watch ---------------------------------------------------------------------

// One word a hardware watchpoint follows.
struct WatchField {
  std::string name;  // "main.M.count"
  uint64_t addr = 0;
  uint8_t len = 8;       // 1, 2, 4 or 8
  bool pointer = false;  // pointer-shaped: shown in hex
};
// The words to watch for an expression: a map's header fields (len, B,
// buckets, oldbuckets / used, dirPtr, dirLen by default), a list's len and
// root.next, a Go <= 1.23 sync.Map's dirty and misses, named fields of a
// struct (`sel`, dotted paths), or the word itself.
std::vector<WatchField> watchFields(const Program& p, const Located& l,
                                    std::vector<std::string> sel);

}  // namespace gms
