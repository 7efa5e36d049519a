// gms_map_strings: lists where the string data of a map's keys and values
// lives, in the order a walk of the map finds them, for gms_floor's second
// floor (bench/floor.cc): a map[string]V's bytes include its keys' bytes, and
// those can only be reached through the map's slots, in the map's order.
// Writes little-endian uint64 pairs (address, length) to OUT.
// usage: gms_map_strings CORE BINARY VAR OUT
#include <cstdio>
#include <vector>

#include "cli/session.h"
#include "goruntime/expr.h"
#include "goruntime/maps.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: gms_map_strings CORE BINARY VAR OUT\n");
    return 2;
  }
  try {
    gms::TargetOptions o;
    o.core = argv[1];
    o.exe = argv[2];
    auto s = gms::Session::open(o);
    const gms::Program& p = s->program();
    gms::Located l = gms::resolve(p, argv[3]);
    if (!l.type || l.type->kind != gms::Kind::Map) {
      std::fprintf(stderr, "%s is not a map\n", argv[3]);
      return 2;
    }
    const gms::Type* t = l.type;
    bool ks = t->key && t->key->kind == gms::Kind::String;
    bool vs = t->elem && t->elem->kind == gms::Kind::String;
    std::vector<uint64_t> out;
    auto str = [&](uint64_t addr) {
      uint64_t h[2];
      p.mem().read(addr, h, sizeof h);
      out.push_back(h[0]);
      out.push_back(h[1]);
    };
    gms::walkMap(p, t, gms::mapHeaderOf(p, l), {}, [&](uint64_t k, uint64_t v) {
      if (ks) str(k);
      if (vs) str(v);
      return true;
    });
    std::FILE* f = std::fopen(argv[4], "wb");
    if (!f || std::fwrite(out.data(), 8, out.size(), f) != out.size() || std::fclose(f) != 0) {
      std::perror(argv[4]);
      return 2;
    }
    std::printf("%zu\n", out.size() / 2);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gms_map_strings: %s\n", e.what());
    return 2;
  }
}
