#include "report/sinks.h"

#include <cmath>

namespace gms {

void JsonValueSink::complex(double re, double im, bool is32) {
  m_.scalar();
  w_.beginObject();
  w_.key("real");
  w_.number(re, is32);
  w_.key("imag");
  w_.number(im, is32);
  w_.endObject();
}

void JsonValueSink::string(std::string_view s, uint64_t fullLen) {
  if (m_.string(s, fullLen))
    w_.string(maskedText(fullLen));
  else
    w_.string(s);
}

void JsonValueSink::address(std::string_view what, uint64_t addr) {
  m_.scalar();
  if (what == "cycle" || what == "depth" || what == "ref") {
    // A pointer not followed: say why, keep the address.
    w_.beginObject();
    w_.key(what == "cycle" ? "$cycle" : what == "ref" ? "$ref" : "$notFollowed");
    w_.hex(addr);
    w_.endObject();
    return;
  }
  w_.hex(addr);
}

void JsonValueSink::beginInterface(std::string_view t) {
  m_.begin();
  w_.beginObject();
  w_.key("type");
  w_.string(t);
  w_.key("value");
}

void JsonValueSink::unreadable(uint64_t addr, std::string_view why) {
  m_.scalar();
  w_.beginObject();
  w_.key("$error");
  w_.string(why);
  w_.key("$address");
  w_.hex(addr);
  w_.endObject();
}

// ---- text ----

void quoteGo(Out& out, std::string_view s) {
  auto& b = out.buffer();
  b.push_back('"');
  for (size_t i = 0; i < s.size(); i++) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        b.append(std::string_view("\\\""));
        break;
      case '\\':
        b.append(std::string_view("\\\\"));
        break;
      case '\n':
        b.append(std::string_view("\\n"));
        break;
      case '\r':
        b.append(std::string_view("\\r"));
        break;
      case '\t':
        b.append(std::string_view("\\t"));
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          fmt::format_to(std::back_inserter(b), "\\x{:02x}", c);
        else
          b.push_back(static_cast<char>(c));
    }
  }
  b.push_back('"');
}

void TextValueSink::pre() {
  if (pendingIface_) {
    // An interface's value that is not a composite literal: T(value).
    pendingIface_ = false;
    o_.put('(');
    ifaceParens_.back() = 1;
    return;
  }
  if (suppressSep_) {
    suppressSep_ = false;
    return;
  }
  if (!levels_.empty()) {
    if (!levels_.back().first) o_.write(", ");
    levels_.back().first = false;
  }
}

static void goFloat(Out& o, double v, bool is32) {
  if (std::isnan(v))
    o.write("NaN");
  else if (std::isinf(v))
    o.write(v > 0 ? "+Inf" : "-Inf");
  else if (is32)
    o.print("{}", static_cast<float>(v));
  else
    o.print("{}", v);
}

void TextValueSink::floating(double v, bool is32) {
  m_.scalar();
  pre();
  goFloat(o_, v, is32);
}

void TextValueSink::complex(double re, double im, bool is32) {
  m_.scalar();
  pre();
  o_.put('(');
  goFloat(o_, re, is32);
  if (im >= 0 || std::isnan(im)) o_.put('+');
  goFloat(o_, im, is32);
  o_.write("i)");
}

void TextValueSink::string(std::string_view s, uint64_t fullLen) {
  pre();
  if (m_.string(s, fullLen)) {
    o_.write(maskedText(fullLen));  // unquoted: never mistaken for the string itself
    return;
  }
  quoteGo(o_, s);
  if (fullLen > s.size()) o_.print("...(+{} bytes)", fullLen - s.size());
}

void TextValueSink::address(std::string_view what, uint64_t addr) {
  m_.scalar();
  pre();
  if (what == "cycle")
    o_.print("<cycle {:#x}>", addr);
  else if (what == "ref")
    o_.print("&(see {:#x})", addr);
  else if (what == "depth")
    o_.print("{:#x}", addr);
  else if (what == "unsafe.Pointer")
    o_.print("unsafe.Pointer({:#x})", addr);
  else if (what == "link")
    o_.print("{:#x}", addr);
  else
    o_.print("{} {:#x}", what, addr);
}

void TextValueSink::beginStruct(const Type*) {
  m_.begin();
  if (pendingIface_) {
    pendingIface_ = false;  // T{...}: no parentheses
  } else {
    pre();
  }
  o_.put('{');
  levels_.push_back({});
}

void TextValueSink::field(std::string_view name) {
  m_.field(name);
  if (!levels_.back().first) o_.write(", ");
  levels_.back().first = false;
  o_.print("{}: ", name);
  suppressSep_ = true;
}

void TextValueSink::endStruct() {
  m_.end();
  levels_.pop_back();
  o_.put('}');
}

void TextValueSink::beginArray(uint64_t) {
  m_.begin();
  pre();
  o_.put('[');
  levels_.push_back({});
}

void TextValueSink::endArray(uint64_t omitted) {
  m_.end();
  if (omitted) o_.print("{}...+{} more", levels_.back().first ? "" : ", ", omitted);
  levels_.pop_back();
  o_.put(']');
}

void TextValueSink::beginMap(uint64_t) {
  m_.begin();
  pre();
  o_.write("map[");
  levels_.push_back({});
}

void TextValueSink::entryKey() {
  m_.entryKey();
  if (!levels_.back().first) o_.write(", ");
  levels_.back().first = false;
  suppressSep_ = true;
}

void TextValueSink::entryValue() {
  m_.entryValue();
  o_.write(": ");
  suppressSep_ = true;
}

void TextValueSink::endMap(uint64_t omitted) {
  m_.end();
  if (omitted) o_.print("{}...+{} more", levels_.back().first ? "" : ", ", omitted);
  levels_.pop_back();
  o_.put(']');
}

void TextValueSink::beginInterface(std::string_view t) {
  m_.begin();
  pre();
  o_.write(t);
  ifaceParens_.push_back(0);
  pendingIface_ = true;
}

void TextValueSink::endInterface() {
  m_.end();
  pendingIface_ = false;
  if (ifaceParens_.back()) o_.put(')');
  ifaceParens_.pop_back();
}

void TextValueSink::unreadable(uint64_t addr, std::string_view why) {
  m_.scalar();
  pre();
  o_.print("<unreadable at {:#x}: {}>", addr, why);
}

}  // namespace gms
