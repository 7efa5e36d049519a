// A background process for tests that run servers (the exporter, Debian's
// Prometheus): stdout on a pipe (for a start line), stderr in a file;
// SIGKILLed and reaped if still running when destroyed. And the HTTP
// helpers those tests share.
#pragma once

#include <string>
#include <vector>

namespace gms::test {

class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& errPath);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  int pid() const { return pid_; }
  // The first line on stdout ("" if none came within the bound).
  std::string firstLine(int boundSec = 60);
  // Waits (bounded) for the exit; exit code, 128+signal, or -1 if still running.
  int wait(int boundSec);
  int stop(int sig = 15 /* SIGTERM */, int boundSec = 60);
  std::string err() const;  // what it wrote to stderr

 private:
  int pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
  std::string errPath_;
};

// GET http://127.0.0.1:port/path: the body ("" on failure), the status in *status.
std::string httpGet(int port, const std::string& path, int* status = nullptr);
// The value of the Prometheus sample whose line starts with `prefix` (name,
// or name and the first labels); NaN if absent.
double metricValue(const std::string& body, const std::string& prefix);
// A loopback TCP port nobody listens on now.
int freeLoopbackPort();

}  // namespace gms::test
