// The two ValueSinks: JSON (numbers as numbers, structs as objects, maps as
// [{"key","value"}], pointers transparent, interfaces as {"type","value"}) and
// Go-like text ({Name: "x", Age: 3}, map[k: v], &{...}, main.T{...}, int(5)).
// README.md ("JSON output") documents the JSON shape.
//
// Both mask secrets (report/masking.h): each keeps a Masker fed with the value
// stream, and a string it flags is written as <masked: N bytes>.
#pragma once

#include <vector>

#include "goruntime/value_sink.h"
#include "report/json_writer.h"
#include "report/masking.h"
#include "report/out.h"

namespace gms {

class JsonValueSink : public ValueSink {
 public:
  explicit JsonValueSink(JsonWriter& w) : w_(w) {}
  void nil() override {
    m_.scalar();
    w_.null();
  }
  void boolean(bool v) override {
    m_.scalar();
    w_.boolean(v);
  }
  void integer(int64_t v) override {
    m_.scalar();
    w_.integer(v);
  }
  void uinteger(uint64_t v) override {
    m_.scalar();
    w_.uinteger(v);
  }
  void floating(double v, bool is32) override {
    m_.scalar();
    w_.number(v, is32);
  }
  void complex(double re, double im, bool is32) override;
  void string(std::string_view s, uint64_t fullLen) override;
  void address(std::string_view what, uint64_t addr) override;
  void beginStruct(const Type*) override {
    m_.begin();
    w_.beginObject();
  }
  void anchor(uint64_t addr) override {
    w_.key("$address");
    w_.hex(addr);
  }
  void field(std::string_view name) override {
    m_.field(name);
    w_.key(name);
  }
  void endStruct() override {
    m_.end();
    w_.endObject();
  }
  void beginArray(uint64_t) override {
    m_.begin();
    w_.beginArray();
  }
  void endArray(uint64_t) override {
    m_.end();
    w_.endArray();
  }
  void beginMap(uint64_t) override {
    m_.begin();
    w_.beginArray();
  }
  void entryKey() override {
    m_.entryKey();
    w_.beginObject();
    w_.key("key");
  }
  void entryValue() override {
    m_.entryValue();
    w_.key("value");
  }
  void endEntry() override { w_.endObject(); }
  void endMap(uint64_t) override {
    m_.end();
    w_.endArray();
  }
  void beginPointer(uint64_t) override { m_.begin(); }
  void endPointer() override { m_.end(); }
  void beginInterface(std::string_view t) override;
  void endInterface() override {
    m_.end();
    w_.endObject();
  }
  void unreadable(uint64_t addr, std::string_view why) override;

 private:
  JsonWriter& w_;
  Masker m_;
};

class TextValueSink : public ValueSink {
 public:
  explicit TextValueSink(Out& out) : o_(out) {}
  void nil() override {
    m_.scalar();
    pre();
    o_.write("nil");
    post();
  }
  void boolean(bool v) override {
    m_.scalar();
    pre();
    o_.write(v ? "true" : "false");
    post();
  }
  void integer(int64_t v) override {
    m_.scalar();
    pre();
    o_.print("{}", v);
    post();
  }
  void uinteger(uint64_t v) override {
    m_.scalar();
    pre();
    o_.print("{}", v);
    post();
  }
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
  void beginPointer(uint64_t) override {
    m_.begin();
    pre();
    o_.put('&');
    suppressSep_ = true;
  }
  void endPointer() override {
    m_.end();
    post();
  }
  void beginInterface(std::string_view t) override;
  void endInterface() override;
  void unreadable(uint64_t addr, std::string_view why) override;

  // Top-level map entries written by the caller as `key: value` lines (not
  // through entryKey/entryValue): say which is which, for masking by key name.
  void topLevelKey() { m_.entryKey(); }
  void topLevelValue() { m_.entryValue(); }

 private:
  // Separators between elements of the innermost container.
  void pre();
  void post() {}
  Out& o_;
  struct Level {
    bool first = true;
  };
  std::vector<Level> levels_;
  std::vector<int> ifaceParens_;  // per open interface: 1 when "(" was written
  bool pendingIface_ = false;
  bool suppressSep_ = false;
  Masker m_;
};

// Go-syntax quoting of a string (like strconv.Quote), into out.
void quoteGo(Out& out, std::string_view s);

}  // namespace gms
