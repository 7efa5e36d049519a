// export: a Prometheus endpoint (/metrics) over a live Go process.
//
// Each GET /metrics reads the target afresh — frozen only for the read —
// and renders it with report/prometheus.h. Scrapes are serialised (one read
// at a time, whatever the number of HTTP threads), and a failed read never
// stops the server: the response is still 200 with gomemscope_up 0 (or
// gomemscope_map_up 0 for one map) and gomemscope_scrape_errors_total
// counts it, as Prometheus exporters do for a target they cannot reach.
//
// Lifetime: the server runs on its own thread; the main thread waits for
// SIGINT/SIGTERM/SIGHUP (blocked in every thread and read from a signalfd,
// so no handler ever runs while an HTTP thread has the target stopped) or
// for the target to exit (pidfd). Either way the server is stopped, the
// in-flight scrape finishes and resumes the target (Frozen is RAII), and the
// command exits 0; a target that exits is reported in one line first.
//
// ptrace is per thread: each scrape constructs and destroys its Frozen on the
// HTTP thread that serves it, so the attach and the detach are by the same
// thread.
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "goruntime/goroutines.h"
#include "goruntime/list.h"
#include "goruntime/maps.h"
#include "report/prometheus.h"

namespace gms {

namespace {

// "0xADDR:TYPE" (an address with its type, as a binary without names needs
// them) -> {"0xADDR", "TYPE"}; anything else is an expression, as given.
// Only a hex address before the colon counts: main.m["a:b"] stays a path.
std::pair<std::string, std::string> splitTypedAddress(const std::string& e) {
  size_t colon = e.find(':');
  if (e.size() > 2 && e[0] == '0' && (e[1] == 'x' || e[1] == 'X') && colon != std::string::npos &&
      colon > 2 && colon + 1 < e.size() &&
      std::all_of(e.begin() + 2, e.begin() + long(colon),
                  [](char c) { return std::isxdigit(uint8_t(c)); }))
    return {e.substr(0, colon), e.substr(colon + 1)};
  return {e, ""};
}

struct ExportOptions {
  TargetOptions target;
  std::string listen = "127.0.0.1:9187";
  std::vector<std::string> maps, lists;
};

struct ListenAddr {
  std::string host;  // as bound (IPv6 without brackets)
  int port = 0;
  std::string url() const {
    return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                               : fmt::format("{}:{}", host, port);
  }
};

// HOST:PORT, [IPV6]:PORT, or :PORT (every interface).
ListenAddr parseListen(const std::string& s) {
  auto bad = [&](const char* why) {
    fail(ErrorKind::Usage, "--listen '{}': {} (expected HOST:PORT, e.g. 127.0.0.1:9187)", s, why);
  };
  ListenAddr a;
  std::string port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      bad("an IPv6 address in brackets needs ]:PORT");
    a.host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos) bad("no port");
    a.host = s.substr(0, colon);
    if (a.host.find(':') != std::string::npos) bad("write an IPv6 address in brackets");
    port = s.substr(colon + 1);
  }
  if (a.host.empty()) a.host = "0.0.0.0";
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    bad("the port is not a number");
  a.port = std::stoi(port);
  if (a.port > 65535) bad("the port is above 65535");
  return a;
}

bool isLoopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// Follows pointers from a located value down to a non-pointer type.
Located deref(const Program& p, Located l, const std::string& expr) {
  if (l.headerDirect) return l;
  while (l.type && l.type->kind == Kind::Pointer) {
    l.addr = p.mem().readPtr(l.addr);
    if (!l.addr) fail(ErrorKind::NotFound, "{} is a nil pointer", expr);
    l.type = l.type->elem;
  }
  return l;
}

class Exporter {
 public:
  Exporter(Session& s, const ExportOptions& o) : s_(s), o_(o) {}

