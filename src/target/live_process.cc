#include "target/live_process.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "target/proc_fs.h"
#include "target/proc_mem.h"

namespace gms {

namespace {

using proc::kPageSize;

// Reads at least this long bypass the per-page path: one syscall for the whole
// range is far cheaper than one per page, and the pages still land in the cache.
constexpr size_t kLargeRead = 64 * 1024;
// Pages per slab: the cache allocates page buffers in 1 MiB blocks so that a
// million cached pages are a thousand allocations, not a million.
constexpr uint32_t kSlabPages = 256;
// Upper bound for the cache. Reaching it drops everything: decoders revisit
// recently read pages, so a cold restart costs little, and a simple bound
// keeps a full-heap walk of a huge process from doubling our own RSS.
constexpr size_t kMaxCachedPages = (size_t(1) << 30) / kPageSize;
// Direct-mapped front of the hash map: small reads that hit one of the last
// few pages touched (the common case when decoding strings and structs that
// sit next to each other) never hash.
constexpr size_t kTlbSize = 256;
constexpr uint32_t kFaultSlot = UINT32_MAX;

// Page cache for a frozen process. Page contents cannot change while every
// thread is stopped, so a page read once serves every later read, and so does
// the knowledge that a page is unreadable (decoders often probe bad pointers).
class PageCache {
 public:
  PageCache() { clear(); }

  // nullptr: not cached. kFaultPage(): cached as unreadable.
  const uint8_t* find(uint64_t page) {
    size_t t = (page / kPageSize) % kTlbSize;
    if (tlbTag_[t] == page) return tlbData_[t];
    auto it = index_.find(page);
    if (it == index_.end()) return nullptr;
    const uint8_t* d = it->second == kFaultSlot ? faultPage() : slotData(it->second);
    tlbTag_[t] = page;
    tlbData_[t] = d;
    return d;
  }

  // A buffer for page, to be filled by the caller; commit() makes it visible.
  uint8_t* reserve() {
    if (used_ >= kMaxCachedPages) clear();
    uint32_t slot = used_;
    if (slot / kSlabPages >= slabs_.size())
      slabs_.push_back(std::make_unique_for_overwrite<uint8_t[]>(kSlabPages * kPageSize));
    return slotData(slot);
  }
  const uint8_t* commit(uint64_t page) {
    uint32_t slot = used_++;
    index_[page] = slot;
    return slotData(slot);
  }
  void commitFault(uint64_t page) {
    if (index_.size() >= kMaxCachedPages) clear();
    index_[page] = kFaultSlot;
  }

  void clear() {
    index_.clear();
    slabs_.clear();
    used_ = 0;
    std::fill(std::begin(tlbTag_), std::end(tlbTag_), uint64_t(1));  // never a page address
  }

  static const uint8_t* faultPage() {
    static const uint8_t marker = 0;
    return &marker;
  }

 private:
  uint8_t* slotData(uint32_t slot) {
    return slabs_[slot / kSlabPages].get() + size_t(slot % kSlabPages) * kPageSize;
  }

  std::unordered_map<uint64_t, uint32_t> index_;
  std::vector<std::unique_ptr<uint8_t[]>> slabs_;
  uint32_t used_ = 0;
  uint64_t tlbTag_[kTlbSize];
  const uint8_t* tlbData_[kTlbSize] = {};
};

class LiveMemory : public Memory {
 public:
  explicit LiveMemory(int pid) : reader_(pid) {}

  void read(uint64_t addr, void* out, size_t n) const override {
    if (n == 0) return;
    std::lock_guard lock(mu_);
    if (!frozen_) {
      // A running process can change between any two reads; caching would
      // only make tearing worse.
      reader_.readExact(addr, out, n);
      return;
    }
    if (n >= kLargeRead) {
      readThrough(addr, static_cast<uint8_t*>(out), n);
      return;
    }
    auto* dst = static_cast<uint8_t*>(out);
    while (n > 0) {
      uint64_t page = addr & ~(kPageSize - 1);
      size_t off = addr - page;
      size_t k = std::min(n, size_t(kPageSize - off));
      const uint8_t* p = cache_.find(page);
      if (!p) p = fetch(page);
      if (p == PageCache::faultPage())
        throw Fault(addr, "not mapped or not readable in the process");
      if (p) {
        std::memcpy(dst, p + off, k);
      } else {
        reader_.readExact(addr, dst, k);
      }
      dst += k;
      addr += k;
      n -= k;
    }
  }

  std::vector<Mapping> mappings() const override {
    std::lock_guard lock(mu_);
    if (frozen_ && maps_) return *maps_;
    std::vector<Mapping> out;
    for (auto& e : proc::readMaps(reader_.pid())) out.push_back(e.m);
    if (frozen_) maps_ = out;
    return out;
  }

  void invalidate() const override {
    std::lock_guard lock(mu_);
    cache_.clear();
    maps_.reset();
  }

