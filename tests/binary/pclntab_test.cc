// Pclntab against the Go runtime's own answers: the watch fixture prints
// runtime.Callers PCs with the function/file/line runtime.CallersFrames gives
// for them; our table must agree for each, with both toolchains. Plus every
// function entry resolves to itself, and corrupt bytes never crash.
#include "binary/pclntab.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "binary/binary.h"
#include "common/error.h"
#include "support/fixture.h"

namespace gms {
namespace {

using test::Toolchain;

// Every test reads the watch fixture's table (built with the toolchain).
class PclntabTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const Toolchain& tc = test::toolchain(GetParam());
    GMS_REQUIRE_TOOLCHAIN(tc);
    bin_ = test::buildFixture(tc, "watch");
    b_ = Binary::open(bin_);
    t_ = b_->pclntab();
    ASSERT_NE(t_, nullptr);
  }
  std::string bin_;
  std::unique_ptr<Binary> b_;
  const Pclntab* t_ = nullptr;
};

TEST_P(PclntabTest, AgreesWithRuntimeCallers) {
  const Pclntab* t = t_;
  EXPECT_EQ(t->magic(), GetParam() == "go1.19" ? 0xfffffff0u : 0xfffffff1u);
  auto fx = test::RunningFixture::start(bin_);
  const auto& pcs = fx->truth()["pcs"];
  ASSERT_GE(pcs.size(), 3u);
  for (const auto& f : pcs) {
    uint64_t pc = f["pc"].get<uint64_t>();
    // Callers gives return addresses; the call is at pc-1.
    auto l = t->lineFor(pc - 1);
    ASSERT_TRUE(l) << std::hex << pc;
    EXPECT_EQ(l->function, f["function"].get<std::string>());
    EXPECT_EQ(l->file, f["file"].get<std::string>());
    EXPECT_EQ(l->line, f["line"].get<int>()) << l->function;
    auto fn = t->funcFor(pc - 1);
    ASSERT_TRUE(fn);
    EXPECT_LE(fn->entry, pc - 1);
    EXPECT_LT(pc - 1, fn->end);
    auto d = t->spDelta(pc - 1);
    ASSERT_TRUE(d);
    EXPECT_GE(*d, 0);
    EXPECT_EQ(*d % 8, 0);
  }
  EXPECT_EQ(fx->truth()["function"], pcs[1]["function"]);
}

// One return address inside inlinedTop, where inlinedMid was inlined: Go's
// runtime.CallersFrames expands it into inlinedMid then inlinedTop, each with
// its own line; framesFor must give exactly those frames.
TEST_P(PclntabTest, InlinedFramesAgreeWithCallersFrames) {
  const Pclntab* t = t_;
  EXPECT_TRUE(t->hasFuncData());
  auto fx = test::RunningFixture::start(bin_);
  const auto& inl = fx->truth()["inline"];
  const auto& want = inl["frames"];
  ASSERT_EQ(want.size(), 2u) << inl.dump();
  uint64_t pc = inl["pc"].get<uint64_t>();
  auto got = t->framesFor(pc - 1);
  ASSERT_EQ(got.size(), want.size()) << inl.dump();
  for (size_t i = 0; i < got.size(); i++) {
    EXPECT_EQ(got[i].function, want[i]["function"].get<std::string>()) << i;
    EXPECT_EQ(got[i].file, want[i]["file"].get<std::string>()) << i;
    EXPECT_EQ(got[i].line, want[i]["line"].get<int>()) << i;
  }
  // lineFor keeps its one physical frame with the innermost position.
  auto one = t->lineFor(pc - 1);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->function, "main.inlinedTop");
  EXPECT_EQ(one->line, want[0]["line"].get<int>());
  // A stripped binary has no symbol table, hence no go:func.* symbol: the
  // funcdata base comes from moduledata.gofunc, and its own inlined frames
  // agree with its own runtime.CallersFrames just the same.
  std::string sbin = test::buildFixture(test::toolchain(GetParam()), "watch", {.stripped = true});
  auto stripped = Binary::open(sbin);
  ASSERT_FALSE(stripped->hasSymbols());
  ASSERT_NE(stripped->pclntab(), nullptr);
  EXPECT_TRUE(stripped->pclntab()->hasFuncData());
  auto sfx = test::RunningFixture::start(sbin);
  const auto& sinl = sfx->truth()["inline"];
  auto sgot = stripped->pclntab()->framesFor(sinl["pc"].get<uint64_t>() - 1);
  ASSERT_EQ(sgot.size(), sinl["frames"].size()) << sinl.dump();
  for (size_t i = 0; i < sgot.size(); i++) {
    EXPECT_EQ(sgot[i].function, sinl["frames"][i]["function"].get<std::string>()) << i;
    EXPECT_EQ(sgot[i].line, sinl["frames"][i]["line"].get<int>()) << i;
  }
}

