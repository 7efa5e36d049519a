// Out: buffered output. Streams to a FILE in 1 MiB writes, or holds
// everything in memory until flush() — used while a live target is frozen, so
// that a slow terminal or pipe never keeps the target stopped.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <string_view>

namespace gms {

class Out {
 public:
  explicit Out(std::FILE* f) : f_(f) {}
  ~Out() { flush(); }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;

  void hold(bool h) {
    hold_ = h;
    if (!h) maybeFlush();
  }
  void put(char c) {
    buf_.push_back(c);
  }
  void write(std::string_view s) {
    buf_.append(s.data(), s.data() + s.size());
    maybeFlush();
  }
  template <typename... Args>
  void print(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(buf_), f, std::forward<Args>(args)...);
    maybeFlush();
  }
  // A large piece (a rendered chunk of entries): written straight to the
  // FILE when nothing is held, rather than copied into the buffer first.
  void writeLarge(std::string_view s) {
    if (hold_ || !f_ || s.size() < (1u << 16)) {
      write(s);
      return;
    }
    if (buf_.size()) std::fwrite(buf_.data(), 1, buf_.size(), f_);
    buf_.clear();
    std::fwrite(s.data(), 1, s.size(), f_);
  }
  fmt::memory_buffer& buffer() { return buf_; }
  void maybeFlush() {
    if (!hold_ && buf_.size() >= (1u << 20)) flush();
  }
  void flush() {
    if (buf_.size() && f_) std::fwrite(buf_.data(), 1, buf_.size(), f_);
    buf_.clear();
    if (f_) std::fflush(f_);
  }

 private:
  std::FILE* f_;
  bool hold_ = false;
  fmt::memory_buffer buf_;
};

}  // namespace gms
