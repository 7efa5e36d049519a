// Secret masking: strings that look like secrets are shown as
// "<masked: N bytes>" (length kept, content dropped) in every rendered value,
// unless the user asks for them with --reveal.
//
// Which strings are secrets is the MaskPolicy's call (common/mask_policy.h).
//
// Masker follows one sink's stream of values to know which name the current
// string sits under. Sinks (sinks.h) apply it, so every command and output
// format gets it. docs/secrets.md lists the defaults.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/mask_policy.h"

namespace gms {

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
