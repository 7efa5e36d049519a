#include "target/proc_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace gms::proc {

bool MapsEntry::anonymous() const {
  if (inode != 0) return false;
  const std::string& p = m.path;
  if (p.empty() || p == "[heap]" || p.rfind("[stack", 0) == 0) return true;
  // Named anonymous memory (prctl PR_SET_VMA_ANON_NAME) — but not
  // "[anon_shmem:...]", which is shared memory and handled as such.
  if (p.rfind("[anon:", 0) == 0) return true;
  return false;
}

bool MapsEntry::special() const {
  const std::string& p = m.path;
  return p.rfind("[vvar", 0) == 0 || p == "[vsyscall]";
}

namespace {

// Parses a hex number starting at s[i]; advances i. False if none.
bool hexAt(std::string_view s, size_t& i, uint64_t& out) {
  size_t start = i;
  uint64_t v = 0;
  while (i < s.size()) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      break;
    }
    if (i - start >= 16) return false;  // more than 64 bits
    v = (v << 4) | uint64_t(d);
    i++;
  }
  out = v;
  return i > start;
}

bool decAt(std::string_view s, size_t& i, uint64_t& out) {
  size_t start = i;
  uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, uint64_t(s[i] - '0'), &v))
      return false;
    i++;
  }
  out = v;
  return i > start;
}

void skipSpaces(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) i++;
}

bool parseLine(std::string_view line, MapsEntry& e) {
  // start-end perms offset dev inode [path]
  size_t i = 0;
  uint64_t v;
  if (!hexAt(line, i, e.m.start) || i >= line.size() || line[i++] != '-') return false;
  if (!hexAt(line, i, e.m.end) || e.m.end < e.m.start) return false;
  skipSpaces(line, i);
  if (i + 4 > line.size()) return false;
  e.m.read = line[i] == 'r';
  e.m.write = line[i + 1] == 'w';
  e.m.exec = line[i + 2] == 'x';
  e.shared = line[i + 3] == 's';
  i += 4;
  skipSpaces(line, i);
  if (!hexAt(line, i, e.m.offset)) return false;
  skipSpaces(line, i);
  size_t devStart = i;
  while (i < line.size() && line[i] != ' ' && line[i] != '\t') i++;
  e.dev = std::string(line.substr(devStart, i - devStart));
  skipSpaces(line, i);
  if (!decAt(line, i, v)) return false;
  e.inode = v;
  skipSpaces(line, i);
  e.m.path = std::string(line.substr(i));
  return true;
}

}  // namespace

std::vector<MapsEntry> parseMaps(const std::string& text) {
  std::vector<MapsEntry> out;
  std::string_view s(text);
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
    MapsEntry e;
    if (parseLine(line, e)) out.push_back(std::move(e));
  }
  return out;
}

std::vector<MapsEntry> readMaps(int pid) {
  return parseMaps(readFile("/proc/" + std::to_string(pid) + "/maps"));
}

std::vector<int> listTasks(int pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT || errno == ESRCH) fail(ErrorKind::NotFound, "no process with pid {}", pid);
    failErrno("cannot list " + dir);
  }
  std::vector<int> tids;
  while (dirent* de = readdir(d)) {
    char* end;
    long t = strtol(de->d_name, &end, 10);
    if (*end == '\0' && t > 0) tids.push_back(static_cast<int>(t));
  }
  closedir(d);
  std::sort(tids.begin(), tids.end());
  return tids;
}

bool processExists(int pid) {
  if (pid <= 0) return false;
  struct stat st;
  return stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0;
}

namespace {

// Reads with read() rather than iostreams: /proc files report size 0, and
// some (maps of a big process) are long.
bool readAll(const std::string& path, std::string& out, int& err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return false;
  }
  out.clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

}  // namespace

std::string readFile(const std::string& path) {
  std::string out;
  int err = 0;
  if (readAll(path, out, err)) return out;
  if (err == ENOENT || err == ESRCH) fail(ErrorKind::NotFound, "{}: no such process or file", path);
  if (err == EACCES || err == EPERM)
    fail(ErrorKind::Permission, "not permitted to read {} ({})", path, ptraceHint());
  fail(ErrorKind::Os, "cannot read {}: {}", path, std::strerror(err));
}

std::optional<std::string> tryReadFile(const std::string& path) {
  std::string out;
  int err = 0;
  if (!readAll(path, out, err)) return std::nullopt;
  return out;
}

std::optional<std::string> statusField(int pid, const std::string& key) {
  auto text = tryReadFile("/proc/" + std::to_string(pid) + "/status");
  if (!text) return std::nullopt;
  std::string_view s(*text);
  std::string want = key + ":";
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    std::string_view line = s.substr(pos, nl == std::string_view::npos ? s.npos : nl - pos);
    if (line.substr(0, want.size()) == want) {
      line.remove_prefix(want.size());
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      return std::string(line);
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return std::nullopt;
}

std::string ptraceHint() {
  return "run as the same user or root; see /proc/sys/kernel/yama/ptrace_scope";
}

}  // namespace gms::proc
