// Binary::open against the binary_types fixture built by each Go toolchain.
// Ground truth comes from outside the code under test: the fixture prints its
// own addresses, sizes and unsafe.Offsetof values, `go tool buildid` and
// readelf give the build IDs, and the toolchain name gives the Go version.
#include "binary/binary.h"

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "common/error.h"
#include "support/fixture.h"

namespace gms::test {
namespace {

struct Built {
  std::string path;
  std::unique_ptr<Binary> bin;
  nlohmann::json truth;  // only for default (non-PIE) builds
};

// One open binary per toolchain and flags for the whole test program.
const Built& built(const Toolchain& tc, BuildFlags flags = {}) {
  static std::map<std::string, Built> cache;
  std::string key = tc.name + "/" + flags.key();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  Built b;
  b.path = buildFixture(tc, "binary_types", flags);
  b.bin = Binary::open(b.path);
  auto r = runCommand({b.path, "facts"}, 60);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  auto pos = r.out.find("GMS-TRUTH ");
  if (pos != std::string::npos)
    b.truth = nlohmann::json::parse(r.out.substr(pos + 10, r.out.find('\n', pos) - pos - 10));
  return cache.emplace(key, std::move(b)).first->second;
}

std::string trim(std::string s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

bool isOneOf(Kind k, std::initializer_list<Kind> ks) {
  for (Kind x : ks)
    if (x == k) return true;
  return false;
}

class BinaryTest : public ::testing::TestWithParam<std::string> {
 protected:
  const Toolchain& tc() const { return toolchain(GetParam()); }
  bool swiss() const { return tc().swiss(); }
  const Binary& bin() { return *built(tc()).bin; }
  const nlohmann::json& truth() { return built(tc()).truth; }
  const TypeProvider& types() {
    const TypeProvider* t = bin().types();
    if (!t) throw std::runtime_error("no types: " + bin().missingDebugInfo());
    return *t;
  }
  const Type* global(const std::string& name) {
    auto g = types().findGlobal(name);
    if (!g) {
      ADD_FAILURE() << "global " << name << " not found";
      return nullptr;
    }
    EXPECT_NE(g->type, nullptr) << name;
    return g->type;
  }
  void expectLayout(const Type* t, const std::string& name) {
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->name, name);
    EXPECT_EQ(t->kind, Kind::Struct) << name;
    EXPECT_EQ(t->size, truth()["sizes"][name].get<uint64_t>()) << name;
    for (auto& [field, off] : truth()["offsets"][name].items()) {
      const Field* f = t->field(field);
      ASSERT_NE(f, nullptr) << name << "." << field;
      EXPECT_EQ(f->offset, off.get<uint64_t>()) << name << "." << field;
    }
  }
};

TEST_P(BinaryTest, BuildInfo) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const auto& bi = bin().buildInfo();
  ASSERT_TRUE(bi.has_value());
  EXPECT_EQ(bi->goVersion, truth()["goVersion"].get<std::string>());
  EXPECT_EQ(bi->goVersion.rfind(tc().name + ".", 0), 0u) << bi->goVersion;
  auto r = runCommand({tc().goBinary, "version"}, 30);
  EXPECT_NE(r.out.find(bi->goVersion + " "), std::string::npos) << r.out;
  EXPECT_EQ(bi->major, 1);
  EXPECT_EQ(bi->minor, tc().minor);
  EXPECT_EQ(fmt::format("go{}.{}.{}", bi->major, bi->minor, bi->patch), bi->goVersion);
  EXPECT_TRUE(bi->atLeast(1, 19));
  EXPECT_EQ(bi->mainPath, "gomemscope.test/binary_types");
  EXPECT_EQ(bi->modinfo.rfind("path\tgomemscope.test/binary_types\n", 0), 0u) << bi->modinfo;
  EXPECT_EQ(bi->settings.at("GOARCH"), "amd64");
  EXPECT_EQ(bi->settings.at("GOOS"), "linux");
  EXPECT_EQ(bi->settings.at("-compiler"), "gc");
  EXPECT_EQ(bi->settings.at("CGO_ENABLED"), "0");  // the harness builds with CGO_ENABLED=0
}

TEST_P(BinaryTest, BuildIds) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  auto r = runCommand({tc().goBinary, "tool", "buildid", built(tc()).path}, 60);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(bin().goBuildId(), trim(r.out));
  auto re = runCommand({"readelf", "-n", built(tc()).path}, 30);
  if (re.exitCode != 0) GTEST_SKIP() << "readelf unavailable";
  auto pos = re.out.find("Build ID: ");
  if (pos != std::string::npos) {
    pos += 10;
    auto end = re.out.find_first_not_of("0123456789abcdef", pos);
    EXPECT_EQ(bin().gnuBuildId(), re.out.substr(pos, end - pos));
    EXPECT_EQ(bin().gnuBuildId().size(), 40u);
  } else {
    EXPECT_EQ(bin().gnuBuildId(), "");  // go1.19 writes no GNU note by default
  }
}

