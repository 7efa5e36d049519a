// writeCore of a real frozen child, read back with CoreFile and with gdb.
#include "control/core_writer.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "support/fixture.h"
#include "target/child_process_fixture.h"
#include "target/core_file.h"
#include "target/proc_fs.h"

namespace gms::test {
namespace {

namespace fs = std::filesystem;

std::string selfExe() {
  char buf[PATH_MAX + 1] = {};
  if (readlink("/proc/self/exe", buf, PATH_MAX) <= 0) return "";
  return buf;
}

template <typename F>
std::pair<uint64_t, std::string> fault(F f) {
  try {
    f();
  } catch (const Fault& e) {
    return {e.addr(), e.what()};
  }
  ADD_FAILURE() << "no Fault";
  return {0, ""};
}

// Runs a command with output to a file; waits for it to exit (bounded).
struct CmdResult {
  int exitCode = -1;
  std::string out;
};
CmdResult runCommandToFile(const std::vector<std::string>& argv, int timeoutSec) {
  std::string outPath = tempDir() + "/cmd.out";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = ::open("/dev/null", O_RDONLY);
    if (fd < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    setenv("DEBUGINFOD_URLS", "", 1);
    std::vector<char*> av;
    for (auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    execvp(av[0], av.data());
    _exit(127);
  }
  CmdResult r;
  int st = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSec);
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      r.out = "[timed out]";
      return r;
    }
    usleep(10000);
  }
  r.exitCode = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  std::ifstream f(outPath);
  r.out.assign(std::istreambuf_iterator<char>(f), {});
  return r;
}

// One child and its core, shared by the tests below (writing a core of a
// sanitizer build takes a moment; every test only reads it).
class CoreOfChild : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    child_ = TestChild::start().release();
    const int pid = child_->pid();
    auto lp = LiveProcess::open(pid);
    path_ = new std::string(tempDir() + "/child.core");
    Freezer f(pid);
    lp->setFrozen(true);
    stats_ = writeCore(*lp, f, *path_);
    regs_ = new std::vector<ThreadRegs>(f.registers());
    // What the frozen process held, for byte-for-byte comparison: every small
    // readable private anonymous mapping.
    live_ = new std::vector<std::pair<Mapping, std::vector<uint8_t>>>();
    for (const auto& e : proc::readMaps(pid)) {
      if (!e.m.read || e.shared || !e.anonymous() || e.m.size() > (64 << 20)) continue;
      std::vector<uint8_t> bytes(e.m.size());
      lp->memory().read(e.m.start, bytes.data(), bytes.size());
      live_->emplace_back(e.m, std::move(bytes));
    }
  }
  static void TearDownTestSuite() {
    delete child_;
    delete path_;
    delete regs_;
    delete live_;
  }

  static TestChild* child_;
  static std::string* path_;
  static CoreWriteStats stats_;
  static std::vector<ThreadRegs>* regs_;
  static std::vector<std::pair<Mapping, std::vector<uint8_t>>>* live_;
};
TestChild* CoreOfChild::child_;
std::string* CoreOfChild::path_;
CoreWriteStats CoreOfChild::stats_;
std::vector<ThreadRegs>* CoreOfChild::regs_;
std::vector<std::pair<Mapping, std::vector<uint8_t>>>* CoreOfChild::live_;

