// TestChild: a forked copy of the test binary in a known state, for tests that
// need a real process to read, freeze and dump (no mocks of the kernel).
//
// After fork the child builds:
//  - a pattern buffer (1 MiB + 123 bytes, patternByte(i) at offset i),
//  - a 256 MiB anonymous mapping it never touches,
//  - a 32-page region whose first 30 pages are readable (pattern) and whose
//    last two are PROT_NONE, so a read across the boundary faults exactly,
//  - a 256 KiB scratch region with a counter it increments on command,
//  - three extra threads that sleep in pause(),
// then reports a ChildInfo through a pipe and serves commands on another:
//   'p' ping -> 'p';  'w' counter++ -> 'w';  'c' -> signal count (8 bytes);
//   'T' start a thread that creates and joins short-lived threads forever -> 'T';
//   'X' map kSparsePages pages and touch every kSparseStride-th one (writing
//       its index + 1 into every 1000th touched page, zero elsewhere): more
//       runs than e_phnum can count -> 'X' and the address (8 bytes).
// SIGUSR1 and SIGRTMIN+1 are counted (SA_RESTART), so tests can check that
// a freeze neither loses nor invents signals. The parent kills the child with
// SIGKILL when the TestChild is destroyed.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace gms::test {

inline uint8_t patternByte(uint64_t i) {
  uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull;
  return static_cast<uint8_t>(x >> 56);
}

struct ChildInfo {
  uint64_t pattern = 0, patternSize = 0;
  uint64_t untouched = 0, untouchedSize = 0;
  uint64_t guarded = 0;  // 32 pages; [guarded, guarded + 30 pages) readable
  uint64_t scratch = 0, scratchSize = 0;
  uint64_t counter = 0;  // inside scratch
  int tids[4] = {};      // main thread first
};

inline constexpr uint64_t kGuardedReadable = 30 * 4096;
inline constexpr uint64_t kSparseStride = 6;
inline constexpr uint64_t kSparseTouched = 34000;
inline constexpr uint64_t kSparsePages = kSparseStride * kSparseTouched;