  // Reads everything the scrape reports into r (the target frozen meanwhile).
  // Returns the first error met (empty: none); counts errors when `count`.
  std::string read(ScrapeRecord& r, bool count) {
    const Program& p = s_.program();
    r.pid = s_.live()->pid();
    r.goVersion = p.build().goVersion;
    std::string first;
    auto failed = [&](const std::string& what, const std::string& msg) {
      if (count) errors_++;
      if (first.empty()) first = what.empty() ? msg : fmt::format("{}: {}", what, msg);
    };
    for (const auto& e : o_.maps) r.maps.push_back(PromMap{.expr = e, .error = "not read"});
    for (const auto& e : o_.lists) r.lists.push_back(PromList{.expr = e, .error = "not read"});
    try {
      Frozen fz(s_);
      try {
        r.mem = readMemStats(p);
        r.up = true;
      } catch (const Error& e) {
        failed("", e.what());
      }
      if (r.up) {
        try {
          r.threads = s_.target().threads().size();
        } catch (const Error&) {
          // threads unknown (the process is going away): go_threads is left out of this scrape,
          // MemStats still served
        }
        try {
          std::map<std::string, uint64_t> by;
          for (const auto& g : goroutines(p)) by[goroutineStatusName(g.status)]++;
          r.goroutinesByState.assign(by.begin(), by.end());
        } catch (const Error&) {
          // goroutines unreadable: no per-state samples in this scrape, MemStats still served
        }
      }
      for (auto& m : r.maps) {
        try {
          auto [expr, type] = splitTypedAddress(m.expr);
          Located l = locate(p, expr, type);
          if (auto sm = syncMapAt(p, l)) {
            m = promMapOf(m.expr, walkSyncMap(p, sm->first, sm->second, nullptr));
            continue;
          }
          MapRef ref = locatedMap(p, l);
          m = promMapOf(m.expr, walkMap(p, ref.type, ref.header, {}, nullptr));
        } catch (const Error& e) {
          m.error = e.what();
          failed("--map " + m.expr, e.what());
        }
      }
      for (auto& li : r.lists) {
        try {
          auto [expr, type] = splitTypedAddress(li.expr);
          Located l = deref(p, locate(p, expr, type), li.expr);
          std::string why;
          auto shape = listShapeOf(l.type, {}, &why);
          if (!shape)
            fail(ErrorKind::Usage,
                 "{} is a {}, not a container/list.List nor a list of its shape{}", li.expr,
                 l.type ? l.type->name : "value of unknown type",
                 why.empty() ? "" : " (" + why + ")");
          li = promListOf(li.expr,
                          walkList(p, *shape, l.addr, [](const ListElementRef&) { return false; }));
        } catch (const Error& e) {
          li.error = e.what();
          failed("--list " + li.expr, e.what());
        }
      }
      r.stoppedSeconds = std::chrono::duration<double>(fz.release()).count();
    } catch (const Error& e) {  // could not stop the target (gone, or ptrace refused)
      r.up = false;
      for (auto& m : r.maps) m.error = e.what();
      for (auto& l : r.lists) l.error = e.what();
      failed("", e.what());
    }
    return first;
  }

  // One /metrics body. Serialised: concurrent requests wait their turn.
  std::string scrape() {
    std::lock_guard<std::mutex> lock(mu_);
    auto t0 = std::chrono::steady_clock::now();
    ScrapeRecord r;
    scrapes_++;
    std::string err;
    try {
      err = read(r, true);
    } catch (const std::exception& e) {  // never let a scrape take the server down
      errors_++;
      r.up = false;
      err = e.what();
    }
    if (err != lastError_ && !err.empty())
      fmt::print(cliErr(), "gomemscope: warning: reading pid {} failed: {}\n", s_.live()->pid(),
                 err);
    lastError_ = err;
    r.scrapes = scrapes_;
    r.errors = errors_;
    r.scrapeSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return formatPrometheus(r);
  }

 private:
  Session& s_;
  const ExportOptions& o_;
  std::mutex mu_;
  uint64_t scrapes_ = 0, errors_ = 0;
  std::string lastError_;
};

const char* kIndexPage =
    "<!doctype html>\n<html><head><title>gomemscope exporter</title></head><body>\n"
    "<h1>gomemscope exporter</h1>\n<p>pid {}: <a href=\"/metrics\">/metrics</a></p>\n"
    "</body></html>\n";

