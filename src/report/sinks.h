// The two ValueSinks: JSON (numbers as numbers, structs as objects, maps as
// [{"key","value"}], pointers transparent, interfaces as {"type","value"}) and
// Go-like text ({Name: "x", Age: 3}, map[k: v], &{...}, main.T{...}, int(5)).
// README.md ("JSON output") documents the JSON shape.
#pragma once

#include <vector>

#include "goruntime/value_sink.h"
#include "report/json_writer.h"
#include "report/out.h"

namespace gms {

class JsonValueSink : public ValueSink {
 public:
  explicit JsonValueSink(JsonWriter& w) : w_(w) {}
  void nil() override { w_.null(); }
  void boolean(bool v) override { w_.boolean(v); }
  void integer(int64_t v) override { w_.integer(v); }
  void uinteger(uint64_t v) override { w_.uinteger(v); }
  void floating(double v, bool is32) override { w_.number(v, is32); }
  void complex(double re, double im, bool is32) override;
  void string(std::string_view s, uint64_t) override { w_.string(s); }
  void address(std::string_view what, uint64_t addr) override;
  void beginStruct(const Type*) override { w_.beginObject(); }
  void field(std::string_view name) override { w_.key(name); }
  void endStruct() override { w_.endObject(); }
  void beginArray(uint64_t) override { w_.beginArray(); }
  void endArray(uint64_t) override { w_.endArray(); }
  void beginMap(uint64_t) override { w_.beginArray(); }
  void entryKey() override { w_.beginObject(); w_.key("key"); }
  void entryValue() override { w_.key("value"); }
  void endEntry() override { w_.endObject(); }
  void endMap(uint64_t) override { w_.endArray(); }
  void beginPointer(uint64_t) override {}
  void endPointer() override {}
  void beginInterface(std::string_view t) override;
  void endInterface() override { w_.endObject(); }
  void unreadable(uint64_t addr, std::string_view why) override;

 private:
  JsonWriter& w_;
};

class TextValueSink : public ValueSink {
 public:
  explicit TextValueSink(Out& out) : o_(out) {}
  void nil() override { pre(); o_.write("nil"); post(); }
  void boolean(bool v) override { pre(); o_.write(v ? "true" : "false"); post(); }
  void integer(int64_t v) override { pre(); o_.print("{}", v); post(); }
  void uinteger(uint64_t v) override { pre(); o_.print("{}", v); post(); }
  void floating(double v, bool is32) override;
  void complex(double re, double im, bool is32) override;
  void string(std::string_view s, uint64_t fullLen) override;
  void address(std::string_view what, uint64_t addr) override;
  void beginStruct(const Type*) override;
  void field(std::string_view name) override;
  void endStruct() override;
  void beginArray(uint64_t len) override;
  void endArray(uint64_t omitted) override;
  void beginMap(uint64_t len) override;
  void entryKey() override;
  void entryValue() override;
  void endEntry() override {}
  void endMap(uint64_t omitted) override;
  void beginPointer(uint64_t) override { pre(); o_.put('&'); suppressSep_ = true; }
  void endPointer() override { post(); }
  void beginInterface(std::string_view t) override;
  void endInterface() override;
  void unreadable(uint64_t addr, std::string_view why) override;

 private:
  // Separators between elements of the innermost container.
  void pre();
  void post() {}
  Out& o_;
  struct Level { bool first = true; };
  std::vector<Level> levels_;
  std::vector<int> ifaceParens_;  // per open interface: 1 when "(" was written
  bool pendingIface_ = false;
  bool suppressSep_ = false;
};

// Go-syntax quoting of a string (like strconv.Quote), into out.
void quoteGo(Out& out, std::string_view s);

}  // namespace gms