TEST_P(BinaryTest, SectionsSegmentsSymbols) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  EXPECT_NE(bin().section(".go.buildinfo"), nullptr);
  EXPECT_NE(bin().section(".debug_info"), nullptr);
  EXPECT_EQ(bin().section(".no.such"), nullptr);
  ASSERT_TRUE(bin().hasSymbols());
  auto mainMain = bin().symbol("main.main");
  ASSERT_TRUE(mainMain.has_value());
  bool inText = false;
  for (const auto& s : bin().segments())
    if (s.exec && mainMain->addr >= s.vaddr && mainMain->addr < s.vaddr + s.filesz) inText = true;
  EXPECT_TRUE(inText);
  EXPECT_FALSE(bin().symbol("main.noSuchSymbol").has_value());
  // DWARF and the symbol table agree on globals.
  for (const char* name : {"main.mapStrInt", "main.point", "runtime.firstmoduledata"}) {
    auto sym = bin().symbol(name);
    auto g = types().findGlobal(name);
    ASSERT_TRUE(sym && g) << name;
    EXPECT_EQ(sym->addr, g->addr) << name;
  }
}

TEST_P(BinaryTest, GlobalAddressesMatchTheProcess) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  ASSERT_FALSE(truth()["addrs"].empty());
  for (auto& [name, addr] : truth()["addrs"].items()) {
    auto g = types().findGlobal(name);
    ASSERT_TRUE(g.has_value()) << name;
    EXPECT_EQ(g->name, name);
    EXPECT_EQ(g->addr, addr.get<uint64_t>()) << name;
    EXPECT_NE(g->type, nullptr) << name;
  }
  EXPECT_FALSE(types().findGlobal("main.noSuchGlobal").has_value());
  const auto& all = types().globals();
  EXPECT_GT(all.size(), 100u);
  std::set<std::string> names;
  for (const auto& g : all) names.insert(g.name);
  EXPECT_TRUE(names.count("main.mapStrInt"));
  EXPECT_TRUE(names.count("runtime.allgs"));
}

