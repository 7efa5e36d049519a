#include "support/json_compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace gms::test {

namespace {
bool isEntryArray(const nlohmann::json& j) {
  if (!j.is_array() || j.empty()) return false;
  for (const auto& e : j)
    if (!e.is_object() || e.size() != 2 || !e.contains("key") || !e.contains("value")) return false;
  return true;
}
}  // namespace

namespace {

using Anchors = std::map<std::string, const nlohmann::json*>;

// Every object rendered with its "$address" (a struct reached through a
// pointer), so that later {"$ref": addr} can be compared as that object.
void collectAnchors(const nlohmann::json& j, Anchors& out) {
  if (j.is_object()) {
    if (auto a = j.find("$address"); a != j.end() && a->is_string()) out.emplace(*a, &j);
    for (const auto& v : j) collectAnchors(v, out);
  } else if (j.is_array()) {
    for (const auto& v : j) collectAnchors(v, out);
  }
}

nlohmann::json canon(const nlohmann::json& j, const Anchors& anchors, int refDepth) {
  if (j.is_number()) return nlohmann::json(j.get<double>());
  if (j.is_object()) {
    // A reference to an object rendered elsewhere in the output compares as
    // that object (references form no cycle: a pointer back into an object
    // being rendered is a $cycle).
    if (j.size() == 1 && j.contains("$ref") && refDepth < 64) {
      if (auto it = anchors.find(j["$ref"].get<std::string>()); it != anchors.end())
        return canon(*it->second, anchors, refDepth + 1);
    }
    nlohmann::json o = nlohmann::json::object();
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "$address") o[it.key()] = canon(it.value(), anchors, refDepth);
    return o;
  }
  if (j.is_array()) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& e : j) a.push_back(canon(e, anchors, refDepth));
    if (isEntryArray(a)) {
      // Sorted by each key's text, computed once per entry (a 10^5-entry
      // map would otherwise dump two keys per comparison).
      std::vector<std::pair<std::string, nlohmann::json*>> v;
      v.reserve(a.size());
      for (auto& e : a) v.emplace_back(e["key"].dump(), &e);
      std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
      nlohmann::json sorted = nlohmann::json::array();
      for (auto& [k, e] : v) sorted.push_back(std::move(*e));
      a = std::move(sorted);
    }
    return a;
  }
  return j;
}

}  // namespace

nlohmann::json canonical(const nlohmann::json& j) {
  Anchors anchors;
  collectAnchors(j, anchors);
  return canon(j, anchors, 0);
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

namespace {

// The text of a scalar as canonical() would compare it (numbers as doubles).
bool scalarText(const nlohmann::json& j, std::string& out) {
  if (j.is_number()) {
    out = fmt::format("{}", j.get<double>());
    return true;
  }
  if (j.is_string() || j.is_boolean() || j.is_null()) {
    out = j.dump();
    return true;
  }
  return false;
}

// Map entries with scalar keys and values, as sorted (key, value) texts;
// false when an entry is not of that shape.
bool scalarEntries(const nlohmann::json& j, std::vector<std::pair<std::string, std::string>>& out) {
  if (!isEntryArray(j)) return false;
  out.reserve(j.size());
  for (const auto& e : j) {
    auto& [k, v] = out.emplace_back();
    if (!scalarText(e["key"], k) || !scalarText(e["value"], v)) return false;
  }
  std::sort(out.begin(), out.end());
  return true;
}

}  // namespace

std::string jsonDiff(const nlohmann::json& got, const nlohmann::json& want, const std::string& path) {
  // Fast path for the common case of a large map of scalars that matches
  // exactly (canonical() copies every entry); anything else, or any
  // difference, goes the general way for its tolerance and its message.
  std::vector<std::pair<std::string, std::string>> g, w;
  if (scalarEntries(got, g) && scalarEntries(want, w) && g == w) return "";
  return diffCanon(canonical(got), canonical(want), path);
}

}  // namespace gms::test
