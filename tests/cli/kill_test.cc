// Target safety: gomemscope is interrupted (SIGINT, SIGTERM, SIGKILL) at a
// random moment of each live command, again and again against one running
// fixture (tests/fixtures/survivor), and after every attack the fixture must
// be alive, untraced, not stopped, its heartbeat must advance (its own
// invariant checker keeps passing) and no gomemscope process (a watch keeper)
// may be left behind. At the end the fixture is decoded once more and must
// match what it says about itself. A process already traced by someone else
// is refused with one line and exit 2.
//
// GMS_KILL_ITERATIONS (default 3) sets the attacks per case; the acceptance
// run (scripts/kill-test.sh) uses 100. GMS_KILL_SEED fixes the random delays;
// every case prints the seed it used so a failure can be replayed.
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support/fixture.h"

namespace gms::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int envInt(const char* name, int def) {
  const char* v = getenv(name);
  return v && *v ? atoi(v) : def;
}

std::vector<int> tasksOf(int pid) {
  std::vector<int> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') out.push_back(atoi(e->d_name));
  closedir(d);
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// "State" letter and "TracerPid" of one thread, from /proc/PID/task/TID/status.
struct ThreadStatus {
  char state = '?';
  int tracer = -1;
  unsigned long long sigPending = 0;  // SigPnd: signals queued for this thread
};
ThreadStatus threadStatus(int pid, int tid) {
  std::istringstream in(
      readFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status"));
  ThreadStatus s;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("State:", 0) == 0) {
      auto p = line.find_first_not_of(" \t", 6);
      if (p != std::string::npos) s.state = line[p];
    } else if (line.rfind("TracerPid:", 0) == 0) {
      s.tracer = atoi(line.c_str() + 10);
    } else if (line.rfind("SigPnd:", 0) == 0) {
      s.sigPending = strtoull(line.c_str() + 7, nullptr, 16);
    }
  }
  return s;
}

// Empty when every thread runs untraced (R, S, D) with no SIGTRAP queued;
// else what is wrong.
std::string tracedOrStopped(int pid) {
  std::string bad;
  for (int t : tasksOf(pid)) {
    auto s = threadStatus(pid, t);
    if (s.tracer == -1) continue;  // the thread just exited
    if (s.tracer != 0)
      bad += " thread " + std::to_string(t) + " traced by " + std::to_string(s.tracer);
    // A hardware-watchpoint trap left queued at detach kills a Go program
    // (SIGTRAP) whenever the thread next returns to user space, which for an
    // idle thread may be much later: catch it while it is still pending.
    if (s.sigPending & (1ull << (SIGTRAP - 1)))
      bad += " thread " + std::to_string(t) + " has a SIGTRAP pending";
    if (s.state == 't' || s.state == 'T')
      bad += " thread " + std::to_string(t) + " state " + std::string(1, s.state);
  }
  return bad;
}

