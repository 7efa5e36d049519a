#include "support/background.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <sstream>

namespace gms::test {

Background::Background(const std::vector<std::string>& args) {
  int p[2];
  EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
  pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    std::vector<char*> argv;
    std::string bin = GMS_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(p[1]);
  out = p[0];
}

Background::~Background() {
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  if (out >= 0) close(out);
}

std::vector<std::string> Background::split() const {
  std::vector<std::string> ls;
  std::istringstream is(buf);
  std::string l;
  while (std::getline(is, l)) ls.push_back(l);
  if (!buf.empty() && buf.back() != '\n' && !ls.empty()) ls.pop_back();
  return ls;
}

std::vector<std::string> Background::lines(size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto ls = split();
    if (ls.size() >= n || std::chrono::steady_clock::now() > deadline) return ls;
    pollfd pf{out, POLLIN, 0};
    if (poll(&pf, 1, 200) > 0) {
      char tmp[4096];
      ssize_t r = read(out, tmp, sizeof tmp);
      if (r <= 0) return ls;
      buf.append(tmp, size_t(r));
    }
  }
}

int Background::wait() {
  int st = 0;
  waitpid(pid, &st, 0);
  pid = -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int Background::interruptAndWait() {
  kill(pid, SIGINT);
  lines(SIZE_MAX);  // until EOF, or 30 s
  int rc = wait();
  // Whatever it wrote after those 30 s, up to its exit (its summary, the
  // jsonl end event): the write end is closed now, so this ends at EOF.
  char tmp[4096];
  for (ssize_t r; (r = read(out, tmp, sizeof tmp)) > 0;) buf.append(tmp, size_t(r));
  return rc;
}

}  // namespace gms::test
