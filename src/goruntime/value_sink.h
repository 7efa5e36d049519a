// ValueSink: where decoded Go values go. Decoders push values into a sink as
// they read them (no intermediate tree, so a 10^7-entry map streams); the
// report layer implements sinks for text and JSON. A sink never reads memory.
#pragma once

#include <cstdint>
#include <string_view>

namespace gms {

struct Type;

class ValueSink {
 public:
  virtual ~ValueSink() = default;
  virtual void nil() = 0;
  virtual void boolean(bool v) = 0;
  virtual void integer(int64_t v) = 0;
  virtual void uinteger(uint64_t v) = 0;
  virtual void floating(double v, bool is32) = 0;
  virtual void complex(double re, double im, bool is32) = 0;
  // s is the (possibly truncated) content; fullLen is the string's real length.
  virtual void string(std::string_view s, uint64_t fullLen) = 0;
  // A value shown as an address: chan, func, unsafe.Pointer ("chan", "func",
  // "unsafe.Pointer"), or a pointer not followed ("depth", "cycle", or "ref":
  // to an object already rendered in this output, anchored there).
  virtual void address(std::string_view what, uint64_t addr) = 0;

  virtual void beginStruct(const Type* t) = 0;
  // Right after beginStruct of a struct reached through a pointer: its
  // address, which later references ("ref") to it name.
  virtual void anchor(uint64_t /*addr*/) {}
  virtual void field(std::string_view name) = 0;  // the next value is this field
  virtual void endStruct() = 0;

  // Arrays and slices; omitted = elements not shown because of a limit.
  virtual void beginArray(uint64_t len) = 0;
  virtual void endArray(uint64_t omitted) = 0;

  // Maps: beginMap, then per entry: entryKey, <key value>, entryValue, <value>, endEntry.
  virtual void beginMap(uint64_t len) = 0;
  virtual void entryKey() = 0;
  virtual void entryValue() = 0;
  virtual void endEntry() = 0;
  virtual void endMap(uint64_t omitted) = 0;

  // A followed pointer; the pointee's value comes next.
  virtual void beginPointer(uint64_t addr) = 0;
  virtual void endPointer() = 0;

  // A non-nil interface: its dynamic type name, then its value.
  virtual void beginInterface(std::string_view dynamicType) = 0;
  virtual void endInterface() = 0;

  // This value could not be read (fault, corrupt); the listing goes on.
  virtual void unreadable(uint64_t addr, std::string_view why) = 0;
};

}  // namespace gms
