// gms_floor: the least work any decoder of a map in a core must do — map the
// core and read the map's bytes once. Copies `bytes` bytes out of the core's
// PT_LOAD data (the largest segments first, where a big map's arrays live)
// and prints the seconds it took, including mmap and page faults, as a
// decoder that mmaps the core pays them too.
//
// With STRINGS (gms_map_strings' output: the map's key and value strings as
// (address, length) pairs, in the order the map's slots hold them), it then
// also copies each string's bytes, in that order: the rest of a
// map[string]V's bytes, which a decoder can only reach through its slots.
// The list is loaded before the clock starts.
// usage: gms_floor CORE BYTES [STRINGS]
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: gms_floor CORE BYTES [STRINGS]\n");
    return 2;
  }
  uint64_t want = std::strtoull(argv[2], nullptr, 10);
  std::vector<uint64_t> strings;
  if (argc == 4) {
    std::FILE* f = std::fopen(argv[3], "rb");
    if (!f) {
      std::perror(argv[3]);
      return 2;
    }
    uint64_t v[512];
    size_t n;
    while ((n = std::fread(v, 8, 512, f)) > 0) strings.insert(strings.end(), v, v + n);
    std::fclose(f);
  }
  auto t0 = std::chrono::steady_clock::now();
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    std::perror(argv[1]);
    return 2;
  }
  size_t size = static_cast<size_t>(st.st_size);
  auto* base = static_cast<const uint8_t*>(mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
  if (base == MAP_FAILED || size < sizeof(Elf64_Ehdr)) return 2;
  auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  std::vector<const Elf64_Phdr*> loads;
  for (int i = 0; i < eh->e_phnum; i++) {
    auto* ph =
        reinterpret_cast<const Elf64_Phdr*>(base + eh->e_phoff + size_t(i) * eh->e_phentsize);
    if (ph->p_type == PT_LOAD && ph->p_filesz && ph->p_offset + ph->p_filesz <= size)
      loads.push_back(ph);
  }
  std::sort(loads.begin(), loads.end(), [](auto* a, auto* b) { return a->p_filesz > b->p_filesz; });
  std::vector<uint8_t> buf(4 << 20);
  uint64_t done = 0, sum = 0;
  for (auto* ph : loads) {
    for (uint64_t off = 0; off < ph->p_filesz && done < want; off += buf.size()) {
      size_t k =
          static_cast<size_t>(std::min<uint64_t>({buf.size(), ph->p_filesz - off, want - done}));
      std::memcpy(buf.data(), base + ph->p_offset + off, k);
      sum += buf[k / 2];
      done += k;
    }
    if (done >= want) break;
  }
  if (!strings.empty()) {
    std::sort(loads.begin(), loads.end(), [](auto* a, auto* b) { return a->p_vaddr < b->p_vaddr; });
    // Where string i is in the mapped core (nullptr if not saved).
    auto at = [&](size_t i, const Elf64_Phdr** seg) -> const uint8_t* {
      uint64_t addr = strings[i];
      auto it = std::upper_bound(loads.begin(), loads.end(), addr,
                                 [](uint64_t a, const Elf64_Phdr* ph) { return a < ph->p_vaddr; });
      if (it == loads.begin()) return nullptr;
      const Elf64_Phdr* ph = *--it;
      if (addr - ph->p_vaddr >= ph->p_filesz) return nullptr;
      if (seg) *seg = ph;
      return base + ph->p_offset + (addr - ph->p_vaddr);
    };
    constexpr size_t kAhead = 2 * 32;  // prefetch 32 strings ahead, as a decoder can
    for (size_t i = 0; i + 1 < strings.size(); i += 2) {
      if (i + kAhead + 1 < strings.size() && strings[i + kAhead + 1])
        if (const uint8_t* p = at(i + kAhead, nullptr)) __builtin_prefetch(p);
      uint64_t addr = strings[i], len = strings[i + 1];
      if (!len) continue;
      const Elf64_Phdr* ph = nullptr;
      if (!at(i, &ph)) continue;
      size_t k = static_cast<size_t>(std::min<uint64_t>({len, buf.size(), ph->p_filesz - (addr - ph->p_vaddr)}));
      std::memcpy(buf.data(), base + ph->p_offset + (addr - ph->p_vaddr), k);
      sum += buf[k / 2];
      done += k;
    }
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.6f %llu %llu\n", s, static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(sum & 1));
  return 0;
}
