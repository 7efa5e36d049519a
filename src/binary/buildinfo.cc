#include "binary/buildinfo.h"

#include <charconv>

namespace gms {
namespace {

constexpr size_t kHeaderSize = 32;
constexpr uint8_t kFlagBigEndian = 1;
constexpr uint8_t kFlagInline = 2;
// Longest string we accept from the pre-1.18 pointer format (a modinfo with
// hundreds of deps is a few tens of KiB).
constexpr uint64_t kMaxOldString = 16 << 20;

std::string readInlineString(ByteView b, uint64_t& off) {
  uint64_t n = b.uvarint(off);
  std::string s(b.str(off, n));
  off += n;
  return s;
}

std::string readStringHeader(const Memory& image, uint64_t addr) {
  uint64_t data = image.readPtr(addr);
  uint64_t len = image.readPtr(addr + 8);
  if (len > kMaxOldString) fail(ErrorKind::Corrupt, "Go build info string of {} bytes", len);
  return image.readString(data, len);
}

int parseInt(std::string_view& s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc()) return -1;
  s.remove_prefix(p - s.data());
  return v;
}

}  // namespace

GoBuildInfo parseBuildInfo(ByteView blob, const Memory& image) {
  if (blob.size() < kHeaderSize || blob.str(0, kBuildInfoMagic.size()) != kBuildInfoMagic)
    fail(ErrorKind::Corrupt, "Go build info header missing");
  uint8_t ptrSize = blob.u8(14), flags = blob.u8(15);
  if (flags & kFlagBigEndian) fail(ErrorKind::Unsupported, "big-endian Go build info");
  GoBuildInfo bi;
  std::string mod;
  if (flags & kFlagInline) {
    uint64_t off = kHeaderSize;
    bi.goVersion = readInlineString(blob, off);
    mod = readInlineString(blob, off);
  } else {
    if (ptrSize != 8) fail(ErrorKind::Unsupported, "Go build info with {}-byte pointers", ptrSize);
    bi.goVersion = readStringHeader(image, blob.u64(16));
    mod = readStringHeader(image, blob.u64(24));
  }
  if (bi.goVersion.empty()) fail(ErrorKind::Corrupt, "Go build info has an empty version");
  // cmd/go/internal/modload infoStart/infoEnd: 16 bytes each side.
  if (mod.size() >= 33 && mod[mod.size() - 17] == '\n')
    bi.modinfo = mod.substr(16, mod.size() - 32);
  parseGoVersion(bi.goVersion, bi);
  parseModinfo(bi.modinfo, bi);
  return bi;
}

void parseGoVersion(std::string_view v, GoBuildInfo& out) {
  out.major = out.minor = out.patch = 0;
  if (v.starts_with("devel ")) v.remove_prefix(6);
  if (!v.starts_with("go")) return;
  v.remove_prefix(2);
  int major = parseInt(v);
  if (major < 0 || !v.starts_with('.')) return;
  v.remove_prefix(1);
  int minor = parseInt(v);
  if (minor < 0) return;
  int patch = 0;
  if (v.starts_with('.')) {  // "go1.19.8"; "go1.21rc2" and "go1.20" have none
    v.remove_prefix(1);
    patch = std::max(parseInt(v), 0);
  }
  out.major = major;
  out.minor = minor;
  out.patch = patch;
}

void parseModinfo(std::string_view mod, GoBuildInfo& out) {
  while (!mod.empty()) {
    size_t nl = mod.find('\n');
    std::string_view line = mod.substr(0, nl);
    mod = nl == std::string_view::npos ? std::string_view() : mod.substr(nl + 1);
    if (line.starts_with("path\t")) {
      out.mainPath = line.substr(5);
    } else if (line.starts_with("build\t")) {
      std::string_view kv = line.substr(6);
      std::string key;
      std::string_view raw;
      if (kv.starts_with('"')) {  // quoted key: find its closing quote
        size_t i = 1;
        while (i < kv.size() && kv[i] != '"') i += kv[i] == '\\' ? 2 : 1;
        if (i >= kv.size() || i + 1 >= kv.size() || kv[i + 1] != '=') continue;
        auto k = goUnquote(kv.substr(0, i + 1));
        if (!k) continue;
        key = *k;
        raw = kv.substr(i + 2);
      } else {
        size_t eq = kv.find('=');
        if (eq == std::string_view::npos) continue;
        key = kv.substr(0, eq);
        raw = kv.substr(eq + 1);
      }
      std::string value(raw);
      if (raw.starts_with('"') || raw.starts_with('`'))
        if (auto u = goUnquote(raw)) value = *u;
      out.settings[key] = value;
    }
  }
}

std::optional<std::string> goUnquote(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  if (s.front() == '`') {
    if (s.back() != '`') return std::nullopt;
    return std::string(s.substr(1, s.size() - 2));
  }
  if (s.front() != '"' || s.back() != '"') return std::nullopt;
  s = s.substr(1, s.size() - 2);
  std::string out;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto appendUtf8 = [&out](uint32_t r) {
    if (r < 0x80) {
      out += char(r);
    } else if (r < 0x800) {
      out += char(0xc0 | (r >> 6));
      out += char(0x80 | (r & 0x3f));
    } else if (r < 0x10000) {
      out += char(0xe0 | (r >> 12));
      out += char(0x80 | ((r >> 6) & 0x3f));
      out += char(0x80 | (r & 0x3f));
    } else {
      out += char(0xf0 | (r >> 18));
      out += char(0x80 | ((r >> 12) & 0x3f));
      out += char(0x80 | ((r >> 6) & 0x3f));
      out += char(0x80 | (r & 0x3f));
    }
  };
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c == '"') return std::nullopt;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= s.size()) return std::nullopt;
    switch (char e = s[i]) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case '\'': out += '\''; break;
      case 'x': case 'u': case 'U': {
        size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (i + n >= s.size()) return std::nullopt;
        uint32_t v = 0;
        for (size_t k = 1; k <= n; k++) {
          int h = hex(s[i + k]);
          if (h < 0) return std::nullopt;
          v = v << 4 | uint32_t(h);
        }
        i += n;
        if (e == 'x') {
          out += char(v);
        } else {
          if (v > 0x10ffff) return std::nullopt;
          appendUtf8(v);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {  // three octal digits
          if (i + 2 >= s.size()) return std::nullopt;
          uint32_t v = 0;
          for (size_t k = 0; k < 3; k++) {
            char d = s[i + k];
            if (d < '0' || d > '7') return std::nullopt;
            v = v * 8 + uint32_t(d - '0');
          }
          if (v > 255) return std::nullopt;
          out += char(v);
          i += 2;
          break;
        }
        return std::nullopt;
    }
  }
  return out;
}

}  // namespace gms
