#include "goruntime/path.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

#include "common/error.h"

namespace gms {

namespace {

constexpr int kMaxKeyDepth = 4;
constexpr uint64_t kMaxKeyArray = 16;

void quoteInto(std::string& out, std::string_view s, bool truncated) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          out += fmt::format("\\x{:02x}", c);
        else
          out.push_back(char(c));
    }
  }
  if (truncated) out += "…";
  out.push_back('"');
}

double asDouble(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

uint64_t doubleBits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

// Shortest text that reads back as the same double, as Go's %v prints floats.
void floatInto(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, r.ptr);
}

// secret: the key sits inside a value stored under a secret name.
void keyInto(std::string& out, const PathKey& k, const MaskPolicy* policy, bool secret) {
  switch (k.kind) {
    case PathKey::Kind::Opaque:
      out += '*';
      return;
    case PathKey::Kind::String:
      if (policy && !policy->reveal && (secret || policy->secretValue(k.text))) {
        out += maskedText(k.len);
        return;
      }
      quoteInto(out, k.text, k.truncated);
      return;
    case PathKey::Kind::Int:
      out += std::to_string(static_cast<int64_t>(k.bits));
      return;
    case PathKey::Kind::Uint:
      out += std::to_string(k.bits);
      return;
    case PathKey::Kind::Float:
      floatInto(out, asDouble(k.bits));
      return;
    case PathKey::Kind::Bool:
      out += k.bits ? "true" : "false";
      return;
    case PathKey::Kind::Pointer:
      out += fmt::format("{:#x}", k.bits);
      return;
    case PathKey::Kind::Struct:
    case PathKey::Kind::Array: {
      bool st = k.kind == PathKey::Kind::Struct;
      out += st ? '{' : '[';
      for (size_t i = 0; i < k.parts.size(); i++) {
        if (i) out += ',';
        if (st) {
          out += k.parts[i].first;
          out += ':';
        }
        keyInto(out, k.parts[i].second, policy, secret);
      }
      out += st ? '}' : ']';
      return;
    }
  }
}

std::string render(const Path& p, const MaskPolicy* policy) {
  std::string s;
  bool secret = false;  // inside a value stored under a secret name
  for (const PathStep& g : p.steps) {
    switch (g.kind) {
      case PathStep::Kind::Global:
        s += g.name;
        break;
      case PathStep::Kind::Local:
        s += fmt::format("goroutine {} {}", g.index, g.frame);
        if (g.occurrence > 1) s += fmt::format("#{}", g.occurrence);
        s += ": ";
        s += g.name;
        break;
      case PathStep::Kind::Object:
        s += fmt::format("(*{})({:#x})", g.name, g.index);
        break;
      case PathStep::Kind::Field:
        s += '.';
        s += g.name;
        if (policy && policy->secretName(g.name)) secret = true;
        break;
      case PathStep::Kind::Index:
        s += fmt::format("[{}]", g.index);
        break;
      case PathStep::Kind::Assert:
        s += ".(";
        s += g.name;
        s += ')';
        break;
      case PathStep::Kind::MapValue:
        s += '[';
        keyInto(s, g.key, policy, secret);
        s += ']';
        if (policy && g.key.kind == PathKey::Kind::String && policy->secretName(g.key.text))
          secret = true;
        break;
      case PathStep::Kind::MapKey:
        s += '{';
        keyInto(s, g.key, policy, secret);
        s += '}';
        break;
    }
  }
  return s;
}

