#include "cli/tracing.h"

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "cli/common.h"
#include "control/keeper.h"

namespace gms {

namespace {

HwBreakpoint breakpointOf(const TrapAt& t) {
  BreakKind k = t.kind == TrapKind::Execute ? BreakKind::Execute
                : t.kind == TrapKind::Write ? BreakKind::Write
                                            : BreakKind::ReadWrite;
  return HwBreakpoint{t.addr, k, t.len};
}

// The tracer's traps as debug registers: before the Watcher (arming), or
// while a trapping thread is stopped (changes applied when the tracer returns).
class RegsControl : public TrapControl {
 public:
  RegsControl(DebugRegs regs, Watcher* w = nullptr, int tid = 0)
      : regs_(std::move(regs)), w_(w), tid_(tid) {}
  std::optional<int> add(const TrapAt& t) override {
    auto slot = regs_.add(breakpointOf(t));  // throws Error(Usage) for what no slot holds
    changed_ |= slot.has_value();
    return slot;
  }
  void clear(int slot) override {
    regs_.clear(slot);
    changed_ = true;
  }
  void holdUntilNextHit() override {
    if (w_) w_->holdUntilNextHit(tid_);
  }
  void apply() {
    if (w_ && changed_) w_->setRegs(regs_, tid_);
  }
  const DebugRegs& regs() const { return regs_; }

 private:
  DebugRegs regs_;
  Watcher* w_;
  int tid_;
  bool changed_ = false;
};

Trap trapOf(const WatchHit& h) {
  Trap t;
  t.tid = h.tid;
  t.timeNs =
      std::chrono::duration_cast<std::chrono::nanoseconds>(h.time.time_since_epoch()).count();
  t.slots = h.slots;
  t.dr6Lost = h.dr6Lost;
  const auto& r = h.regs;
  t.regs = TrapRegs{r.rip, r.rsp, r.rax, r.rbx, r.rcx, r.rdi, r.r14, r.fs_base};
  return t;
}

// The keeper's whole life: attach, arm, run the tracer on every hit,
// disarm, say how it ended.
int keeperMain(int out, int ctl, int pid, Tracer& t, const DebugRegs& regs) {
  std::unique_ptr<Watcher> w;
  try {
    w = std::make_unique<Watcher>(pid, regs, [&] { t.whileStopped(); });
  } catch (const Error& e) {
    sendError(out, e.kind(), e.what());
    return 2;
  }
  bool parentGone = !sendFrame(out, FrameKind::Ready, w->stats());
  WatchEnd end = WatchEnd::Stopped;
  if (!parentGone) {
    // A failure of the loop is reported (the parent exits 2 with it, after
    // the events so far); every thread is disarmed and detached below either way.
    auto emit = [&](const TraceEvent& e) { return sendFrame(out, FrameKind::Event, e); };
    try {
      end = w->run(
          [&](const WatchHit& h) {
            RegsControl traps(w->regs(), w.get(), h.tid);
            bool go = t.onTrap(trapOf(h), traps, emit);
            traps.apply();
            return go;
          },
          [&] { return Keeper::stopRequested(ctl); }, ctl);
    } catch (const Error& e) {
      sendError(out, e.kind(), std::string("the watch loop failed: ") + e.what());
    } catch (const std::exception& e) {
      sendError(out, ErrorKind::Internal, std::string("the watch loop failed: ") + e.what());
    }
  }
  w->disarm();
  TraceEnd te;
  std::memset(static_cast<void*>(&te), 0, sizeof te);  // padding too: it crosses the pipe as is
  te.stats = w->stats();
  te.processExited = end == WatchEnd::ProcessExited;
  te.totals = t.totals();
  sendFrame(out, FrameKind::End, te);
  return 0;
}

}  // namespace

DebugRegs armTracer(Tracer& t) {
  RegsControl traps{DebugRegs{}};
  t.arm(traps);
  return traps.regs();
}

TraceRun runTracer(int pid, Tracer& t, const DebugRegs& regs, const TraceLimits& limits,
                   const char* what, const std::function<void(const WatcherStats&)>& onReady,
                   const std::function<bool(const TraceEvent&)>& onEvent) {
  catchInterrupts();  // before the keeper: a Ctrl-C during its drain only ends the loop
  Keeper keeper([&](int out, int ctl) { return keeperMain(out, ctl, pid, t, regs); });
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(limits.seconds));
  TraceRun run;
  bool haveReady = false, stopping = false;
  int64_t counted = 0;
  std::string error;
  ErrorKind errKind = ErrorKind::Os;
  auto startedAt = t0;
  for (;;) {
    if (!stopping &&
        (interrupted() || (limits.seconds > 0 && std::chrono::steady_clock::now() >= deadline) ||
         (limits.count > 0 && counted >= limits.count))) {
      keeper.stop();
      stopping = true;
    }
    pollfd pfd{keeper.events(), POLLIN, 0};
    int pr = poll(&pfd, 1, 50);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    Frame f;
    if (receiveFrame(keeper.events(), f) <= 0) break;
    switch (f.kind) {
      case FrameKind::Error:
        error = f.message();
        errKind = f.errorKind();
        break;
      case FrameKind::Ready:
        run.ready = f.as<WatcherStats>();
        haveReady = true;
        startedAt = std::chrono::steady_clock::now();
        onReady(run.ready);
        break;
      case FrameKind::End:
        run.end = f.as<TraceEnd>();
        break;
      case FrameKind::Event:
        if (limits.count > 0 && counted >= limits.count) break;
        if (onEvent(f.as<TraceEvent>())) counted++;
        break;
    }
  }
  int status = keeper.wait();
  if (!error.empty()) fail(errKind, "{}", error);
  if (!haveReady)
    fail(ErrorKind::Os, "the {} helper process ended unexpectedly (status {})", what, status);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - startedAt).count();
  return run;
}

}  // namespace gms