int cmdExport(ExportOptions& o) {
  if (!o.target.core.empty())
    fail(ErrorKind::Usage, "export needs a live process (--pid); a core holds one moment");
  ListenAddr addr = parseListen(o.listen);
  // SIGINT/SIGTERM/SIGHUP are only read from a signalfd: blocked before any
  // thread exists (every thread inherits the mask), so a signal can never
  // run a handler on a thread while another has the target stopped.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&sigs, sig);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  auto s = Session::open(o.target);
  printWarnings(*s);
  int pid = s->live()->pid();
  Exporter exp(*s, o);
  {
    // Fail fast on a bad expression or an unreadable target, before serving.
    ScrapeRecord r;
    std::string err = exp.read(r, false);
    if (!err.empty()) fail(ErrorKind::Usage, "{}", err);
  }

  httplib::Server svr;
  // httplib's default sets SO_REUSEPORT, which would let a second exporter
  // share the port silently; SO_REUSEADDR only, so "in use" is an error.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  svr.new_task_queue = [] { return new httplib::ThreadPool(4); };
  svr.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(exp.scrape(), "text/plain; version=0.0.4; charset=utf-8");
  });
  svr.Get("/", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(fmt::format(fmt::runtime(kIndexPage), pid), "text/html; charset=utf-8");
  });
  errno = 0;
  int port = addr.port;
  bool bound =
      port == 0 ? (port = svr.bind_to_any_port(addr.host)) > 0 : svr.bind_to_port(addr.host, port);
  if (!bound) {
    int err = errno;
    fail(ErrorKind::Os, "cannot listen on {}: {}", addr.url(),
         err == EADDRINUSE ? "address already in use"
         : err             ? std::strerror(err)
                           : "cannot bind (is the host an address of this machine?)");
  }
  addr.port = port;
  if (!isLoopback(addr.host))
    fmt::print(cliErr(),
               "gomemscope: warning: listening on {}, which is not loopback: the names, types and "
               "sizes of pid {}'s maps and its memory statistics are visible to the network\n",
               addr.url(), pid);

  int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
  int pfd = int(syscall(SYS_pidfd_open, pid, 0));

  std::atomic<bool> done{false};
  std::thread server([&] {
    svr.listen_after_bind();
    done = true;
  });
  fmt::print(cliOut(), "serving metrics for pid {} on http://{}/metrics\n", pid, addr.url());
  std::fflush(cliOut());

  int rc = kExitOk;
  for (;;) {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {pfd, POLLIN, 0}};
    int n = poll(fds, 2, 500);
    if (n < 0 && errno != EINTR) break;
    if (sfd >= 0 && (fds[0].revents & POLLIN)) {
      signalfd_siginfo si;
      ssize_t got = ::read(sfd, &si, sizeof si);  // consume it: it must not fire on exit
      (void)got;
      break;
    }
    bool gone = pfd >= 0 ? (fds[1].revents & POLLIN) != 0 : (kill(pid, 0) != 0 && errno == ESRCH);
    if (gone) {
      fmt::print(cliErr(), "gomemscope: pid {} exited; the exporter stops\n", pid);
      break;
    }
    if (done) {
      fmt::print(cliErr(), "gomemscope: the HTTP server stopped unexpectedly\n");
      rc = kExitError;
      break;
    }
  }
  // stop() is a no-op until the listen loop runs: repeat until it returned.
  while (!done) {
    svr.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server.join();
  if (sfd >= 0) close(sfd);
  if (pfd >= 0) close(pfd);
  // The signals stay blocked: a second Ctrl-C while closing changes nothing.
  return rc;
}

}  // namespace

void addExportCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<ExportOptions>();
  auto* c = app.add_subcommand(
      "export", "a Prometheus /metrics endpoint: MemStats and named maps/lists, read live");
  addTargetOptions(c, o->target);
  c->add_option("--listen", o->listen,
                "HOST:PORT to serve on (default 127.0.0.1:9187; port 0: any free port)");
  c->add_option("--map", o->maps,
                "a map to export (len, buckets/groups, growth, footprint): a path, or 0xADDR:TYPE "
                "(e.g. 0xc000123450:map[string]int, for a binary without names); repeatable");
  c->add_option("--list", o->lists,
                "a list to export (len, footprint): a container/list.List, container/ring.Ring "
                "or a list of that shape (golang-lru/v2's LruList), as a path, or "
                "0xADDR:container/list.List; repeatable");
  c->callback([o, &run] { run = [o] { return cmdExport(*o); }; });
}

}  // namespace gms