TEST_P(BinaryTest, MapType) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const Type* m = global("main.mapStrInt");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->name, "map[string]int");
  EXPECT_EQ(m->kind, Kind::Map);
  EXPECT_EQ(m->size, 8u);
  ASSERT_TRUE(m->key && m->elem && m->mapHeader);
  EXPECT_EQ(m->key->kind, Kind::String);
  EXPECT_EQ(m->elem->kind, Kind::Int);
  EXPECT_EQ(types().findType("map[string]int"), m);
  const Type* h = m->mapHeader;
  EXPECT_EQ(h->kind, Kind::Struct);
  EXPECT_EQ(h->size, 48u);
  if (!swiss()) {
    EXPECT_EQ(h->name, "hash<string,int>");
    const Field* buckets = h->field("buckets");
    ASSERT_NE(buckets, nullptr);
    EXPECT_EQ(buckets->offset, 16u);
    ASSERT_EQ(buckets->type->kind, Kind::Pointer);
    const Type* b = buckets->type->elem;
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->name, "bucket<string,int>");
    EXPECT_EQ(b->size, 8u + 8 * 16 + 8 * 8 + 8);
    ASSERT_TRUE(b->field("keys") && b->field("values") && b->field("overflow"));
    EXPECT_EQ(b->field("keys")->type->kind, Kind::Array);
    EXPECT_EQ(b->field("keys")->type->len, 8u);
    EXPECT_EQ(b->field("keys")->type->elem, m->key);
    EXPECT_EQ(b->field("overflow")->type, buckets->type);
    EXPECT_EQ(h->field("oldbuckets")->type, buckets->type);
    const Type* hmap = types().findType("runtime.hmap");
    ASSERT_NE(hmap, nullptr);
    EXPECT_NE(hmap->field("buckets"), nullptr);
  } else {
    EXPECT_EQ(h->name, "map<string,int>");
    const Field* dir = h->field("dirPtr");
    ASSERT_NE(dir, nullptr);
    EXPECT_EQ(dir->offset, 16u);
    ASSERT_EQ(dir->type->kind, Kind::Pointer);
    ASSERT_EQ(dir->type->elem->kind, Kind::Pointer);
    const Type* table = dir->type->elem->elem;
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->name, "table<string,int>");
    EXPECT_EQ(table->size, 32u);
    const Field* groups = table->field("groups");
    ASSERT_NE(groups, nullptr);
    EXPECT_EQ(groups->type->name, "groupReference<string,int>");
    const Field* data = groups->type->field("data");
    ASSERT_TRUE(data && data->type->elem);
    const Type* group = data->type->elem;
    EXPECT_EQ(group->name, "noalg.map.group[string]int");
    EXPECT_EQ(group->size, 8u + 8 * (16 + 8));
    ASSERT_TRUE(group->field("ctrl") && group->field("slots"));
    const Type* slots = group->field("slots")->type;
    EXPECT_EQ(slots->kind, Kind::Array);
    EXPECT_EQ(slots->len, 8u);
    ASSERT_TRUE(slots->elem && slots->elem->field("key") && slots->elem->field("elem"));
    EXPECT_EQ(slots->elem->field("elem")->offset, 16u);
    const Type* t = types().findType("internal/runtime/maps.table");
    ASSERT_NE(t, nullptr);
    EXPECT_NE(t->field("groups"), nullptr);
    const Type* mm = types().findType("internal/runtime/maps.Map");
    ASSERT_NE(mm, nullptr);
    EXPECT_NE(mm->field("dirPtr"), nullptr);
  }

  const Type* mp = global("main.mapPointPtr");
  ASSERT_TRUE(mp && mp->key && mp->elem && mp->mapHeader);
  EXPECT_EQ(mp->name, "map[main.Point]*main.Node");
  EXPECT_EQ(mp->key, types().findType("main.Point"));
  EXPECT_EQ(mp->elem->kind, Kind::Pointer);
  EXPECT_EQ(mp->elem->elem, types().findType("main.Node"));
  EXPECT_NE(mp->mapHeader->field(swiss() ? "dirPtr" : "buckets"), nullptr);
}

// DW_AT_go_runtime_type is the descriptor's offset from moduledata.types: the
// fixture reports the descriptor address of map[string]int (eface._type).
TEST_P(BinaryTest, RuntimeTypeOffset) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const Type* m = global("main.mapStrInt");
  ASSERT_NE(m, nullptr);
  ASSERT_GT(m->runtimeTypeOff, 0);
  auto md = types().findGlobal("runtime.firstmoduledata");
  ASSERT_TRUE(md && md->type);
  const Field* typesField = md->type->field("types");
  ASSERT_NE(typesField, nullptr);
  uint64_t typesBase = bin().fileMemory().readPtr(md->addr + typesField->offset);
  EXPECT_EQ(typesBase, bin().symbol("runtime.types")->addr);
  uint64_t descriptor = truth()["mapStrIntTypeAddr"].get<uint64_t>();
  EXPECT_EQ(uint64_t(m->runtimeTypeOff), descriptor - typesBase);
  EXPECT_EQ(types().findByRuntimeOffset(uint64_t(m->runtimeTypeOff)), m);
  // The descriptor in the file says: size 8, kind Map.
  EXPECT_EQ(bin().fileMemory().readPtr(descriptor), 8u);
  EXPECT_EQ(bin().fileMemory().readU8(descriptor + 23) & 0x1f, uint8_t(Kind::Map));
  // uintptr: go1.19 writes it as an address, normalised to an offset too.
  const Type* up = types().findType("uintptr");
  ASSERT_NE(up, nullptr);
  ASSERT_GT(up->runtimeTypeOff, 0);
  EXPECT_LT(uint64_t(up->runtimeTypeOff), bin().symbol("runtime.etypes")->addr - typesBase);
  EXPECT_EQ(bin().fileMemory().readU8(typesBase + up->runtimeTypeOff + 23) & 0x1f,
            uint8_t(Kind::Uintptr));
  EXPECT_EQ(types().findByRuntimeOffset(1), nullptr);
}

