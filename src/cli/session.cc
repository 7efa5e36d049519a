#include "cli/session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "goruntime/runtime_facts.h"
#include "target/proc_fs.h"

namespace gms {

namespace {

bool fileExists(const std::string& p) {
  struct stat st;
  return !p.empty() && stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Compares the Go build ID note of the executable with the bytes at the same
// address in the target's own memory (before any underlay is attached, so a
// core cannot "match" by reading the executable itself).
void checkBuildId(const Binary& bin, const Memory& mem, uint64_t bias, const std::string& what,
                  std::vector<std::string>& warnings) {
  const Section* note = bin.section(".note.go.buildid");
  if (!note || !note->addr || note->size == 0 || note->size > 4096) return;
  std::string want(note->size, '\0'), got(note->size, '\0');
  try {
    bin.fileMemory().read(note->addr, want.data(), want.size());
  } catch (const Error&) {
    return;  // no readable build id in the file: nothing to compare, no warning
  }
  try {
    mem.read(note->addr + bias, got.data(), got.size());
  } catch (const Fault&) {
    warnings.push_back(
        fmt::format("{} does not hold the executable's build ID note; cannot verify "
                    "that {} is the right binary",
                    what, bin.path()));
    return;
  }
  if (got != want) {
    auto clean = [](std::string s) {
      // The note is name "Go\0\0" + desc; show the printable tail.
      std::string out;
      for (char c : s)
        if (c >= 0x20 && c < 0x7f) out.push_back(c);
      return out.size() > 16 ? out.substr(out.size() - 16) : out;
    };
    fail(ErrorKind::Mismatch, "{} was not produced by {}: Go build IDs differ (…{} vs …{})", what,
         bin.path(), clean(got), clean(want));
  }
}

// Where the executable was loaded relative to its link addresses: the mapping
// of its file offset 0 minus its first PT_LOAD. 0 for ET_EXEC; the ASLR base
// for position-independent executables.
uint64_t loadBias(const Binary& bin, Target& t, LiveProcess* live, CoreFile* core) {
  uint64_t link = UINT64_MAX;
  for (const auto& seg : bin.segments())
    if (seg.offset == 0) link = std::min(link, seg.vaddr & ~uint64_t(0xfff));
  if (link == UINT64_MAX) return 0;
  std::string exe = t.exePath();
  auto sameFile = [&](const std::string& path) {
    if (exe.empty() || path.empty()) return false;
    return path == exe || path.rfind(exe + " (deleted)", 0) == 0;
  };
  if (live) {
    for (const auto& m : live->memory().mappings())
      if (m.offset == 0 && sameFile(m.path)) return m.start - link;
  } else if (core) {
    for (const auto& m : core->fileMappings())
      if (m.fileOffset == 0 && sameFile(m.path)) return m.start - link;
  }
  return 0;
}

}  // namespace

std::unique_ptr<Session> Session::open(const TargetOptions& o) {
  auto s = std::unique_ptr<Session>(new Session());
  s->opts_ = o;
  if (o.pid && !o.core.empty()) fail(ErrorKind::Usage, "give either --pid or --core, not both");
  if (!o.pid && o.core.empty()) fail(ErrorKind::Usage, "no target: give --pid PID or --core FILE");
  std::string exe = o.exe;
  if (o.pid) {
    if (o.pid < 0) fail(ErrorKind::Usage, "invalid pid {}", o.pid);
    auto lp = LiveProcess::open(o.pid);
    s->live_ = lp.get();
    if (exe.empty()) exe = fmt::format("/proc/{}/exe", o.pid);
    s->target_ = std::move(lp);
  } else {
    auto cf = CoreFile::open(o.core);
    s->core_ = cf.get();
    for (const auto& w : cf->warnings()) s->warnings_.push_back(w);
    if (exe.empty()) {
      exe = cf->exePath();
      if (exe.empty())
        fail(ErrorKind::Usage, "{} does not name its executable; give it with --exe", o.core);
      if (!fileExists(exe))
        fail(ErrorKind::NotFound,
             "{} was made from {}, which does not exist here; give the binary with --exe", o.core,
             exe);
    }
    s->target_ = std::move(cf);
  }
  if (!fileExists(exe) && exe.rfind("/proc/", 0) != 0)
    fail(ErrorKind::NotFound, "executable {} not found", exe);
  s->binary_ = Binary::openWithDebugFile(exe, o.debugFile);
  if (!s->binary_->buildInfo())
    fail(ErrorKind::Unsupported, "{} is not a Go program (no Go build information)", exe);
  uint64_t bias = loadBias(*s->binary_, *s->target_, s->live_, s->core_);
  checkBuildId(*s->binary_, s->target_->memory(), bias, s->target_->describe(), s->warnings_);
  if (s->core_) {
    if (bias) {
      s->underlay_ = std::make_unique<OffsetMemory>(s->binary_->fileMemory(), bias);
      s->core_->setUnderlay(s->underlay_.get());
    } else {
      s->core_->setUnderlay(&s->binary_->fileMemory());
    }
  }
  s->program_ = std::make_unique<Program>(*s->target_, *s->binary_, bias);
  const GoBuildInfo& bi = *s->binary_->buildInfo();
  // The runtime layouts the decoders read, as this release's DWARF has them:
  // for the releases the drift test verifies (go1.19, go1.26 and go1.27) and
  // newer ones (what changed is named); not for the releases between, whose
  // ranges in the table come from the Go source history, nor for a
  // GOEXPERIMENT build (whose layouts the decoders choose by their fields).
  if (s->program_->hasDwarf() && bi.major == 1 && (bi.minor == 19 || bi.minor >= 26) &&
      !bi.settings.count("GOEXPERIMENT")) {
    int minor = bi.minor;
    if (auto missing = missingRuntimeFacts(s->program_->types(), minor); !missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size() && i < 5; i++) list += (i ? "; " : "") + missing[i];
      if (missing.size() > 5) list += fmt::format("; and {} more", missing.size() - 5);
      s->warnings_.push_back(fmt::format(
          "go1.{}'s runtime differs from the layouts gomemscope knows ({}): what reads them is "
          "refused",
          minor, list));
    }
  }
  return s;
}

uint64_t snapshotBudget() {
  if (const char* env = std::getenv("GOMEMSCOPE_SNAPSHOT_MAX")) {
    char* end = nullptr;
    double v = std::strtod(env, &end);
    uint64_t mul = 1;
    if (end && (*end == 'k' || *end == 'K')) mul = uint64_t(1) << 10;
    if (end && (*end == 'm' || *end == 'M')) mul = uint64_t(1) << 20;
    if (end && (*end == 'g' || *end == 'G')) mul = uint64_t(1) << 30;
    if (end != env && v >= 0) return static_cast<uint64_t>(v * double(mul));
  }
  uint64_t budget = uint64_t(4) << 30;
  if (auto text = proc::tryReadFile("/proc/meminfo")) {
    auto at = text->find("MemAvailable:");
    if (at != std::string::npos)
      budget = std::min<uint64_t>(budget,
                                  std::strtoull(text->c_str() + at + 13, nullptr, 10) * 1024 / 2);
  }
  return budget;
}

Frozen::Frozen(Session& s, FreezeMode mode) : s_(s) {
  if (!s.live() || s.options().noStop) return;
  LiveProcess& lp = *s.live();
  bool snapshot = mode == FreezeMode::Snapshot;
  uint64_t budget = snapshot ? snapshotBudget() : 0;
  if (snapshot && !budget) {
    snapshot = false;
    noSnapshot_ = "snapshots disabled (GOMEMSCOPE_SNAPSHOT_MAX=0)";
  } else if (snapshot) {
    // Sized and pre-faulted while the target still runs: the stop then lasts
    // only as long as the copy itself.
    try {
      uint64_t estimate = lp.prepareSnapshot(budget);
      if (estimate > budget) {
        snapshot = false;
        noSnapshot_ =
            fmt::format("its {:.1f} MiB of memory exceed the snapshot budget of {:.1f} MiB",
                        double(estimate) / (1 << 20), double(budget) / (1 << 20));
      }
    } catch (const Error& e) {
      snapshot = false;
      noSnapshot_ = fmt::format("no snapshot: {}", e.what());
    }
    if (!snapshot) lp.dropSnapshot();
  }
  try {
    freezer_ = std::make_unique<Freezer>(lp.pid());
  } catch (const Error& e) {
    // Another debugger holds it: reading without stopping still works.
    if (e.kind() == ErrorKind::Permission &&
        std::string_view(e.what()).find("already traced") != std::string_view::npos)
      throw Error(e.kind(),
                  std::string(e.what()) +
                      "; --no-stop reads it without stopping it (the result may be torn)");
    throw;
  }
  lp.setThreadStates(freezer_->threadStates());
  if (snapshot) {
    try {
      snapshotTaken_ = lp.takeSnapshot(budget);
      if (!snapshotTaken_)
        noSnapshot_ = fmt::format("its memory grew past the snapshot budget of {:.1f} MiB",
                                  double(budget) / (1 << 20));
    } catch (const Error& e) {  // e.g. out of memory for the copy: decode while stopped
      lp.dropSnapshot();
      noSnapshot_ = fmt::format("no snapshot: {}", e.what());
    }
    if (snapshotTaken_) {
      snapshotBytes_ = lp.snapshotBytes();
      stoppedFor_ = freezer_->release();
      freezer_.reset();
      return;
    }
  }
  lp.setFrozen(true);
}

Frozen::~Frozen() { release(); }

std::chrono::nanoseconds Frozen::release() {
  if (snapshotTaken_) {
    snapshotTaken_ = false;
    s_.live()->setFrozen(false);  // drops the snapshot
    return stoppedFor_;
  }
  if (!freezer_) return stoppedFor_;
  s_.live()->setFrozen(false);
  stoppedFor_ = freezer_->release();
  freezer_.reset();
  return stoppedFor_;
}

}  // namespace gms