  void setFrozen(bool f) {
    std::lock_guard lock(mu_);
    frozen_ = f;
    cache_.clear();
    maps_.reset();
  }

  proc::RemoteReader& reader() const { return reader_; }

 private:
  // Reads one page into the cache. Returns the page, PageCache::faultPage()
  // when it is unreadable, or nullptr when only part of it could be read —
  // impossible for a truly frozen process since protections are per page, so
  // the caller then reads directly and nothing is cached.
  const uint8_t* fetch(uint64_t page) const {
    uint8_t* buf = cache_.reserve();
    size_t got = reader_.readSome(page, buf, kPageSize);
    if (got == kPageSize) return cache_.commit(page);
    if (got == 0) {
      cache_.commitFault(page);
      return PageCache::faultPage();
    }
    return nullptr;
  }

  void readThrough(uint64_t addr, uint8_t* out, size_t n) const {
    size_t got = 0;
    while (got < n) {
      size_t k = reader_.readSome(addr + got, out + got, n - got);
      if (k == 0) break;
      got += k;
    }
    uint64_t fault = addr + n;
    if (got < n) fault = reader_.locateFault(addr, out, n, got);
    // Fill the cache with every whole page the read covered.
    uint64_t first = (addr + kPageSize - 1) & ~(kPageSize - 1);
    for (uint64_t page = first; page >= addr && page + kPageSize <= fault; page += kPageSize) {
      if (cache_.find(page)) continue;
      std::memcpy(cache_.reserve(), out + (page - addr), kPageSize);
      cache_.commit(page);
    }
    if (fault < addr + n) throw Fault(fault, "not mapped or not readable in the process");
  }

  mutable std::mutex mu_;
  mutable proc::RemoteReader reader_;
  mutable PageCache cache_;
  mutable std::optional<std::vector<Mapping>> maps_;
  bool frozen_ = false;
};

}  // namespace

struct LiveProcess::Impl {
  explicit Impl(int p) : pid(p), mem(p) {}
  int pid;
  LiveMemory mem;
  mutable std::mutex mu;
  std::vector<ThreadState> states;
};

std::unique_ptr<LiveProcess> LiveProcess::open(int pid) {
  if (pid <= 0 || !proc::processExists(pid))
    fail(ErrorKind::NotFound, "no process with pid {}", pid);
  std::unique_ptr<LiveProcess> lp(new LiveProcess());
  lp->impl_ = std::make_unique<Impl>(pid);

  // Check now that we may read its memory, so that a refusal is one clear
  // error at open rather than a Fault on every read later.
  std::vector<proc::MapsEntry> maps;
  try {
    maps = proc::readMaps(pid);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::NotFound) fail(ErrorKind::NotFound, "no process with pid {}", pid);
    if (e.kind() == ErrorKind::Permission)
      fail(ErrorKind::Permission, "not permitted to read the memory map of pid {} ({})", pid,
           proc::ptraceHint());
    throw;
  }
  for (const auto& e : maps) {
    if (!e.m.read || e.special() || e.m.size() == 0) continue;
    uint8_t b;
    // Throws Permission/NotFound; a 0 here (the mapping vanished) is fine.
    lp->impl_->mem.reader().readSome(e.m.start, &b, 1);
    break;
  }
  return lp;
}

LiveProcess::~LiveProcess() = default;

const Memory& LiveProcess::memory() const { return impl_->mem; }

int LiveProcess::pid() const { return impl_->pid; }

std::string LiveProcess::exePath() const {
  std::string link = "/proc/" + std::to_string(impl_->pid) + "/exe";
  char buf[PATH_MAX + 1];
  ssize_t n = readlink(link.c_str(), buf, PATH_MAX);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  // The binary was replaced or removed since the process started (a rebuild):
  // its path now names another file or none, but the /proc link still opens
  // the very inode the process runs.
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.size() > kDeleted.size() &&
      path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0)
    return link;
  return path;
}

std::vector<ThreadState> LiveProcess::threads() const {
  std::vector<ThreadState> states;
  {
    std::lock_guard lock(impl_->mu);
    states = impl_->states;
  }
  std::vector<int> tids;
  try {
    tids = proc::listTasks(impl_->pid);
  } catch (const Error&) {
    return states;  // the process is gone; what was captured is all we know
  }
  std::vector<ThreadState> out;
  out.reserve(tids.size());
  for (int tid : tids) {
    auto it = std::find_if(states.begin(), states.end(),
                           [tid](const ThreadState& s) { return s.tid == tid; });
    if (it != states.end()) {
      out.push_back(*it);
    } else {
      ThreadState s;
      s.tid = tid;
      out.push_back(s);
    }
  }
  return out;
}

std::string LiveProcess::describe() const { return fmt::format("pid {}", impl_->pid); }

void LiveProcess::setThreadStates(std::vector<ThreadState> t) {
  std::lock_guard lock(impl_->mu);
  impl_->states = std::move(t);
}

void LiveProcess::setFrozen(bool frozen) { impl_->mem.setFrozen(frozen); }

}  // namespace gms
