// Keeper: runs a piece of work in a child process that outlives neither its
// job nor its parent, for work that must always be undone — armed debug
// registers above all (see watcher.h: a tracer's death leaves them armed).
//
// The child calls setsid() (a Ctrl-C or a kill of the terminal's process group
// does not reach it) and ignores SIGINT/SIGTERM/SIGHUP/SIGPIPE. Rather than
// PR_SET_PDEATHSIG (a signal, fired when the forking *thread* exits) it
// watches a control pipe: the parent holds the only write end, so when the parent exits for
// any reason — including SIGKILL — the kernel closes it and the child sees
// EOF. The child then finishes its cleanup and exits. The parent ends the job
// early the same way (stop(): closes the write end). The child reports
// through a second pipe (events()), whose EOF tells the parent it is done.
//
// What a keeper cannot survive is a SIGKILL aimed at the keeper itself; that
// window is the reason the keeper does nothing but the ptrace work.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>

namespace gms {

class Keeper {
 public:
  // body(outFd, ctlFd) runs in the child; its return value is the child's exit
  // status. ctlFd becomes readable (EOF) when the parent stops it or dies.
  // The child never returns into the caller's code: it _exit()s.
  explicit Keeper(const std::function<int(int outFd, int ctlFd)>& body);
  ~Keeper();  // stop() and wait()
  Keeper(const Keeper&) = delete;
  Keeper& operator=(const Keeper&) = delete;

  int events() const { return outFd_; }  // read end of the child's reports
  pid_t pid() const { return pid_; }
  void stop();  // asks the child to finish (idempotent)
  // Waits for the child; returns its exit status (128+signal if killed).
  int wait();

  // True if ctlFd says the parent is gone or asked to stop (never blocks).
  static bool stopRequested(int ctlFd);

 private:
  pid_t pid_ = -1;
  int outFd_ = -1;
  int ctlFd_ = -1;  // write end, held only by the parent
  int status_ = -1;
};

// The keeper's child streams fixed-size records to the parent through
// events(): one record is written and read whole (EINTR retried).
// writeAll: false on error. readAll: 1 read, 0 EOF before any byte, -1 error
// or a record cut short.
bool writeAll(int fd, const void* data, size_t size);
int readAll(int fd, void* data, size_t size);

}  // namespace gms
