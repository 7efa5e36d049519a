// Secret masking: strings that look like secrets are shown as
// "<masked: N bytes>" (length kept, content dropped) in every rendered value,
// unless the user asks for them with --reveal.
//
// A string is a secret when
//  - its content looks like one (MaskPolicy::secretValue): a bearer header, a
//    PEM private key, an AWS access key id, a JWT, or a long high-entropy
//    hex/base64 token; or
//  - the name it is stored under looks like one (MaskPolicy::secretName): a
//    struct field (Token, Password, APIKey...) or the string key of a map entry
//    ("password" -> value) — then every string inside that value is masked.
// --secret-pattern REGEX adds patterns matched against both names and contents.
//
// The policy is pure (masking_test.cc); Masker follows one sink's stream of
// values to know which name the current string sits under. Sinks (sinks.h)
// apply it, so every command and output format gets it. The policy in force is
// process-wide (activeMaskPolicy), safe by default, set once by the CLI.
// docs/secrets.md lists the defaults.
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

 private:
  bool userMatch(std::string_view s) const;
  std::vector<std::regex> user_;
};

// "<masked: 23 bytes>"
std::string maskedText(uint64_t len);

// The policy the sinks apply. Starts as the defaults (masking on).
MaskPolicy& activeMaskPolicy();

// Tracks where one sink is in the value stream, to answer "is this string
// under a secret name?". Call the hooks in stream order.
class Masker {
 public:
  explicit Masker(const MaskPolicy& p = activeMaskPolicy()) : p_(p) {}
  void field(std::string_view name);  // the next value is this field
  void entryKey();                    // the next value is a map key
  void entryValue();                  // the next value is the last key's value
  void begin();                       // a container opens (struct, array, map, pointer, interface)
  void end();                         // ... and closes
  void scalar();                      // a non-string leaf value
  // A string leaf; true when it must be shown masked.
  bool string(std::string_view s, uint64_t fullLen);

 private:
  void leafDone();
  const MaskPolicy& p_;
  int depth_ = 0;
  int secretDepth_ = -1;        // strings are masked while depth_ > secretDepth_ (>= 0)
  bool nextSecret_ = false;     // the next value sits under a secret name
  bool nextIsKey_ = false;      // the next value is a map key
  bool lastKeySecret_ = false;  // the last string map key was a secret name
};

}  // namespace gms
