#include "report/entry_pipeline.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace gms {

unsigned EntryPipeline::defaultThreads() {
  if (const char* e = std::getenv("GOMEMSCOPE_THREADS")) {
    char* end = nullptr;
    long n = std::strtol(e, &end, 10);
    if (end != e && *end == 0 && n >= 1) return static_cast<unsigned>(std::min(n, 64L));
  }
  return std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
}

EntryPipeline::EntryPipeline(Out& out, Factory make, unsigned threads)
    : out_(out), make_(std::move(make)), threads_(threads ? threads : defaultThreads()) {
  mineOut_.hold(true);
  cur_.reserve(kChunk);
}

EntryPipeline::~EntryPipeline() { stopWorkers(); }

void EntryPipeline::stopWorkers() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void EntryPipeline::renderChunk(Chunk& c, EntryRenderer& r, Out& scratch) {
  scratch.buffer().clear();
  try {
    r.render(c.entries.data(), c.entries.size(), c.first, scratch);
  } catch (...) {
    c.error = std::current_exception();
  }
  std::swap(c.text, scratch.buffer());
}

void EntryPipeline::submit() {
  if (cur_.empty()) return;
  std::unique_lock lock(mu_);
  std::unique_ptr<Chunk> c;
  if (!free_.empty()) {
    c = std::move(free_.back());
    free_.pop_back();
  } else {
    c = std::make_unique<Chunk>();
  }
  c->entries.swap(cur_);
  cur_.clear();
  c->first = submitted_++ == 0;
  c->state = Chunk::Queued;
  c->error = nullptr;
  inflight_.push_back(std::move(c));
  // Workers start with the second chunk: a small map never pays for a thread.
  if (threads_ > 1 && workers_.empty() && submitted_ > 1) {
    for (unsigned i = 1; i < threads_; i++) workers_.emplace_back([this] { workerLoop(); });
  }
  cv_.notify_one();
  // Bounded: the walk waits (and helps) while enough chunks are in flight.
  while (inflight_.size() >= 2 * size_t(threads_) + 2) advance(lock);
}

void EntryPipeline::advance(std::unique_lock<std::mutex>& lock) {
  Chunk& head = *inflight_.front();
  if (head.state == Chunk::Done) {
    std::unique_ptr<Chunk> c = std::move(inflight_.front());
    inflight_.pop_front();
    lock.unlock();
    if (c->error) std::rethrow_exception(c->error);
    out_.writeLarge(std::string_view(c->text.data(), c->text.size()));
    c->entries.clear();
    lock.lock();
    free_.push_back(std::move(c));
    return;
  }
  // Render the oldest chunk nobody has taken, rather than wait idle.
  for (auto& c : inflight_) {
    if (c->state != Chunk::Queued) continue;
    c->state = Chunk::Rendering;
    Chunk& mine = *c;
    lock.unlock();
    if (!mine_) mine_ = make_();
    renderChunk(mine, *mine_, mineOut_);
    lock.lock();
    mine.state = Chunk::Done;
    return;
  }
  cv_.wait(lock, [&] { return head.state == Chunk::Done; });
}

void EntryPipeline::finish() {
  submit();
  std::unique_lock lock(mu_);
  while (!inflight_.empty()) advance(lock);
}

void EntryPipeline::workerLoop() {
  std::unique_ptr<EntryRenderer> r;
  Out scratch(nullptr);
  scratch.hold(true);
  std::unique_lock lock(mu_);
  for (;;) {
    Chunk* take = nullptr;
    cv_.wait(lock, [&] {
      if (stop_) return true;
      for (auto& c : inflight_)
        if (c->state == Chunk::Queued) {
          take = c.get();
          return true;
        }
      return false;
    });
    if (!take) return;  // stopping
    take->state = Chunk::Rendering;
    lock.unlock();
    if (!r) {
      try {
        r = make_();
      } catch (...) {
        lock.lock();
        take->error = std::current_exception();
        take->state = Chunk::Done;
        cv_.notify_all();
        continue;
      }
    }
    renderChunk(*take, *r, scratch);
    lock.lock();
    take->state = Chunk::Done;
    cv_.notify_all();
  }
}

}  // namespace gms
