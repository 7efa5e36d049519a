// Built-in layouts of the runtime structs that a stripped binary describes
// nowhere: its type descriptors cover runtime.g, m, p, mcache and mspan
// (types the runtime allocates or converts to interfaces), but not the
// globals' types runtime.mstats, mheap or gcControllerState. These tables
// give, per Go release, the offset, size and type of each field the
// decoders read (only those: the structs are partial, with their full size),
// each citing the Go source it mirrors.
//
// The tables are checked, not trusted: tests/goruntime/builtin_layouts_test.cc
// builds fixtures with every installed toolchain and compares every table
// with what that release's DWARF says (struct sizes, field offsets, field
// sizes, array lengths). A binary of a release without a verified table gets
// the nearest one, and runtimeLayoutNote() says so on one line; the
// decoders then verify what they find by the runtime's own invariants (see
// goruntime/runtime_globals.h) and refuse what does not agree.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "binary/types.h"

namespace gms {

struct LayoutField {
  std::string_view name;
  uint64_t offset = 0;
  // "uint64", "int32", "float64", "uintptr", "unsafe.Pointer", "*T",
  // "[N]T", or the name of another struct of the same table.
  std::string_view type;
};

struct LayoutStruct {
  std::string_view name;  // as DWARF names it: "runtime.mstats"
  uint64_t size = 0;      // the whole struct's size
  std::vector<LayoutField> fields;
};

struct LayoutTable {
  std::string_view name;      // "go1.26"
  std::vector<int> verified;  // Go 1.x minors whose DWARF the drift test compared: {26, 27}
  std::string_view source;    // the Go sources mirrored
  std::vector<LayoutStruct> structs;
};

const std::vector<LayoutTable>& builtinLayoutTables();
// The table for Go 1.minor: the one verified for it, else the nearest.
const LayoutTable& builtinLayoutFor(int minor);

// The model types of one table, built once (owned here; pointers stable).
class BuiltinTypes {
 public:
  explicit BuiltinTypes(const LayoutTable& table);
  const Type* find(std::string_view name) const;
  const LayoutTable& table() const { return table_; }

 private:
  const Type* build(std::string_view spelling);
  const LayoutTable& table_;
  std::deque<Type> types_;
};

// "" when the table was verified for Go 1.minor; otherwise one line saying
// which release's table stands in.
std::string runtimeLayoutNote(int minor);

}  // namespace gms
