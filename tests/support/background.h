// gomemscope started in the background with its stdout on a pipe (stderr to
// /dev/null), for the live commands that stream while the test watches: watch
// and trace. Destroying it SIGKILLs and reaps what is still running.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace gms::test {

struct Background {
  pid_t pid = -1;
  int out = -1;
  std::string buf;  // everything read so far

  explicit Background(const std::vector<std::string>& args);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  // The complete lines in buf.
  std::vector<std::string> split() const;
  // Reads until n lines arrived or EOF (bounded: 30 s, only to end a failure).
  std::vector<std::string> lines(size_t n);
  // Waits for it to exit; its exit status, or 128 + signal.
  int wait();
  // Asks it to end (SIGINT), reads to EOF (all its output is then in buf)
  // and returns its exit status.
  int interruptAndWait();
};

}  // namespace gms::test
