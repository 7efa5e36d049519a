#include "binary/type_names.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include "common/error.h"

namespace gms {

namespace {

// Characters of an identifier or of a qualified name with its import path
// ("github.com/a-b/c.T"); everything else is punctuation of the type syntax.
bool pathChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || c == '.' || c == '/' || c == '-' || c == '~' || u >= 0x80;
}

// Calls tok(token) for every maximal run of pathChars and punct(c) for every
// other character except blanks, in order; blank() where a blank separated
// two tokens.
template <typename Tok, typename Punct, typename Blank>
void scan(std::string_view s, Tok tok, Punct punct, Blank blank) {
  bool lastWasToken = false, sawBlank = false;
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == ' ' || c == '\t') {
      sawBlank = true;
      i++;
      continue;
    }
    if (pathChar(c) && c != '-') {  // "golang-lru" is one word; "<-" of chan<- is none
      size_t j = i;
      while (j < s.size() && pathChar(s[j])) j++;
      if (lastWasToken && sawBlank) blank();
      tok(s.substr(i, j - i));
      lastWasToken = true;
      i = j;
    } else {
      punct(c);
      lastWasToken = false;
      i++;
    }
    sawBlank = false;
  }
}

// A qualified token cut to its package's last path element.
std::string_view shortToken(std::string_view t) {
  size_t dot = t.rfind('.');
  size_t slash = t.rfind('/', dot == std::string_view::npos ? t.size() : dot);
  return slash == std::string_view::npos ? t : t.substr(slash + 1);
}

// A token without its package qualifier: "store.Session" -> "Session".
std::string_view bareToken(std::string_view t) {
  std::string_view s = shortToken(t);
  size_t dot = s.find('.');
  return dot == std::string_view::npos ? s : s.substr(dot + 1);
}

enum class Form { Canonical, Short, Bare, Named };

using PackageNames = std::vector<std::pair<std::string, std::string>>;

// A qualified token with its import path replaced by the package's name
// (Go's %T spelling); the last path element when the name is not known.
std::string namedToken(std::string_view t, const PackageNames& names) {
  size_t dot = t.rfind('.');
  if (dot == std::string_view::npos) return std::string(t);
  std::string_view path = t.substr(0, dot);
  for (const auto& [p, n] : names)
    if (p == path) return n + std::string(t.substr(dot));
  return std::string(shortToken(t));
}

std::string rewrite(std::string_view name, Form form, const PackageNames& names = {}) {
  std::string out;
  out.reserve(name.size());
  scan(
      name,
      [&](std::string_view t) {
        if (t == "any") {
          out += "interface{}";
          return;
        }
        if (form == Form::Named) {
          out += namedToken(t, names);
          return;
        }
        if (form == Form::Short) t = shortToken(t);
        if (form == Form::Bare) t = bareToken(t);
        out += t;
      },
      [&](char c) { out.push_back(c); }, [&] { out.push_back(' '); });
  return out;
}

std::string listed(const std::vector<std::string_view>& names, size_t max) {
  std::vector<std::string_view> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (size_t i = 0; i < sorted.size() && i < max; i++) {
    if (i) out += ", ";
    out += sorted[i];
  }
  if (sorted.size() > max) out += fmt::format(" and {} more", sorted.size() - max);
  return out;
}

}  // namespace

std::string canonicalTypeName(std::string_view name) { return rewrite(name, Form::Canonical); }

std::string shortTypeName(std::string_view name) { return rewrite(name, Form::Short); }

bool sameTypeName(std::string_view a, std::string_view b) {
  if (a == b) return true;
  std::string ca = canonicalTypeName(a), cb = canonicalTypeName(b);
  if (ca == cb) return true;
  // One side may be the short spelling of the other; never two short ones.
  std::string sa = shortTypeName(ca), sb = shortTypeName(cb);
  return (sa == ca && sa == sb) || (sb == cb && sa == sb);
}

const Type* lookupType(const TypeProvider& types, std::string_view spelling,
                       const PackageNames& packageNames) {
  if (const Type* t = types.findType(spelling)) return t;
  std::string canon = canonicalTypeName(spelling);
  if (canon.empty()) fail(ErrorKind::Usage, "an empty type name");
  std::vector<std::string_view> names = types.typeNames();
  std::vector<std::string_view> same, shortMatch, bareMatch;
  std::string bare = rewrite(canon, Form::Bare);
  for (std::string_view n : names) {
    std::string c = canonicalTypeName(n);
    if (c == canon) {
      same.push_back(n);
      continue;
    }
    std::string s = shortTypeName(c);
    if (s == canon || (!packageNames.empty() && rewrite(c, Form::Named, packageNames) == canon))
      shortMatch.push_back(n);
    else if (rewrite(c, Form::Bare) == bare)
      bareMatch.push_back(n);
  }
  if (!same.empty()) return types.findType(same.front());
  if (shortMatch.size() == 1) return types.findType(shortMatch.front());
  if (shortMatch.size() > 1)
    fail(ErrorKind::NotFound,
         "type '{}' is ambiguous: {} types match ({}); spell out the import path", spelling,
         shortMatch.size(), listed(shortMatch, 6));
  // "*T" where the program never uses *T: the pointer is made from T.
  if (canon.starts_with('*')) {
    const Type* elem = nullptr;
    try {
      elem = lookupType(types, std::string_view(canon).substr(1), packageNames);
    } catch (const Error&) {
      elem = nullptr;  // no T either: the errors below name what does exist
    }
    if (elem)
      if (const Type* t = types.findType("*" + elem->name)) return t;
  }
  if (!bareMatch.empty())
    fail(ErrorKind::NotFound, "no type '{}' in the program; did you mean {}?", spelling,
         listed(bareMatch, 6));
  fail(ErrorKind::NotFound,
       "no type '{}' in the program (`gomemscope types REGEX` lists the types it has)", spelling);
}

std::vector<std::string> matchingTypeNames(const TypeProvider& types, const std::string& pattern) {
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    fail(ErrorKind::Usage, "'{}' is not a valid regular expression: {}", pattern, e.what());
  }
  std::vector<std::string> out;
  for (std::string_view n : types.typeNames())
    if (pattern.empty() || std::regex_search(n.begin(), n.end(), re)) out.emplace_back(n);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace gms
