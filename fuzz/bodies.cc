#include "fuzz/bodies.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "binary/binary.h"
#include "binary/buildinfo.h"
#include "binary/descriptor_types.h"
#include "binary/pclntab.h"
#include "common/error.h"
#include "goruntime/discover.h"
#include "goruntime/heap_graph.h"
#include "goruntime/list.h"
#include "goruntime/maps.h"
#include "goruntime/program.h"
#include "goruntime/sync_map.h"
#include "goruntime/value.h"
#include "report/json_writer.h"
#include "report/out.h"
#include "report/sinks.h"
#include "target/core_file.h"
#include "target/memory.h"

namespace gms::fuzz {
namespace {

// The input as a file the path-based parsers can open. memfd: no disk, no
// cleanup on a crash.
class MemFile {
 public:
  MemFile(const uint8_t* data, size_t size) {
    fd_ = memfd_create("gms-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) std::abort();
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) std::abort();
      done += size_t(n);
    }
  }
  ~MemFile() { ::close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_ = -1;
};

// Renders into memory and throws the text away; the sinks run for real.
struct Discard {
  Out out{nullptr};
  JsonWriter w{out};
  JsonValueSink sink{w};
  void reset() { out.buffer().clear(); }
};

RenderLimits limits() {
  RenderLimits l;
  l.depth = 4;
  l.maxString = 256;
  l.maxElems = 64;
  return l;
}

template <typename T>
bool take(const uint8_t*& p, const uint8_t* end, T& v) {
  if (size_t(end - p) < sizeof v) return false;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return true;
}

void touchMemory(const Memory& m, uint64_t addr, uint64_t len) {
  uint8_t buf[64];
  try {
    m.read(addr, buf, len < sizeof buf ? len : sizeof buf);
  } catch (const Error&) {
  }
}

}  // namespace

void elf(const uint8_t* data, size_t size) {
  MemFile f(data, size);
  try {
    auto bin = Binary::open(f.path());
    for (const auto& s : bin->sections()) touchMemory(bin->fileMemory(), s.addr, s.size);
    for (const auto& s : bin->segments()) touchMemory(bin->fileMemory(), s.vaddr, s.filesz);
    (void)bin->symbol("main.main");
    (void)bin->symbol("runtime.firstmoduledata");
    (void)bin->goBuildId();
    (void)bin->gnuBuildId();
    (void)bin->missingDebugInfo();
    if (const TypeProvider* t = bin->types()) {
      size_t n = 0;
      for (const auto& g : t->globals()) {
        if (++n > 200) break;
        (void)t->findGlobal(g.name);
        if (g.type) (void)t->findType(g.type->name);
      }
      (void)t->findType("runtime.hmap");
      (void)t->findType("internal/runtime/maps.Map");
      (void)t->findByRuntimeOffset(0x1000);
    }
  } catch (const Error&) {
  }
}

void core(const uint8_t* data, size_t size) {
  MemFile f(data, size);
  try {
    auto c = CoreFile::open(f.path());
    (void)c->pid();
    (void)c->exePath();
    (void)c->describe();
    (void)c->threads();
    (void)c->fileMappings();
    (void)c->zeroFill();
    (void)c->warnings();
    for (const auto& m : c->memory().mappings()) {
      touchMemory(c->memory(), m.start, m.size());
      if (m.size() > 64) touchMemory(c->memory(), m.end - 64, 64);
    }
  } catch (const Error&) {
  }
}

void buildinfo(const uint8_t* data, size_t size) {
  FakeMemory image;
  image.add(0x400000, std::vector<uint8_t>(data, data + size));
  try {
    GoBuildInfo bi = parseBuildInfo(ByteView(data, size), image);
    (void)bi.atLeast(1, 24);
  } catch (const Error&) {
  }
}

size_t pclntab(const uint8_t* data, size_t size) {
  constexpr uint64_t kText = 0x401000;
  size_t resolved = 0;
  try {
    Pclntab t = Pclntab::parse(std::vector<uint8_t>(data, data + size), kText);
    // The input doubles as the funcdata region: inline-tree offsets then
    // land in bytes the fuzzer controls.
    t.setFuncData(std::vector<uint8_t>(data, data + size));
    // Bounded: 256 functions spread over the table, a few PCs in each, plus
    // PCs taken from the input itself.
    size_t n = t.funcCount(), step = std::max<size_t>(1, n / 256);
    for (size_t i = 0; i < n; i += step) {
      auto f = t.funcAt(i);
      if (!f) continue;
      for (uint64_t pc : {f->entry, f->entry + (f->end - f->entry) / 2, f->end - 1}) {
        if (auto l = t.lineFor(pc); l && pc == f->entry) resolved++;
        resolved += t.framesFor(pc).size() > 1;
        (void)t.spDelta(pc);
        (void)t.funcFor(pc);
        // Stack maps and stack objects (funcdata the fuzzer controls).
        if (auto m = t.pointerMaps(pc)) resolved += !m->locals.empty() + !m->objects.empty();
      }
    }
    for (size_t off = 0; off + 8 <= size && off < 16 * 8; off += 8) {
      uint64_t pc;
      std::memcpy(&pc, data + off, 8);
      (void)t.lineFor(pc);
      (void)t.lineFor(kText + (pc & 0xfffff));
      (void)t.framesFor(kText + (pc & 0xfffff));
      (void)t.spDelta(kText + (pc & 0xfffff));
      (void)t.pointerMaps(kText + (pc & 0xfffff));
    }
  } catch (const Error&) {
  }
  return resolved;
}

std::string describeSource(const DescriptorSource& src) {
  std::string s = fmt::format("minor={} swiss={} pclntab={:x},{:x} text={:x} data=", src.goMinor,
                              src.swissMaps ? 1 : 0, src.pclntab, src.pclntabSize, src.text);
  for (size_t i = 0; i < src.dataRanges.size(); i++)
    s +=
        fmt::format("{}{:x},{:x}", i ? ";" : "", src.dataRanges[i].first, src.dataRanges[i].second);
  return s;
}

std::optional<DescriptorSource> parseSource(const std::string& line) {
  DescriptorSource src;
  int swiss = 0;
  unsigned long long pc = 0, pcs = 0, text = 0;
  int used = 0;
  if (std::sscanf(line.c_str(), "minor=%d swiss=%d pclntab=%llx,%llx text=%llx data=%n",
                  &src.goMinor, &swiss, &pc, &pcs, &text, &used) != 5 ||
      used == 0)
    return std::nullopt;
  src.swissMaps = swiss != 0;
  src.pclntab = pc;
  src.pclntabSize = pcs;
  src.text = text;
  const char* p = line.c_str() + used;
  while (*p && src.dataRanges.size() < 8) {
    unsigned long long a = 0, b = 0;
    int n = 0;
    if (std::sscanf(p, "%llx,%llx%n", &a, &b, &n) != 2 || n == 0) return std::nullopt;
    src.dataRanges.emplace_back(a, b);
    p += n;
    if (*p == ';') p++;
  }
  return src;
}

size_t walkTypes(const TypeProvider& types) {
  size_t named = 0;
  std::vector<std::string_view> names = types.typeNames();
  if (names.size() > 8192) names.resize(8192);
  for (std::string_view n : names) {
    const Type* t = types.findType(n);
    if (!t) continue;
    named++;
    size_t touched = 0;
    auto touch = [&](const Type* x) {
      if (!x) return;
      touched += x->name.size() + x->size + x->len + x->fields.size();
      if (x->runtimeTypeOff >= 0) (void)types.findByRuntimeOffset(uint64_t(x->runtimeTypeOff));
    };
    touch(t);
    touch(t->elem);
    touch(t->key);
    for (const Field& f : t->fields) touch(f.type);
    // A map's synthesised header, down to its bucket or group.
    if (const Type* h = t->mapHeader)
      for (const Field& f : h->fields) {
        touch(f.type);
        for (const Type* in = f.type; in && in->kind == Kind::Pointer; in = in->elem)
          touch(in->elem);
      }
    (void)touched;
  }
  for (uint64_t off : {uint64_t(0), uint64_t(8), uint64_t(0x1000), ~uint64_t(0)})
    (void)types.findByRuntimeOffset(off);
  return named;
}

namespace {

// An image's segments sorted by address for binary search (FakeMemory scans
// linearly, too slow for the thousands of small segments a type section
// image has). A segment overlapping an earlier one is dropped.
class SortedMemory : public Memory {
 public:
  explicit SortedMemory(std::vector<std::pair<uint64_t, std::vector<uint8_t>>> segs) {
    std::stable_sort(segs.begin(), segs.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& s : segs) {
      if (s.second.empty() || s.first + s.second.size() < s.first) continue;
      if (!segs_.empty() && s.first < segs_.back().first + segs_.back().second.size()) continue;
      segs_.push_back(std::move(s));
    }
  }
  void read(uint64_t addr, void* out, size_t n) const override {
    auto* dst = static_cast<uint8_t*>(out);
    while (n > 0) {
      auto it = std::upper_bound(segs_.begin(), segs_.end(), addr,
                                 [](uint64_t a, const auto& s) { return a < s.first; });
      if (it == segs_.begin()) throw Fault(addr, "not mapped");
      --it;
      uint64_t off = addr - it->first;
      if (off >= it->second.size()) throw Fault(addr, "not mapped");
      size_t k = std::min<uint64_t>(n, it->second.size() - off);
      std::memcpy(dst, it->second.data() + off, k);
      dst += k;
      addr += k;
      n -= k;
    }
  }
  std::vector<Mapping> mappings() const override {
    std::vector<Mapping> m;
    for (const auto& s : segs_) m.push_back({s.first, s.first + s.second.size()});
    return m;
  }

