// diagnose and check: the rules of analysis/rules.h over samples of a target.
// Each sample is taken with the target frozen for exactly the read: MemStats,
// then every map reachable from globals (discover), then a full walk of the
// maps big enough to matter to the rehash-storm rule (for their exact
// directory/table/group shape). analysis/diagnose.cc decides; report/
// findings_report.cc prints.
#include <unistd.h>

#include <cmath>
#include <thread>

#include "analysis/diagnose.h"
#include "analysis/rules.h"
#include "cli/commands.h"
#include "goruntime/discover.h"
#include "goruntime/maps.h"
#include "report/findings_report.h"

namespace gms {

namespace {

struct DiagnoseOptions {
  TargetOptions target;
  std::string format = "text";
  std::string every, forDur;
  std::string rules;
  MaskOptions mask;
};

MapObservation observe(const Program& p, const Found& f, bool walk) {
  MapObservation o = observationOf(f);
  if (!walk || !f.type || f.problems || f.kind != FoundKind::Map) return o;
  MapSummary s;
  try {
    s = walkMap(p, f.type, f.addr, {}, nullptr);
  } catch (const Error&) {
    return o;  // keep what discover saw
  }
  o.len = s.len;
  o.footprint = s.footprint.total();
  o.shape = shapeOf(s);
  return o;
}

Sample takeSample(Session& s, const Rules& rules, double t) {
  Sample smp;
  smp.t = t;
  DiscoverOptions d;
  d.maxTime = std::chrono::milliseconds(10'000);  // a live target stays stopped meanwhile
  Out none(nullptr);
  frozenRun(s, none, [&] {
    const Program& p = s.program();
    smp.m = readMemStats(p);
    // Without DWARF, maps are found by their shape: the same rules hold,
    // each map named by the word that holds it (goruntime/recognize.h).
    Discovery found = discover(p, d);
    for (const auto& f : found.items)
      if (f.kind == FoundKind::Map || f.kind == FoundKind::SyncMap)
        smp.maps.push_back(observe(p, f, f.footprint >= rules.rehashStorm.minMapFootprint));
  });
  return smp;
}

// Samples at 0, every, 2*every, ... up to `total` (one sample when total is 0).
std::vector<Sample> sample(Session& s, const Rules& rules, double every, double total) {
  uint64_t n = total > 0 ? uint64_t(std::floor(total / every + 1e-9)) + 1 : 1;
  bool tty = isatty(fileno(cliErr())) && n > 1;
  std::vector<Sample> out;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < n; i++) {
    std::this_thread::sleep_until(t0 +
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(every * double(i))));
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.push_back(takeSample(s, rules, t));
    if (tty) fmt::print(cliErr(), "\r[sample {}/{}]{}", i + 1, n, i + 1 == n ? "\n" : "");
  }
  return out;
}

Diagnosis evaluate(DiagnoseOptions& o, bool isCheck, std::string& target) {
  Rules rules = o.rules.empty() ? Rules{} : loadRules(o.rules);
  auto s = Session::open(o.target);
  printWarnings(*s);
  target = s->target().describe();
  double every = o.every.empty() ? 1 : parseDuration(o.every, "--every");
  double total = 0;
  if (!o.forDur.empty())
    total = parseDuration(o.forDur, "--for");
  else if (!isCheck && s->live())
    total = 10;  // diagnose: a 10 s window by default
  else if (!o.every.empty())
    fail(ErrorKind::Usage, "--every goes with --for");
  if (total > 0 && !s->live())
    fail(ErrorKind::Usage, "--for samples a live process (--pid); a core holds one moment");
  if (total > 0 && total < every)
    fail(ErrorKind::Usage, "--for ({} s) is shorter than --every ({} s)", total, every);
  return diagnose(sample(*s, rules, every, total), rules);
}

int cmdDiagnose(DiagnoseOptions& o) {
  applyMaskOptions(o.mask);
  std::string target;
  Diagnosis d = evaluate(o, false, target);
  Out out(cliOut());
  reportDiagnosis(out, d, target, o.format == "json" ? Format::Json : Format::Text);
  return kExitOk;
}

int cmdCheck(DiagnoseOptions& o) {
  applyMaskOptions(o.mask);
  std::string target;
  Diagnosis d = evaluate(o, true, target);
  Out out(cliOut());
  reportCheck(out, d, target, o.format == "json" ? Format::Json : Format::Text);
  out.flush();
  if (!d.breached()) return kExitOk;
  for (const auto& r : d.rules)
    if (r.status == RuleStatus::Breached)
      fmt::print(cliErr(), "gomemscope: rule {} breached: {} (threshold: {})\n", r.rule, r.observed,
                 r.threshold);
  return kExitProblems;
}

void addCommon(CLI::App* c, DiagnoseOptions& o, const char* forHelp) {
  addTargetOptions(c, o.target);
  c->add_option("--for", o.forDur, forHelp);
  c->add_option("--every", o.every, "interval between samples (default 1s)");
  c->add_option("--rules", o.rules,
                "YAML rules file overriding the defaults (see docs/rules.yaml)");
  c->add_option("--format", o.format, "output format")->check(CLI::IsMember({"text", "json"}));
  addMaskOptions(c, o.mask);
}

}  // namespace

void addDiagnoseCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<DiagnoseOptions>();
  auto* c = app.add_subcommand(
      "diagnose",
      "findings with evidence: rehash storms, unbounded maps, GC pressure, heap growth (exit 0)");
  addCommon(c, *o, "sample a live process for this long (default 10s; a core is one moment)");
  c->callback([o, &run] { run = [o] { return cmdDiagnose(*o); }; });
}

void addCheckCommand(CLI::App& app, Runner& run) {
  auto o = std::make_shared<DiagnoseOptions>();
  auto* c = app.add_subcommand(
      "check", "rollout gate: exit 0 when every rule holds, 1 when one is breached");
  addCommon(c, *o, "sample a live process for this long (default: one moment)");
  c->callback([o, &run] { run = [o] { return cmdCheck(*o); }; });
}

}  // namespace gms