namespace child_detail {

inline std::atomic<uint64_t> gSignals{0};
inline std::atomic<int> gThreadTids[3];

inline void onSignal(int) { gSignals.fetch_add(1); }

inline void* sleeper(void* arg) {
  int idx = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  gThreadTids[idx].store(static_cast<int>(syscall(SYS_gettid)));
  for (;;) pause();
  return nullptr;
}

inline void* nothing(void*) { return nullptr; }

inline void* spawner(void*) {
  for (;;) {
    pthread_t t;
    if (pthread_create(&t, nullptr, nothing, nullptr) == 0) pthread_join(t, nullptr);
  }
  return nullptr;
}

inline bool writeAll(int fd, const void* p, size_t n) {
  auto* b = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    b += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

[[noreturn]] inline void childMain(int cmdFd, int replyFd) {
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
  sigaction(SIGRTMIN + 1, &sa, nullptr);

  ChildInfo info;
  info.patternSize = (1 << 20) + 123;
  auto* pat = static_cast<uint8_t*>(malloc(info.patternSize));
  for (uint64_t i = 0; i < info.patternSize; i++) pat[i] = patternByte(i);
  info.pattern = reinterpret_cast<uint64_t>(pat);

  info.untouchedSize = 256 << 20;
  void* un = mmap(nullptr, info.untouchedSize, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (un == MAP_FAILED) _exit(90);
  info.untouched = reinterpret_cast<uint64_t>(un);

  void* g = mmap(nullptr, 32 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g == MAP_FAILED) _exit(91);
  for (uint64_t i = 0; i < kGuardedReadable; i++) static_cast<uint8_t*>(g)[i] = patternByte(i);
  if (mprotect(static_cast<uint8_t*>(g) + kGuardedReadable, 2 * 4096, PROT_NONE) != 0) _exit(92);
  info.guarded = reinterpret_cast<uint64_t>(g);

  info.scratchSize = 256 << 10;
  void* sc = mmap(nullptr, info.scratchSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                  -1, 0);
  if (sc == MAP_FAILED) _exit(93);
  memset(sc, 0x5a, info.scratchSize);
  auto* counter = reinterpret_cast<volatile uint64_t*>(static_cast<uint8_t*>(sc) + 100000);
  *counter = 1000;
  info.scratch = reinterpret_cast<uint64_t>(sc);
  info.counter = reinterpret_cast<uint64_t>(counter);

  info.tids[0] = static_cast<int>(syscall(SYS_gettid));
  for (int i = 0; i < 3; i++) {
    pthread_t t;
    if (pthread_create(&t, nullptr, sleeper, reinterpret_cast<void*>(intptr_t(i))) != 0) _exit(94);
  }
  for (int i = 0; i < 3; i++) {
    while (gThreadTids[i].load() == 0) usleep(100);
    info.tids[i + 1] = gThreadTids[i].load();
  }
  if (!writeAll(replyFd, &info, sizeof info)) _exit(95);

  for (;;) {
    char c;
    ssize_t r = ::read(cmdFd, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(0);  // parent gone
    switch (c) {
      case 'p':
        writeAll(replyFd, "p", 1);
        break;
      case 'w':
        *counter = *counter + 1;
        writeAll(replyFd, "w", 1);
        break;
      case 'c': {
        uint64_t n = gSignals.load();
        writeAll(replyFd, &n, sizeof n);
        break;
      }
      case 'X': {
        void* r = mmap(nullptr, kSparsePages * 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED) _exit(96);
        auto* base = static_cast<uint8_t*>(r);
        for (uint64_t i = 0; i < kSparseTouched; i++)
          *reinterpret_cast<volatile uint64_t*>(base + i * kSparseStride * 4096) =
              i % 1000 == 0 ? i + 1 : 0;
        uint64_t addr = reinterpret_cast<uint64_t>(r);
        writeAll(replyFd, "X", 1);
        writeAll(replyFd, &addr, sizeof addr);
        break;
      }
      case 'T': {
        pthread_t t;
        pthread_create(&t, nullptr, spawner, nullptr);
        writeAll(replyFd, "T", 1);
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace child_detail

// Reads exactly n bytes from fd within timeoutMs; false on timeout or EOF.
inline bool readWithTimeout(int fd, void* out, size_t n, int timeoutMs) {
  auto* b = static_cast<char*>(out);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (n > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left < 0) return false;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t k = ::read(fd, b, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    b += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

class TestChild {
 public:
  static std::unique_ptr<TestChild> start() {
    int cmd[2], reply[2];
    if (pipe2(cmd, O_CLOEXEC) != 0 || pipe2(reply, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::close(cmd[1]);
      ::close(reply[0]);
      child_detail::childMain(cmd[0], reply[1]);
    }
    ::close(cmd[0]);
    ::close(reply[1]);
    std::unique_ptr<TestChild> c(new TestChild());
    c->pid_ = pid;
    c->cmdFd_ = cmd[1];
    c->replyFd_ = reply[0];
    if (!readWithTimeout(c->replyFd_, &c->info_, sizeof c->info_, 30000))
      throw std::runtime_error("test child did not start");
    return c;
  }

  ~TestChild() {
    ::close(cmdFd_);
    ::close(replyFd_);
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, __WALL);
  }

  int pid() const { return pid_; }
  const ChildInfo& info() const { return info_; }

  // Sends a command and waits for its one-byte acknowledgement.
  bool command(char c, int timeoutMs = 5000) {
    if (::write(cmdFd_, &c, 1) != 1) return false;
    char r;
    return readWithTimeout(replyFd_, &r, 1, timeoutMs) && r == c;
  }
  bool ping(int timeoutMs = 5000) { return command('p', timeoutMs); }
  // Command 'X': returns the address of the sparsely touched region (0 on failure).
  uint64_t makeSparseRegion() {
    uint64_t addr = 0;
    if (!command('X', 30000) || !readWithTimeout(replyFd_, &addr, sizeof addr, 5000)) return 0;
    return addr;
  }
  // Drains a late reply (after a ping that timed out while the child was frozen).
  bool awaitByte(int timeoutMs) {
    char r;
    return readWithTimeout(replyFd_, &r, 1, timeoutMs);
  }
  uint64_t signalCount() {
    char c = 'c';
    uint64_t n = ~0ull;
    if (::write(cmdFd_, &c, 1) != 1) return n;
    readWithTimeout(replyFd_, &n, sizeof n, 5000);
    return n;
  }

 private:
  TestChild() = default;
  int pid_ = -1;
  int cmdFd_ = -1, replyFd_ = -1;
  ChildInfo info_;
};

// The scheduler state letter ('S', 'R', 't', ...) of every thread of pid.
inline std::vector<std::pair<int, char>> threadStates(int pid) {
  std::vector<std::pair<int, char>> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* de = readdir(d)) {
    if (de->d_name[0] == '.') continue;
    std::string path = dir + "/" + de->d_name + "/stat";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    std::string s(buf, static_cast<size_t>(n));
    size_t rp = s.rfind(')');
    if (rp == std::string::npos || rp + 2 >= s.size()) continue;
    out.emplace_back(atoi(de->d_name), s[rp + 2]);
  }
  closedir(d);
  return out;
}

inline bool allThreadsIn(int pid, char state) {
  auto st = threadStates(pid);
  if (st.empty()) return false;
  for (auto& [tid, c] : st)
    if (c != state) return false;
  return true;
}
inline bool noThreadIn(int pid, char state) {
  for (auto& [tid, c] : threadStates(pid))
    if (c == state) return false;
  return true;
}

// Polls cond every millisecond for up to timeoutMs.
template <typename F>
bool eventually(F cond, int timeoutMs = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    usleep(1000);
  }
  return true;
}

// Runs fn in a forked process and returns what it wrote to its pipe (fn gets
// the write end) once it exits, or "<timeout>" after timeoutMs (then the
// process is killed). For code that must run as another process: a second
// tracer, a different user.
template <typename F>
std::string runInChild(F fn, int timeoutMs = 20000) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    ::close(p[0]);
    fn(p[1]);
    _exit(0);
  }
  ::close(p[1]);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  bool timedOut = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    pollfd pf{p[0], POLLIN, 0};
    int r = poll(&pf, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timedOut = true;
      break;
    }
    char buf[4096];
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(p[0]);
  if (timedOut) kill(pid, SIGKILL);
  int st;
  waitpid(pid, &st, 0);
  return timedOut ? "<timeout>" : out;
}

}  // namespace gms::test
