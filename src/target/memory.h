// Memory: the one way every layer above reads target bytes.
//
// A target is either a live process (LiveProcess: process_vm_readv, falling
// back to /proc/PID/mem) or an ELF core dump (CoreFile: PT_LOAD segments of the
// core over the executable's own file-backed segments). Tests use FakeMemory.
// Decoders only ever see this interface, so they cannot tell which it is.
//
// Memory that is not there faults: read() throws gms::Fault naming the first
// unreadable address. A core that did not save a page never reads as zeroes
// (the one exception: a core written by `gomemscope core` records that pages
// absent from a mapping were never touched, and those read as zero — which is
// what the process itself would have read).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace gms {

struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive
  bool read = false, write = false, exec = false;
  uint64_t offset = 0;  // file offset, when file-backed
  std::string path;     // "" for anonymous; "[heap]", "[stack]" as in /proc/PID/maps
  uint64_t size() const { return end - start; }
  bool contains(uint64_t a) const { return a >= start && a < end; }
};

class Memory {
 public:
  virtual ~Memory() = default;

  // Reads exactly n bytes at addr into out, or throws Fault.
  virtual void read(uint64_t addr, void* out, size_t n) const = 0;

  // A pointer straight into backing storage for [addr, addr+n) when the source
  // holds it contiguously in its own address space (an mmap'd core); nullptr
  // otherwise. Valid as long as the Memory lives. Lets decoders avoid copies.
  virtual const uint8_t* view(uint64_t /*addr*/, size_t /*n*/) const { return nullptr; }

  // The largest range around addr that view() lends in one piece: bytes
  // [start, start + size) are at data. size 0 when addr cannot be viewed.
  // Lets a caller reading many nearby addresses (a map's slots, its strings)
  // look up once. The default offers just the byte at addr.
  struct ViewRange {
    uint64_t start = 0, size = 0;
    const uint8_t* data = nullptr;
    // addr's n bytes, or nullptr when they are not all inside.
    const uint8_t* at(uint64_t addr, uint64_t n) const {
      uint64_t off = addr - start;
      return off < size && n <= size - off ? data + off : nullptr;
    }
  };
  virtual ViewRange viewRange(uint64_t addr) const {
    if (const uint8_t* p = view(addr, 1)) return {addr, 1, p};
    return {};
  }

  // A hint that [addr, addr + n) will be read soon, in no particular order:
  // a source that maps a file brings its pages in now (in one pass, rather
  // than a fault per page later). Blocks while it does; run it on a thread
  // of its own to overlap it with the reading. The default does nothing.
  virtual void willRead(uint64_t /*addr*/, uint64_t /*n*/) const {}

  // True when reads from several threads at once run in parallel (no lock
  // serialises them): an mmap'd core, a live target's snapshot. Callers
  // that would spread reads over threads use one thread otherwise.
  virtual bool concurrentReads() const { return true; }

  // The address-space layout as far as the source knows it.
  virtual std::vector<Mapping> mappings() const = 0;

  // Drops any cached bytes (a live target is about to run again).
  virtual void invalidate() const {}

  // Conveniences built on read().
  template <typename T>
  T readT(uint64_t addr) const {
    T v;
    read(addr, &v, sizeof v);
    return v;
  }
  uint64_t readPtr(uint64_t addr) const { return readT<uint64_t>(addr); }
  uint8_t readU8(uint64_t addr) const { return readT<uint8_t>(addr); }
  // True when every byte of [addr, addr+n) can be read.
  bool readable(uint64_t addr, size_t n) const;
  // Reads up to max bytes of a Go string's data; throws Fault like read().
  std::string readString(uint64_t addr, size_t n) const;
};

// Thread state captured from a core (NT_PRSTATUS) or a stopped live thread.
struct ThreadState {
  int tid = 0;
  bool hasRegs = false;
  uint64_t rip = 0, rsp = 0, rbp = 0, r14 = 0, fsBase = 0;
  // The general registers by DWARF number (x86-64 psABI): rax rdx rcx rbx
  // rsi rdi rbp rsp r8..r15 rip, for variables DWARF places in registers.
  std::array<uint64_t, 17> dwarfRegs{};
};

// A target: memory plus what is known about the process it came from.
class Target {
 public:
  virtual ~Target() = default;
  virtual const Memory& memory() const = 0;
  virtual bool isLive() const = 0;
  virtual int pid() const = 0;              // 0 when unknown
  virtual std::string exePath() const = 0;  // "" when unknown
  virtual std::vector<ThreadState> threads() const = 0;
  virtual std::string describe() const = 0;  // "pid 1234" / "core app.core"
};

// Another Memory seen at a different base: read(addr) reads base at
// addr - bias. Puts a position-independent executable's file image (linked at
// 0) where the process actually loaded it.
class OffsetMemory : public Memory {
 public:
  OffsetMemory(const Memory& base, uint64_t bias) : base_(base), bias_(bias) {}
  void read(uint64_t addr, void* out, size_t n) const override {
    if (addr < bias_) throw Fault(addr, "below the executable's load address");
    base_.read(addr - bias_, out, n);
  }
  const uint8_t* view(uint64_t addr, size_t n) const override {
    return addr < bias_ ? nullptr : base_.view(addr - bias_, n);
  }
  ViewRange viewRange(uint64_t addr) const override {
    if (addr < bias_) return {};
    ViewRange r = base_.viewRange(addr - bias_);
    r.start += bias_;
    return r;
  }
  bool concurrentReads() const override { return base_.concurrentReads(); }
  std::vector<Mapping> mappings() const override {
    auto m = base_.mappings();
    for (auto& x : m) {
      x.start += bias_;
      x.end += bias_;
    }
    return m;
  }

 private:
  const Memory& base_;
  uint64_t bias_;
};

// In-memory segments, for tests and fuzzing only.
class FakeMemory : public Memory {
 public:
  void add(uint64_t addr, std::vector<uint8_t> bytes) { segs_.push_back({addr, std::move(bytes)}); }
  // Changes bytes already added (a test playing the program between reads);
  // throws Fault where nothing was added.
  void poke(uint64_t addr, const void* data, size_t n);
  void read(uint64_t addr, void* out, size_t n) const override;
  const uint8_t* view(uint64_t addr, size_t n) const override;
  ViewRange viewRange(uint64_t addr) const override;
  std::vector<Mapping> mappings() const override;

 private:
  struct Seg {
    uint64_t addr;
    std::vector<uint8_t> bytes;
  };
  std::vector<Seg> segs_;
};

// A Target over synthetic bytes, for corruption tests, fuzzing and
// benchmarks: no process, no threads, memory laid out with mem.add().
class FakeTarget : public Target {
 public:
  explicit FakeTarget(std::string what = "synthetic memory") : what_(std::move(what)) {}
  FakeMemory mem;
  const Memory& memory() const override { return mem; }
  bool isLive() const override { return false; }
  int pid() const override { return 0; }
  std::string exePath() const override { return ""; }
  std::vector<ThreadState> threads() const override { return {}; }
  std::string describe() const override { return what_; }

 private:
  std::string what_;
};

}  // namespace gms