PathKey decodeKey(const Memory& m, uint64_t addr, const Type* t, uint64_t maxString, int depth) {
  PathKey k;
  if (!t || depth > kMaxKeyDepth) return k;
  using K = PathKey::Kind;
  switch (t->kind) {
    case Kind::String: {
      uint64_t hdr[2];
      m.read(addr, hdr, sizeof hdr);
      uint64_t n = std::min(hdr[1], maxString);
      k.kind = K::String;
      k.len = hdr[1];
      k.text = n ? m.readString(hdr[0], n) : std::string();
      k.truncated = hdr[1] > n;
      return k;
    }
    case Kind::Bool:
      k.kind = K::Bool;
      k.bits = m.readU8(addr) != 0;
      return k;
    case Kind::Int8:
      k.kind = K::Int;
      k.bits = uint64_t(int64_t(m.readT<int8_t>(addr)));
      return k;
    case Kind::Int16:
      k.kind = K::Int;
      k.bits = uint64_t(int64_t(m.readT<int16_t>(addr)));
      return k;
    case Kind::Int32:
      k.kind = K::Int;
      k.bits = uint64_t(int64_t(m.readT<int32_t>(addr)));
      return k;
    case Kind::Int:
    case Kind::Int64:
      k.kind = K::Int;
      k.bits = m.readT<uint64_t>(addr);
      return k;
    case Kind::Uint8:
      k.kind = K::Uint;
      k.bits = m.readT<uint8_t>(addr);
      return k;
    case Kind::Uint16:
      k.kind = K::Uint;
      k.bits = m.readT<uint16_t>(addr);
      return k;
    case Kind::Uint32:
      k.kind = K::Uint;
      k.bits = m.readT<uint32_t>(addr);
      return k;
    case Kind::Uint:
    case Kind::Uint64:
    case Kind::Uintptr:
      k.kind = K::Uint;
      k.bits = m.readT<uint64_t>(addr);
      return k;
    case Kind::Float32:
      k.kind = K::Float;
      k.bits = doubleBits(double(m.readT<float>(addr)));
      return k;
    case Kind::Float64:
      k.kind = K::Float;
      k.bits = m.readT<uint64_t>(addr);
      return k;
    case Kind::Pointer:
    case Kind::UnsafePointer:
    case Kind::Chan:
      k.kind = K::Pointer;
      k.bits = m.readPtr(addr);
      return k;
    case Kind::Struct:
      for (const auto& f : t->fields) {
        PathKey part = decodeKey(m, addr + f.offset, f.type, maxString, depth + 1);
        if (part.kind == K::Opaque) return PathKey{};
        k.parts.emplace_back(f.name, std::move(part));
      }
      k.kind = K::Struct;
      return k;
    case Kind::Array: {
      if (!t->elem || t->len > kMaxKeyArray) return k;
      for (uint64_t i = 0; i < t->len; i++) {
        PathKey part = decodeKey(m, addr + i * t->elem->size, t->elem, maxString, depth + 1);
        if (part.kind == K::Opaque) return PathKey{};
        k.parts.emplace_back("", std::move(part));
      }
      k.kind = K::Array;
      return k;
    }
    default:
      return k;  // interfaces, complex numbers: not written
  }
}

// ---- parsing ----

class KeyParser {
 public:
  explicit KeyParser(std::string_view s) : s_(s) {}

  PathKey parseAll() {
    PathKey k = value(0);
    skipSpace();
    if (i_ != s_.size()) bad("unexpected text after the key");
    return k;
  }

