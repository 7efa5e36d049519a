#include "support/json_compare.h"

#include <algorithm>

namespace gms::test {

namespace {
bool isEntryArray(const nlohmann::json& j) {
  if (!j.is_array() || j.empty()) return false;
  for (const auto& e : j)
    if (!e.is_object() || e.size() != 2 || !e.contains("key") || !e.contains("value")) return false;
  return true;
}
}  // namespace

nlohmann::json canonical(const nlohmann::json& j) {
  if (j.is_number()) return nlohmann::json(j.get<double>());
  if (j.is_object()) {
    nlohmann::json o = nlohmann::json::object();
    for (auto it = j.begin(); it != j.end(); ++it) o[it.key()] = canonical(it.value());
    return o;
  }
  if (j.is_array()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : j) a.push_back(canonical(e));
    if (isEntryArray(a)) {
      std::vector<nlohmann::json> v(a.begin(), a.end());
      std::sort(v.begin(), v.end(), [](const nlohmann::json& x, const nlohmann::json& y) {
        return x["key"].dump() < y["key"].dump();
      });
      a = nlohmann::json(v);
    }
    return a;
  }
  return j;
}

static std::string diffCanon(const nlohmann::json& g, const nlohmann::json& w, const std::string& path) {
  if (g.type() != w.type())
    return path + ": got " + g.dump().substr(0, 200) + ", want " + w.dump().substr(0, 200);
  if (g.is_object()) {
    for (auto it = w.begin(); it != w.end(); ++it) {
      if (!g.contains(it.key())) return path + "." + it.key() + ": missing";
      auto d = diffCanon(g[it.key()], it.value(), path + "." + it.key());
      if (!d.empty()) return d;
    }
    for (auto it = g.begin(); it != g.end(); ++it)
      if (!w.contains(it.key())) return path + "." + it.key() + ": unexpected";
    return "";
  }
  if (g.is_array()) {
    if (g.size() != w.size())
      return path + ": got " + std::to_string(g.size()) + " elements, want " + std::to_string(w.size());
    for (size_t i = 0; i < g.size(); i++) {
      auto d = diffCanon(g[i], w[i], path + "[" + std::to_string(i) + "]");
      if (!d.empty()) return d;
    }
    return "";
  }
  if (g.is_number()) {
    double a = g.get<double>(), b = w.get<double>();
    if (a == b || (std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b)))) return "";
    return path + ": got " + g.dump() + ", want " + w.dump();
  }
  if (g != w) return path + ": got " + g.dump().substr(0, 200) + ", want " + w.dump().substr(0, 200);
  return "";
}

std::string jsonDiff(const nlohmann::json& got, const nlohmann::json& want, const std::string& path) {
  return diffCanon(canonical(got), canonical(want), path);
}

}  // namespace gms::test
