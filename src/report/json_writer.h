// JsonWriter: a streaming JSON emitter (no document tree), fast enough to
// write millions of map entries. Strings are escaped; invalid UTF-8 bytes
// (Go strings may hold any bytes) become U+FFFD.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "report/out.h"

namespace gms {

class JsonWriter {
 public:
  explicit JsonWriter(Out& out) : out_(out) {}
  void beginObject() { sep(); out_.put('{'); push(); }
  void endObject() { pop(); out_.put('}'); }
  void beginArray() { sep(); out_.put('['); push(); }
  void endArray() { pop(); out_.put(']'); }
  void key(std::string_view k) { sep(); str(k); out_.put(':'); afterKey_ = true; }
  void null() { sep(); out_.write("null"); }
  void boolean(bool b) { sep(); out_.write(b ? "true" : "false"); }
  void integer(int64_t v);
  void uinteger(uint64_t v);
  void number(double v, bool is32 = false);
  void string(std::string_view s) { sep(); str(s); }
  // For values formatted in place in the Out's buffer: whether the next
  // value needs a ',' before it; then valueWritten() once it is there.
  bool pendingComma() const { return !afterKey_ && !first_.empty() && !first_.back(); }
  void valueWritten() {
    afterKey_ = false;
    if (!first_.empty()) first_.back() = 0;
    out_.maybeFlush();
  }
  void hex(uint64_t v);  // "0x..." as a JSON string
  // Convenience: key + value.
  template <typename T>
  void field(std::string_view k, T v);
  // key: ["s1", "s2", ...]
  template <typename Strings>
  void stringArray(std::string_view k, const Strings& items) {
    key(k);
    beginArray();
    for (const auto& i : items) string(i);
    endArray();
  }
  void newline() { out_.put('\n'); out_.maybeFlush(); }
  // Continues an array whose '[' another writer wrote: the next value is its
  // first element when `empty`, else it gets a ',' first. Lets several writers
  // render consecutive stretches of one array (EntryPipeline).
  void resumeArray(bool empty) {
    first_.assign(1, empty ? 1 : 0);
    afterKey_ = false;
  }

 private:
  void sep() {
    if (afterKey_) { afterKey_ = false; return; }
    if (!first_.empty()) {
      if (!first_.back()) out_.put(',');
      first_.back() = 0;
    }
  }
  void push() { first_.push_back(1); }
  void pop() { if (!first_.empty()) first_.pop_back(); }
  void str(std::string_view s);

  Out& out_;
  std::vector<uint8_t> first_;  // per open container: nothing written yet
  bool afterKey_ = false;
};

template <typename T>
void JsonWriter::field(std::string_view k, T v) {
  key(k);
  if constexpr (std::is_same_v<T, bool>) boolean(v);
  else if constexpr (std::is_floating_point_v<T>) number(v);
  else if constexpr (std::is_signed_v<T> && std::is_integral_v<T>) integer(v);
  else if constexpr (std::is_integral_v<T>) uinteger(v);
  else string(std::string_view(v));
}

}  // namespace gms
