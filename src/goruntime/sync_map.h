// sync.Map decoder: both implementations, chosen by which fields the
// sync.Map type has (never by the version string).
//
// Read/dirty (sync/map.go, Go <= 1.23, and 1.24/1.25 built with
// GOEXPERIMENT=nosynchashtriemap, gone in 1.26): Map{mu; read; dirty map[any]*entry;
// misses}. `read` holds a readOnly{m map[any]*entry; amended bool}: in an
// atomic.Value (Go <= 1.19: an eface whose data word points at a boxed
// readOnly) or an atomic.Pointer[readOnly] (Go >= 1.20). entry.p (an
// unsafe.Pointer, or atomic.Pointer[any] from 1.20) points at the value's
// `any`; nil means deleted, and the global sync.expunged (a `new(any)`)
// means deleted and absent from dirty. read.m and dirty share their *entry
// pointers, so an entry counts once wherever it is. What is listed is what
// Range visits: the live entries of dirty when read.amended, else of read.m.
//
// Hash-trie (internal/sync/hashtriemap.go, Go >= 1.24): Map{_ noCopy;
// m HashTrieMap[any, any]}, a 16-way trie of indirect nodes over the key's
// 64-bit hash whose leaves are entry nodes chained through `overflow` (full
// hash collisions). Range visits every entry of every chain from the root.
//
// Layouts come from the types (DWARF, or the type descriptors of a stripped
// binary); generic instances are reached structurally (an
// atomic.Pointer[T]'s `_ [0]*T` field names T) rather than by spelling their
// names. Target memory is never trusted: walks are bounded and
// cycle-checked, and what cannot be read or breaks an invariant becomes a
// problem while the rest is still listed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "goruntime/program.h"

namespace gms {

struct SyncMapSummary {
  enum class Impl { ReadDirty, HashTrie };
  uint64_t addr = 0;  // the sync.Map's address
  Impl impl = Impl::ReadDirty;
  uint64_t len = 0;  // entries Range would visit (onEntry's calls, had it not stopped)
  // The type of the `any`s onEntry gives the addresses of (interface {}),
  // for rendering them; nullptr when the types do not say.
  const Type* anyType = nullptr;

  // ReadDirty
  bool amended = false;           // read.amended: dirty holds keys read.m lacks
  bool dirtyNil = true;           // no dirty map
  uint64_t readSlots = 0;         // entries of read.m (deleted and expunged ones included)
  uint64_t dirtySlots = 0;        // entries of dirty (deleted ones included)
  uint64_t misses = 0;            // loads that missed read.m since the last promotion
  uint64_t deleted = 0;           // distinct entries with p == nil
  uint64_t expunged = 0;          // distinct entries with p == expunged
  uint64_t expungedPtr = 0;       // sync.expunged's value; 0 when unknown
  bool expungedInferred = false;  // expungedPtr inferred (no symbol): see sync_map.cc

  // HashTrie
  bool uninitialised = false;    // the zero Map, never used (inited == 0, no root)
  uint64_t depth = 0;            // levels of indirect nodes (the root is 1; at most 16)
  uint64_t indirectNodes = 0;    // indirect nodes, the root included
  uint64_t entryNodes = 0;       // entry nodes, overflow entries included
  uint64_t overflowEntries = 0;  // entries reached through `overflow` (hash collisions)

  uint64_t footprint = 0;  // bytes the structure owns, size-class rounded (see sync_map.cc)
  bool torn = false;       // a store was in progress (a lock held, a half-done initialisation)
  std::vector<std::string> problems;
  // The check of the Map's own fields that failed (unreadable; read not a
  // readOnly; an impossible inited flag or root): nothing past it was
  // decoded. "" when the header passed.
  std::string invalidHeader;
};

const char* syncMapImplName(SyncMapSummary::Impl i);

// t is sync.Map: by its name and the fields of one of the two layouts.
bool isSyncMap(const Type* t);

// Walks the sync.Map at addr. onEntry(keyAddr, valueAddr) gets the addresses
// of the key's and the value's `any` (eface) in target memory, in no
// particular order; it returns false to stop receiving entries (the walk
// still completes its summary). Never throws for problems inside the map;
// throws Error(MissingDebugInfo) only when the types lack a field the decoder
// needs.
SyncMapSummary walkSyncMap(
    const Program& p, const Type* syncMapType, uint64_t addr,
    const std::function<bool(uint64_t keyAddr, uint64_t valueAddr)>& onEntry);

}  // namespace gms
