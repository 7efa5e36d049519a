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
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/error.h"

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

// What a keeper reports, as typed frames over events(): Ready (the job is
// set up), any number of Events, Error (what failed; the job still ends),
// End (its closing figures). A frame is a header {kind, size} and its body,
// written with one write(2) of at most PIPE_BUF bytes, so it arrives whole.
// The bodies of Ready, Event and End are the job's own trivially copyable
// records; Error's is its ErrorKind and message.
enum class FrameKind : uint32_t { Ready = 1, Event = 2, Error = 3, End = 4 };
constexpr size_t kMaxFrameBody = 4096 - 8;

// false when the reader is gone. Throws Error(Internal) for a body over kMaxFrameBody.
bool sendFrame(int fd, FrameKind kind, const void* body, size_t size);
template <class T>
bool sendFrame(int fd, FrameKind kind, const T& body) {
  static_assert(std::is_trivially_copyable_v<T>);
  return sendFrame(fd, kind, &body, sizeof body);
}
bool sendError(int fd, ErrorKind kind, std::string_view message);

struct Frame {
  FrameKind kind = FrameKind::End;
  std::vector<uint8_t> body;
  // The body as the record it holds: Error(Internal) when the sizes differ
  // (the two sides disagree on the record).
  template <class T>
  T as() const {
    static_assert(std::is_trivially_copyable_v<T>);
    T t;
    checkSize(sizeof t);
    std::memcpy(static_cast<void*>(&t), body.data(), sizeof t);
    return t;
  }
  ErrorKind errorKind() const;  // an Error frame's
  std::string message() const;  // an Error frame's

 private:
  void checkSize(size_t want) const;
};
// 1: a frame; 0: EOF before any byte; -1: an error or a frame cut short.
int receiveFrame(int fd, Frame& f);

}  // namespace gms
