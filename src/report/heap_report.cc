#include "report/heap_report.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <string_view>

#include "common/error.h"
#include "report/json_writer.h"

namespace gms {

namespace {

// ---- a protobuf encoder for the few messages of profile.proto ----
// (github.com/google/pprof/proto/profile.proto: Profile, ValueType, Sample,
// Location, Line, Function; field numbers as there.)
class Pb {
 public:
  void varint(uint64_t v) {
    while (v >= 0x80) {
      b_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    b_.push_back(static_cast<uint8_t>(v));
  }
  void tag(uint32_t field, uint32_t wire) { varint((uint64_t(field) << 3) | wire); }
  void uint(uint32_t field, uint64_t v) {
    if (!v) return;  // proto3: zero is the default, left out
    tag(field, 0);
    varint(v);
  }
  void bytes(uint32_t field, std::string_view s) {
    tag(field, 2);
    varint(s.size());
    b_.insert(b_.end(), s.begin(), s.end());
  }
  void message(uint32_t field, const Pb& m) {
    bytes(field, std::string_view(reinterpret_cast<const char*>(m.b_.data()), m.b_.size()));
  }
  void packed(uint32_t field, const std::vector<uint64_t>& vs) {
    Pb in;
    for (uint64_t v : vs) in.varint(v);
    message(field, in);
  }
  std::vector<uint8_t>& data() { return b_; }

 private:
  std::vector<uint8_t> b_;
};

std::vector<uint8_t> gzipped(const std::vector<uint8_t>& in) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fail(ErrorKind::Internal, "zlib: deflateInit2 failed");
  std::vector<uint8_t> out(deflateBound(&z, in.size()) + 32);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  int r = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (r != Z_STREAM_END) fail(ErrorKind::Internal, "zlib: deflate did not finish ({})", r);
  return out;
}

// Every node's cumulative objects and bytes (itself and everything below
// it): nodes are created after their parents, so one pass from the end.
void cumulative(const HeapGraph& g, std::vector<uint64_t>& objs, std::vector<uint64_t>& bytes) {
  objs.assign(g.nodes.size(), 0);
  bytes.assign(g.nodes.size(), 0);
  for (size_t i = g.nodes.size(); i-- > 1;) {
    objs[i] += g.nodes[i].objects;
    bytes[i] += g.nodes[i].bytes;
    objs[g.nodes[i].parent] += objs[i];
    bytes[g.nodes[i].parent] += bytes[i];
  }
}

std::string chainText(const HeapGraph& g, uint32_t n) {
  std::string s;
  for (uint32_t l : g.chain(n)) {
    if (!s.empty()) s += " -> ";
    s += g.labels[l];
  }
  return s;
}

}  // namespace

std::vector<uint8_t> heapPprof(const HeapGraph& g, bool gzip) {
  // The string table: "" first, then the sample types' words, then one name
  // per label (label l at labelBase + l).
  const std::vector<std::string> words = {"",      "inuse_objects", "count", "inuse_space",
                                          "bytes", "space"};
  const uint64_t labelBase = words.size() - 1;  // label 0 ("") is never written
  Pb prof;
  auto valueType = [](uint64_t type, uint64_t unit) {
    Pb vt;
    vt.uint(1, type);
    vt.uint(2, unit);
    return vt;
  };
  prof.message(1, valueType(1, 2));  // inuse_objects/count
  prof.message(1, valueType(3, 4));  // inuse_space/bytes
  // Samples: one per node with objects of its own, its chain leaf first;
  // label l is location and function l.
  for (uint32_t n = 1; n < g.nodes.size(); n++) {
    const HeapChainNode& node = g.nodes[n];
    if (!node.objects) continue;
    std::vector<uint64_t> locs;
    for (uint32_t m = n; m; m = g.nodes[m].parent) locs.push_back(g.nodes[m].label);
    Pb s;
    s.packed(1, locs);
    s.packed(2, {node.objects, node.bytes});
    prof.message(2, s);
  }
  for (uint64_t l = 1; l < g.labels.size(); l++) {
    Pb line;
    line.uint(1, l);
    Pb loc;
    loc.uint(1, l);
    loc.message(4, line);
    prof.message(4, loc);
  }
  for (uint64_t l = 1; l < g.labels.size(); l++) {
    Pb fn;
    fn.uint(1, l);
    fn.uint(2, labelBase + l);
    fn.uint(3, labelBase + l);
    prof.message(5, fn);
  }
  for (const std::string& w : words) prof.bytes(6, w);
  // pprof simplifies a name as it would a C++ template, dropping what lies
  // between < and > ("<48 B object>" showed as <unknown>, "table<K,V>" as
  // "table"): the profile spells them with [ ].
  for (size_t l = 1; l < g.labels.size(); l++) {
    std::string name = g.labels[l];
    std::replace(name.begin(), name.end(), '<', '[');
    std::replace(name.begin(), name.end(), '>', ']');
    prof.bytes(6, name);
  }
  auto now = std::chrono::system_clock::now().time_since_epoch();
  prof.uint(
      9, static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()));
  prof.message(11, valueType(5, 4));  // period_type space/bytes
  prof.uint(12, 1);                   // period: each sample is what it says
  prof.uint(14, 3);                   // default_sample_type: inuse_space
  return gzip ? gzipped(prof.data()) : std::move(prof.data());
}