// Polls `ok` until it returns true or `limit` passes (the bound only limits
// how long a failure takes to report).
bool pollUntil(milliseconds limit, const std::function<bool()>& ok) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    if (ok()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

// The beat counter the fixture last wrote (0 before the first).
long beatOf(const std::string& path) {
  std::istringstream in(readFile(path));
  long n = 0;
  in >> n;
  return n;
}

// The insert counter the fixture last wrote with its beat.
long insertedOf(const std::string& path) {
  std::istringstream in(readFile(path));
  long n = 0, inserted = 0;
  in >> n >> inserted;
  return inserted;
}

// Processes whose parent is this test process (orphans reparent to us while
// we are a child subreaper), other than `except`. Zombies are reaped.
std::vector<int> ourChildren(const std::set<int>& except) {
  std::vector<int> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    int pid = atoi(e->d_name);
    if (pid <= 0 || except.count(pid)) continue;
    std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    auto p = stat.rfind(')');
    if (p == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (sscanf(stat.c_str() + p + 1, " %c %d", &state, &ppid) != 2 || ppid != getpid()) continue;
    if (state == 'Z') {
      int st;
      waitpid(pid, &st, WNOHANG);
      continue;
    }
    out.push_back(pid);
  }
  closedir(d);
  return out;
}

// One live command: its arguments for a target pid and a scratch directory,
// and whether it ends by itself.
struct LiveCommand {
  std::string name;
  std::function<std::vector<std::string>(const std::string& pid, const std::string& dir, int i)>
      args;
  bool runsUntilStopped = false;
  bool needsBaseCore = false;
  bool scrape = false;  // an exporter: scraped while it runs, so kills land mid-read
};

const std::vector<LiveCommand>& liveCommands() {
  static const std::vector<LiveCommand> cmds = [] {
    using A = std::vector<std::string>;
    std::vector<LiveCommand> v = {
        {"info",
         [](auto& p, auto&, int) {
           return A{"info", "-p", p};
         }},
        {"map", [](auto& p, auto&, int) { return A{"map", "-p", p, "main.M", "--limit", "0"}; }},
        {"list", [](auto& p, auto&, int) { return A{"list", "-p", p, "main.Q", "--limit", "0"}; }},
        {"print",
         [](auto& p, auto&, int) {
           return A{"print", "-p", p, "main.M"};
         }},
        {"stats",
         [](auto& p, auto&, int) {
           return A{"stats", "-p", p};
         }},
        {"statsEvery",
         [](auto& p, auto&, int) { return A{"stats", "-p", p, "--every", "50ms", "--for", "1s"}; }},
        {"top",
         [](auto& p, auto&, int) {
           return A{"top", "-p", p};
         }},
        {"advise",
         [](auto& p, auto&, int) {
           return A{"advise", "-p", p, "main.M"};
         }},
        {"core",
         [](auto& p, auto& d, int i) {
           return A{"core", "-p", p, "-o", d + "/kill-" + std::to_string(i) + ".core"};
         }},
        {"diagnose", [](auto& p, auto&,
                        int) { return A{"diagnose", "-p", p, "--for", "1s", "--every", "100ms"}; }},
        {"check", [](auto& p, auto&,
                     int) { return A{"check", "-p", p, "--for", "1s", "--every", "100ms"}; }},
        {"export",
         [](auto& p, auto&, int) {
           return A{"export", "-p",     p,        "--listen", "127.0.0.1:0",
                    "--map",  "main.M", "--list", "main.Q"};
         },
         true, false, true},
        {"diff",
         [](auto& p, auto& d, int) {
           return A{"diff", d + "/base.core", p};
         },
         false, true},
        {"report",
         [](auto& p, auto& d, int) {
           return A{"report", "-p", p, "-o", d + "/r.html"};
         }},
        {"reportEvery",
         [](auto& p, auto& d, int) {
           return A{"report", "-p", p, "-o", d + "/r.html", "--every", "100ms", "--for", "1s"};
         }},
        {"watch",
         [](auto& p, auto&, int) {
           return A{"watch", "-p", p, "main.M"};
         },
         true},
        {"watchList",
         [](auto& p, auto&, int) {
           return A{"watch", "-p", p, "main.Q"};
         },
         true},
    };
    // `trace` (its event tracers run until stopped) is included when this
    // build has it.
    if (runGomemscope({"trace", "growth", "--help"}, 30).exitCode == 0) {
      for (std::string sub : {"growth", "writers", "removed"}) {
        std::string name =
            "trace" + std::string(1, static_cast<char>(toupper(sub[0]))) + sub.substr(1);
        v.push_back({name, [sub](auto& p, auto&, int) { return A{"trace", sub, "-p", p}; }, true});
      }
    }
    return v;
  }();
  return cmds;
}

// Scrapes the exporter whose start line ("serving metrics for pid N on
// http://HOST:PORT/metrics") appears in `outFile`, again and again, until
// `stop` is set: every scrape stops the target for a read.
void scrapeLoop(const std::string& outFile, const std::atomic<bool>& stop,
                std::atomic<int>& scrapes) {
  int port = 0;
  while (!stop && port == 0) {
    std::string text = readFile(outFile);
    auto p = text.find("http://127.0.0.1:");
    if (p != std::string::npos) port = atoi(text.c_str() + p + 17);
    if (port == 0) std::this_thread::sleep_for(milliseconds(5));
  }
  while (!stop) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) > 0) {
        char buf[65536];
        pollfd pfd{fd, POLLIN, 0};
        while (!stop && poll(&pfd, 1, 100) >= 0) {
          if (pfd.revents == 0) continue;
          ssize_t n = read(fd, buf, sizeof buf);
          if (n == 0) scrapes++;  // a whole response
          if (n <= 0) break;
        }
      }
    } else {
      std::this_thread::sleep_for(milliseconds(5));
    }
    close(fd);
  }
}

