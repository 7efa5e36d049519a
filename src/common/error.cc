#include "common/error.h"

#include <cerrno>
#include <cstring>

namespace gms {

const char* errorKindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::Fault: return "fault";
    case ErrorKind::Os: return "os";
    case ErrorKind::MissingDebugInfo: return "missing-debug-info";
    case ErrorKind::Corrupt: return "corrupt";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::NotFound: return "not-found";
    case ErrorKind::Mismatch: return "mismatch";
    case ErrorKind::Usage: return "usage";
    case ErrorKind::Permission: return "permission";
    case ErrorKind::Internal: return "internal";
  }
  return "error";
}

void failErrno(const std::string& what) {
  int e = errno;
  ErrorKind k = (e == EPERM || e == EACCES) ? ErrorKind::Permission : ErrorKind::Os;
  throw Error(k, fmt::format("{}: {}", what, std::strerror(e)));
}

}  // namespace gms
