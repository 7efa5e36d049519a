// gms_floor: the least work any decoder of a map in a core must do — map the
// core and read the map's bytes once. Copies `bytes` bytes out of the core's
// PT_LOAD data (the largest segments first, where a big map's arrays live)
// and prints the seconds it took, including mmap and page faults, as a
// decoder that mmaps the core pays them too.
// usage: gms_floor CORE BYTES
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
  if (argc != 3) {
    std::fprintf(stderr, "usage: gms_floor CORE BYTES\n");
    return 2;
  }
  uint64_t want = std::strtoull(argv[2], nullptr, 10);
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
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.6f %llu %llu\n", s, static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(sum & 1));
  return 0;
}
