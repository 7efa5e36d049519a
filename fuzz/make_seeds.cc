// gms_fuzz_seeds: turns a real fixture core into MemoryImage seeds for the
// map and list fuzz targets (fuzz/bodies.h). For each named global it runs the
// same walk the fuzz target runs, over the core, recording every byte range
// the decoders read, and writes those ranges plus the value's type and
// address as OUTDIR/<global>.img.
//
//   gms_fuzz_seeds CORE EXE OUTDIR main.MStrInt main.LMixed ...
//   gms_fuzz_seeds --descriptors EXE OUT.img   (the descriptors target)
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include "binary/binary.h"
#include "binary/descriptor_types.h"
#include "common/error.h"
#include "fuzz/bodies.h"
#include "goruntime/heap_graph.h"
#include "goruntime/sync_map.h"
#include "goruntime/program.h"
#include "target/core_file.h"

namespace gms {
namespace {

class RecordingMemory : public Memory {
 public:
  explicit RecordingMemory(const Memory& m) : m_(m) {}
  void read(uint64_t addr, void* out, size_t n) const override {
    m_.read(addr, out, n);
    if (n) {
      auto& e = ranges_[addr];
      e = std::max<uint64_t>(e, addr + n);
    }
  }
  std::vector<Mapping> mappings() const override { return m_.mappings(); }
  // Merged [start, end) ranges read so far.
  std::vector<std::pair<uint64_t, uint64_t>> merged() const {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    for (auto [s, e] : ranges_) {
      if (!out.empty() && s <= out.back().second)
        out.back().second = std::max(out.back().second, e);
      else
        out.emplace_back(s, e);
    }
    return out;
  }
  void clear() { ranges_.clear(); }

 private:
  const Memory& m_;
  mutable std::map<uint64_t, uint64_t> ranges_;
};

class RecordingTarget : public Target {
 public:
  RecordingTarget(const Target& t) : t_(t), mem(t.memory()) {}
  const Memory& memory() const override { return mem; }
  bool isLive() const override { return false; }
  int pid() const override { return t_.pid(); }
  std::string exePath() const override { return t_.exePath(); }
  std::vector<ThreadState> threads() const override { return t_.threads(); }
  std::string describe() const override { return t_.describe(); }

  const Target& t_;
  RecordingMemory mem;
};

// Fills img's segments with what rec recorded, read from `from`, and writes
// the encoded image to path. Returns the bytes of its segments.
uint64_t writeImage(fuzz::MemoryImage& img, const RecordingMemory& rec, const Memory& from,
                    const std::string& path) {
  uint64_t total = 0;
  for (auto [s, e] : rec.merged()) {
    std::vector<uint8_t> bytes(e - s);
    from.read(s, bytes.data(), bytes.size());
    total += bytes.size();
    img.segments.emplace_back(s, std::move(bytes));
  }
  auto enc = fuzz::encodeImage(img);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(enc.data()), std::streamsize(enc.size()));
  return total;
}

// gms_fuzz_seeds --descriptors EXE OUT.img: the bytes of EXE the type
// descriptor reader reads, as a descriptors seed.
int descriptorSeed(const char* exe, const char* out) {
  auto bin = Binary::open(exe);
  RecordingMemory rec(bin->fileMemory());
  DescriptorSource src = descriptorSourceOf(*bin);
  src.file = &rec;
  (void)findModuledata(src);
  size_t named = fuzz::walkTypes(*openDescriptorTypes(src));
  fuzz::MemoryImage img;
  img.typeName = fuzz::describeSource(src);
  uint64_t total = writeImage(img, rec, bin->fileMemory(), out);
  std::printf("%s: %zu types, %zu segments, %llu bytes\n", out, named, img.segments.size(),
              static_cast<unsigned long long>(total));
  return 0;
}

// gms_fuzz_seeds --heap CORE EXE OUT.img: what the heap walk reads of CORE,
// as a heap seed.
int heapSeed(const char* corePath, const char* exe, const char* out) {
  auto core = CoreFile::open(corePath);
  auto bin = Binary::open(exe);
  core->setUnderlay(&bin->fileMemory());
  RecordingTarget rt(*core);
  Program p(rt, *bin);
  HeapGraph g = heapGraph(p);
  fuzz::MemoryImage img;
  img.typeName = "heap";
  uint64_t total = writeImage(img, rt.mem, core->memory(), out);
  std::printf("%s: %llu objects reached, %zu segments, %llu bytes\n", out,
              static_cast<unsigned long long>(g.reachedObjects), img.segments.size(),
              static_cast<unsigned long long>(total));
  return 0;
}

int run(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--descriptors") return descriptorSeed(argv[2], argv[3]);
  if (argc == 5 && std::string(argv[1]) == "--heap") return heapSeed(argv[2], argv[3], argv[4]);
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: gms_fuzz_seeds CORE EXE OUTDIR GLOBAL...\n"
                 "       gms_fuzz_seeds --descriptors EXE OUT.img\n"
                 "       gms_fuzz_seeds --heap CORE EXE OUT.img\n");
    return 2;
  }
  auto core = CoreFile::open(argv[1]);
  auto bin = Binary::open(argv[2]);
  core->setUnderlay(&bin->fileMemory());
  RecordingTarget rt(*core);
  for (int i = 4; i < argc; i++) {
    // A fresh Program per seed, so each image holds everything its walk reads
    // (type descriptors included) and nothing else.
    Program p(rt, *bin);
    rt.mem.clear();
    Global g = p.global(argv[i]);
    fuzz::MemoryImage img;
    img.typeName = g.type->name;
    if (g.type->kind == Kind::Map) {
      img.root = core->memory().readPtr(g.addr);
      fuzz::walkMapAt(p, g.type, img.root);
    } else if (g.type->kind == Kind::Pointer && g.type->elem &&
               g.type->elem->name == "container/list.List") {
      img.root = core->memory().readPtr(g.addr);
      fuzz::walkListAt(p, img.root);
    } else if (g.type->name == "container/list.List") {
      img.root = g.addr;
      fuzz::walkListAt(p, img.root);
    } else if (isSyncMap(g.type)) {
      img.root = g.addr;
      fuzz::walkSyncMapAt(p, g.type, img.root);
    } else {
      std::fprintf(stderr, "%s: %s is neither a map nor a list\n", argv[i], g.type->name.c_str());
      return 2;
    }
    std::string path = std::string(argv[3]) + "/" + argv[i] + ".img";
    uint64_t total = writeImage(img, rt.mem, core->memory(), path);
    std::printf("%s: %s, %zu segments, %llu bytes\n", path.c_str(), img.typeName.c_str(),
                img.segments.size(), static_cast<unsigned long long>(total));
  }
  return 0;
}

}  // namespace
}  // namespace gms

int main(int argc, char** argv) {
  try {
    return gms::run(argc, argv);
  } catch (const gms::Error& e) {
    std::fprintf(stderr, "gms_fuzz_seeds: %s\n", e.what());
    return 2;
  }
}
