#include "analysis/rules.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "common/error.h"

namespace gms {

namespace {

// Errors name the file and the dotted key: "rules.yaml: gc_pressure.foo: ...".
class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void bad(const std::string& key, const std::string& msg) const {
    fail(ErrorKind::Usage, "{}: {}: {}", source_, key, msg);
  }

  std::string scalar(const YAML::Node& n, const std::string& key, const char* want) const {
    if (!n.IsScalar())
      bad(key, fmt::format("expected {}, not a {}", want,
                           n.IsMap()        ? "mapping"
                           : n.IsSequence() ? "list"
                                            : "null value"));
    return n.Scalar();
  }

  bool boolean(const YAML::Node& n, const std::string& key) const {
    std::string s = scalar(n, key, "true or false");
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    bad(key, fmt::format("'{}' is not true or false", s));
  }

  uint64_t count(const YAML::Node& n, const std::string& key, uint64_t min = 0) const {
    std::string s = scalar(n, key, "a whole number");
    uint64_t v = 0;
    size_t i = 0;
    bool ok = !s.empty() && std::isdigit(static_cast<unsigned char>(s[0]));
    if (ok) {
      try {
        v = std::stoull(s, &i);
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok || i != s.size()) bad(key, fmt::format("'{}' is not a whole number", s));
    if (v < min) bad(key, fmt::format("{} is below the minimum {}", v, min));
    return v;
  }

  double number(const YAML::Node& n, const std::string& key, double min, double max) const {
    std::string s = scalar(n, key, "a number");
    double v = 0;
    size_t i = 0;
    try {
      v = std::stod(s, &i);
    } catch (const std::exception&) {
      i = 0;
    }
    if (i == 0 || i != s.size() || !std::isfinite(v))
      bad(key, fmt::format("'{}' is not a number", s));
    if (v < min || v > max) bad(key, fmt::format("{} is outside {}..{}", s, min, max));
    return v;
  }

  uint64_t bytes(const YAML::Node& n, const std::string& key) const {
    std::string s = scalar(n, key, "a size in bytes (e.g. 64MiB)");
    try {
      return parseByteSize(s, key);
    } catch (const Error&) {
      bad(key, fmt::format("'{}' is not a size in bytes (e.g. 1048576, 64MiB, 2GB)", s));
    }
  }

  using Handler = std::function<void(const YAML::Node&, const std::string&)>;
  // Every key of a mapping must have a handler.
  void section(const YAML::Node& n, const std::string& prefix,
               const std::map<std::string, Handler>& keys) const {
    if (n.IsNull()) return;
    if (!n.IsMap()) bad(prefix.empty() ? "(top level)" : prefix, "expected a mapping of keys");
    for (const auto& kv : n) {
      std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      std::string full = prefix.empty() ? k : prefix + "." + k;
      auto h = keys.find(k);
      if (h == keys.end()) {
        std::string known;
        for (const auto& [name, _] : keys) known += (known.empty() ? "" : ", ") + name;
        bad(full, fmt::format("unknown key (known here: {})", known));
      }
      h->second(kv.second, full);
    }
  }

 private:
  std::string source_;
};

}  // namespace

uint64_t parseByteSize(std::string_view s, const std::string& what) {
  std::string str(s);
  size_t i = 0;
  double v = -1;
  if (!str.empty() && (std::isdigit(static_cast<unsigned char>(str[0])) || str[0] == '.')) {
    try {
      v = std::stod(str, &i);
    } catch (const std::exception&) {
      v = -1;
    }
  }
  std::string unit = str.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::map<std::string, double> units = {
      {"", 1},
      {"B", 1},
      {"KB", 1e3},
      {"MB", 1e6},
      {"GB", 1e9},
      {"TB", 1e12},
      {"KiB", 1024.0},
      {"MiB", 1048576.0},
      {"GiB", 1073741824.0},
      {"TiB", 1099511627776.0},
  };
  auto u = units.find(unit);
  if (v < 0 || !std::isfinite(v) || u == units.end() || v * u->second >= 1.8e19)
    fail(ErrorKind::Usage, "{}: '{}' is not a size in bytes (e.g. 1048576, 64MiB, 2GB)", what, str);
  return uint64_t(std::llround(v * u->second));
}

bool pathMatches(std::string_view path, std::string_view pattern) {
  // Iterative glob with backtracking to the last '*'.
  size_t p = 0, q = 0, star = std::string_view::npos, mark = 0;
  while (p < path.size()) {
    if (q < pattern.size() && pattern[q] == '*') {
      star = q++;
      mark = p;
    } else if (q < pattern.size() && pattern[q] == path[p]) {
      p++;
      q++;
    } else if (star != std::string_view::npos) {
      q = star + 1;
      p = ++mark;
    } else {
      return false;
    }
  }
  while (q < pattern.size() && pattern[q] == '*') q++;
  return q == pattern.size();
}

Rules parseRules(std::string_view yaml, const std::string& source) {
  Parser P(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    fail(ErrorKind::Usage, "{}: line {}: {}", source, e.mark.line + 1, e.msg);
  }
  Rules r;
  try {
    P.section(
        root, "",
        {
            {"rehash_storm",
             [&](const YAML::Node& n, const std::string& k) {
               auto& x = r.rehashStorm;
               P.section(
                   n, k,
                   {{"enabled", [&](auto& v, auto& kk) { x.enabled = P.boolean(v, kk); }},
                    {"min_growths", [&](auto& v, auto& kk) { x.minGrowths = P.count(v, kk, 1); }},
                    {"min_map_footprint",
                     [&](auto& v, auto& kk) { x.minMapFootprint = P.bytes(v, kk); }}});
             }},
            {"unbounded_map",
             [&](const YAML::Node& n, const std::string& k) {
               auto& x = r.unboundedMap;
               P.section(
                   n, k,
                   {{"enabled", [&](auto& v, auto& kk) { x.enabled = P.boolean(v, kk); }},
                    {"min_samples", [&](auto& v, auto& kk) { x.minSamples = P.count(v, kk, 2); }},
                    {"min_growth_pct",
                     [&](auto& v, auto& kk) { x.minGrowthPct = P.number(v, kk, 0, 1e9); }},
                    {"min_len", [&](auto& v, auto& kk) { x.minLen = P.count(v, kk); }}});
             }},
            {"gc_pressure",
             [&](const YAML::Node& n, const std::string& k) {
               auto& x = r.gcPressure;
               P.section(n, k,
                         {{"enabled", [&](auto& v, auto& kk) { x.enabled = P.boolean(v, kk); }},
                          {"max_gc_cpu_fraction",
                           [&](auto& v, auto& kk) { x.maxGcCpuFraction = P.number(v, kk, 0, 1); }},
                          {"max_gc_per_min",
                           [&](auto& v, auto& kk) { x.maxGcPerMin = P.number(v, kk, 0, 1e9); }}});
             }},
            {"heap_growth",
             [&](const YAML::Node& n, const std::string& k) {
               auto& x = r.heapGrowth;
               P.section(n, k,
                         {{"enabled", [&](auto& v, auto& kk) { x.enabled = P.boolean(v, kk); }},
                          {"min_gcs", [&](auto& v, auto& kk) { x.minGcs = P.count(v, kk, 4); }},
                          {"max_growth_pct",
                           [&](auto& v, auto& kk) { x.maxGrowthPct = P.number(v, kk, 0, 1e9); }},
                          {"min_growth_bytes",
                           [&](auto& v, auto& kk) { x.minGrowthBytes = P.bytes(v, kk); }}});
             }},
            {"limits",
             [&](const YAML::Node& n, const std::string& k) {
               auto& x = r.limits;
               P.section(
                   n, k,
                   {{"max_heap_alloc", [&](auto& v, auto& kk) { x.maxHeapAlloc = P.bytes(v, kk); }},
                    {"max_sys", [&](auto& v, auto& kk) { x.maxSys = P.bytes(v, kk); }},
                    {"max_map_len", [&](const YAML::Node& v, const std::string& kk) {
                       if (v.IsNull()) return;
                       if (!v.IsSequence())
                         P.bad(kk, "expected a list of {path: PATTERN, max_len: N}");
                       for (size_t i = 0; i < v.size(); i++) {
                         std::string ik = fmt::format("{}[{}]", kk, i);
                         MapLenLimit l;
                         bool havePath = false, haveLen = false;
                         P.section(v[i], ik,
                                   {{"path",
                                     [&](auto& pv, auto& pk) {
                                       l.path = P.scalar(pv, pk, "a map path pattern");
                                       if (l.path.empty()) P.bad(pk, "empty pattern");
                                       havePath = true;
                                     }},
                                    {"max_len", [&](auto& pv, auto& pk) {
                                       l.maxLen = P.count(pv, pk);
                                       haveLen = true;
                                     }}});
                         if (!havePath || !haveLen) P.bad(ik, "needs both path and max_len");
                         x.maxMapLen.push_back(std::move(l));
                       }
                     }}});
             }},
        });
  } catch (const YAML::Exception& e) {
    fail(ErrorKind::Usage, "{}: line {}: {}", source, e.mark.line + 1, e.msg);
  }
  return r;
}

Rules loadRules(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail(ErrorKind::Usage, "cannot read rules file {}", path);
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail(ErrorKind::Usage, "cannot read rules file {}", path);
  return parseRules(ss.str(), path);
}

}  // namespace gms