void reportHeap(Out& o, const HeapGraph& g, const std::string& target, Format f, uint64_t limit) {
  std::vector<uint64_t> cumObjs, cumBytes;
  cumulative(g, cumObjs, cumBytes);
  std::vector<uint32_t> roots, chains;
  for (uint32_t n = 1; n < g.nodes.size(); n++) {
    if (g.nodes[n].parent == 0) roots.push_back(n);
    if (g.nodes[n].objects) chains.push_back(n);
  }
  std::sort(roots.begin(), roots.end(), [&](uint32_t a, uint32_t b) {
    return cumBytes[a] != cumBytes[b] ? cumBytes[a] > cumBytes[b] : a < b;
  });
  std::sort(chains.begin(), chains.end(), [&](uint32_t a, uint32_t b) {
    return g.nodes[a].bytes != g.nodes[b].bytes ? g.nodes[a].bytes > g.nodes[b].bytes : a < b;
  });
  auto cut = [&](std::vector<uint32_t>& v) {
    if (limit && v.size() > limit) v.resize(limit);
  };
  const size_t allRoots = roots.size(), allChains = chains.size();
  cut(roots);
  cut(chains);
  if (f == Format::Json) {
    JsonWriter w(o);
    w.beginObject();
    w.field("target", target);
    w.field("objects", g.objects);
    w.field("bytes", g.bytes);
    w.field("reachedObjects", g.reachedObjects);
    w.field("reachedBytes", g.reachedBytes);
    w.field("typedObjects", g.typedObjects);
    w.field("maskedObjects", g.maskedObjects);
    w.field("pointerMasks", g.maskScheme);
    w.field("rootWords", g.rootWords);
    w.field("goroutines", g.goroutines);
    w.field("budgetHit", g.budgetHit);
    w.key("roots");
    w.beginArray();
    for (uint32_t n : roots) {
      w.beginObject();
      w.field("root", g.labels[g.nodes[n].label]);
      w.field("objects", cumObjs[n]);
      w.field("bytes", cumBytes[n]);
      w.endObject();
    }
    w.endArray();
    w.key("chains");
    w.beginArray();
    for (uint32_t n : chains) {
      w.beginObject();
      w.key("chain");
      w.beginArray();
      for (uint32_t l : g.chain(n)) w.string(g.labels[l]);
      w.endArray();
      w.field("objects", g.nodes[n].objects);
      w.field("bytes", g.nodes[n].bytes);
      w.endObject();
    }
    w.endArray();
    w.stringArray("problems", g.problems);
    w.endObject();
    w.newline();
    return;
  }
  o.print(
      "{}: {} in {} heap objects; {} ({:.1f}%) reached from {} root words and {} goroutine "
      "stacks; {} objects named by type{}\n",
      target, humanBytes(g.bytes), g.objects, humanBytes(g.reachedBytes),
      g.bytes ? 100.0 * double(g.reachedBytes) / double(g.bytes) : 0.0, g.rootWords, g.goroutines,
      g.typedObjects, g.budgetHit ? " — budget hit: partial" : "");
  o.print("  pointers: {}\n",
          g.maskScheme.empty()
              ? std::string("every word that points into the heap (no pointer bitmap for this "
                            "release)")
              : fmt::format("read from the {} ({} objects), as the GC reads them", g.maskScheme,
                            g.maskedObjects));
  o.print("  roots, by what they keep alive:\n");
  o.print("  {:>10}  {:>9}  {}\n", "bytes", "objects", "root");
  for (uint32_t n : roots)
    o.print("  {:>10}  {:>9}  {}\n", humanBytes(cumBytes[n]), cumObjs[n],
            g.labels[g.nodes[n].label]);
  if (roots.size() < allRoots) o.print("  ... {} more roots\n", allRoots - roots.size());
  o.print("  chains, by the bytes of the objects at their end:\n");
  o.print("  {:>10}  {:>9}  {}\n", "bytes", "objects", "chain");
  for (uint32_t n : chains)
    o.print("  {:>10}  {:>9}  {}\n", humanBytes(g.nodes[n].bytes), g.nodes[n].objects,
            chainText(g, n));
  if (chains.size() < allChains)
    o.print("  ... {} more chains (--limit 0 shows all; -o FILE writes them for go tool pprof)\n",
            allChains - chains.size());
  for (const std::string& p : g.problems) o.print("  problem: {}\n", p);
}

}  // namespace gms
