// Comparing gomemscope's JSON values with a fixture's ground truth: numbers
// compare by value (Go and we may print 2.0 as 2), and arrays that encode Go
// maps ([{"key","value"}...]) compare as sets.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace gms::test {

// A canonical form: numbers as doubles, map-entry arrays sorted by key,
// objects without their "$address" anchor, and {"$ref": addr} replaced by the
// object anchored at addr elsewhere in j (each object is rendered once).
nlohmann::json canonical(const nlohmann::json& j);
// Empty when equal, else a description of the first difference.
std::string jsonDiff(const nlohmann::json& got, const nlohmann::json& want, const std::string& path = "$");

}  // namespace gms::test