// Starts gomemscope in its own process group, output to `outFile`.
pid_t spawnGomemscope(const std::vector<std::string>& args, const std::string& outFile) {
  std::vector<std::string> argv = {GMS_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(outFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in >= 0) dup2(in, 0);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    std::vector<char*> av;
    for (auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    execv(av[0], av.data());
    _exit(127);
  }
  if (pid > 0) setpgid(pid, pid);  // no race with the kill below
  return pid;
}

// Waits (bounded) for `pid` to exit; returns its wait status, or -1 after
// killing its group when it did not exit in time.
int reap(pid_t pid, milliseconds limit) {
  int st = 0;
  if (pollUntil(limit, [&] { return waitpid(pid, &st, WNOHANG) == pid; })) return st;
  kill(-pid, SIGKILL);
  waitpid(pid, &st, 0);
  return -1;
}

std::string describe(int st) {
  if (st == -1) return "did not exit";
  if (WIFEXITED(st)) return "exit " + std::to_string(WEXITSTATUS(st));
  if (WIFSIGNALED(st)) return std::string("killed by ") + strsignal(WTERMSIG(st));
  return "status " + std::to_string(st);
}

// While alive, orphans of gomemscope (a watch keeper whose parent was
// killed) become children of this process, where the test can see them.
struct Subreaper {
  Subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
  ~Subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 0); }
};

using KillParam = std::tuple<std::string, int, std::string>;  // command, signal, toolchain

class KillAtRandom : public ::testing::TestWithParam<KillParam> {};