// functionEntry: the symbol when there is one, the pclntab's entry when the
// binary is stripped; both the entry of the same function.
TEST_P(PclntabTest, FunctionsByNameWithAndWithoutSymbols) {
  auto sym = b_->symbol("main.insertOne");
  ASSERT_TRUE(sym);
  auto byName = t_->funcNamed("main.insertOne");
  ASSERT_TRUE(byName);
  EXPECT_EQ(byName->entry, sym->addr);
  EXPECT_EQ(b_->functionEntry("main.insertOne"), sym->addr);
  EXPECT_FALSE(t_->funcNamed("main.noSuchFunction"));
  EXPECT_FALSE(b_->functionEntry("main.noSuchFunction"));
  auto stripped =
      Binary::open(test::buildFixture(test::toolchain(GetParam()), "watch", {.stripped = true}));
  ASSERT_FALSE(stripped->symbol("main.insertOne"));
  auto e = stripped->functionEntry("main.insertOne");
  ASSERT_TRUE(e);
  auto f = stripped->pclntab()->funcFor(*e);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->name, "main.insertOne");
  EXPECT_EQ(f->entry, *e);
  const char* grow =
      GetParam() == "go1.19" ? "runtime.hashGrow" : "internal/runtime/maps.(*table).grow";
  EXPECT_TRUE(stripped->functionEntry(grow)) << grow;
}

// The stack maps the GC reads (FUNCDATA_Locals/ArgsPointerMaps at
// PCDATA_StackMapIndex): every Go function of the program has them from its
// entry to its end, with and without symbols, and a function's argument map
// is no longer than its arguments (main.insertOne(k int): one word, no pointer).
TEST_P(PclntabTest, StackMapsOfEveryGoFunction) {
  auto stripped =
      Binary::open(test::buildFixture(test::toolchain(GetParam()), "watch", {.stripped = true}));
  for (const Pclntab* t : {t_, stripped->pclntab()}) {
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(t->hasFuncData());
    size_t checked = 0, withLocals = 0;
    for (size_t i = 0; i < t->funcCount(); i++) {
      auto f = t->funcAt(i);
      if (!f || !f->name.starts_with("main.")) continue;
      SCOPED_TRACE(f->name);
      for (uint64_t pc = f->entry; pc < f->end;
           pc += std::max<uint64_t>(1, (f->end - f->entry) / 16)) {
        auto m = t->pointerMaps(pc);
        ASSERT_TRUE(m) << std::hex << pc;
        checked++;
        withLocals += std::count(m->locals.begin(), m->locals.end(), true) > 0;
      }
    }
    EXPECT_GT(checked, 50u);
    EXPECT_GT(withLocals, 0u);  // some frame holds a pointer in a local at some PC
    auto f = t->funcNamed("main.insertOne");
    ASSERT_TRUE(f);
    auto m = t->pointerMaps(f->entry);
    ASSERT_TRUE(m);
    EXPECT_LE(m->args.size(), 1u);  // the compiler may trim a map of no pointer to nothing
    EXPECT_EQ(std::count(m->args.begin(), m->args.end(), true), 0);
  }
  EXPECT_FALSE(t_->pointerMaps(0x10));  // in no function
}

TEST_P(PclntabTest, EveryEntryResolvesToItsFunction) {
  const Pclntab* t = t_;
  const Binary* b = b_.get();
  ASSERT_GT(t->funcCount(), 500u);
  size_t withLine = 0, checked = 0;
  for (size_t i = 0; i < t->funcCount(); i++) {
    auto f = t->funcAt(i);
    ASSERT_TRUE(f) << i;
    ASSERT_LT(f->entry, f->end) << f->name;
    auto g = t->funcFor(f->entry);
    ASSERT_TRUE(g) << f->name;
    EXPECT_EQ(g->name, f->name);
    // At the entry nothing has been pushed yet.
    auto d = t->spDelta(f->entry);
    if (d) {
      EXPECT_EQ(*d, 0) << f->name;
    }
    if (auto l = t->lineFor(f->entry)) {
      withLine++;
      EXPECT_GT(l->line, 0) << f->name;
      EXPECT_FALSE(l->file.empty()) << f->name;
    }
    checked++;
  }
  EXPECT_GT(withLine, checked * 9 / 10);
  // The symbol table agrees on where main.insertOne starts.
  auto sym = b->symbol("main.insertOne");
  ASSERT_TRUE(sym);
  auto f = t->funcFor(sym->addr);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->name, "main.insertOne");
  EXPECT_EQ(f->entry, sym->addr);
  EXPECT_FALSE(t->funcFor(0x10));
}

TEST_P(PclntabTest, CorruptBytesNeverCrash) {
  const Binary* b = b_.get();
  const Section* s = b->section(".gopclntab");
  ASSERT_NE(s, nullptr);
  std::vector<uint8_t> bytes(s->size);
  b->fileMemory().read(s->addr, bytes.data(), bytes.size());
  uint64_t text = b->pclntab()->textStart();
  auto sym = b->symbol("main.insertOne");
  ASSERT_TRUE(sym);
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; round++) {
    std::vector<uint8_t> m = bytes;
    if (round % 3 == 0) m.resize(rng() % m.size());
    for (int k = 0; k < 64 && !m.empty(); k++) m[rng() % m.size()] = uint8_t(rng());
    try {
      Pclntab t = Pclntab::parse(std::move(m), text);
      for (int q = 0; q < 50; q++) {
        uint64_t pc = text + rng() % (sym->addr - text + 0x10000);
        (void)t.lineFor(pc);
        (void)t.spDelta(pc);
        (void)t.funcFor(pc);
      }
    } catch (const Error&) {
    }
  }
  EXPECT_THROW(Pclntab::parse({1, 2, 3}, 0), Error);
  EXPECT_THROW(Pclntab::parse(std::vector<uint8_t>(128, 0), 0), Error);
}

INSTANTIATE_TEST_SUITE_P(Toolchains, PclntabTest, ::testing::ValuesIn(test::toolchainNames()));

}  // namespace
}  // namespace gms
