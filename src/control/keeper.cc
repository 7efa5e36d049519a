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

}  // namespace gms