TEST_P(BinaryTest, StructsAndNamedTypes) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const Type* p = global("main.point");
  expectLayout(p, "main.Point");
  EXPECT_EQ(types().findType("main.Point"), p);
  EXPECT_EQ(p->field("Name")->type->kind, Kind::String);

  const Type* d = global("main.derived");
  expectLayout(d, "main.Derived");
  ASSERT_NE(d->field("Base"), nullptr);
  EXPECT_TRUE(d->field("Base")->embedded);
  EXPECT_FALSE(d->field("Extra")->embedded);
  expectLayout(d->field("Base")->type, "main.Base");
  EXPECT_EQ(d->field("Base")->type->field("Tag")->type->kind, Kind::Uint16);
  EXPECT_EQ(d->field("P")->type->elem, p);

  const Type* mi = global("main.myInt");
  ASSERT_NE(mi, nullptr);
  EXPECT_EQ(mi->name, "main.MyInt");
  EXPECT_EQ(mi->kind, Kind::Int);
  EXPECT_EQ(mi->size, 8u);
  const Type* dur = global("main.dur");
  ASSERT_NE(dur, nullptr);
  EXPECT_EQ(dur->name, "time.Duration");
  EXPECT_EQ(dur->kind, Kind::Int64);
  EXPECT_EQ(dur->size, 8u);

  const Type* g = types().findType("runtime.g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->kind, Kind::Struct);
  EXPECT_NE(g->field("goid"), nullptr);
}

TEST_P(BinaryTest, PointersAndCycles) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const Type* head = global("main.head");
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->name, "*main.Node");
  EXPECT_EQ(head->kind, Kind::Pointer);
  EXPECT_EQ(head->size, 8u);
  const Type* node = head->elem;
  expectLayout(node, "main.Node");
  EXPECT_EQ(node->field("Next")->type, head);  // the cycle closes on the same node
  EXPECT_EQ(types().findType("*main.Node"), head);

  const Type* pp = global("main.ptrPoint");
  ASSERT_NE(pp, nullptr);
  EXPECT_EQ(pp->kind, Kind::Pointer);
  EXPECT_EQ(pp->elem, types().findType("main.Point"));
  EXPECT_EQ(types().findType("*main.Point"), pp);

  // A pointer type the program never uses is made up on request.
  const Type* pd = types().findType("*main.Derived");
  ASSERT_NE(pd, nullptr);
  EXPECT_EQ(pd->kind, Kind::Pointer);
  EXPECT_EQ(pd->size, 8u);
  EXPECT_EQ(pd->elem, types().findType("main.Derived"));
  EXPECT_EQ(types().findType("*main.Derived"), pd);

  const Type* raw = global("main.rawPtr");
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(raw->name, "unsafe.Pointer");
  EXPECT_EQ(raw->kind, Kind::UnsafePointer);
  EXPECT_EQ(raw->size, 8u);
  EXPECT_EQ(types().findType("no/such.Type"), nullptr);
  EXPECT_EQ(types().findType("*no/such.Type"), nullptr);
}

TEST_P(BinaryTest, ArraysSlicesStrings) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const Type* arr = global("main.arr");
  ASSERT_NE(arr, nullptr);
  EXPECT_EQ(arr->name, "[5]int32");
  EXPECT_EQ(arr->kind, Kind::Array);
  EXPECT_EQ(arr->len, 5u);
  EXPECT_EQ(arr->size, truth()["sizes"]["[5]int32"].get<uint64_t>());
  ASSERT_NE(arr->elem, nullptr);
  EXPECT_EQ(arr->elem->kind, Kind::Int32);

  const Type* sl = global("main.slice");
  ASSERT_NE(sl, nullptr);
  EXPECT_EQ(sl->name, "[]string");
  EXPECT_EQ(sl->kind, Kind::Slice);
  EXPECT_EQ(sl->size, 24u);
  ASSERT_NE(sl->elem, nullptr);
  EXPECT_EQ(sl->elem->kind, Kind::String);
  ASSERT_TRUE(sl->field("array") && sl->field("len") && sl->field("cap"));
  EXPECT_EQ(sl->field("len")->offset, 8u);
  EXPECT_EQ(sl->field("cap")->offset, 16u);
  EXPECT_EQ(sl->field("array")->type->elem, sl->elem);

  const Type* s = global("main.str");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "string");
  EXPECT_EQ(s->kind, Kind::String);
  EXPECT_EQ(s->size, 16u);
  ASSERT_TRUE(s->field("str") && s->field("len"));
  EXPECT_EQ(s->field("len")->offset, 8u);
}

