#include "target/live_process.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "target/proc_fs.h"
#include "target/proc_mem.h"
#include "target/proc_pagemap.h"

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

// Memory for a snapshot: large anonymous blocks handed out front to back.
// The first block is sized and pre-faulted before the process is stopped
// (prefault()), so that copying into it costs no page faults while it is.
class SnapBuffer {
 public:
  SnapBuffer() = default;
  SnapBuffer(const SnapBuffer&) = delete;
  SnapBuffer& operator=(const SnapBuffer&) = delete;
  ~SnapBuffer() { release(); }

  void prefault(size_t bytes) {
    if (!blocks_.empty() && blocks_[0].size >= bytes) return;
    release();
    addBlock(bytes, true);
  }
  // Up to n contiguous bytes (at least one page's worth when n is).
  std::pair<uint8_t*, size_t> take(size_t n) {
    if (blocks_.empty() || blocks_.back().used == blocks_.back().size)
      addBlock(std::max(n, size_t(64) << 20), false);
    Block& b = blocks_.back();
    size_t k = std::min(n, b.size - b.used);
    uint8_t* p = b.base + b.used;
    b.used += k;
    return {p, k};
  }
  void release() {
    for (auto& b : blocks_) munmap(b.base, b.size);
    blocks_.clear();
  }

 private:
  struct Block {
    uint8_t* base;
    size_t size, used;
  };
  void addBlock(size_t bytes, bool populate) {
    bytes = (bytes + kPageSize - 1) & ~(kPageSize - 1);
    if (bytes == 0) bytes = kPageSize;
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      fail(ErrorKind::Os, "cannot allocate {} MiB for a memory snapshot", bytes >> 20);
    // Transparent huge pages: 512 times fewer page faults and TLB misses.
    madvise(p, bytes, MADV_HUGEPAGE);
    if (populate) {
#ifdef MADV_POPULATE_WRITE
      if (madvise(p, bytes, MADV_POPULATE_WRITE) != 0)
#endif
        for (size_t off = 0; off < bytes; off += kPageSize)
          static_cast<volatile uint8_t*>(p)[off] = 0;
    }
    blocks_.push_back({static_cast<uint8_t*>(p), bytes, 0});
  }
  std::vector<Block> blocks_;
};

// What a snapshot holds (see live_process.h): the readable mappings of the
// moment, what an address in each reads as when no copied range covers it,
// the copied ranges, and pages that could not be read.
struct Snapshot {
  enum class Fill : uint8_t { Zero, Live, Fault };
  struct Region {
    uint64_t start, end;
    Fill rest;
  };
  struct Copied {
    uint64_t start, end;
    const uint8_t* data;
  };
  std::vector<Region> regions;                       // ascending, disjoint
  std::vector<Copied> copied;                        // ascending, disjoint
  std::vector<std::pair<uint64_t, uint64_t>> holes;  // unreadable pages inside regions
  std::vector<Mapping> maps;                         // /proc/PID/maps at that moment
  uint64_t bytes = 0;
  // The last copied range hit. Relaxed atomic: several threads may read a
  // snapshot at once (map entries are rendered on every core).
  mutable std::atomic<size_t> hint{0};

  const Copied* findCopied(uint64_t a) const {
    size_t h = hint.load(std::memory_order_relaxed);
    if (h < copied.size() && a - copied[h].start < copied[h].end - copied[h].start)
      return &copied[h];
    auto it = std::upper_bound(copied.begin(), copied.end(), a,
                               [](uint64_t x, const Copied& c) { return x < c.start; });
    if (it == copied.begin()) return nullptr;
    --it;
    if (a >= it->end) return nullptr;
    hint.store(static_cast<size_t>(it - copied.begin()), std::memory_order_relaxed);
    return &*it;
  }
  // The start of the first copied range above a (or UINT64_MAX).
  uint64_t nextCopied(uint64_t a) const {
    auto it = std::upper_bound(copied.begin(), copied.end(), a,
                               [](uint64_t x, const Copied& c) { return x < c.start; });
    return it == copied.end() ? UINT64_MAX : it->start;
  }
  const Region* findRegion(uint64_t a) const {
    auto it = std::upper_bound(regions.begin(), regions.end(), a,
                               [](uint64_t x, const Region& r) { return x < r.start; });
    if (it == regions.begin()) return nullptr;
    --it;
    return a < it->end ? &*it : nullptr;
  }
  // [a, returned) holds no hole; returns a itself when a is in one.
  uint64_t holeFree(uint64_t a, uint64_t limit) const {
    for (const auto& [s, e] : holes) {
      if (a >= s && a < e) return a;
      if (s > a) return std::min(limit, s);
    }
    return limit;
  }
};

