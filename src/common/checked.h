// Checked arithmetic and bounded reads for untrusted sizes, counts and offsets.
// Everything that comes from a file or from target memory goes through these.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#include "common/error.h"

namespace gms {

inline uint64_t checkedAdd(uint64_t a, uint64_t b, const char* what) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail(ErrorKind::Corrupt, "{}: {} + {} overflows", what, a, b);
  return r;
}

inline uint64_t checkedMul(uint64_t a, uint64_t b, const char* what) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail(ErrorKind::Corrupt, "{}: {} * {} overflows", what, a, b);
  return r;
}

// A read-only view of bytes (a file or a buffer copied out of the target).
// All accessors are bounds-checked and throw ErrorKind::Corrupt.
class ByteView {
 public:
  ByteView() = default;
  ByteView(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  explicit ByteView(std::span<const uint8_t> s) : data_(s.data()), size_(s.size()) {}

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  ByteView sub(uint64_t off, uint64_t len) const {
    if (off > size_ || len > size_ - off)
      fail(ErrorKind::Corrupt, "range [{:#x}, +{:#x}) outside {:#x} bytes", off, len, size_);
    return ByteView(data_ + off, len);
  }
  ByteView from(uint64_t off) const {
    if (off > size_) fail(ErrorKind::Corrupt, "offset {:#x} outside {:#x} bytes", off, size_);
    return ByteView(data_ + off, size_ - off);
  }
  template <typename T>
  T get(uint64_t off) const {
    T v;
    std::memcpy(&v, sub(off, sizeof(T)).data_, sizeof(T));
    return v;
  }
  uint8_t u8(uint64_t off) const { return get<uint8_t>(off); }
  uint16_t u16(uint64_t off) const { return get<uint16_t>(off); }
  uint32_t u32(uint64_t off) const { return get<uint32_t>(off); }
  uint64_t u64(uint64_t off) const { return get<uint64_t>(off); }
  std::string_view str(uint64_t off, uint64_t len) const {
    ByteView b = sub(off, len);
    return std::string_view(reinterpret_cast<const char*>(b.data_), len);
  }
  // Reads a little-endian base-128 varint; advances off.
  uint64_t uvarint(uint64_t& off) const {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b = u8(off++);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(ErrorKind::Corrupt, "varint longer than 10 bytes");
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace gms