TEST_P(BinaryTest, InterfacesChansFuncsBasics) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const Type* e = global("main.anyVal");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->name, "interface {}");
  EXPECT_EQ(e->kind, Kind::Interface);
  EXPECT_FALSE(e->nonEmptyInterface);
  EXPECT_EQ(e->size, 16u);
  ASSERT_TRUE(e->field("_type") && e->field("data"));
  EXPECT_EQ(e->field("data")->offset, 8u);

  const Type* i = global("main.shape");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->name, "main.Shape");
  EXPECT_EQ(i->kind, Kind::Interface);
  EXPECT_TRUE(i->nonEmptyInterface);
  EXPECT_EQ(i->size, 16u);
  ASSERT_TRUE(i->field("tab") && i->field("data"));

  const Type* ch = global("main.ch");
  ASSERT_NE(ch, nullptr);
  EXPECT_EQ(ch->name, "chan int");
  EXPECT_EQ(ch->kind, Kind::Chan);
  EXPECT_EQ(ch->size, 8u);
  ASSERT_NE(ch->elem, nullptr);
  EXPECT_EQ(ch->elem->kind, Kind::Int);

  const Type* fn = global("main.fn");
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(fn->name, "func(int) string");
  EXPECT_EQ(fn->kind, Kind::Func);
  EXPECT_EQ(fn->size, 8u);

  struct Basic {
    const char* global;
    const char* name;
    Kind kind;
    uint64_t size;
  };
  for (const Basic& b : {Basic{"main.flag", "bool", Kind::Bool, 1},
                         Basic{"main.ratio", "float64", Kind::Float64, 8},
                         Basic{"main.cplx", "complex128", Kind::Complex128, 16},
                         Basic{"main.byteVal", "uint8", Kind::Uint8, 1}}) {
    const Type* t = global(b.global);
    ASSERT_NE(t, nullptr) << b.global;
    EXPECT_EQ(t->name, b.name);
    EXPECT_EQ(t->kind, b.kind) << b.global;
    EXPECT_EQ(t->size, b.size) << b.global;
  }
}

// Every type reachable from every global has a consistent shape.
TEST_P(BinaryTest, WholeTypeGraphIsConsistent) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  std::vector<const Type*> work;
  for (const auto& g : types().globals())
    if (g.type) work.push_back(g.type);
  std::set<const Type*> seen;
  std::map<std::string, int> problems;
  while (!work.empty()) {
    const Type* t = work.back();
    work.pop_back();
    if (!seen.insert(t).second) continue;
    auto bad = [&](const std::string& what) {
      if (problems[what]++ < 3) ADD_FAILURE() << t->name << ": " << what;
    };
    if (isOneOf(t->kind, {Kind::Pointer, Kind::UnsafePointer, Kind::Map, Kind::Chan, Kind::Func}) &&
        t->size != 8)
      bad("pointer-shaped with size != 8");
    if (t->kind == Kind::String && t->size != 16) bad("string size");
    if (t->kind == Kind::Slice && (t->size != 24 || !t->elem)) bad("slice shape");
    if (t->kind == Kind::Interface && (t->size != 16 || t->fields.size() != 2))
      bad("interface shape");
    if (t->kind == Kind::Map && !(t->key && t->elem && t->mapHeader))
      bad("map without key/elem/header");
    if (t->kind == Kind::Map && t->mapHeader &&
        !t->mapHeader->field("buckets") && !t->mapHeader->field("dirPtr"))
      bad("map header without buckets/dirPtr");
    if (t->kind == Kind::Chan && !t->elem) bad("chan without elem");
    if (t->kind == Kind::Pointer && !t->elem) bad("pointer without elem");
    if (t->kind == Kind::Array && t->elem && t->elem->size * t->len != t->size) bad("array size");
    if (t->kind == Kind::Invalid) bad("invalid kind");
    if (t->name.empty()) bad("no name");
    for (const auto& f : t->fields) {
      if (!f.type) {
        bad("field without type");
        continue;
      }
      if (f.offset + f.type->size > t->size) bad("field " + f.name + " past the end");
      work.push_back(f.type);
    }
    for (const Type* r : {t->elem, t->key, t->mapHeader})
      if (r) work.push_back(r);
  }
  EXPECT_GT(seen.size(), 200u);
}