// How a snapshot treats one mapping: which parts to copy, and what the rest
// reads as. Shared and writable file mappings can change behind a copy of
// their resident pages (another process, or the file), so they are copied
// whole; private anonymous memory that holds nothing reads as zero; the
// never-loaded pages of a read-only private file mapping are the file's.
struct MappingPlan {
  bool whole = false;
  Snapshot::Fill rest = Snapshot::Fill::Fault;
};
MappingPlan planFor(const proc::MapsEntry& e) {
  if (e.shared || (e.fileBacked() && e.m.write)) return {true, Snapshot::Fill::Fault};
  if (e.anonymous()) return {false, Snapshot::Fill::Zero};
  if (e.fileBacked()) return {false, Snapshot::Fill::Live};
  return {true, Snapshot::Fill::Fault};  // [vdso] and other kernel-provided pages: small
}
bool snapshotWorthy(const proc::MapsEntry& e) { return e.m.read && !e.special() && e.m.size() > 0; }

// The ranges a snapshot copies, in address order.
std::vector<proc::PageRange> rangesToCopy(const std::vector<proc::MapsEntry>& maps,
                                          proc::PagemapScanner& pm) {
  std::vector<proc::PageRange> out;
  for (const auto& e : maps) {
    if (!snapshotWorthy(e)) continue;
    if (planFor(e).whole) {
      out.push_back({e.m.start, e.m.end});
    } else {
      for (const auto& r : pm.resident(e.m.start, e.m.end))
        out.push_back({std::max(r.start, e.m.start), std::min(r.end, e.m.end)});
    }
  }
  return out;
}

class LiveMemory : public Memory {
 public:
  explicit LiveMemory(int pid) : reader_(pid) {}