 private:
  [[noreturn]] void bad(std::string_view why) const {
    fail(ErrorKind::Usage, "map key [{}]: {} at offset {}", s_, why, i_);
  }
  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) i_++;
  }
  bool eat(char c) {
    skipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      i_++;
      return true;
    }
    return false;
  }

  PathKey value(int depth) {
    if (depth > kMaxKeyDepth) bad("key nested too deeply");
    skipSpace();
    if (i_ >= s_.size()) bad("missing value");
    char c = s_[i_];
    PathKey k;
    using K = PathKey::Kind;
    if (c == '"' || c == '`') return str();
    if (s_.substr(i_).starts_with("<masked:"))
      fail(ErrorKind::Usage,
           "the map key [{}] is masked (it looks like a secret); run the command that printed it "
           "with "
           "--reveal to see the key",
           s_);
    if (c == '*') {
      i_++;
      return k;
    }
    if (c == '{' || c == '[') {
      bool st = c == '{';
      i_++;
      k.kind = st ? K::Struct : K::Array;
      if (eat(st ? '}' : ']')) return k;
      for (;;) {
        std::string name;
        if (st) {
          skipSpace();
          size_t b = i_;
          while (i_ < s_.size() && s_[i_] != ':' && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ' ')
            i_++;
          name = std::string(s_.substr(b, i_ - b));
          if (name.empty() || !eat(':')) bad("expected Field:value in a struct key");
        }
        k.parts.emplace_back(std::move(name), value(depth + 1));
        if (eat(',')) continue;
        if (eat(st ? '}' : ']')) return k;
        bad(st ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
    // A bare word: true/false/nil, a number.
    size_t b = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && s_[i_] != ' ') i_++;
    std::string_view w = s_.substr(b, i_ - b);
    if (w == "true" || w == "false") {
      k.kind = K::Bool;
      k.bits = w == "true";
      return k;
    }
    if (w == "nil") {
      k.kind = K::Pointer;
      return k;
    }
    if (w == "NaN" || w == "+Inf" || w == "-Inf" || w == "Inf") {
      k.kind = K::Float;
      k.bits = doubleBits(w == "NaN" ? std::nan("") : w[0] == '-' ? -INFINITY : INFINITY);
      return k;
    }
    std::string_view digits = w;
    bool neg = !digits.empty() && digits[0] == '-';
    if (neg || (!digits.empty() && digits[0] == '+')) digits.remove_prefix(1);
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
      uint64_t v = 0;
      auto r = std::from_chars(digits.data() + 2, digits.data() + digits.size(), v, 16);
      if (r.ec != std::errc() || r.ptr != digits.data() + digits.size())
        bad("bad hexadecimal number");
      k.kind = neg ? K::Int : K::Pointer;
      k.bits = neg ? uint64_t(-int64_t(v)) : v;
      return k;
    }
    if (digits.find_first_of(".eE") != std::string_view::npos) {
      double d = 0;
      std::string t(w);
      auto r = std::from_chars(t.data() + (t[0] == '+'), t.data() + t.size(), d);
      if (r.ec != std::errc() || r.ptr != t.data() + t.size()) bad("bad number");
      k.kind = K::Float;
      k.bits = doubleBits(d);
      return k;
    }
    uint64_t v = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v, 10);
    if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size())
      bad(fmt::format("'{}' is not a key (strings are quoted: [\"{}\"])", w, w));
    k.kind = neg ? K::Int : K::Uint;
    k.bits = neg ? uint64_t(-int64_t(v)) : v;
    return k;
  }

  PathKey str() {
    PathKey k;
    k.kind = PathKey::Kind::String;
    char q = s_[i_++];
    std::string& out = k.text;
    static constexpr std::string_view kEllipsis = "…";
    for (;;) {
      if (i_ >= s_.size()) bad("unterminated string");
      char c = s_[i_];
      if (c == q) {
        i_++;
        break;
      }
      if (s_.substr(i_).starts_with(kEllipsis) && i_ + kEllipsis.size() < s_.size() &&
          s_[i_ + kEllipsis.size()] == q) {
        k.truncated = true;  // a key the path shows only in part
        i_ += kEllipsis.size() + 1;
        break;
      }
      i_++;
      if (c != '\\' || q == '`') {
        out.push_back(c);
        continue;
      }
      if (i_ >= s_.size()) bad("unterminated escape");
      char e = s_[i_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case '\'':
          out += '\'';
          break;
        case 'x':
          out += char(hex(2));
          break;
        case 'u':
          utf8(out, hex(4));
          break;
        case 'U':
          utf8(out, hex(8));
          break;
        default:
          if (e >= '0' && e <= '7') {
            unsigned v = unsigned(e - '0');
            for (int n = 0; n < 2; n++) {
              if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '7') bad("bad octal escape");
              v = v * 8 + unsigned(s_[i_++] - '0');
            }
            out += char(v & 0xff);
          } else {
            bad("unknown escape");
          }
      }
    }
    k.len = out.size();
    return k;
  }

  uint32_t hex(int n) {
    if (i_ + size_t(n) > s_.size()) bad("short hexadecimal escape");
    uint32_t v = 0;
    auto r = std::from_chars(s_.data() + i_, s_.data() + i_ + n, v, 16);
    if (r.ptr != s_.data() + i_ + n) bad("bad hexadecimal escape");
    i_ += size_t(n);
    return v;
  }

  static void utf8(std::string& out, uint32_t cp) {
    char b[4];
    int n = 0;
    if (cp < 0x80) {
      b[n++] = char(cp);
    } else if (cp < 0x800) {
      b[n++] = char(0xc0 | (cp >> 6));
      b[n++] = char(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      b[n++] = char(0xe0 | (cp >> 12));
      b[n++] = char(0x80 | ((cp >> 6) & 0x3f));
      b[n++] = char(0x80 | (cp & 0x3f));
    } else {
      b[n++] = char(0xf0 | (cp >> 18));
      b[n++] = char(0x80 | ((cp >> 12) & 0x3f));
      b[n++] = char(0x80 | ((cp >> 6) & 0x3f));
      b[n++] = char(0x80 | (cp & 0x3f));
    }
    out.append(b, size_t(n));
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Numbers compare by value whatever their kinds (a key typed 42 names an
// int, uint or float key of 42).
bool numeric(PathKey::Kind k) {
  return k == PathKey::Kind::Int || k == PathKey::Kind::Uint || k == PathKey::Kind::Float ||
         k == PathKey::Kind::Pointer;
}

bool sameNumber(const PathKey& a, const PathKey& b) {
  using K = PathKey::Kind;
  if (a.kind == K::Float || b.kind == K::Float) {
    auto val = [](const PathKey& k) {
      return k.kind == K::Float ? asDouble(k.bits)
             : k.kind == K::Int ? double(static_cast<int64_t>(k.bits))
                                : double(k.bits);
    };
    double x = val(a), y = val(b);
    return x == y || (std::isnan(x) && std::isnan(y));
  }
  bool an = a.kind == K::Int && static_cast<int64_t>(a.bits) < 0;
  bool bn = b.kind == K::Int && static_cast<int64_t>(b.bits) < 0;
  return an == bn && a.bits == b.bits;
}

}  // namespace

PathKey decodePathKey(const Memory& m, uint64_t addr, const Type* t, uint64_t maxString) {
  try {
    return decodeKey(m, addr, t, maxString, 0);
  } catch (const Error&) {
    return PathKey{};  // unreadable: written as *
  }
}

std::string renderPathKey(const PathKey& k) {
  std::string s;
  keyInto(s, k, nullptr, false);
  return s;
}

std::string Path::str() const { return render(*this, nullptr); }

std::string Path::display(const MaskPolicy& policy) const { return render(*this, &policy); }

std::vector<ExprStep> parseExprSteps(std::string_view e) {
  std::vector<ExprStep> out;
  size_t i = 0;
  auto bad = [&](std::string_view why) {
    fail(ErrorKind::Usage, "{} at offset {} of '{}'", why, i, e);
  };
  // The end of a bracketed part opened at `i` (at e[i] == open): quotes and
  // nested brackets inside are skipped.
  auto closing = [&](char open, char close) {
    int depth = 0;
    for (size_t j = i; j < e.size(); j++) {
      char c = e[j];
      if (c == '"' || c == '`') {
        for (j++; j < e.size() && e[j] != c; j++)
          if (c == '"' && e[j] == '\\') j++;
        if (j >= e.size()) break;
        continue;
      }
      if (c == '[' || c == '{' || c == '(') depth++;
      if (c == ']' || c == '}' || c == ')') {
        depth--;
        if (depth == 0) {
          if (c != close) break;
          return j;
        }
      }
    }
    bad(fmt::format("missing '{}' for this '{}'", close, open));
    return size_t(0);
  };
  while (i < e.size()) {
    ExprStep s;
    s.offset = i;
    if (e[i] == '.' && i + 1 < e.size() && e[i + 1] == '(') {
      i++;
      size_t end = closing('(', ')');
      s.kind = ExprStep::Kind::Assert;
      s.text = std::string(e.substr(i + 1, end - i - 1));
      if (s.text.empty()) bad("empty type assertion");
      i = end + 1;
    } else if (e[i] == '.') {
      size_t end = e.find_first_of(".[{(", i + 1);
      if (end == std::string_view::npos) end = e.size();
      s.kind = ExprStep::Kind::Field;
      s.text = std::string(e.substr(i + 1, end - i - 1));
      if (s.text.empty()) bad("empty field name");
      i = end;
    } else if (e[i] == '[' || e[i] == '{') {
      bool sq = e[i] == '[';
      size_t end = closing(e[i], sq ? ']' : '}');
      s.kind = sq ? ExprStep::Kind::Bracket : ExprStep::Kind::MapKey;
      s.text = std::string(e.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      bad(fmt::format("unexpected '{}'", e[i]));
    }
    out.push_back(std::move(s));
  }
  return out;
}

PathKey parsePathKey(std::string_view text) { return KeyParser(text).parseAll(); }

bool matchesKey(const PathKey& want, const PathKey& have) {
  using K = PathKey::Kind;
  if (want.kind == K::Opaque || have.kind == K::Opaque) return false;
  if (numeric(want.kind) && numeric(have.kind)) return sameNumber(want, have);
  if (want.kind != have.kind) return false;
  switch (want.kind) {
    case K::String:
      if (want.truncated) return have.text.starts_with(want.text);
      return !have.truncated && have.text == want.text;
    case K::Bool:
      return want.bits == have.bits;
    case K::Struct: {
      if (want.parts.size() != have.parts.size()) return false;
      for (const auto& [name, v] : want.parts) {
        bool ok = false;
        for (const auto& [hn, hv] : have.parts)
          if (hn == name) {
            ok = matchesKey(v, hv);
            break;
          }
        if (!ok) return false;
      }
      return true;
    }
    case K::Array:
      if (want.parts.size() != have.parts.size()) return false;
      for (size_t i = 0; i < want.parts.size(); i++)
        if (!matchesKey(want.parts[i].second, have.parts[i].second)) return false;
      return true;
    default:
      return false;
  }
}

std::optional<std::pair<ObjectRootRef, size_t>> parseObjectRoot(std::string_view e) {
  if (!e.starts_with("(*")) return std::nullopt;
  // The type runs to the ')' that closes the first '(' (types may hold
  // parentheses: func(int) string, struct { F func() }).
  int depth = 0;
  size_t close = std::string_view::npos;
  for (size_t i = 0; i < e.size() && close == std::string_view::npos; i++) {
    if (e[i] == '(')
      depth++;
    else if (e[i] == ')' && --depth == 0)
      close = i;
  }
  auto malformed = [&] {
    fail(ErrorKind::Usage,
         "'{}': a heap object path is '(*TYPE)(0xADDRESS)...', e.g. "
         "(*main.Server)(0xc000012000).cache",
         e);
  };
  if (close == std::string_view::npos || close == 2 || close + 1 >= e.size() || e[close + 1] != '(')
    malformed();
  size_t end = e.find(')', close + 2);
  if (end == std::string_view::npos) malformed();
  std::string_view num = e.substr(close + 2, end - close - 2);
  if (!num.starts_with("0x") || num.size() < 3 || num.size() > 18 ||
      !std::all_of(num.begin() + 2, num.end(),
                   [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
    malformed();
  ObjectRootRef r;
  r.type = std::string(e.substr(2, close - 2));
  r.addr = std::stoull(std::string(num.substr(2)), nullptr, 16);
  return std::pair{r, end + 1};
}

}  // namespace gms
