// Runs a goruntime Tracer (goruntime/tracers.h) on a live process, for
// `watch` and `trace`: the tracer's first traps become the debug registers a
// control::Watcher arms, and the Watcher runs inside a Keeper (control/
// keeper.h) that owns every ptrace call, disarms the target whatever happens
// to gomemscope, and streams typed frames back: Ready (WatcherStats), Event
// (TraceEvent), Error, End (TraceEnd). This process reads them until the
// limits say stop, the target exits or the keeper ends.
#pragma once

#include <functional>

#include "control/debugregs.h"
#include "control/watcher.h"
#include "goruntime/tracers.h"

namespace gms {

struct TraceEnd {
  WatcherStats stats;
  bool processExited = false;
  TraceTotals totals;
};

struct TraceLimits {
  double seconds = 0;  // 0: until Ctrl-C
  int64_t count = 0;   // counted events (0: no limit); later events are dropped
};

struct TraceRun {
  WatcherStats ready;           // at the Ready frame
  std::optional<TraceEnd> end;  // nullopt: the end was not confirmed
  double seconds = 0;           // from Ready to the end
};

// The debug registers the tracer asks for first. Throws Error(Usage) for a
// trap no slot can hold (its reason, after `what` when given).
DebugRegs armTracer(Tracer& t);

// Runs t on pid until the limits, Ctrl-C, the target's exit or the
// keeper's end. onReady runs at the Ready frame; onEvent for each event
// until `count` of them were counted (it returns whether this one counts).
// Throws the keeper's Error (after the events before it), or Error(Os) when
// the keeper ended without a Ready frame (`what`: "trace", "watch").
TraceRun runTracer(int pid, Tracer& t, const DebugRegs& regs, const TraceLimits& limits,
                   const char* what, const std::function<void(const WatcherStats&)>& onReady,
                   const std::function<bool(const TraceEvent&)>& onEvent);

}  // namespace gms