TEST_P(BinaryTest, FileMemory) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  const Memory& mem = bin().fileMemory();
  auto myInt = types().findGlobal("main.myInt");
  ASSERT_TRUE(myInt.has_value());
  EXPECT_EQ(mem.readT<int64_t>(myInt->addr), 42);  // statically initialised data
  EXPECT_NE(mem.view(myInt->addr, 8), nullptr);
  auto ratio = types().findGlobal("main.ratio");
  EXPECT_EQ(mem.readT<double>(ratio->addr), 1.5);
  auto s = types().findGlobal("main.str");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(mem.readString(mem.readPtr(s->addr), mem.readPtr(s->addr + 8)), "hello");
  // Zero-initialised globals live in .bss/.noptrbss: not in the file image.
  auto flag = types().findGlobal("main.flag");
  ASSERT_TRUE(flag.has_value());
  EXPECT_THROW(mem.readU8(flag->addr), Fault);
  EXPECT_FALSE(mem.readable(flag->addr, 1));
  EXPECT_THROW(mem.readU8(0), Fault);
  EXPECT_EQ(mem.view(0, 1), nullptr);
  // The ELF header is the first bytes of the first PT_LOAD of a Go binary.
  const auto& segs = bin().segments();
  ASSERT_FALSE(segs.empty());
  uint64_t lowest = segs[0].vaddr;
  for (const auto& sg : segs) lowest = std::min(lowest, sg.vaddr);
  EXPECT_EQ(mem.readString(lowest, 4), "\x7f" "ELF");
  EXPECT_EQ(mem.mappings().size(), segs.size());
  // A read straddling the end of a segment's file image faults.
  for (const auto& sg : segs) {
    if (sg.filesz == 0 || sg.filesz == sg.memsz) continue;
    uint8_t buf[2];
    EXPECT_THROW(mem.read(sg.vaddr + sg.filesz - 1, buf, 2), Fault);
    EXPECT_NO_THROW(mem.read(sg.vaddr + sg.filesz - 2, buf, 2));
  }
}

TEST_P(BinaryTest, StrippedBinary) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  BuildFlags f;
  f.stripped = true;
  const Built& b = built(tc(), f);
  // No DWARF: the types come from the runtime's own descriptors.
  ASSERT_NE(b.bin->types(), nullptr) << b.bin->descriptorError();
  EXPECT_EQ(b.bin->types()->source(), "type descriptors");
  EXPECT_EQ(b.bin->types()->globals().size(), 0u);
  std::string why = b.bin->missingDebugInfo();
  EXPECT_NE(why.find(b.path), std::string::npos) << why;
  EXPECT_NE(why.find("no DWARF"), std::string::npos) << why;
  EXPECT_NE(why.find("-ldflags=\"-s -w\""), std::string::npos) << why;  // the recorded flags
  EXPECT_EQ(why.find("symbols"), std::string::npos) << why;  // -s removed them too
  EXPECT_FALSE(b.bin->hasSymbols());
  EXPECT_FALSE(b.bin->symbol("main.main").has_value());
  ASSERT_TRUE(b.bin->buildInfo().has_value());
  EXPECT_EQ(b.bin->buildInfo()->goVersion, truth()["goVersion"].get<std::string>());
  EXPECT_EQ(b.bin->buildInfo()->settings.at("-ldflags"), "-s -w");  // quoted in the modinfo
  auto r = runCommand({tc().goBinary, "tool", "buildid", b.path}, 60);
  EXPECT_EQ(b.bin->goBuildId(), trim(r.out));
  EXPECT_EQ(bin().missingDebugInfo(), "");
}

TEST_P(BinaryTest, PieBinary) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  BuildFlags f;
  f.pie = true;
  const Built& b = built(tc(), f);
  ASSERT_TRUE(b.bin->buildInfo().has_value());
  if (swiss()) {  // go1.19 does not record -buildmode
    EXPECT_EQ(b.bin->buildInfo()->settings.at("-buildmode"), "pie");
  }
  ASSERT_NE(b.bin->types(), nullptr);
  // Link-time addresses: the process's are these plus its load bias.
  auto g = b.bin->types()->findGlobal("main.mapStrInt");
  ASSERT_TRUE(g.has_value());
  ASSERT_NE(g->type, nullptr);
  EXPECT_EQ(g->type->kind, Kind::Map);
  EXPECT_EQ(b.bin->symbol("main.mapStrInt")->addr, g->addr);
  uint64_t bias = b.truth["addrs"]["main.mapStrInt"].get<uint64_t>() - g->addr;
  EXPECT_EQ(bias % 4096, 0u);
  for (auto& [name, addr] : b.truth["addrs"].items())
    EXPECT_EQ(b.bin->types()->findGlobal(name)->addr + bias, addr.get<uint64_t>()) << name;
  EXPECT_EQ(b.bin->fileMemory().readT<int64_t>(b.bin->types()->findGlobal("main.myInt")->addr), 42);
}

