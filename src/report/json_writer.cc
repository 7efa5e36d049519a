#include "report/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace gms {

void JsonWriter::integer(int64_t v) {
  sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.write(std::string_view(buf, size_t(r.ptr - buf)));
}

void JsonWriter::uinteger(uint64_t v) {
  sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.write(std::string_view(buf, size_t(r.ptr - buf)));
}

void JsonWriter::number(double v, bool is32) {
  sep();
  if (std::isnan(v)) { out_.write("\"NaN\""); return; }
  if (std::isinf(v)) { out_.write(v > 0 ? "\"+Inf\"" : "\"-Inf\""); return; }
  if (is32) out_.print("{}", static_cast<float>(v));
  else out_.print("{}", v);
}

void JsonWriter::hex(uint64_t v) {
  sep();
  out_.print("\"{:#x}\"", v);
}

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
static size_t utf8Len(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
  else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
  else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

void JsonWriter::str(std::string_view s) {
  auto& b = out_.buffer();
  // Common case first: nothing to escape, one copy.
  size_t plain = 0;
  while (plain < s.size()) {
    auto c = static_cast<unsigned char>(s[plain]);
    if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
    plain++;
  }
  if (plain == s.size()) {
    size_t at = b.size();
    b.try_resize(at + s.size() + 2);
    if (b.size() == at + s.size() + 2) {
      char* d = b.data() + at;
      d[0] = '"';
      if (!s.empty()) std::memcpy(d + 1, s.data(), s.size());
      d[s.size() + 1] = '"';
      out_.maybeFlush();
      return;
    }
    b.try_resize(at);
  }
  b.push_back('"');
  b.append(s.data(), s.data() + plain);  // the plain prefix is known already
  size_t i = plain;
  while (i < s.size()) {
    // Fast path: a run of plain printable ASCII.
    size_t j = i;
    while (j < s.size()) {
      auto c = static_cast<unsigned char>(s[j]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      j++;
    }
    b.append(s.data() + i, s.data() + j);
    i = j;
    if (i >= s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': b.append(std::string_view("\\\"")); i++; continue;
      case '\\': b.append(std::string_view("\\\\")); i++; continue;
      case '\n': b.append(std::string_view("\\n")); i++; continue;
      case '\r': b.append(std::string_view("\\r")); i++; continue;
      case '\t': b.append(std::string_view("\\t")); i++; continue;
      default: break;
    }
    if (c < 0x20) {
      fmt::format_to(std::back_inserter(b), "\\u{:04x}", c);
      i++;
      continue;
    }
    size_t n = utf8Len(s, i);
    if (n == 0) {
      b.append(std::string_view("\\ufffd"));
      i++;
    } else {
      b.append(s.data() + i, s.data() + i + n);
      i += n;
    }
  }
  b.push_back('"');
  out_.maybeFlush();
}

}  // namespace gms
