// Secret masking policy: which strings are secrets (pure, no state about a
// value stream). Lives below every layer that prints target strings: the
// value sinks of report/ (through Masker, report/masking.h) and the paths of
// goruntime/path.h both apply it, so a secret-looking map key is masked in
// `top` as in `map`.
//
// A string is a secret when
//  - its content looks like one (MaskPolicy::secretValue): a bearer header, a
//    PEM private key, an AWS access key id, a JWT, or a long high-entropy
//    hex/base64 token; or
//  - the name it is stored under looks like one (MaskPolicy::secretName): a
//    struct field (Token, Password, APIKey...) or the string key of a map entry
//    ("password" -> value) — then every string inside that value is masked.
// --secret-pattern REGEX adds patterns matched against both names and contents.
// The policy in force is process-wide (activeMaskPolicy), safe by default,
// set once by the CLI. docs/secrets.md lists the defaults.
#pragma once

#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace gms {

class MaskPolicy {
 public:
  // The defaults: masking on, the built-in name and value checks.
  MaskPolicy() = default;

  bool reveal = false;  // --reveal: mask nothing
  // Adds a user pattern (ECMAScript regex; a leading "(?i)" makes it
  // case-insensitive), matched anywhere in names and string contents.
  // Throws Error(Usage) for an invalid regex.
  void addPattern(std::string_view regex);

  // Names (struct fields, map keys) that say their value is a secret:
  // pass(word)?, secret, token, api[_-]?key, private[_-]?key, auth, credential,
  // session[_-]?id — case-insensitive, anywhere in the name.
  bool secretName(std::string_view name) const;
  // Contents that are secrets whatever they are called.
  bool secretValue(std::string_view s) const;

  // A map entry's string key and value (nullptr: not a string), as the
  // sinks' Masker decides them one by one: the key is masked when its
  // content looks secret; the value when its content does or its key names
  // a secret. Nothing is masked with reveal.
  struct EntryMask {
    bool key = false, value = false;
  };
  EntryMask entry(const std::string_view* key, const std::string_view* value) const;

 private:
  bool userMatch(std::string_view s) const;
  std::vector<std::regex> user_;
};

// "<masked: 23 bytes>"
std::string maskedText(uint64_t len);

// The policy the sinks apply. Starts as the defaults (masking on).
MaskPolicy& activeMaskPolicy();

}  // namespace gms