TEST_P(KillAtRandom, TargetSurvives) {
  const auto& [cmdName, sig, tcName] = GetParam();
  const Toolchain& tc = toolchain(tcName);
  GMS_REQUIRE_TOOLCHAIN(tc);
  const LiveCommand* cmd = nullptr;
  for (const auto& c : liveCommands())
    if (c.name == cmdName) cmd = &c;
  ASSERT_NE(cmd, nullptr) << "no live command named " << cmdName << " in liveCommands()";

  Subreaper subreaper;
  std::string dir = tempDir() + "/kill-" + cmdName + "-" + std::to_string(sig) + "-" + tcName;
  fs::create_directories(dir);
  std::string beat = dir + "/beat";
  auto fx = RunningFixture::start(buildFixture(tc, "survivor"), {"-beat", beat});
  const int window = fx->truth()["window"].get<int>();
  std::string pid = std::to_string(fx->pid());
  ASSERT_TRUE(pollUntil(milliseconds(5000), [&] { return beatOf(beat) > 0; })) << "no heartbeat";

  if (cmd->needsBaseCore) {
    auto r = runGomemscope({"core", "-p", pid, "-o", dir + "/base.core"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
  }

  // One undisturbed run: the command works on this fixture (so the attacks
  // below hit real work), and how long it takes bounds the random delays.
  int maxDelayMs = 300;
  if (!cmd->runsUntilStopped) {
    auto t0 = Clock::now();
    auto r = runGomemscope(cmd->args(pid, dir, -1));
    auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
    ASSERT_TRUE(r.exitCode == 0 || (cmdName == "check" && r.exitCode == 1) ||
                (cmdName == "diff" && r.exitCode == 1))
        << cmdName << " exit " << r.exitCode << ": " << r.err;
    maxDelayMs = std::max<int>(300, static_cast<int>(ms * 12 / 10));
  } else {
    maxDelayMs = 1000;  // startup, attach, and steady state
  }

  unsigned seed =
      static_cast<unsigned>(envInt("GMS_KILL_SEED", static_cast<int>(std::random_device{}())));
  int iterations = envInt("GMS_KILL_ITERATIONS", 3);
  std::cout << "[ kill     ] " << cmdName << " " << strsignal(sig) << " " << tcName << ": seed "
            << seed << ", " << iterations << " iterations, delays 0.." << maxDelayMs << " ms\n";
  std::mt19937 rng(seed);
  std::set<int> known = {fx->pid()};
  int passed = 0;
  std::atomic<int> scrapes{0};
  for (int i = 0; i < iterations; i++) {
    int delay = static_cast<int>(rng() % static_cast<unsigned>(maxDelayMs + 1));
    // Odd iterations signal the whole process group (as a terminal's Ctrl-C
    // does, reaching a watch keeper too); even ones only gomemscope itself.
    bool group = i % 2 == 1;
    SCOPED_TRACE("iteration " + std::to_string(i) + " (seed " + std::to_string(seed) +
                 "): " + strsignal(sig) + " to " + (group ? "group" : "process") + " after " +
                 std::to_string(delay) + " ms");
    std::string out = dir + "/out.txt";
    pid_t g = spawnGomemscope(cmd->args(pid, dir, i), out);
    ASSERT_GT(g, 0);
    std::atomic<bool> stopScraping{false};
    std::thread scraper;
    if (cmd->scrape)
      scraper = std::thread(scrapeLoop, out, std::cref(stopScraping), std::ref(scrapes));
    std::this_thread::sleep_for(milliseconds(delay));
    kill(group ? -g : g, sig);
    int st = reap(g, milliseconds(20000));
    stopScraping = true;
    if (scraper.joinable()) scraper.join();
    EXPECT_NE(st, -1) << cmdName << " did not exit within 20 s of " << strsignal(sig)
                      << "; output:\n"
                      << readFile(out);
    // Killed by the signal we sent, or exited (finished first or handled it);
    // never a crash of its own.
    if (st != -1 && WIFSIGNALED(st)) {
      EXPECT_EQ(WTERMSIG(st), sig) << describe(st) << "; output:\n" << readFile(out);
    }
    if (st != -1 && WIFEXITED(st)) {
      EXPECT_LE(WEXITSTATUS(st), 2) << describe(st) << "; output:\n" << readFile(out);
    }

    // The target: untraced and running (a keeper gets a grace period to
    // detach after its parent died), alive, and still doing its work.
    std::string bad;
    bool freed =
        pollUntil(milliseconds(2000), [&] { return (bad = tracedOrStopped(fx->pid())).empty(); });
    EXPECT_TRUE(freed) << "target after " << cmdName << " (" << describe(st) << "):" << bad;
    ASSERT_TRUE(fx->alive()) << "target died after " << cmdName << " (" << describe(st)
                             << "); gomemscope output:\n"
                             << readFile(out);
    long b0 = beatOf(beat);
    bool beating = pollUntil(milliseconds(2000), [&] { return beatOf(beat) > b0; });
    EXPECT_TRUE(beating) << "heartbeat stuck at " << b0 << ":" << tracedOrStopped(fx->pid());

    // No gomemscope process left behind.
    std::vector<int> left;
    bool clean = pollUntil(milliseconds(2000), [&] { return (left = ourChildren(known)).empty(); });
    EXPECT_TRUE(clean) << left.size() << " process(es) left behind, first pid " << left[0] << ": "
                       << readFile("/proc/" + std::to_string(left[0]) + "/cmdline");
    for (int p : left) {
      kill(p, SIGKILL);
      int s;
      waitpid(p, &s, 0);
    }
    if (cmdName == "core") fs::remove(dir + "/kill-" + std::to_string(i) + ".core");
    if (::testing::Test::HasFailure()) break;  // one failure is reported with its seed
    passed++;
  }
  std::cout << "[ kill     ] " << cmdName << " " << strsignal(sig) << " " << tcName << ": "
            << passed << "/" << iterations << " survived\n";
  if (cmd->scrape) std::cout << "[ kill     ] " << scrapes << " complete scrapes while attacked\n";
  RecordProperty("survived", passed);

  // After all of it the target is decoded exactly as it describes itself.
  // Once it has filled its window, M and Q hold `window` keys between
  // inserts, and window+1 inside the writer's critical section (insert, then
  // drop the oldest): a stop can land there, so both are exact.
  ASSERT_TRUE(pollUntil(milliseconds(30000), [&] { return insertedOf(beat) >= window; }))
      << "the fixture did not fill its window";
  // A stop can also land inside a write of M itself (hashWriting/writing
  // set): gomemscope then says the map is torn and exits 1, rightly; such a
  // read is taken again, up to five times.
  CommandResult m;
  for (int attempt = 0; attempt < 5; attempt++) {
    m = runGomemscope({"map", "-p", pid, "main.M", "--format", "json", "--limit", "1"});
    if (m.exitCode != 1 || !nlohmann::json::parse(m.out).value("torn", false)) break;
  }
  ASSERT_EQ(m.exitCode, 0) << m.err << m.out.substr(m.out.size() > 400 ? m.out.size() - 400 : 0);
  int mlen = nlohmann::json::parse(m.out)["len"].get<int>();
  EXPECT_TRUE(mlen == window || mlen == window + 1) << "len(M) = " << mlen;
  auto l = runGomemscope({"list", "-p", pid, "main.Q", "--format", "json", "--limit", "1"});
  ASSERT_EQ(l.exitCode, 0) << l.err << l.out;
  int qlen = nlohmann::json::parse(l.out)["len"].get<int>();
  EXPECT_TRUE(qlen == window || qlen == window + 1) << "Q.Len() = " << qlen;
  EXPECT_TRUE(fx->alive());
}

// Every command is attacked by every signal, and on every toolchain: the
// three signals of one command go to the three toolchains in turn (shifted by
// one from command to command, so each signal meets each toolchain too).
// The whole cross product (commands x signals x toolchains) is what
// scripts/kill-test.sh runs, 100 attacks each; GMS_KILL_ALL=1 asks for it here.
std::vector<KillParam> killParams() {
  std::vector<KillParam> v;
  const auto& tcs = toolchainNames();
  bool all = getenv("GMS_KILL_ALL") && std::string(getenv("GMS_KILL_ALL")) == "1";
  size_t ci = 0;
  for (const char* c :
       {"info",        "map",   "list",      "print",       "stats",        "statsEvery",  "top",
        "advise",      "core",  "diagnose",  "check",       "export",       "diff",        "report",
        "reportEvery", "watch", "watchList", "traceGrowth", "traceWriters", "traceRemoved"}) {
    size_t si = 0;
    for (int s : {SIGINT, SIGTERM, SIGKILL}) {
      if (all) {
        for (const auto& t : tcs) v.emplace_back(c, s, t);
      } else {
        v.emplace_back(c, s, tcs[(ci + si) % tcs.size()]);
      }
      si++;
    }
    ci++;
  }
  return v;
}

std::string killName(const ::testing::TestParamInfo<KillParam>& info) {
  const auto& [c, s, t] = info.param;
  std::string sig = s == SIGINT ? "INT" : s == SIGTERM ? "TERM" : "KILL";
  std::string tc = t;
  tc.erase(std::remove(tc.begin(), tc.end(), '.'), tc.end());  // go1.27 -> go127
  return c + "_" + sig + "_" + tc;
}

INSTANTIATE_TEST_SUITE_P(Live, KillAtRandom, ::testing::ValuesIn(killParams()), killName);

// A process another tracer holds is refused with one line and exit 2, and is
// left as it was.
class AlreadyTraced : public ::testing::TestWithParam<std::string> {};

TEST_P(AlreadyTraced, IsRefusedCleanly) {
  const Toolchain& tc = toolchain(GetParam());
  GMS_REQUIRE_TOOLCHAIN(tc);
  std::string dir = tempDir() + "/traced-" + GetParam();
  fs::create_directories(dir);
  std::string beat = dir + "/beat";
  auto fx = RunningFixture::start(buildFixture(tc, "survivor"), {"-beat", beat});
  int target = fx->pid();
  // The other tracer: a child that seizes the fixture (without stopping it)
  // and waits to be killed.
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t tracer = fork();
  if (tracer == 0) {
    char ok = ptrace(PTRACE_SEIZE, target, nullptr, nullptr) == 0 ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    for (;;) pause();
  }
  close(ready[1]);
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  close(ready[0]);
  ASSERT_EQ(ok, 'y') << "PTRACE_SEIZE of the fixture failed";
  std::string pid = std::to_string(target);
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"map", "-p", pid, "main.M"},
                                             {"core", "-p", pid, "-o", dir + "/x.core"},
                                             {"watch", "-p", pid, "main.M"}}) {
    auto r = runGomemscope(args, 60);
    EXPECT_EQ(r.exitCode, 2) << args[0] << ": " << r.out << r.err;
    EXPECT_EQ(r.err.rfind("gomemscope: ", 0), 0u) << args[0] << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("already traced by pid " + std::to_string(tracer)), std::string::npos)
        << args[0] << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir + "/x.core")) << "core wrote a file although it was refused";
    EXPECT_EQ(threadStatus(target, target).tracer, tracer) << "the other tracer lost its tracee";
    // What can read without stopping says how.
    EXPECT_EQ(r.err.find("--no-stop") != std::string::npos, args[0] == "map")
        << args[0] << ": " << r.err;
  }
  // ... and does: a read-only command with --no-stop works while the other tracer holds it.
  auto ns = runGomemscope({"stats", "-p", pid, "--no-stop", "--format", "json"}, 60);
  EXPECT_EQ(ns.exitCode, 0) << ns.err;
  EXPECT_NE(ns.out.find("HeapAlloc"), std::string::npos) << ns.out;
  EXPECT_EQ(threadStatus(target, target).tracer, tracer) << "the other tracer lost its tracee";
  kill(tracer, SIGKILL);
  int st;
  waitpid(tracer, &st, 0);
  ASSERT_TRUE(fx->alive());
  EXPECT_TRUE(pollUntil(milliseconds(2000), [&] { return tracedOrStopped(target).empty(); }))
      << tracedOrStopped(target);
  long b0 = beatOf(beat);
  EXPECT_TRUE(pollUntil(milliseconds(2000), [&] { return beatOf(beat) > b0; }))
      << "heartbeat stuck";
}

INSTANTIATE_TEST_SUITE_P(Toolchains, AlreadyTraced, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
