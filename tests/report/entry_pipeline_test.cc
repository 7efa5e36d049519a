// EntryPipeline: whatever the number of threads, the output is every entry
// once, in the order added, with the first chunk told it is first; a
// renderer's exception reaches finish(); a small map starts no thread.
#include "report/entry_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

namespace gms {
namespace {

// Writes "k=v," per entry, "|" before the first chunk, and records the
// threads that rendered.
class Recorder : public EntryRenderer {
 public:
  explicit Recorder(std::atomic<int>* made, uint64_t throwAt = UINT64_MAX)
      : throwAt_(throwAt) {
    made->fetch_add(1);
  }
  void render(const EntryAddrs* e, size_t n, bool first, Out& out) override {
    if (first) out.put('|');
    for (size_t i = 0; i < n; i++) {
      if (e[i].first == throwAt_) throw std::runtime_error("renderer failed");
      out.print("{}={},", e[i].first, e[i].second);
    }
  }

 private:
  uint64_t throwAt_;
};

std::string expected(uint64_t n) {
  std::string s = n ? "|" : "";
  for (uint64_t i = 0; i < n; i++) s += fmt::format("{}={},", i, i * 3);
  return s;
}

std::string run(uint64_t n, unsigned threads, std::atomic<int>* made) {
  Out out(nullptr);
  out.hold(true);
  {
    EntryPipeline p(out, [&] { return std::make_unique<Recorder>(made); }, threads);
    for (uint64_t i = 0; i < n; i++) p.add(i, i * 3);
    p.finish();
  }
  return std::string(out.buffer().data(), out.buffer().size());
}

TEST(EntryPipeline, OutputIsInOrderWhateverTheThreads) {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    for (uint64_t n : {uint64_t(0), uint64_t(1), uint64_t(EntryPipeline::kChunk),
                       uint64_t(EntryPipeline::kChunk + 1), uint64_t(50 * EntryPipeline::kChunk + 7)}) {
      SCOPED_TRACE(fmt::format("{} threads, {} entries", threads, n));
      std::atomic<int> made{0};
      EXPECT_EQ(run(n, threads, &made), expected(n));
      EXPECT_LE(made.load(), int(threads));
    }
  }
}

TEST(EntryPipeline, AMapSmallerThanAChunkStartsNoThread) {
  std::atomic<int> made{0};
  EXPECT_EQ(run(EntryPipeline::kChunk, 4, &made), expected(EntryPipeline::kChunk));
  EXPECT_EQ(made.load(), 1);  // the walking thread's own renderer only
}

TEST(EntryPipeline, ARenderersExceptionReachesFinish) {
  for (unsigned threads : {1u, 2u, 4u}) {
    SCOPED_TRACE(threads);
    std::atomic<int> made{0};
    Out out(nullptr);
    out.hold(true);
    uint64_t bad = 10 * EntryPipeline::kChunk + 5;
    EXPECT_THROW(
        {
          EntryPipeline p(out, [&] { return std::make_unique<Recorder>(&made, bad); }, threads);
          for (uint64_t i = 0; i < 40 * EntryPipeline::kChunk; i++) p.add(i, i);
          p.finish();
        },
        std::runtime_error);
    // Everything before the failing chunk was written, nothing after it.
    std::string got(out.buffer().data(), out.buffer().size());
    EXPECT_EQ(got.find(fmt::format("{}={},", bad, bad)), std::string::npos);
    EXPECT_NE(got.find(fmt::format("{}={},", 10 * EntryPipeline::kChunk - 1,
                                   10 * EntryPipeline::kChunk - 1)),
              std::string::npos);
  }
}

}  // namespace
}  // namespace gms
