// EntryPipeline: renders a map's entries on every core while the walk goes
// on, and writes them out in walk order.
//
// The walk (one thread: it also builds the map's summary) hands over each
// entry's key and value addresses; they are grouped into chunks, each chunk is
// rendered by whichever thread is free — a worker, or the walking thread
// itself while it waits — into a buffer of its own, and the buffers are
// written to the Out strictly in chunk order. Output is byte for byte what a
// single thread would write. At most a few chunks are in flight, so memory
// stays bounded however large the map (a 10^7-entry map still streams).
//
// Rendering must be thread-safe for this: target memory is (CoreMemory's
// cache is atomic, a live target's memory is locked), types are immutable
// once loaded, and Program::dynamicType locks its cache. Each thread has its
// own EntryRenderer (its own JSON/text writer, value sink and masker).
//
// Threads: one per core (std::thread::hardware_concurrency), or
// GOMEMSCOPE_THREADS; 1 renders everything on the walking thread (reportMap
// asks for 1 when target memory is read under a lock). A map smaller than
// one chunk never starts a thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "report/out.h"

namespace gms {

using EntryAddrs = std::pair<uint64_t, uint64_t>;  // key address, value address

// One thread's renderer. render() writes entries [0, n) to out; `first` is
// true for the very first chunk of the map (no separator before it).
class EntryRenderer {
 public:
  virtual ~EntryRenderer() = default;
  virtual void render(const EntryAddrs* entries, size_t n, bool first, Out& out) = 0;
};

class EntryPipeline {
 public:
  using Factory = std::function<std::unique_ptr<EntryRenderer>()>;
  static constexpr size_t kChunk = 2048;  // entries per chunk

  // threads 0: the default (GOMEMSCOPE_THREADS, else one per core).
  EntryPipeline(Out& out, Factory make, unsigned threads = 0);
  ~EntryPipeline();
  EntryPipeline(const EntryPipeline&) = delete;
  EntryPipeline& operator=(const EntryPipeline&) = delete;

  // Called by the walking thread for each entry, in walk order.
  void add(uint64_t key, uint64_t value) {
    cur_.push_back({key, value});
    if (cur_.size() == kChunk) submit();
  }
  // Renders and writes everything added; rethrows what a renderer threw.
  void finish();

  // How many threads render (the default when threads is 0).
  static unsigned defaultThreads();

 private:
  struct Chunk {
    std::vector<EntryAddrs> entries;
    fmt::memory_buffer text;
    bool first = false;
    enum State { Queued, Rendering, Done } state = Queued;
    std::exception_ptr error;
  };

  void submit();
  // Writes the oldest chunk when it is done, renders it (or the oldest queued
  // one) here when no worker has, or waits. Lock held on entry and exit.
  void advance(std::unique_lock<std::mutex>& lock);
  void renderChunk(Chunk& c, EntryRenderer& r, Out& scratch);
  void workerLoop();
  void stopWorkers();

  Out& out_;
  Factory make_;
  unsigned threads_;
  std::vector<EntryAddrs> cur_;
  uint64_t submitted_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Chunk>> inflight_;  // in chunk order
  std::vector<std::unique_ptr<Chunk>> free_;
  std::vector<std::thread> workers_;
  bool stop_ = false;

  std::unique_ptr<EntryRenderer> mine_;  // the walking thread's renderer
  Out mineOut_{nullptr};
};

}  // namespace gms