  void read(uint64_t addr, void* out, size_t n) const override {
    if (n == 0) return;
    // A snapshot is immutable while it is in use: read it without the lock.
    if (const Snapshot* s = snapNow_.load(std::memory_order_acquire)) {
      readSnapshot(*s, addr, static_cast<uint8_t*>(out), n);
      return;
    }
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

  ViewRange viewRange(uint64_t addr) const override {
    const Snapshot* s = snapNow_.load(std::memory_order_acquire);
    const Snapshot::Copied* c = s ? s->findCopied(addr) : nullptr;
    if (!c) return {};
    return {c->start, c->end - c->start, c->data};
  }

  bool concurrentReads() const override {
    return snapNow_.load(std::memory_order_acquire) != nullptr;
  }

  const uint8_t* view(uint64_t addr, size_t n) const override {
    const Snapshot* s = snapNow_.load(std::memory_order_acquire);
    if (!s || n == 0) return nullptr;
    const Snapshot::Copied* c = s->findCopied(addr);
    if (!c || n > c->end - addr) return nullptr;
    return c->data + (addr - c->start);
  }

  std::vector<Mapping> mappings() const override {
    std::lock_guard lock(mu_);
    if (snap_) return snap_->maps;
    if (frozen_ && maps_) return *maps_;
    std::vector<Mapping> out;
    for (auto& e : proc::readMaps(reader_.pid())) out.push_back(e.m);
    if (frozen_) maps_ = out;
    return out;
  }

  void invalidate() const override {
    std::lock_guard lock(mu_);
    cache_.clear();  // a snapshot is the past, not a cache: it stays
    maps_.reset();
  }

  void setFrozen(bool f) {
    std::lock_guard lock(mu_);
    frozen_ = f;
    cache_.clear();
    maps_.reset();
    snapNow_.store(nullptr, std::memory_order_release);
    snap_.reset();
    buffer_.release();
  }

  uint64_t prepareSnapshot(uint64_t maxBytes) {
    std::lock_guard lock(mu_);
    uint64_t bytes = 0;
    proc::PagemapScanner pm(reader_.pid());
    for (const auto& r : rangesToCopy(proc::readMaps(reader_.pid()), pm)) bytes += r.end - r.start;
    // Slack for what the process allocates between now and the stop.
    if (bytes <= maxBytes)
      buffer_.prefault(std::min<uint64_t>(maxBytes, bytes + bytes / 8 + (8 << 20)));
    return bytes;
  }

  bool takeSnapshot(uint64_t maxBytes) {
    std::lock_guard lock(mu_);
    auto maps = proc::readMaps(reader_.pid());
    proc::PagemapScanner pm(reader_.pid());
    auto ranges = rangesToCopy(maps, pm);
    uint64_t total = 0;
    for (const auto& r : ranges) total += r.end - r.start;
    if (total > maxBytes) {
      buffer_.release();
      return false;
    }

    auto s = std::make_unique<Snapshot>();
    for (const auto& e : maps) {
      s->maps.push_back(e.m);
      if (snapshotWorthy(e)) s->regions.push_back({e.m.start, e.m.end, planFor(e).rest});
    }
    for (const auto& r : ranges) copyRange(*s, r.start, r.end);
    s->bytes = total;
    cache_.clear();
    maps_.reset();
    snap_ = std::move(s);
    snapNow_.store(snap_.get(), std::memory_order_release);
    return true;
  }

  void dropSnapshot() {
    std::lock_guard lock(mu_);
    snapNow_.store(nullptr, std::memory_order_release);
    snap_.reset();
    buffer_.release();
  }
  bool hasSnapshot() const {
    std::lock_guard lock(mu_);
    return snap_ != nullptr;
  }
  uint64_t snapshotBytes() const {
    std::lock_guard lock(mu_);
    return snap_ ? snap_->bytes : 0;
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

  // Copies [start, end) of the stopped process into the snapshot. Pages that
  // cannot be read (device memory, a mapping that vanished) become holes.
  void copyRange(Snapshot& s, uint64_t start, uint64_t end) const {
    uint64_t a = start;
    while (a < end) {
      auto [dst, room] = buffer_.take(end - a);
      size_t got = 0;
      while (got < room) {
        size_t k = reader_.readSome(a + got, dst + got, room - got);
        if (k == 0) break;
        got += k;
      }
      got &= ~(kPageSize - 1);  // whole pages only: a short read ends at a page that failed
      if (got) {
        s.copied.push_back({a, a + got, dst});
        a += got;
      }
      if (got < room) {  // a page that cannot be read: a hole, then carry on after it
        uint64_t hole = a + kPageSize;
        if (!s.holes.empty() && s.holes.back().second == a)
          s.holes.back().second = hole;
        else
          s.holes.emplace_back(a, hole);
        a = hole;
      }
    }
  }

  // Lock-free but for the file bytes read from the process.
  void readSnapshot(const Snapshot& s, uint64_t addr, uint8_t* dst, size_t n) const {
    if (addr + (n - 1) < addr) throw Fault(addr, "address range wraps around");
    while (n > 0) {
      size_t k;
      if (const Snapshot::Copied* c = s.findCopied(addr)) {
        k = static_cast<size_t>(std::min<uint64_t>(n, c->end - addr));
        std::memcpy(dst, c->data + (addr - c->start), k);
      } else {
        const Snapshot::Region* r = s.findRegion(addr);
        if (!r) throw Fault(addr, "not mapped or not readable in the process");
        uint64_t lim = s.holeFree(addr, std::min(r->end, s.nextCopied(addr)));
        if (lim == addr || r->rest == Snapshot::Fill::Fault)
          throw Fault(addr, "not readable in the process");
        k = static_cast<size_t>(std::min<uint64_t>(n, lim - addr));
        if (r->rest == Snapshot::Fill::Zero) {
          std::memset(dst, 0, k);  // anonymous memory that held nothing
        } else {
          std::lock_guard lock(mu_);         // the reader's fallback state
          reader_.readExact(addr, dst, k);  // a read-only file page: the file's bytes
        }
      }
      dst += k;
      addr += k;
      n -= k;
    }
  }

  mutable std::mutex mu_;
  mutable proc::RemoteReader reader_;
  mutable SnapBuffer buffer_;
  std::unique_ptr<Snapshot> snap_;
  std::atomic<const Snapshot*> snapNow_{nullptr};  // snap_, for lock-free reads
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

uint64_t LiveProcess::prepareSnapshot(uint64_t maxBytes) {
  return impl_->mem.prepareSnapshot(maxBytes);
}
bool LiveProcess::takeSnapshot(uint64_t maxBytes) { return impl_->mem.takeSnapshot(maxBytes); }
void LiveProcess::dropSnapshot() { impl_->mem.dropSnapshot(); }
bool LiveProcess::hasSnapshot() const { return impl_->mem.hasSnapshot(); }
uint64_t LiveProcess::snapshotBytes() const { return impl_->mem.snapshotBytes(); }

}  // namespace gms
