// Fuzz bodies: what each libFuzzer target does with one input, as plain
// functions, so that the same code runs under libFuzzer (fuzz/*_fuzz.cc, built
// with -DGMS_FUZZ=ON) and in the ordinary test suite, which replays every
// committed crash input in fuzz/regressions/ (tests/common/fuzz_regressions_test.cc).
//
// A body returns normally for any input: gms::Error (Corrupt, Fault, ...) is the
// expected outcome of bad bytes and is swallowed. Anything else — another
// exception, a crash, a sanitizer report, a hang or unbounded memory — is a bug.
//
// Targets:
//  - elf, core: the bytes are a file (written to a memfd, opened by path
//    /proc/self/fd/N as the real parsers do); elf also loads the DWARF types.
//  - buildinfo: the bytes are a .go.buildinfo blob, also mapped as the file
//    image the pre-1.18 format points into.
//  - pclntab: the bytes are a .gopclntab section (seeds: Go 1.19 and 1.26).
//  - descriptors: the bytes are a MemoryImage of an executable's type
//    section, moduledata and pclntab header (seeds: each toolchain's maps
//    fixture), read by the type-descriptor reader.
//  - map, list: the bytes are a MemoryImage (below): the memory a decoder read
//    from a real fixture core, walked with the real DWARF types of that
//    fixture's executable (loaded once).
//  - sync_map, sync_map_19: the same for a sync.Map (syncmap fixture; Go 1.26's
//    hash-trie and Go 1.19's read/dirty maps): nodes, entries and the
//    expunged inference mutated.
//  - heap: the same, the memory the heap walk (span table, allocation bits,
//    objects, .data/.bss, goroutine stacks) read from the hello fixture's
//    core, walked again: spans, size classes, pointers and stacks mutated;
//    then the same bytes searched for maps and lists by their shape
//    (discover with searchShapes, goruntime/recognize.h), with their
//    retained sizes (goruntime/retained.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gms {
class Binary;
class Program;
class TypeProvider;
struct DescriptorSource;
struct Type;
}  // namespace gms

namespace gms::fuzz {

void elf(const uint8_t* data, size_t size);
void core(const uint8_t* data, size_t size);
void buildinfo(const uint8_t* data, size_t size);
// The bytes are a .gopclntab section; every lookup the watcher's unwinder
// makes (funcAt, funcFor, lineFor, spDelta) runs over a bounded set of PCs.
// Returns the number of functions whose entry resolved to a line.
size_t pclntab(const uint8_t* data, size_t size);

// The bytes are a MemoryImage (below) of an executable's file image: its
// typeName holds the DescriptorSource the image was taken with (see
// describeSource), its segments the bytes the descriptor reader read. Opens
// the type descriptors and walks every type (names, fields, elements, map
// headers, runtime offsets) with bounded limits. Returns the types named.
size_t descriptors(const uint8_t* data, size_t size);

// A compact memory image: which value to decode (its Go type name and
// address) plus the segments of target memory around it. Encoding (little
// endian): "GMSI", u16 name length, name, u64 root, then segments
// {u64 addr, u32 length, bytes} to the end. Decoding is lenient (a segment
// running past the end is cut short) so that mutated images stay useful.
struct MemoryImage {
  std::string typeName;  // "map[string]int", "*container/list.List"
  uint64_t root = 0;     // address of the map header / the List
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> segments;
};
std::vector<uint8_t> encodeImage(const MemoryImage& img);
std::optional<MemoryImage> decodeImage(const uint8_t* data, size_t size);

// The decoder walk both the fuzz targets and the seed extractor run: walk the
// map (with --buckets) or list at root and render every key/value/element
// with bounded limits. Returns the entries/elements found.
uint64_t walkMapAt(const Program& p, const Type* mapType, uint64_t root);
uint64_t walkListAt(const Program& p, uint64_t root);
uint64_t walkSyncMapAt(const Program& p, const Type* syncMapType, uint64_t root);

// What descriptors() and the seed extractor share: a DescriptorSource's
// parameters as one line, "minor=26 swiss=1 pclntab=ADDR,SIZE text=ADDR
// data=A,B;A,B" (hex addresses), and back (nullopt when malformed); and the
// walk over a provider (returns the types named).
std::string describeSource(const DescriptorSource& src);
std::optional<DescriptorSource> parseSource(const std::string& line);
size_t walkTypes(const TypeProvider& types);

// Decodes images against one fixture executable (its DWARF is loaded once).
class ImageFuzzer {
 public:
  explicit ImageFuzzer(const std::string& exePath);
  ~ImageFuzzer();
  // Entries/elements found (0 when the image does not decode).
  uint64_t map(const uint8_t* data, size_t size);
  uint64_t list(const uint8_t* data, size_t size);
  // A sync.Map at the image's root (typeName "sync.Map"); its len.
  uint64_t syncMap(const uint8_t* data, size_t size);
  // The heap walk (goruntime/heap_graph.h) over the image, bounded: the
  // image holds what the walk read of a fixture core (typeName and root
  // unused). Returns the objects reached.
  uint64_t heap(const uint8_t* data, size_t size);

 private:
  // The image's memory as a target, a Program over it, and walk; 0 when the
  // image does not decode or the walk throws Error.
  uint64_t withImage(const uint8_t* data, size_t size,
                     const std::function<uint64_t(const Program&, const MemoryImage&)>& walk);
  std::unique_ptr<Binary> bin_;
};

// For the fuzz executables: the fixture executable named by $GMS_FUZZ_EXE;
// exits with a message when it is not set.
ImageFuzzer& imageFuzzerFromEnv();

}  // namespace gms::fuzz
