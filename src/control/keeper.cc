#include "control/keeper.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.h"

namespace gms {

Keeper::Keeper(const std::function<int(int, int)>& body) {
  int out[2], ctl[2];
  if (pipe2(out, O_CLOEXEC) != 0) failErrno("pipe");
  if (pipe2(ctl, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    errno = e;
    failErrno("pipe");
  }
  fflush(nullptr);  // nothing buffered is written twice
  pid_ = fork();
  if (pid_ < 0) {
    int e = errno;
    for (int fd : {out[0], out[1], ctl[0], ctl[1]}) close(fd);
    errno = e;
    failErrno("fork");
  }
  if (pid_ == 0) {
    close(out[0]);
    close(ctl[1]);
    setsid();
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU})
      sigaction(s, &ign, nullptr);
    int rc = 3;
    try {
      rc = body(out[1], ctl[0]);
    } catch (...) {
      rc = 3;
    }
    _exit(rc);
  }
  close(out[1]);
  close(ctl[0]);
  outFd_ = out[0];
  ctlFd_ = ctl[1];
}

Keeper::~Keeper() {
  stop();
  wait();
  if (outFd_ >= 0) close(outFd_);
}

void Keeper::stop() {
  if (ctlFd_ >= 0) {
    close(ctlFd_);
    ctlFd_ = -1;
  }
}

int Keeper::wait() {
  if (status_ >= 0 || pid_ <= 0) return status_;
  int st = 0;
  while (waitpid(pid_, &st, 0) < 0) {
    if (errno != EINTR) return status_ = 3;
  }
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return status_;
}

bool Keeper::stopRequested(int ctlFd) {
  pollfd p{ctlFd, POLLIN, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

bool writeAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= size_t(n);
  }
  return true;
}

int readAll(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, p + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return got == 0 ? 0 : -1;
    got += size_t(n);
  }
  return 1;
}

namespace {
struct FrameHeader {
  uint32_t kind;
  uint32_t size;
};
}  // namespace

bool sendFrame(int fd, FrameKind kind, const void* body, size_t size) {
  if (size > kMaxFrameBody)
    fail(ErrorKind::Internal, "a keeper frame of {} bytes (at most {})", size, kMaxFrameBody);
  uint8_t buf[sizeof(FrameHeader) + kMaxFrameBody];
  FrameHeader h{uint32_t(kind), uint32_t(size)};
  std::memcpy(buf, &h, sizeof h);
  if (size) std::memcpy(buf + sizeof h, body, size);
  return writeAll(fd, buf, sizeof h + size);
}

bool sendError(int fd, ErrorKind kind, std::string_view message) {
  std::string body(sizeof(uint32_t), '\0');
  uint32_t k = uint32_t(kind);
  std::memcpy(body.data(), &k, sizeof k);
  body.append(message.substr(0, kMaxFrameBody - sizeof k));
  return sendFrame(fd, FrameKind::Error, body.data(), body.size());
}

int receiveFrame(int fd, Frame& f) {
  FrameHeader h{};
  int r = readAll(fd, &h, sizeof h);
  if (r <= 0) return r;
  if (h.kind < uint32_t(FrameKind::Ready) || h.kind > uint32_t(FrameKind::End) ||
      h.size > kMaxFrameBody)
    return -1;
  f.kind = FrameKind(h.kind);
  f.body.resize(h.size);
  if (h.size && readAll(fd, f.body.data(), h.size) != 1) return -1;
  return 1;
}

void Frame::checkSize(size_t want) const {
  if (body.size() != want)
    fail(ErrorKind::Internal, "a keeper frame of {} bytes where {} were expected", body.size(),
         want);
}

ErrorKind Frame::errorKind() const {
  uint32_t k = uint32_t(ErrorKind::Internal);
  if (body.size() >= sizeof k) std::memcpy(&k, body.data(), sizeof k);
  return k <= uint32_t(ErrorKind::Internal) ? ErrorKind(k) : ErrorKind::Internal;
}

std::string Frame::message() const {
  return body.size() > sizeof(uint32_t) ? std::string(body.begin() + sizeof(uint32_t), body.end())
                                        : std::string();
}

}  // namespace gms
