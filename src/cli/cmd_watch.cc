// watch: hardware watchpoints on words of a live Go process (map headers,
// list heads, any 1/2/4/8-byte word of a global), one event per write with
// old -> new value, thread, goroutine and the writing stack.
//
// Process layout (docs/watch.md): this process resolves the expression and
// plans the debug registers, then forks a Keeper that does all the ptrace
// work (control/watcher.h) and the stack unwinding while the writing thread is
// stopped, and streams fixed-size records back over a pipe. The keeper
// disarms every thread whenever this process ends — even by SIGKILL — because
// the kernel leaves debug registers armed when a tracer dies.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>

#include "cli/commands.h"
#include "control/keeper.h"
#include "control/watcher.h"
#include "goruntime/list.h"
#include "goruntime/stack.h"
#include "report/json_writer.h"
#include "target/proc_fs.h"

namespace gms {

namespace {

struct WatchOptions {
  TargetOptions target;
  std::string expr, type, format = "text", forDur;
  std::vector<std::string> fields;
  int64_t count = 0;
  bool rw = false;
};

struct WatchField {
  std::string name;  // "main.M.count"
  uint64_t addr = 0;
  uint8_t len = 8;
  bool pointer = false;
};

// --- planning: expression -> words to watch -------------------------------

bool pointerShaped(const Type* t) {
  switch (t->kind) {
    case Kind::Pointer:
    case Kind::UnsafePointer:
    case Kind::Map:
    case Kind::Chan:
    case Kind::Func:
      return true;
    default:
      return false;
  }
}

// A dotted path of struct fields ("root.next") inside struct type t at addr.
WatchField fieldPath(const std::string& base, const Type* t, uint64_t addr,
                     const std::string& path) {
  const Type* cur = t;
  uint64_t a = addr;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (cur->kind != Kind::Struct)
      fail(ErrorKind::Usage, "{} is a {}, which has no field {:?}", base, cur->name, part);
    const Field* f = cur->field(part);
    if (!f || !f->type) {
      std::string names;
      for (const auto& x : cur->fields) names += (names.empty() ? "" : ", ") + x.name;
      fail(ErrorKind::NotFound, "{} ({}) has no field {:?} (fields: {})", base, cur->name, part,
           names);
    }
    a += f->offset;
    cur = f->type;
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  if (cur->size != 1 && cur->size != 2 && cur->size != 4 && cur->size != 8)
    fail(ErrorKind::Usage, "{}.{} is a {} of {} bytes; a watchpoint covers 1, 2, 4 or 8 bytes",
         base, path, cur->name, cur->size);
  return WatchField{base + "." + path, a, uint8_t(cur->size), pointerShaped(cur)};
}

uint64_t readPtr(const Program& p, uint64_t addr) {
  uint64_t v = 0;
  p.mem().read(addr, &v, 8);
  return v;
}

std::vector<WatchField> planFields(const Program& p, const Located& l,
                                   std::vector<std::string> sel) {
  const Type* t = l.type;
  std::string base = l.expr;
  if (t->kind == Kind::Map) {
    uint64_t hdr = mapHeaderOf(p, l);
    if (!hdr) fail(ErrorKind::Usage, "{} is a nil map: there is no header to watch yet", base);
    requirePlausibleMap(p, t, hdr, base);
    const Type* h = t->mapHeader;
    if (!h)
      fail(ErrorKind::MissingDebugInfo, "no header struct for {} ({})", t->name,
           p.types().source());
    MapImpl impl = mapImplOf(t);
    if (sel.empty()) sel = mapWatchFields(impl);
    std::vector<WatchField> out;
    for (const auto& f : sel) out.push_back(fieldPath(base, h, hdr, mapHeaderField(impl, f)));
    return out;
  }
  uint64_t addr = l.addr;
  const Type* st = t;
  if (t->kind == Kind::Pointer && t->elem && t->elem->name == "container/list.List") {
    addr = readPtr(p, l.addr);
    if (!addr) fail(ErrorKind::Usage, "{} is a nil *list.List", base);
    st = t->elem;
  }
  if (st->name == "container/list.List") {
    requirePlausibleList(p, addr, base);
    if (sel.empty()) sel = {"len", "root.next"};
  }
  if (auto sm = syncMapAt(p, l)) {
    // Go <= 1.23: a new dirty map (after a promotion) and each miss are
    // writes to the Map itself. Go >= 1.24's hash-trie stores into its
    // nodes: nothing of the Map's own changes but the root, once.
    std::tie(st, addr) = *sm;
    if (sel.empty() && !st->field("dirty"))
      fail(ErrorKind::Usage,
           "{} is a sync.Map of Go >= 1.24 (a hash-trie): its stores land in trie nodes, not in "
           "a field a watchpoint can follow; name one with --field (e.g. m.root.v), or follow "
           "its len with `gomemscope diagnose`",
           base);
    if (sel.empty()) sel = {"dirty", "misses"};
  }
  if (!sel.empty()) {
    if (st->kind == Kind::Pointer && st->elem) {
      addr = readPtr(p, addr);
      if (!addr) fail(ErrorKind::Usage, "{} is a nil pointer", base);
      st = st->elem;
    }
    std::vector<WatchField> out;
    for (const auto& f : sel) out.push_back(fieldPath(base, st, addr, f));
    return out;
  }
  if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8)
    fail(ErrorKind::Usage,
         "{} is a {} of {} bytes; watch a map, a list, or a 1/2/4/8-byte word (pick fields with "
         "--field)",
         base, t->name, t->size);
  return {WatchField{base, l.addr, uint8_t(t->size), pointerShaped(t)}};
}

// --- keeper -> parent records ------------------------------------------------

enum RecKind : uint32_t { kRecReady = 1, kRecEvent = 2, kRecEnd = 3, kRecError = 4 };
constexpr size_t kMaxFrames = StackUnwinder::kMaxDepth;

// Fixed size and below PIPE_BUF, so every write(2) is atomic and every read
// returns whole records.
struct Record {
  uint32_t kind = 0;
  int32_t tid = 0;
  int64_t goid = -1;
  int64_t timeNs = 0;  // CLOCK_REALTIME
  uint64_t oldv = 0, newv = 0;
  int32_t slot = -1;
  uint32_t nframes = 0;
  uint32_t flags = 0;  // kFlag*
  uint32_t errKind = 0;
  uint64_t stats[8] = {};  // kRecReady/kRecEnd: WatcherStats; kRecEnd stats[7]: 1 = target exited
  union {
    uint64_t pcs[kMaxFrames];
    char message[kMaxFrames * 8];
  };
  Record() { std::memset(pcs, 0, sizeof pcs); }
};
static_assert(sizeof(Record) <= PIPE_BUF);
constexpr uint32_t kFlagMulti = 1, kFlagTruncated = 2, kFlagUnchanged = 4;

bool writeRecord(int fd, const Record& r) { return writeAll(fd, &r, sizeof r); }
// 1: a record; 0: EOF; -1: error.
int readRecord(int fd, Record& r) { return readAll(fd, &r, sizeof r); }

void fillStats(Record& r, const WatcherStats& s) {
  r.stats[0] = s.threadsAttached;
  r.stats[1] = s.threadsCreated;
  r.stats[2] = s.threadsExited;
  r.stats[3] = s.threadsNotArmed;
  r.stats[4] = s.hits;
  r.stats[5] = s.signalsPassed;
  r.stats[6] = s.dr6Lost;
}

uint64_t readWord(const Memory& m, uint64_t addr, uint8_t len) {
  uint64_t v = 0;
  m.read(addr, &v, len);
  return v;
}

// The keeper's whole life: attach, arm, report hits, disarm.
int keeperMain(int out, int ctl, int pid, const DebugRegs& regs,
               const std::vector<WatchField>& fields, const StackUnwinder& unwinder,
               const Memory& mem, int64_t maxEvents) {
  std::unique_ptr<Watcher> w;
  std::vector<uint64_t> last(fields.size());
  auto readStart = [&] {
    for (size_t i = 0; i < fields.size(); i++) {
      try {
        last[i] = readWord(mem, fields[i].addr, fields[i].len);
      } catch (const Error&) {
        // unreadable at arming: last stays 0, so the first readable value shows as a change from 0
      }
    }
  };
  try {
    w = std::make_unique<Watcher>(pid, regs, readStart);
  } catch (const Error& e) {
    Record r;
    r.kind = kRecError;
    r.errKind = uint32_t(e.kind());
    std::snprintf(r.message, sizeof r.message, "%s", e.what());
    writeRecord(out, r);
    return 2;
  }
  Record ready;
  ready.kind = kRecReady;
  fillStats(ready, w->stats());
  bool parentGone = !writeRecord(out, ready);
  int64_t sent = 0;
  auto onHit = [&](const WatchHit& h) {
    RawStack st =
        unwinder.unwindAfterAccess(mem, h.regs.rip, h.regs.rsp, h.regs.r14, h.regs.fs_base);
    std::vector<int> slots = h.slots;
    if (h.dr6Lost) {
      // Which slot fired is unknown: the fields whose value changed did.
      for (size_t i = 0; i < fields.size(); i++) {
        try {
          if (readWord(mem, fields[i].addr, fields[i].len) != last[i]) slots.push_back(int(i));
        } catch (const Error&) {
          // unreadable now: not counted as changed (no event invented for it)
        }
      }
    }
    for (int slot : slots) {
      if (size_t(slot) >= fields.size()) continue;
      Record r;
      r.kind = kRecEvent;
      r.tid = h.tid;
      r.goid = st.goid;
      r.timeNs =
          std::chrono::duration_cast<std::chrono::nanoseconds>(h.time.time_since_epoch()).count();
      r.slot = slot;
      r.oldv = last[size_t(slot)];
      try {
        r.newv = readWord(mem, fields[size_t(slot)].addr, fields[size_t(slot)].len);
      } catch (const Error&) {
        // Unreadable now (the object was freed): the event shows the value
        // unchanged rather than a guess; the hit itself is still reported.
        r.newv = r.oldv;
      }
      last[size_t(slot)] = r.newv;
      if (slots.size() > 1) r.flags |= kFlagMulti;
      if (st.truncated) r.flags |= kFlagTruncated;
      if (r.newv == r.oldv) r.flags |= kFlagUnchanged;
      r.nframes = uint32_t(std::min(st.pcs.size(), kMaxFrames));
      for (size_t i = 0; i < r.nframes; i++) r.pcs[i] = st.pcs[i];
      if (!writeRecord(out, r)) {
        parentGone = true;
        return false;
      }
      if (maxEvents > 0 && ++sent >= maxEvents) return false;
    }
    return true;
  };
  WatchEnd end = WatchEnd::Stopped;
  if (!parentGone) {
    // A failure of the loop is reported (the parent exits 2 with it, after
    // the events so far); every thread is disarmed and detached below either way.
    auto reportFailure = [&](ErrorKind kind, const char* what) {
      Record er;
      er.kind = kRecError;
      er.errKind = uint32_t(kind);
      std::snprintf(er.message, sizeof er.message, "the watch loop failed: %s", what);
      writeRecord(out, er);
    };
    try {
      end = w->run(
          onHit, [&] { return Keeper::stopRequested(ctl); }, ctl);
    } catch (const Error& e) {
      reportFailure(e.kind(), e.what());
    } catch (const std::exception& e) {
      reportFailure(ErrorKind::Internal, e.what());
    }
  }
  w->disarm();
  Record r;
  r.kind = kRecEnd;
  fillStats(r, w->stats());
  r.stats[7] = end == WatchEnd::ProcessExited;
  writeRecord(out, r);
  return 0;
}

// --- parent: formatting ------------------------------------------------------

std::string clockTime(int64_t ns, bool iso) {
  time_t secs = time_t(ns / 1'000'000'000);
  long micros = long((ns % 1'000'000'000) / 1000);
  struct tm tm {};
  char buf[64];
  if (iso) {
    gmtime_r(&secs, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:06}Z", buf, micros);
  }
  localtime_r(&secs, &tm);
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return fmt::format("{}.{:06}", buf, micros);
}

std::string valueText(const WatchField& f, uint64_t v) {
  if (f.pointer) return fmt::format("{:#x}", v);
  return fmt::format("{}", v);
}

// Index of the first frame outside the runtime and container/list (the
// program's own write site).
size_t writeSiteIndex(const std::vector<GoFrame>& frames) {
  for (size_t i = 0; i < frames.size(); i++)
    if (frames[i].function != "?" && !isSiteInternal(frames[i].function)) return i;
  return frames.size();
}

int cmdWatch(WatchOptions& o) {
  if (!o.target.core.empty())
    fail(ErrorKind::Usage, "watch needs a live process (-p PID); a core dump cannot be watched");
  if (o.target.pid <= 0) fail(ErrorKind::Usage, "watch needs a live process: give -p PID");
  if (o.count < 0) fail(ErrorKind::Usage, "--count must be positive");
  double forSecs = o.forDur.empty() ? 0 : parseDuration(o.forDur, "--for");
  if (auto tracer = proc::statusField(o.target.pid, "TracerPid"); tracer && *tracer != "0")
    fail(ErrorKind::Permission,
         "process {} is already traced by pid {} (a debugger, or another gomemscope watch)",
         o.target.pid, *tracer);
  auto s = Session::open(o.target);
  printWarnings(*s);
  if (!s->live()) fail(ErrorKind::Usage, "watch needs a live process");
  const Program& p = s->program();
  Located l = locate(p, o.expr, o.type,
                     "--type 'map[string]int' (a map's header), --type 'container/list.List' or "
                     "--type int64 (a word)");
  std::vector<WatchField> fields = planFields(p, l, o.fields);
  if (fields.size() > size_t(kDebugSlots))
    fail(ErrorKind::Usage,
         "{} fields need {} hardware watchpoints; x86-64 has {} debug registers (choose with "
         "--field)",
         fields.size(), fields.size(), kDebugSlots);
  DebugRegs regs;
  for (const auto& f : fields) {
    HwBreakpoint bp{f.addr, o.rw ? BreakKind::ReadWrite : BreakKind::Write, f.len};
    if (std::string why = validate(bp); !why.empty()) fail(ErrorKind::Usage, "{}: {}", f.name, why);
    regs.add(bp);
  }
  StackUnwinder unwinder(p);
  const Memory& mem = p.mem();
  int pid = o.target.pid;
  bool json = o.format == "jsonl";

  catchInterrupts();  // before the keeper: a Ctrl-C during its drain only ends the loop

  int64_t maxEvents = o.count;
  Keeper keeper([&](int out, int ctl) {
    return keeperMain(out, ctl, pid, regs, fields, unwinder, mem, maxEvents);
  });

  Out out(stdout);
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(forSecs));
  uint64_t events = 0, multi = 0, unchanged = 0, truncated = 0;
  std::map<std::string, uint64_t> sites;
  Record ready{}, end{};
  bool haveReady = false, haveEnd = false, stopping = false;
  std::string error;
  ErrorKind errKind = ErrorKind::Os;
  std::chrono::steady_clock::time_point startedAt = t0;
  for (;;) {
    if (!stopping &&
        (interrupted() || (forSecs > 0 && std::chrono::steady_clock::now() >= deadline) ||
         (o.count > 0 && int64_t(events) >= o.count))) {
      keeper.stop();
      stopping = true;
    }
    pollfd pfd{keeper.events(), POLLIN, 0};
    int pr = poll(&pfd, 1, 50);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) continue;
    Record r;
    int rr = readRecord(keeper.events(), r);
    if (rr <= 0) break;
    if (r.kind == kRecError) {
      r.message[sizeof r.message - 1] = 0;
      error = r.message;
      errKind = ErrorKind(r.errKind);
    } else if (r.kind == kRecReady) {
      ready = r;
      haveReady = true;
      startedAt = std::chrono::steady_clock::now();
      if (!json)
        fmt::print(
            stderr, "gomemscope: watching {} on {} threads of pid {} (Ctrl-C ends)\n",
            [&] {
              std::string n;
              for (const auto& f : fields) n += (n.empty() ? "" : ", ") + f.name;
              return n;
            }(),
            r.stats[0], pid);
    } else if (r.kind == kRecEnd) {
      end = r;
      haveEnd = true;
    } else if (r.kind == kRecEvent) {
      if (o.count > 0 && int64_t(events) >= o.count) continue;
      events++;
      if (r.flags & kFlagMulti) multi++;
      if (r.flags & kFlagUnchanged) unchanged++;
      if (r.flags & kFlagTruncated) truncated++;
      const WatchField& f = fields[size_t(r.slot)];
      std::vector<uint64_t> pcs(r.pcs, r.pcs + std::min<size_t>(r.nframes, kMaxFrames));
      std::vector<GoFrame> frames = unwinder.symbolizeInline(pcs);
      size_t site = writeSiteIndex(frames);
      std::string siteText =
          site < frames.size()
              ? fmt::format("{} ({}:{})", frames[site].function, frames[site].file,
                            frames[site].line)
              : (frames.empty() ? std::string("?") : frames[0].function + " (runtime only)");
      sites[siteText]++;
      if (json) {
        JsonWriter w(out);
        w.beginObject();
        w.field("field", f.name);
        w.key("address");
        w.hex(f.addr);
        if (f.pointer) {
          w.key("old");
          w.hex(r.oldv);
          w.key("new");
          w.hex(r.newv);
        } else {
          w.field("old", r.oldv);
          w.field("new", r.newv);
        }
        w.field("tid", int64_t(r.tid));
        w.field("goid", r.goid);
        w.field("time", clockTime(r.timeNs, true));
        w.key("writeSite");
        if (site < frames.size()) {
          w.beginObject();
          w.field("function", frames[site].function);
          w.field("file", frames[site].file);
          w.field("line", int64_t(frames[site].line));
          w.endObject();
        } else {
          w.null();
        }
        w.key("frames");
        w.beginArray();
        for (const auto& fr : frames) {
          w.beginObject();
          w.field("function", fr.function);
          w.field("file", fr.file);
          w.field("line", int64_t(fr.line));
          w.key("pc");
          w.hex(fr.pc);
          w.endObject();
        }
        w.endArray();
        if (r.flags & kFlagTruncated) w.field("truncated", true);
        w.endObject();
        w.newline();
      } else {
        out.print("{} {} {} → {} tid {} goid {} at {}\n", clockTime(r.timeNs, false), f.name,
                  valueText(f, r.oldv), valueText(f, r.newv), r.tid, r.goid, siteText);
        if (o.target.verbose)
          for (size_t i = 0; i < frames.size(); i++)
            out.print("    {}{} ({}:{})\n", i == site ? "> " : "  ", frames[i].function,
                      frames[i].file, frames[i].line);
      }
      out.flush();
    }
  }
  int kst = keeper.wait();
  if (!error.empty()) fail(errKind, "{}", error);
  if (!haveReady)
    fail(ErrorKind::Os, "the watch helper process ended unexpectedly (status {})", kst);

  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - startedAt).count();
  std::FILE* sf = json ? stderr : stdout;
  Out so(sf);
  so.print(
      "watch summary: {} events in {:.2f} s ({:.1f}/s) on {} field{}; threads: {} at start, {} "
      "created, {} exited\n",
      events, secs, secs > 0 ? double(events) / secs : 0.0, fields.size(),
      fields.size() == 1 ? "" : "s", ready.stats[0], end.stats[1], end.stats[2]);
  so.print("  write sites ({} distinct):\n", sites.size());
  std::vector<std::pair<uint64_t, std::string>> bySite;
  for (const auto& [k, v] : sites) bySite.push_back({v, k});
  std::sort(bySite.begin(), bySite.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (const auto& [n, k] : bySite) so.print("    {:>8}  {}\n", n, k);
  uint64_t notArmed = ready.stats[3] + end.stats[3];
  so.print(
      "  missed: {} (threads not armed: {}; end not confirmed: {}); unchanged writes: {}; "
      "multi-field hits: {}; stacks truncated: {}\n",
      notArmed + (haveEnd ? 0 : 1), notArmed, haveEnd ? 0 : 1, unchanged, multi, truncated);
  if (end.stats[6])
    so.print(
        "  traps with an empty DR6: {} (the hypervisor lost the status register; attributed to "
        "the fields whose value changed)\n",
        end.stats[6]);
  so.flush();
  if (haveEnd && end.stats[7]) fmt::print(stderr, "gomemscope: pid {} exited; watch ended\n", pid);
  return kExitOk;
}

}  // namespace

void addWatchCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<WatchOptions>();
  auto* c = app.add_subcommand(
      "watch",
      "hardware watchpoints: every write to a map header, list head or word, with its stack");
  addTargetOptions(c, o->target);
  c->add_option("expr", o->expr, "a map, a list, or any 1/2/4/8-byte word (main.M, main.q.len)")
      ->required();
  c->add_option("--type", o->type, "type of an object given by address");
  c->add_option("--field", o->fields,
                "header field(s) to watch (map: len, the length on either implementation; classic "
                "count, B, buckets, oldbuckets; Swiss used, dirPtr, dirLen; list: len, root.next)");
  c->add_option("--count", o->count, "stop after N events");
  c->add_option("--for", o->forDur, "stop after this long (e.g. 10s)");
  c->add_option("--format", o->format, "text or jsonl (one JSON object per event)")
      ->check(CLI::IsMember({"text", "jsonl"}));
  c->add_flag("--rw", o->rw, "also stop on reads (read/write watchpoints)");
  c->callback([o, &run] { run = [o] { return cmdWatch(*o); }; });
}

}  // namespace gms