TEST_P(BinaryTest, NoOptBinary) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  BuildFlags f;
  f.noOpt = true;
  const Built& b = built(tc(), f);
  ASSERT_NE(b.bin->types(), nullptr);
  for (auto& [name, addr] : b.truth["addrs"].items()) {
    auto g = b.bin->types()->findGlobal(name);
    ASSERT_TRUE(g.has_value()) << name;
    EXPECT_EQ(g->addr, addr.get<uint64_t>()) << name;
  }
}

// The linker compresses DWARF by default (SHF_COMPRESSED zlib in both
// toolchains); an uncompressed build must decode identically. Its plain
// .debug_info is then damaged byte by byte: every run ends in types or a
// clean Error, never a crash (most useful under ASan/UBSan).
TEST_P(BinaryTest, UncompressedAndCorruptDwarf) {
  GMS_REQUIRE_TOOLCHAIN(tc());
  std::string out = tempDir() + "/binary_types-plain-" + tc().name;
  std::string gocache = std::string(GMS_FIXTURE_CACHE) + "/gocache/" + tc().name;
  std::vector<std::string> argv = {"env", "-C", std::string(GMS_FIXTURE_DIR) + "/binary_types",
                                   "GOCACHE=" + gocache, "GOTOOLCHAIN=local", "CGO_ENABLED=0",
                                   "GOFLAGS=-mod=mod", "GOPROXY=off", tc().goBinary, "build",
                                   "-ldflags=-compressdwarf=false", "-o", out, "."};
  auto r = runCommand(argv, 600);
  ASSERT_EQ(r.exitCode, 0) << r.out << r.err;
  auto plain = Binary::open(out);
  ASSERT_NE(plain->types(), nullptr);
  const Section* info = plain->section(".debug_info");
  ASSERT_NE(info, nullptr);
  for (auto& [name, addr] : truth()["addrs"].items()) {
    auto g = plain->types()->findGlobal(name);
    auto ref = types().findGlobal(name);
    ASSERT_TRUE(g && ref && g->type && ref->type) << name;
    EXPECT_EQ(g->type->name, ref->type->name);
    EXPECT_EQ(g->type->size, ref->type->size);
    EXPECT_EQ(g->type->fields.size(), ref->type->fields.size());
  }

  std::ifstream in(out, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_LE(info->offset + info->size, bytes.size());
  std::mt19937 rng(1);
  int opened = 0;
  for (int i = 0; i < 40; i++) {
    std::vector<char> b = bytes;
    for (int k = 0, n = 1 + int(rng() % 16); k < n; k++) {
      // Half the runs hit the first KiB (unit headers, the first DIEs).
      uint64_t span = i % 2 ? info->size : std::min<uint64_t>(info->size, 1024);
      b[info->offset + rng() % span] ^= char(1 + rng() % 255);
    }
    std::string path = tempDir() + "/damaged-dwarf";
    std::ofstream(path, std::ios::binary).write(b.data(), std::streamsize(b.size()));
    try {
      auto bin = Binary::open(path);
      if (!bin->types()) continue;
      std::vector<const Type*> work;
      for (const auto& g : bin->types()->globals())
        if (g.type) work.push_back(g.type);
      std::set<const Type*> seen;
      while (!work.empty()) {
        const Type* t = work.back();
        work.pop_back();
        if (!seen.insert(t).second) continue;
        for (const auto& f : t->fields)
          if (f.type) work.push_back(f.type);
        for (const Type* x : {t->elem, t->key, t->mapHeader})
          if (x) work.push_back(x);
      }
      bin->types()->findType("runtime.g");
      bin->types()->findByRuntimeOffset(64);
      opened++;
    } catch (const Error&) {
    }
  }
  EXPECT_GT(opened, 0);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, BinaryTest, ::testing::ValuesIn(toolchainNames()));

}  // namespace
}  // namespace gms::test
