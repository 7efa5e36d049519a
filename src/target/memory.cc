#include "target/memory.h"

#include <algorithm>

namespace gms {

bool Memory::readable(uint64_t addr, size_t n) const {
  if (n == 0) return true;
  if (view(addr, n)) return true;
  try {
    // Probe first and last byte of each page; cheap and sufficient for
    // page-granular sources.
    uint8_t b;
    for (uint64_t a = addr; a < addr + n; a = (a | 0xfff) + 1) read(a, &b, 1);
    read(addr + n - 1, &b, 1);
    return true;
  } catch (const Fault&) {
    return false;
  }
}

std::string Memory::readString(uint64_t addr, size_t n) const {
  std::string s(n, '\0');
  if (n) read(addr, s.data(), n);
  return s;
}

void FakeMemory::read(uint64_t addr, void* out, size_t n) const {
  auto* dst = static_cast<uint8_t*>(out);
  while (n > 0) {
    const Seg* hit = nullptr;
    for (const auto& s : segs_)
      if (addr >= s.addr && addr - s.addr < s.bytes.size()) hit = &s;
    if (!hit) throw Fault(addr, "not mapped");
    size_t off = addr - hit->addr;
    size_t k = std::min(n, hit->bytes.size() - off);
    std::memcpy(dst, hit->bytes.data() + off, k);
    dst += k;
    addr += k;
    n -= k;
  }
}

void FakeMemory::poke(uint64_t addr, const void* data, size_t n) {
  const auto* src = static_cast<const uint8_t*>(data);
  for (auto& s : segs_)
    if (addr >= s.addr && addr - s.addr <= s.bytes.size() &&
        n <= s.bytes.size() - (addr - s.addr)) {
      std::memcpy(s.bytes.data() + (addr - s.addr), src, n);
      return;
    }
  throw Fault(addr, "not mapped");
}

const uint8_t* FakeMemory::view(uint64_t addr, size_t n) const {
  for (const auto& s : segs_)
    if (addr >= s.addr && addr - s.addr <= s.bytes.size() && n <= s.bytes.size() - (addr - s.addr))
      return s.bytes.data() + (addr - s.addr);
  return nullptr;
}

Memory::ViewRange FakeMemory::viewRange(uint64_t addr) const {
  for (const auto& s : segs_)
    if (addr >= s.addr && addr - s.addr < s.bytes.size())
      return {s.addr, s.bytes.size(), s.bytes.data()};
  return {};
}

std::vector<Mapping> FakeMemory::mappings() const {
  std::vector<Mapping> out;
  for (const auto& s : segs_) {
    Mapping m;
    m.start = s.addr;
    m.end = s.addr + s.bytes.size();
    m.read = m.write = true;
    out.push_back(m);
  }
  return out;
}

}  // namespace gms