TEST_F(CoreOfChild, StatsAndFile) {
  const ChildInfo& ci = child_->info();
  struct stat st;
  ASSERT_EQ(stat(path_->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(uint64_t(st.st_size), stats_.fileBytes);
  EXPECT_EQ(stats_.threads, 4u);
  EXPECT_GT(stats_.segments, 5u);
  EXPECT_GE(stats_.savedBytes, ci.patternSize + ci.scratchSize + kGuardedReadable);
  EXPECT_GE(stats_.skippedBytes, ci.untouchedSize);
  EXPECT_EQ(stats_.unreadableBytes, 0u);
  // The untouched 256 MiB (and the sanitizer's shadow, in such builds) is not in the file.
  EXPECT_LT(stats_.fileBytes, ci.untouchedSize / 4);
  std::printf("core: %llu bytes in the file, %llu saved, %llu skipped, %llu segments\n",
              (unsigned long long)stats_.fileBytes, (unsigned long long)stats_.savedBytes,
              (unsigned long long)stats_.skippedBytes, (unsigned long long)stats_.segments);
  // The child is running again.
  EXPECT_TRUE(child_->ping());
}

TEST_F(CoreOfChild, ReadsBackWithCoreFile) {
  const ChildInfo& ci = child_->info();
  auto core = CoreFile::open(*path_);
  EXPECT_TRUE(core->warnings().empty());
  EXPECT_TRUE(core->zeroFill());
  EXPECT_EQ(core->pid(), child_->pid());
  EXPECT_EQ(core->exePath(), selfExe());
  const Memory& m = core->memory();

  // Pattern, guarded region, scratch.
  std::vector<uint8_t> buf(ci.patternSize);
  m.read(ci.pattern, buf.data(), buf.size());
  for (size_t i = 0; i < buf.size(); i++)
    ASSERT_EQ(buf[i], patternByte(i)) << "pattern offset " << i;
  const uint8_t* v = m.view(ci.pattern, ci.patternSize);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(std::memcmp(v, buf.data(), buf.size()), 0);
  buf.resize(kGuardedReadable);
  m.read(ci.guarded, buf.data(), kGuardedReadable);
  for (size_t i = 0; i < buf.size(); i++) ASSERT_EQ(buf[i], patternByte(i));
  auto [ga, gmsg] = fault([&] { m.readU8(ci.guarded + kGuardedReadable); });
  EXPECT_EQ(ga, ci.guarded + kGuardedReadable);
  EXPECT_NE(gmsg.find("not readable"), std::string::npos) << gmsg;

  // The untouched region was not saved, yet reads as zero.
  buf.assign(1 << 20, 0xff);
  m.read(ci.untouched + (100 << 20), buf.data(), buf.size());
  EXPECT_TRUE(std::all_of(buf.begin(), buf.end(), [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(m.readPtr(ci.untouched), 0u);
  EXPECT_EQ(m.readPtr(ci.untouched + ci.untouchedSize - 8), 0u);
  EXPECT_EQ(m.view(ci.untouched, 8), nullptr);

  // Threads and registers.
  auto threads = core->threads();
  ASSERT_EQ(threads.size(), 4u);
  EXPECT_EQ(threads[0].tid, child_->pid()) << "main thread first";
  for (const auto& t : threads) {
    auto it = std::find_if(regs_->begin(), regs_->end(),
                           [&](const ThreadRegs& r) { return r.tid == t.tid; });
    ASSERT_NE(it, regs_->end()) << t.tid;
    EXPECT_TRUE(t.hasRegs);
    EXPECT_EQ(t.rip, it->regs.rip);
    EXPECT_EQ(t.rsp, it->regs.rsp);
    EXPECT_EQ(t.rbp, it->regs.rbp);
    EXPECT_EQ(t.fsBase, it->regs.fs_base);
  }

  // Address space: the untouched region is known, and NT_FILE names the exe.
  bool sawUntouched = false;
  for (const auto& mp : m.mappings())
    if (mp.contains(ci.untouched)) sawUntouched = mp.end - ci.untouched >= ci.untouchedSize;
  EXPECT_TRUE(sawUntouched);
  bool sawExe = false;
  for (const auto& f : core->fileMappings()) sawExe |= f.path == selfExe();
  EXPECT_TRUE(sawExe);
}

TEST_F(CoreOfChild, SavedBytesEqualTheFrozenProcess) {
  auto core = CoreFile::open(*path_);
  ASSERT_FALSE(live_->empty());
  size_t compared = 0;
  for (const auto& [mp, bytes] : *live_) {
    std::vector<uint8_t> got(bytes.size());
    core->memory().read(mp.start, got.data(), got.size());
    size_t diff = 0;
    while (diff < got.size() && got[diff] == bytes[diff]) diff++;
    EXPECT_EQ(diff, got.size()) << fmt::format("mapping {:#x}-{:#x} {} differs at {:#x}", mp.start,
                                               mp.end, mp.path, mp.start + diff);
    compared += got.size();
  }
  std::printf("compared %zu bytes of anonymous memory\n", compared);
}

TEST_F(CoreOfChild, ExecutableFirstPageSavedTextLeftToTheFile) {
  auto core = CoreFile::open(*path_);
  uint64_t exeStart = 0;
  for (const auto& e : proc::readMaps(child_->pid()))
    if (e.m.path == selfExe() && e.m.offset == 0) exeStart = e.m.start;
  ASSERT_NE(exeStart, 0u);
  char magic[4];
  core->memory().read(exeStart, magic, 4);
  EXPECT_EQ(std::string(magic, 4), "\x7f" "ELF");
  // Code is not in the core: it faults unless an underlay supplies it.
  uint64_t code = reinterpret_cast<uint64_t>(&patternByte);
  if (code >= exeStart + 4096) {
    auto [a, msg] = fault([&] { core->memory().readU8(code); });
    EXPECT_EQ(a, code);
    EXPECT_NE(msg.find("not saved in core"), std::string::npos) << msg;
  }
}

TEST_F(CoreOfChild, GdbReadsTheCore) {
  CmdResult r = runCommandToFile({"gdb", "-nx", "-batch", "-iex", "set debuginfod enabled off",
                                  "-ex", "info threads", selfExe(), *path_},
                                 120);
  EXPECT_EQ(r.exitCode, 0) << r.out;
  for (int tid : child_->info().tids)
    EXPECT_NE(r.out.find("LWP " + std::to_string(tid)), std::string::npos)
        << "thread " << tid << " missing from:\n"
        << r.out;
}

TEST_F(CoreOfChild, TruncatedCopyOpensWithWarningAndFaults) {
  // Find a segment that saved at least two pages and cut the copy one page into it.
  std::ifstream in(*path_, std::ios::binary);
  std::vector<char> head(1 << 20);
  in.read(head.data(), head.size());
  Elf64_Ehdr eh;
  std::memcpy(&eh, head.data(), sizeof eh);
  ASSERT_LT(eh.e_phoff + uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr), head.size());
  Elf64_Phdr cut{};
  for (int i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    std::memcpy(&ph, head.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type == PT_LOAD && ph.p_filesz >= 2 * 4096) {
      cut = ph;
      break;
    }
  }
  ASSERT_NE(cut.p_type, 0u);
  std::string copy = tempDir() + "/truncated.core";
  fs::copy_file(*path_, copy, fs::copy_options::overwrite_existing);
  fs::resize_file(copy, cut.p_offset + 4096);

  auto core = CoreFile::open(copy);
  ASSERT_FALSE(core->warnings().empty());
  EXPECT_NE(core->warnings()[0].find("truncated"), std::string::npos) << core->warnings()[0];
  core->memory().readU8(cut.p_vaddr + 4095);
  auto [a, msg] = fault([&] { core->memory().readU8(cut.p_vaddr + 4096); });
  EXPECT_EQ(a, cut.p_vaddr + 4096);
  EXPECT_NE(msg.find("core file truncated"), std::string::npos) << msg;
  EXPECT_EQ(core->threads().size(), 4u);  // notes precede the data
}

// More than 65534 segments: e_phnum overflows into section header 0 (PN_XNUM).
TEST(CoreWriter, ManySegmentsUsePnXnum) {
  auto child = TestChild::start();
  uint64_t region = child->makeSparseRegion();
  ASSERT_NE(region, 0u);
  std::string path = tempDir() + "/sparse.core";
  CoreWriteStats st;
  {
    auto lp = LiveProcess::open(child->pid());
    Freezer f(child->pid());
    st = writeCore(*lp, f, path);
  }
  EXPECT_GT(st.segments, 2 * kSparseTouched);
  Elf64_Ehdr eh;
  {
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(&eh), sizeof eh);
  }
  EXPECT_EQ(eh.e_phnum, PN_XNUM);
  auto core = CoreFile::open(path);
  EXPECT_TRUE(core->warnings().empty());
  const Memory& m = core->memory();
  for (uint64_t i = 0; i < kSparseTouched; i += 997) {
    uint64_t page = region + i * kSparseStride * 4096;
    EXPECT_EQ(m.readPtr(page), i % 1000 == 0 ? i + 1 : 0) << i;
    EXPECT_EQ(m.readPtr(page + 4096), 0u);  // untouched: zero-filled
  }
  EXPECT_EQ(m.readPtr(region + 33000 * kSparseStride * 4096), 33001u);
  EXPECT_EQ(core->threads().size(), 4u);
  // gdb (BFD) understands PN_XNUM too.
  CmdResult r = runCommandToFile({"gdb", "-nx", "-batch", "-iex", "set debuginfod enabled off",
                                  "-ex", "info threads", "-ex",
                                  fmt::format("x/1gx {:#x}", region + 33000 * kSparseStride * 4096),
                                  selfExe(), path},
                                 120);
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("LWP " + std::to_string(child->pid())), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0x00000000000080e9"), std::string::npos) << r.out;  // 33001
}

TEST(CoreWriter, RefusesAMismatchedFreezerAndLeavesNoPartialFile) {
  auto a = TestChild::start();
  auto b = TestChild::start();
  auto lp = LiveProcess::open(a->pid());
  Freezer f(b->pid());
  std::string path = tempDir() + "/mismatch.core";
  try {
    writeCore(*lp, f, path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
  EXPECT_FALSE(fs::exists(path));
  f.release();

  Freezer fa(a->pid());
  try {
    writeCore(*lp, fa, tempDir() + "/no/such/dir/x.core");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Os);
    EXPECT_NE(std::string(e.what()).find("cannot create"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gms::test
