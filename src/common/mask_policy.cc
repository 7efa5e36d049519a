#include "common/mask_policy.h"

#include <array>
#include <cctype>
#include <cmath>

#include "common/error.h"

namespace gms {
namespace {

// The built-in checks are hand-written rather than std::regex: they run on
// every string of a million-entry map and must cost next to nothing.

bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=' ||
         c == '_' || c == '-';
}
bool isUrlB64(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

// Bearer\s+\S+ (case-insensitive "bearer").
bool bearer(std::string_view s) {
  for (size_t i = 0; i + 6 < s.size(); i++) {
    if (s[i] != 'b' && s[i] != 'B') continue;
    bool word = true;
    for (size_t k = 0; k < 6; k++)
      if (std::tolower(static_cast<unsigned char>(s[i + k])) != "bearer"[k]) {
        word = false;
        break;
      }
    if (!word) continue;
    size_t j = i + 6, ws = j;
    while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) j++;
    if (j > ws && j < s.size()) return true;
  }
  return false;
}

// -----BEGIN [A-Z ]*PRIVATE KEY-----
bool pemPrivateKey(std::string_view s) {
  constexpr std::string_view begin = "-----BEGIN ", tail = "PRIVATE KEY-----";
  for (size_t i = s.find(begin); i != std::string_view::npos; i = s.find(begin, i + 1)) {
    size_t j = i + begin.size();
    while (j < s.size() && (std::isupper(static_cast<unsigned char>(s[j])) || s[j] == ' ')) {
      if (s.substr(j, tail.size()) == tail) return true;
      j++;
    }
  }
  return false;
}

// AKIA[0-9A-Z]{16}
bool awsKeyId(std::string_view s) {
  for (size_t i = s.find("AKIA"); i != std::string_view::npos; i = s.find("AKIA", i + 1)) {
    if (i + 20 > s.size()) return false;
    bool ok = true;
    for (size_t k = i + 4; k < i + 20 && ok; k++)
      ok = std::isdigit(static_cast<unsigned char>(s[k])) ||
           std::isupper(static_cast<unsigned char>(s[k]));
    if (ok) return true;
  }
  return false;
}

// eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+
bool jwt(std::string_view s) {
  auto run = [&](size_t& j) {
    size_t start = j;
    while (j < s.size() && isUrlB64(s[j])) j++;
    return j - start;
  };
  auto dot = [&](size_t& j) { return j < s.size() && s[j] == '.' ? (j++, true) : false; };
  for (size_t i = s.find("eyJ"); i != std::string_view::npos; i = s.find("eyJ", i + 1)) {
    size_t j = i + 3;
    run(j);
    if (dot(j) && run(j) && dot(j) && run(j)) return true;
  }
  return false;
}

// A run of >= 32 token characters that is all hex with letters and digits,
// or mixes upper, lower and digits with >= 4 bits of entropy per character.
bool highEntropyToken(std::string_view run) {
  bool hex = true, upper = false, lower = false, digit = false;
  std::array<int, 256> count{};
  for (char c : run) {
    auto u = static_cast<unsigned char>(c);
    count[u]++;
    if (!std::isxdigit(u)) hex = false;
    upper |= std::isupper(u) != 0;
    lower |= std::islower(u) != 0;
    digit |= std::isdigit(u) != 0;
  }
  if (hex && digit && (upper || lower) && !(upper && lower)) return true;
  if (!(upper && lower && digit)) return false;
  double h = 0, n = double(run.size());
  for (int c : count)
    if (c) h -= c / n * std::log2(c / n);
  return h >= 4.0;
}

// "eyJ" anywhere, without a memchr call (most strings are a few bytes long).
bool hasEyJ(std::string_view s) {
  for (size_t i = 0; i + 2 < s.size(); i++)
    if (s[i] == 'e' && s[i + 1] == 'y' && s[i + 2] == 'J') return true;
  return false;
}

bool tokens(std::string_view s) {
  if (s.size() < 32) return false;
  for (size_t i = 0; i < s.size();) {
    if (!isTokenChar(s[i])) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < s.size() && isTokenChar(s[j])) j++;
    if (j - i >= 32) {
      std::string_view run = s.substr(i, j - i);
      if (highEntropyToken(run)) return true;
      // "key=<hex>": look at the parts between '=' (base64 padding aside).
      for (size_t a = 0; a < run.size();) {
        size_t b = run.find('=', a);
        if (b == std::string_view::npos) b = run.size();
        if (b - a >= 32 && b - a < run.size() && highEntropyToken(run.substr(a, b - a)))
          return true;
        a = b + 1;
      }
    }
    i = j;
  }
  return false;
}

}  // namespace

