#include "support/fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace gms::test {
namespace {

std::string findOnPath(const std::string& exe) {
  const char* path = getenv("PATH");
  std::stringstream ss(path ? path : "");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    fs::path p = fs::path(dir) / exe;
    if (access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

std::string hashSources(const std::vector<fs::path>& dirs) {
  // FNV-1a over file names (relative to the fixtures root) and contents,
  // sorted, so edits rebuild.
  std::vector<fs::path> files;
  for (const auto& dir : dirs) {
    if (!fs::is_directory(dir)) continue;
    for (auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  for (auto& f : files) {
    mix(f.lexically_relative(GMS_FIXTURE_DIR).string());
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    mix(ss.str());
  }
  char out[17];
  snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

}  // namespace

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::string readSmallFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Go 1.27.3 is not installed on the machine: the go command fetches it from
// the Go module proxy into its module cache when GOTOOLCHAIN asks for it
// (`make test` does so first, scripts/go-toolchains.sh). Resolved once to
// that toolchain's own GOROOT, remembered in the fixture cache, so that
// builds run its bin/go directly with GOTOOLCHAIN=local like the others.
Toolchain fetchedToolchain(const std::string& name, const std::string& version, int minor,
                           const std::string& hostGo) {
  Toolchain t{name, "", minor};
  if (hostGo.empty()) {
    t.missing = "no 'go' on PATH to fetch " + version + " with (GOTOOLCHAIN=" + version + ")";
    return t;
  }
  auto usable = [&](const std::string& goroot) {
    return !goroot.empty() && access((goroot + "/bin/go").c_str(), X_OK) == 0 &&
           readSmallFile(fs::path(goroot) / "VERSION").rfind(version + "\n", 0) == 0;
  };
  fs::path remembered = fs::path(GMS_FIXTURE_CACHE) / ("goroot-" + version);
  std::string goroot = trimmed(readSmallFile(remembered));
  if (!usable(goroot)) {
    auto r = runCommand({"env", "GOTOOLCHAIN=" + version, hostGo, "env", "GOROOT"}, 600);
    goroot = trimmed(r.out);
    if (r.exitCode != 0 || !usable(goroot)) {
      std::string why = trimmed(r.err.empty() ? r.out : r.err);
      t.missing = version +
                  " could not be fetched from the Go module proxy (GOTOOLCHAIN=" + version +
                  " go env GOROOT): " + (why.empty() ? "no usable GOROOT " + goroot : why);
      return t;
    }
    fs::create_directories(remembered.parent_path());
    std::string tmp = remembered.string() + ".tmp." + std::to_string(getpid());
    std::ofstream(tmp) << goroot << "\n";
    fs::rename(tmp, remembered);
  }
  t.goBinary = goroot + "/bin/go";
  t.available = true;
  return t;
}

}  // namespace

const std::vector<Toolchain>& toolchains() {
  static const std::vector<Toolchain> tcs = [] {
    std::vector<Toolchain> v;
    Toolchain t19{"go1.19", "/usr/lib/go-1.19/bin/go", 19};
    t19.available = access(t19.goBinary.c_str(), X_OK) == 0;
    if (!t19.available) t19.missing = "install Debian's golang-1.19-go (make deps)";
    v.push_back(t19);
    std::string hostGo = findOnPath("go");
    Toolchain t26{"go1.26", hostGo, 26};
    t26.available = !t26.goBinary.empty();
    if (t26.available) {
      auto r = runCommand({"env", "GOTOOLCHAIN=local", t26.goBinary, "version"}, 30);
      if (r.exitCode != 0 || r.out.find("go1.26") == std::string::npos) {
        t26.available = false;
        t26.missing = "'go' on PATH is not Go 1.26: " + r.out;
      }
    } else {
      t26.missing = "no 'go' on PATH";
    }
    v.push_back(t26);
    v.push_back(fetchedToolchain("go1.27", "go1.27.3", 27, hostGo));
    return v;
  }();
  return tcs;
}

const std::vector<std::string>& toolchainNames() {
  static const std::vector<std::string> names = {"go1.19", "go1.26", "go1.27"};
  return names;
}

const Toolchain& toolchain(const std::string& name) {
  for (const auto& t : toolchains())
    if (t.name == name) return t;
  throw std::runtime_error("unknown toolchain " + name);
}

std::string paramName(std::string s) {
  for (auto& c : s)
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

std::vector<Case> liveAndCoreCases() {
  std::vector<Case> v;
  for (const auto& t : toolchainNames())
    for (bool live : {true, false}) v.push_back({t, live});
  return v;
}

std::string caseName(const ::testing::TestParamInfo<Case>& i) {
  std::string variant = i.param.flags.key() == "default" ? "" : "_" + i.param.flags.key();
  return paramName(i.param.toolchain + variant + (i.param.live ? "_live" : "_core"));
}

std::string BuildFlags::key() const {
  std::string k;
  if (noOpt) k += "noopt-";
  if (pie) k += "pie-";
  if (stripped) k += "stripped-";
  if (!experiment.empty()) k += "x" + experiment + "-";
  if (k.empty()) return "default";
  k.pop_back();
  return k;
}

std::string buildFixture(const Toolchain& tc, const std::string& name, BuildFlags flags) {
  return buildProgram(tc, fs::path(GMS_FIXTURE_DIR) / name, name, flags);
}

std::string buildDemo(const Toolchain& tc, BuildFlags flags) {
  return buildProgram(tc, fs::path(GMS_FIXTURE_DIR) / ".." / ".." / "demo", "demo", flags);
}

// Whether the module at src requires a module from the proxy (a path whose
// first element has a dot, as github.com/... has; gmsfixture/... does not).
static bool usesProxyModules(const fs::path& src) {
  std::ifstream in(src / "go.mod");
  std::string line;
  bool inRequire = false;
  while (std::getline(in, line)) {
    std::string_view l(line);
    while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
    if (l.rfind("require (", 0) == 0) {
      inRequire = true;
      continue;
    }
    if (inRequire && l.rfind(")", 0) == 0) inRequire = false;
    if (l.rfind("require ", 0) == 0) l.remove_prefix(8);
    else if (!inRequire) continue;
    std::string_view first = l.substr(0, l.find_first_of("/ "));
    if (first.find('.') != std::string_view::npos) return true;
  }
  return false;
}

std::string buildProgram(const Toolchain& tc, const std::filesystem::path& src,
                         const std::string& name, BuildFlags flags) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (!tc.available) throw std::runtime_error("toolchain " + tc.name + " missing: " + tc.missing);
  if (!fs::is_directory(src)) throw std::runtime_error("no fixture directory " + src.string());
  fs::path cacheDir = fs::path(GMS_FIXTURE_CACHE) / tc.name;
  fs::create_directories(cacheDir);
  // The shared ground-truth module (tests/fixtures/truth, pulled in by a
  // go.mod replace) is part of every fixture's sources.
  fs::path out = cacheDir / (name + "-" + flags.key() + "-" +
                             hashSources({src, fs::path(GMS_FIXTURE_DIR) / "truth"}));
  if (fs::exists(out)) return out.string();

  // ctest runs test processes in parallel: build to a private name, then
  // rename (atomic) so a reader never sees a half-written binary.
  std::string tmp = out.string() + ".tmp." + std::to_string(getpid());
  std::vector<std::string> argv = {tc.goBinary, "build", "-o", tmp};
  if (flags.noOpt) argv.push_back("-gcflags=all=-N -l");
  if (flags.pie) argv.push_back("-buildmode=pie");
  if (flags.stripped) argv.push_back("-ldflags=-s -w");
  argv.push_back(".");
  if (!flags.experiment.empty() && tc.minor < 27)
    throw std::runtime_error("GOEXPERIMENT=" + flags.experiment +
                             " is only built with Go 1.27 here");
  // Build inside the fixture directory; caches stay in the build tree so
  // parallel test binaries and CI clean clones do not share state.
  std::string gocache = (fs::path(GMS_FIXTURE_CACHE) / "gocache" / tc.name).string();
  std::vector<std::string> env = {"GOCACHE=" + gocache, "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local",
                                  "CGO_ENABLED=0",      "GO111MODULE=on"};
  // Fixtures built on real libraries (tests/fixtures/lrulibs) take them from
  // the Go module proxy, pinned by their go.sum; every other fixture builds
  // offline.
  if (!usesProxyModules(src)) env.push_back("GOPROXY=off");
  if (!flags.experiment.empty()) env.push_back("GOEXPERIMENT=" + flags.experiment);
  std::vector<std::string> full = {"env", "-C", src.string()};
  full.insert(full.end(), env.begin(), env.end());
  full.insert(full.end(), argv.begin(), argv.end());
  auto r = runCommand(full, 600);
  if (r.exitCode != 0)
    throw std::runtime_error("building fixture " + name + " with " + tc.name + " failed:\n" +
                             r.out + r.err);
  fs::rename(tmp, out);
  return out.string();
}

std::unique_ptr<RunningFixture> RunningFixture::start(const std::string& binary,
                                                      const std::vector<std::string>& args,
                                                      int readyTimeoutSec,
                                                      const std::string& readyMarker) {
  int outPipe[2], inSock[2];
  if (pipe2(outPipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  // stdin is a socket rather than a pipe so that advance() can write with
  // MSG_NOSIGNAL (no SIGPIPE in the test process if the fixture died).
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, inSock) != 0) {
    close(outPipe[0]);
    close(outPipe[1]);
    throw std::runtime_error("socketpair failed");
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // A test that aborts (an ASan report, a crash) runs no destructor: the
    // fixture dies with it instead of holding ctest's stderr open until the
    // test's timeout. Fixtures are started from the test's main thread.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(outPipe[1], 1);
    dup2(inSock[1], 0);
    std::vector<char*> av;
    av.push_back(const_cast<char*>(binary.c_str()));
    for (auto& a : args) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    execv(binary.c_str(), av.data());
    _exit(127);
  }
  close(outPipe[1]);
  close(inSock[1]);
  auto fx = std::unique_ptr<RunningFixture>(new RunningFixture());
  fx->pid_ = pid;
  fx->outFd_ = outPipe[0];
  fx->inFd_ = inSock[0];
  fx->binary_ = binary;
  fx->readyMarker_ = readyMarker;
  // Both ends stay open for the fixture's lifetime: stdout so a phased
  // fixture can report again (fixtures print nothing else after GMS-READY),
  // stdin so a fixture that reads it blocks instead of seeing EOF.
  fx->waitReady(readyTimeoutSec, "become ready");
  return fx;
}

void RunningFixture::waitReady(int timeoutSec, const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSec);
  char buf[65536];
  size_t ready;
  while ((ready = out_.find(readyMarker_, consumed_)) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{outFd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0)
      throw std::runtime_error("fixture " + binary_ + " did not " + what + "; output:\n" + out_);
    ssize_t n = read(outFd_, buf, sizeof buf);
    if (n <= 0)
      throw std::runtime_error("fixture " + binary_ + " exited before it could " + what +
                               "; output:\n" + out_);
    out_.append(buf, static_cast<size_t>(n));
  }
  auto pos = out_.rfind("GMS-TRUTH ", ready);
  if (pos != std::string::npos && pos >= consumed_) {
    auto end = out_.find('\n', pos);
    truth_ = nlohmann::json::parse(out_.substr(pos + 10, end - pos - 10));
  }
  consumed_ = ready + readyMarker_.size();
}

void RunningFixture::advance(int timeoutSec) {
  if (send(inFd_, "\n", 1, MSG_NOSIGNAL) != 1)
    throw std::runtime_error("fixture " + binary_ + ": cannot write to its stdin (exited?)");
  waitReady(timeoutSec, "advance");
}

RunningFixture::~RunningFixture() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
  if (outFd_ >= 0) close(outFd_);
  if (inFd_ >= 0) close(inFd_);
}

bool RunningFixture::alive() const {
  int st;
  return waitpid(pid_, &st, WNOHANG) == 0;
}

CommandResult runCommand(const std::vector<std::string>& argv, int timeoutSec) {
  int outPipe[2], errPipe[2];
  if (pipe2(outPipe, O_CLOEXEC) != 0 || pipe2(errPipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(outPipe[1], 1);
    dup2(errPipe[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    setpgid(0, 0);
    std::vector<char*> av;
    for (auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    execvp(av[0], av.data());
    _exit(127);
  }
  close(outPipe[1]);
  close(errPipe[1]);
  CommandResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSec);
  // Read both pipes until both close.
  bool outOpen = true, errOpen = true;
  char buf[65536];
  while (outOpen || errOpen) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p[2] = {{outOpen ? outPipe[0] : -1, POLLIN, 0}, {errOpen ? errPipe[0] : -1, POLLIN, 0}};
    if (poll(p, 2, static_cast<int>(left.count())) <= 0) break;
    for (int i = 0; i < 2; i++) {
      if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        (i == 0 ? outOpen : errOpen) = false;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(outPipe[0]);
  close(errPipe[0]);
  int st = 0;
  // The pipes closed (or time ran out); wait for the exit until the deadline.
  for (;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);  // the whole group: the command may have children
      waitpid(pid, &st, 0);
      r.err += "\n[timed out after " + std::to_string(timeoutSec) + "s]";
      r.exitCode = 124;
      return r;
    }
    usleep(2000);
  }
  r.exitCode = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

CommandResult runGomemscope(const std::vector<std::string>& args, int timeoutSec) {
  std::vector<std::string> argv = {GMS_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, timeoutSec);
}

std::string tempDir() {
  static std::string dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "gms-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    return tmpl;
  }();
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  };
  static Cleanup cleanup{dir};
  return dir;
}

std::vector<std::string> TargetArgs::with(std::vector<std::string> cmd) const {
  cmd.insert(cmd.begin() + (cmd.empty() ? 0 : 1), args.begin(), args.end());
  return cmd;
}

TargetArgs targetArgs(const RunningFixture& f, const std::string& binary, bool live,
                      const std::string& coreName) {
  const std::string pid = std::to_string(f.pid());
  if (live) return {{"-p", pid}};
  std::string core = tempDir() + "/" + coreName;
  auto w = runGomemscope({"core", "-p", pid, "-o", core});
  if (w.exitCode != 0) throw std::runtime_error("gomemscope core -p " + pid + " failed: " + w.err);
  return {{"-c", core, "-e", binary}};
}

StartedFixture startFixture(const Toolchain& tc, const std::string& fixture, bool stripped,
                            bool live) {
  StartedFixture f;
  f.binary = buildFixture(tc, fixture, BuildFlags{.stripped = stripped});
  f.proc = RunningFixture::start(f.binary);
  f.target = targetArgs(*f.proc, f.binary, live,
                        fixture + "-" + tc.name + (stripped ? "-s" : "") + ".core");
  return f;
}

::testing::internal::ParamGenerator<BuildCase> buildCases() {
  return ::testing::Combine(::testing::Values("go1.19", "go1.26", "go1.27"), ::testing::Bool(),
                            ::testing::Bool());
}

std::string buildCaseName(const ::testing::TestParamInfo<BuildCase>& i) {
  return paramName(std::get<0>(i.param)) + (std::get<1>(i.param) ? "_stripped" : "") +
         (std::get<2>(i.param) ? "_live" : "_core");
}

}  // namespace gms::test