 private:
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> segs_;
};

}  // namespace

size_t descriptors(const uint8_t* data, size_t size) {
  auto img = decodeImage(data, size);
  if (!img) return 0;
  auto src = parseSource(img->typeName);
  if (!src) return 0;
  SortedMemory file(std::move(img->segments));
  src->file = &file;
  try {
    (void)findModuledata(*src);
    auto types = openDescriptorTypes(*src);
    return walkTypes(*types);
  } catch (const Error&) {
    return 0;
  }
}

std::vector<uint8_t> encodeImage(const MemoryImage& img) {
  std::vector<uint8_t> out{'G', 'M', 'S', 'I'};
  auto put = [&](const void* p, size_t n) {
    auto b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  };
  uint16_t nameLen = uint16_t(img.typeName.size());
  put(&nameLen, sizeof nameLen);
  put(img.typeName.data(), nameLen);
  put(&img.root, sizeof img.root);
  for (const auto& [addr, bytes] : img.segments) {
    uint32_t len = uint32_t(bytes.size());
    put(&addr, sizeof addr);
    put(&len, sizeof len);
    put(bytes.data(), bytes.size());
  }
  return out;
}

std::optional<MemoryImage> decodeImage(const uint8_t* data, size_t size) {
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  if (size < 4 || std::memcmp(p, "GMSI", 4) != 0) return std::nullopt;
  p += 4;
  MemoryImage img;
  uint16_t nameLen = 0;
  if (!take(p, end, nameLen) || size_t(end - p) < nameLen) return std::nullopt;
  img.typeName.assign(reinterpret_cast<const char*>(p), nameLen);
  p += nameLen;
  if (!take(p, end, img.root)) return std::nullopt;
  while (true) {
    uint64_t addr = 0;
    uint32_t len = 0;
    if (!take(p, end, addr) || !take(p, end, len)) break;
    size_t n = std::min<size_t>(len, size_t(end - p));
    img.segments.emplace_back(addr, std::vector<uint8_t>(p, p + n));
    p += n;
  }
  return img;
}

uint64_t walkMapAt(const Program& p, const Type* mapType, uint64_t root) {
  Discard d;
  ValueRenderer r(p, limits());
  WalkOptions opts;
  opts.buckets = true;
  opts.maxBuckets = 4096;
  uint64_t n = 0;
  MapSummary s = walkMap(p, mapType, root, opts, [&](uint64_t k, uint64_t v) {
    d.reset();
    r.render(k, mapType->key, d.sink);
    r.render(v, mapType->elem, d.sink);
    return ++n < 4096;
  });
  (void)s.loadFactor();
  (void)s.footprint.total();
  return s.found;
}

uint64_t walkListAt(const Program& p, uint64_t root) {
  Discard d;
  ValueRenderer r(p, limits());
  const Type* et = elementType(p);
  const Field* vf = et ? et->field("Value") : nullptr;
  uint64_t n = 0;
  ListSummary s = walkList(p, root, [&](const ListElementRef& e) {
    d.reset();
    if (vf) r.render(e.valueAddr, vf->type, d.sink);
    (void)readElement(p, e.addr);
    return ++n < 4096;
  });
  (void)readElement(p, root);
  return s.found;
}

uint64_t walkSyncMapAt(const Program& p, const Type* syncMapType, uint64_t root) {
  Discard d;
  ValueRenderer r(p, limits());
  const Type* any = nullptr;
  uint64_t n = 0;
  SyncMapSummary s = walkSyncMap(p, syncMapType, root, [&](uint64_t k, uint64_t v) {
    d.reset();
    if (any) {
      r.render(k, any, d.sink);
      r.render(v, any, d.sink);
    }
    return ++n < 4096;
  });
  // The entries are rendered on a second walk, now that the summary names
  // the `any` type (as reports.cc does).
  if ((any = s.anyType)) {
    n = 0;
    walkSyncMap(p, syncMapType, root, [&](uint64_t k, uint64_t v) {
      d.reset();
      r.render(k, any, d.sink);
      r.render(v, any, d.sink);
      return ++n < 4096;
    });
  }
  return s.len;
}

ImageFuzzer::ImageFuzzer(const std::string& exePath) : bin_(Binary::open(exePath)) {
  if (!bin_->types())
    fail(ErrorKind::MissingDebugInfo, "{}: {}", exePath, bin_->missingDebugInfo());
}
ImageFuzzer::~ImageFuzzer() = default;

uint64_t ImageFuzzer::map(const uint8_t* data, size_t size) {
  return withImage(data, size, [](const Program& p, const MemoryImage& img) -> uint64_t {
    const Type* mt = p.types().findType(img.typeName);
    if (!mt || mt->kind != Kind::Map) return 0;
    return walkMapAt(p, mt, img.root);
  });
}

uint64_t ImageFuzzer::list(const uint8_t* data, size_t size) {
  return withImage(
      data, size, [](const Program& p, const MemoryImage& img) { return walkListAt(p, img.root); });
}

uint64_t ImageFuzzer::syncMap(const uint8_t* data, size_t size) {
  return withImage(data, size, [](const Program& p, const MemoryImage& img) -> uint64_t {
    const Type* t = p.types().findType(img.typeName);
    if (!t || !isSyncMap(t)) return 0;
    return walkSyncMapAt(p, t, img.root);
  });
}

uint64_t ImageFuzzer::heap(const uint8_t* data, size_t size) {
  return withImage(data, size, [](const Program& p, const MemoryImage&) {
    HeapGraphOptions o;
    o.maxObjects = 200'000;
    uint64_t reached = heapGraph(p, o).reachedObjects;
    // Maps and lists by shape over the same bytes (goruntime/recognize.h).
    DiscoverOptions d;
    d.roots.stacks = false;
    d.searchShapes = true;
    d.retained = true;  // and the dominator tree over the same bytes
    d.maxObjects = 200'000;
    Discovery found = discover(p, d);
    return reached + found.items.size();
  });
}

uint64_t ImageFuzzer::withImage(
    const uint8_t* data, size_t size,
    const std::function<uint64_t(const Program&, const MemoryImage&)>& walk) {
  auto img = decodeImage(data, size);
  if (!img) return 0;
  FakeTarget t("fuzz image");
  for (auto& [addr, bytes] : img->segments) t.mem.add(addr, std::move(bytes));
  try {
    Program p(t, *bin_);
    return walk(p, *img);
  } catch (const Error&) {
    return 0;  // bad bytes: the expected outcome
  }
}

ImageFuzzer& imageFuzzerFromEnv() {
  static ImageFuzzer* f = [] {
    const char* exe = std::getenv("GMS_FUZZ_EXE");
    if (!exe || !*exe) {
      std::fprintf(stderr,
                   "set GMS_FUZZ_EXE to the fixture executable the corpus was taken from "
                   "(scripts/fuzz.sh does)\n");
      std::exit(2);
    }
    try {
      return new ImageFuzzer(exe);
    } catch (const Error& e) {
      std::fprintf(stderr, "GMS_FUZZ_EXE=%s: %s\n", exe, e.what());
      std::exit(2);
    }
  }();
  return *f;
}

}  // namespace gms::fuzz
