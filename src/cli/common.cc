#include "cli/common.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "report/masking.h"

namespace gms {

void addTargetOptions(CLI::App* c, TargetOptions& t) {
  c->add_option("-p,--pid", t.pid, "live process to read");
  c->add_option("-c,--core", t.core, "core dump to read");
  c->add_option("-e,--exe", t.exe,
                "the program's executable (default: /proc/PID/exe, or the path the core names)");
  c->add_option("--debug-file", t.debugFile,
                "DWARF and symbols for a stripped executable: objcopy --only-keep-debug output, "
                "or an unstripped build of the very same code (checked)");
  c->add_flag("--no-stop", t.noStop,
              "read a live process without stopping it (the result may be torn)");
  c->add_flag("-v,--verbose", t.verbose, "say how long a live target was stopped");
}

void addOutputOptions(CLI::App* c, OutputOptions& o, bool entries) {
  c->add_option("--format", o.format, "output format")->check(CLI::IsMember({"text", "json"}));
  if (entries)
    c->add_option("--limit", o.limit,
                  "entries/elements shown (default: 50 in text, all in JSON; 0 = all)");
  c->add_option("--max-string", o.maxString,
                "bytes of each string shown (default: 200 in text, all in JSON; 0 = all)");
  c->add_option("--depth", o.depth, "pointer/interface nesting followed (default 4 text, 8 JSON)");
  addMaskOptions(c, o.mask);
}

void addMaskOptions(CLI::App* c, MaskOptions& m) {
  c->add_flag(
      "--reveal", m.reveal,
      "show strings (and map keys in paths) that look like secrets instead of <masked: N bytes>");
  c->add_option("--secret-pattern", m.secretPatterns,
                "also mask strings, field names or map keys matching this regex (repeatable)");
}

void applyMaskOptions(const MaskOptions& m) {
  // Masking is process-wide: every sink and every path of this command applies it.
  MaskPolicy& mask = activeMaskPolicy();
  mask = MaskPolicy{};
  mask.reveal = m.reveal;
  for (const auto& re : m.secretPatterns) mask.addPattern(re);
}

ReportOptions reportOptions(const OutputOptions& o) {
  ReportOptions r;
  bool json = o.format == "json";
  r.format = json ? Format::Json : Format::Text;
  r.limit = o.limit >= 0 ? uint64_t(o.limit) : (json ? 0 : 50);
  r.render.maxString = o.maxString >= 0 ? uint64_t(o.maxString) : (json ? 0 : 200);
  r.render.depth = o.depth >= 0 ? o.depth : (json ? 8 : 4);
  r.render.maxElems = json ? 0 : 20;
  r.buckets = o.buckets;
  applyMaskOptions(o.mask);
  return r;
}

Located locate(const Program& p, const std::string& expr, const std::string& type,
               std::string_view typeExample) {
  if (isAddress(expr)) {
    if (type.empty()) fail(ErrorKind::Usage, "an address needs --type, e.g. {}", typeExample);
    return resolveAddress(p, expr, type);
  }
  if (!type.empty()) fail(ErrorKind::Usage, "--type goes with an address (0x...), not a name");
  return resolve(p, expr);
}

void printWarnings(Session& s) {
  for (const auto& w : s.warnings()) fmt::print(cliErr(), "gomemscope: warning: {}\n", w);
  if (s.live() && s.options().noStop)
    fmt::print(cliErr(),
               "gomemscope: warning: pid {} was not stopped (--no-stop): the result may be torn\n",
               s.live()->pid());
}

MemStats sampleMemStats(Session& s) {
  MemStats m;
  Out none(nullptr);
  // A few pages: stopping for the read is cheaper than copying the heap.
  frozenRun(
      s, none, [&] { m = readMemStats(s.program()); }, FreezeMode::Stop);
  return m;
}

double parseDuration(const std::string& s, const char* what) {
  size_t i = 0;
  double v = 0;
  try {
    v = std::stod(s, &i);
  } catch (const std::exception&) {
    fail(ErrorKind::Usage, "{} '{}' is not a duration (e.g. 500ms, 2s, 1m)", what, s);
  }
  std::string unit = s.substr(i);
  double mul = unit == "ms"                  ? 1e-3
               : unit == "s" || unit.empty() ? 1
               : unit == "m"                 ? 60
               : unit == "h"                 ? 3600
                                             : -1;
  if (mul < 0 || v <= 0)
    fail(ErrorKind::Usage, "{} '{}' is not a duration (e.g. 500ms, 2s, 1m)", what, s);
  return v * mul;
}

int reportProblems(const std::string& expr, size_t problems) {
  if (!problems) return kExitOk;
  fmt::print(cliErr(), "gomemscope: {}: {} problem{} found (listed in the output)\n", expr,
             problems, problems == 1 ? "" : "s");
  return kExitProblems;
}

namespace {
volatile sig_atomic_t gInterrupted = 0;
void onInterrupt(int) { gInterrupted = 1; }
constexpr int kInterruptSignals[3] = {SIGINT, SIGTERM, SIGHUP};
}  // namespace

namespace {
std::FILE* gOut = nullptr;
std::FILE* gErr = nullptr;
}  // namespace

std::FILE* cliOut() { return gOut ? gOut : stdout; }
std::FILE* cliErr() { return gErr ? gErr : stderr; }
void setCliStreams(std::FILE* out, std::FILE* err) {
  gOut = out;
  gErr = err;
}

void catchInterrupts() {
  struct sigaction sa {};
  sa.sa_handler = onInterrupt;
  sigemptyset(&sa.sa_mask);
  for (int sig : kInterruptSignals) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool interrupted() { return gInterrupted != 0; }
void clearInterrupted() { gInterrupted = 0; }

void writeFile(const std::string& path, std::string_view bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail(ErrorKind::Os, "cannot write {}: {}", path, std::strerror(errno));
  size_t n = std::fwrite(bytes.data(), 1, bytes.size(), f);
  int err = n == bytes.size() ? 0 : errno;
  if (std::fclose(f) != 0 && !err) err = errno;
  if (err || n != bytes.size())
    fail(ErrorKind::Os, "cannot write {}: {}", path, std::strerror(err ? err : EIO));
}

}  // namespace gms