void MaskPolicy::addPattern(std::string_view regex) {
  auto flags = std::regex::ECMAScript | std::regex::optimize;
  if (regex.substr(0, 4) == "(?i)") {
    regex.remove_prefix(4);
    flags |= std::regex::icase;
  }
  try {
    user_.emplace_back(std::string(regex), flags);
  } catch (const std::regex_error& e) {
    fail(ErrorKind::Usage, "--secret-pattern '{}' is not a valid regular expression: {}", regex,
         e.what());
  }
}

bool MaskPolicy::userMatch(std::string_view s) const {
  for (const auto& r : user_)
    if (std::regex_search(s.begin(), s.end(), r)) return true;
  return false;
}

bool MaskPolicy::secretName(std::string_view name) const {
  // Case-insensitive substring search without allocating: this runs on every
  // key of a million-entry map, so only letters that start a word are tried.
  static constexpr std::string_view words[] = {
      "pass",        "secret",      "token", "apikey",     "api_key",   "api-key",    "privatekey",
      "private_key", "private-key", "auth",  "credential", "sessionid", "session_id", "session-id"};
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
  for (size_t i = 0; i < name.size(); i++) {
    char c = lower(name[i]);
    if (c != 'p' && c != 's' && c != 't' && c != 'a' && c != 'c') continue;
    for (auto w : words) {
      if (w[0] != c || w.size() > name.size() - i) continue;
      size_t k = 1;
      while (k < w.size() && lower(name[i + k]) == w[k]) k++;
      if (k == w.size()) return true;
    }
  }
  return !user_.empty() && userMatch(name);
}

bool MaskPolicy::secretValue(std::string_view s) const {
  if (!user_.empty() && userMatch(s)) return true;
  // One pass decides which built-in checks can match at all: most strings
  // (map keys, names, numbers) are short and trip none, and this runs on
  // every string of a million-entry map.
  if (s.size() < 7) return false;  // "eyJ.a.b" needs 7, "Bearer x" 8
  // Per byte, one table lookup and an OR: which first letters occur.
  enum : uint8_t { kB = 1, kA = 2, kDash = 4, kE = 8, kJ = 16 };
  static constexpr auto kClass = [] {
    std::array<uint8_t, 256> t{};
    t['b'] = t['B'] = kB;
    t['A'] = kA;
    t['-'] = kDash;
    t['e'] = kE;
    t['J'] = kJ;
    return t;
  }();
  uint8_t seen = 0;
  for (char c : s) seen |= kClass[static_cast<unsigned char>(c)];
  return ((seen & kB) && bearer(s)) || ((seen & kDash) && s.size() >= 27 && pemPrivateKey(s)) ||
         ((seen & kA) && s.size() >= 20 && awsKeyId(s)) ||
         ((seen & (kE | kJ)) == (kE | kJ) && hasEyJ(s) && jwt(s)) || tokens(s);
}

MaskPolicy::EntryMask MaskPolicy::entry(const std::string_view* key,
                                        const std::string_view* value) const {
  EntryMask m;
  if (reveal) return m;
  bool keyNamesSecret = false;
  if (key) {
    m.key = secretValue(*key);
    if (value) keyNamesSecret = secretName(*key);  // it only masks a string value
  }
  if (value) m.value = keyNamesSecret || secretValue(*value);
  return m;
}

std::string maskedText(uint64_t len) { return "<masked: " + std::to_string(len) + " bytes>"; }

MaskPolicy& activeMaskPolicy() {
  static MaskPolicy p;
  return p;
}

}  // namespace gms
