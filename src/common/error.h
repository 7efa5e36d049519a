// Errors are values with context. Every layer throws gms::Error (or a subclass
// carrying extra context such as the faulting address); the CLI edge turns one
// into a single "gomemscope: <message>" line and an exit code. Decoders that
// walk many entries catch per-entry errors and record them as problems, so one
// unreadable slot never aborts a listing.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace gms {

enum class ErrorKind {
  Fault,             // target memory not readable (unmapped, not saved in core)
  Os,                // a system call failed (errno in the message)
  MissingDebugInfo,  // binary lacks DWARF / symbols needed for the request
  Corrupt,           // bytes do not form a valid structure (file or target memory)
  Unsupported,       // valid but not handled (Go version, architecture, ...)
  NotFound,          // a named global/type/field does not exist
  Mismatch,          // core and binary do not belong together
  Usage,             // bad command line / expression
  Permission,        // not allowed (ptrace refused, already traced, ...)
  Internal,          // a bug in gomemscope itself (an invariant of its own broke)
};

const char* errorKindName(ErrorKind k);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string msg) : std::runtime_error(std::move(msg)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Target memory could not be read; addr is the first byte that failed.
class Fault : public Error {
 public:
  Fault(uint64_t addr, std::string why)
      : Error(ErrorKind::Fault, fmt::format("cannot read memory at {:#x}: {}", addr, why)),
        addr_(addr) {}
  uint64_t addr() const { return addr_; }

 private:
  uint64_t addr_;
};

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  throw Error(kind, fmt::format(f, std::forward<Args>(args)...));
}

// Throws ErrorKind::Os with strerror(errno) appended.
[[noreturn]] void failErrno(const std::string& what);

}  // namespace gms
