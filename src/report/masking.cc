#include "report/masking.h"

namespace gms {

void Masker::field(std::string_view name) {
  nextIsKey_ = false;
  nextSecret_ = !p_.reveal && p_.secretName(name);
}

void Masker::entryKey() {
  nextIsKey_ = true;
  nextSecret_ = false;
  lastKeySecret_ = false;
}

void Masker::entryValue() {
  nextIsKey_ = false;
  nextSecret_ = lastKeySecret_;
}

void Masker::begin() {
  if (nextSecret_ && secretDepth_ < 0) secretDepth_ = depth_;
  depth_++;
  nextSecret_ = false;
  nextIsKey_ = false;
}

void Masker::end() {
  if (depth_ > 0) depth_--;
  if (depth_ == secretDepth_) secretDepth_ = -1;
}

void Masker::leafDone() {
  nextSecret_ = false;
  nextIsKey_ = false;
}

void Masker::scalar() { leafDone(); }

bool Masker::string(std::string_view s, uint64_t) {
  if (p_.reveal) {
    leafDone();
    return false;
  }
  bool secret = nextSecret_ || secretDepth_ >= 0;
  if (nextIsKey_) lastKeySecret_ = p_.secretName(s);
  if (!secret) secret = p_.secretValue(s);
  leafDone();
  return secret;
}

}  // namespace gms
