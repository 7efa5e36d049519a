#include "report/findings_report.h"

namespace gms {

namespace {

std::string joinNums(const std::vector<uint64_t>& v, size_t max = 16) {
  std::string s;
  size_t n = v.size();
  for (size_t i = 0; i < n; i++) {
    if (n > max && i == max / 2) {
      s += fmt::format(" … ({} more)", n - max);
      i = n - max / 2;
    }
    s += (s.empty() ? "" : " ") + fmt::format("{}", v[i]);
  }
  return s;
}

void writeHeaderJson(JsonWriter& w, const Diagnosis& d, const std::string& target) {
  w.field("target", std::string_view(target));
  w.field("window_s", d.window);
  w.field("samples", uint64_t(d.samples));
}

void writeRulesJson(JsonWriter& w, const Diagnosis& d) {
  w.key("rules");
  w.beginArray();
  for (const auto& r : d.rules) {
    w.beginObject();
    w.field("rule", std::string_view(r.rule));
    w.field("status", ruleStatusName(r.status));
    w.field("observed", std::string_view(r.observed));
    w.field("threshold", std::string_view(r.threshold));
    w.endObject();
  }
  w.endArray();
}

void findingText(Out& out, const Finding& f) {
  out.print("{} [{}]: {}\n", f.rule, f.severity, f.summary);
  size_t wdt = 0;
  for (const auto& [label, value] : f.evidence) wdt = std::max(wdt, label.size());
  for (const auto& [label, value] : f.evidence) out.print("  {:<{}}  {}\n", label, wdt, value);
  for (const auto& m : f.maps) {
    out.print("  map {}  {}  ({})\n", m.path, m.type, m.impl);
    out.print("    shape      {}{}\n", m.shape, m.growing ? " (growing now)" : "");
    out.print("    footprint  {}\n", humanBytes(m.footprint));
    if (m.lens.size() > 1 || m.growths) {
      out.print("    len        {}\n", joinNums(m.lens));
      out.print("    {:<10} {}\n", m.impl == "swiss" ? "groups" : "buckets", joinNums(m.sizes));
      out.print("    growths    {}{}\n", m.growths,
                m.addresses > 1
                    ? fmt::format(" (the map was re-created: {} different headers)", m.addresses)
                    : "");
    } else {
      out.print("    len        {}\n", m.lens.empty() ? 0 : m.lens.back());
    }
  }
}

std::string notEvaluated(const Diagnosis& d) {
  std::string s;
  for (const auto& r : d.rules)
    if (r.status == RuleStatus::NotEvaluated)
      s += (s.empty() ? "" : "; ") + fmt::format("{} ({})", r.rule, r.observed);
  return s;
}

}  // namespace

void writeFindingsJson(JsonWriter& w, const std::vector<Finding>& findings) {
  w.beginArray();
  for (const auto& f : findings) {
    w.beginObject();
    w.field("rule", std::string_view(f.rule));
    w.field("severity", std::string_view(f.severity));
    w.field("summary", std::string_view(f.summary));
    w.key("evidence");
    w.beginArray();
    for (const auto& [label, value] : f.evidence) {
      w.beginObject();
      w.field("label", std::string_view(label));
      w.field("value", std::string_view(value));
      w.endObject();
    }
    w.endArray();
    w.key("maps");
    w.beginArray();
    for (const auto& m : f.maps) {
      w.beginObject();
      w.field("path", std::string_view(m.path));
      w.field("type", std::string_view(m.type));
      w.field("impl", std::string_view(m.impl));
      w.key("lens");
      w.beginArray();
      for (auto l : m.lens) w.uinteger(l);
      w.endArray();
      w.key("sizes");
      w.beginArray();
      for (auto l : m.sizes) w.uinteger(l);
      w.endArray();
      w.field("footprint", m.footprint);
      w.field("shape", std::string_view(m.shape));
      w.field("growing", m.growing);
      w.field("growths", m.growths);
      w.field("addresses", m.addresses);
      w.endObject();
    }
    w.endArray();
    w.endObject();
  }
  w.endArray();
}

void reportDiagnosis(Out& out, const Diagnosis& d, const std::string& target, Format f) {
  auto findings = d.findings();
  if (f == Format::Json) {
    JsonWriter w(out);
    w.beginObject();
    writeHeaderJson(w, d, target);
    w.key("findings");
    writeFindingsJson(w, findings);
    writeRulesJson(w, d);
    w.endObject();
    w.newline();
    return;
  }
  out.print("{}: {}\n\n", target,
            d.samples == 1 ? std::string("one moment")
                           : fmt::format("{} samples over {:.1f} s", d.samples, d.window));
  for (const auto& fi : findings) {
    findingText(out, fi);
    out.print("\n");
  }
  if (findings.empty())
    out.print("no findings: {} rule{} held\n", d.evaluated(), d.evaluated() == 1 ? "" : "s");
  else
    out.print("{} finding{}\n", findings.size(), findings.size() == 1 ? "" : "s");
  std::string ne = notEvaluated(d);
  if (!ne.empty()) out.print("not evaluated: {}\n", ne);
}

void reportCheck(Out& out, const Diagnosis& d, const std::string& target, Format f) {
  if (f == Format::Json) {
    JsonWriter w(out);
    w.beginObject();
    writeHeaderJson(w, d, target);
    w.field("breached", uint64_t(d.breached()));
    w.field("evaluated", uint64_t(d.evaluated()));
    w.key("findings");
    writeFindingsJson(w, d.findings());
    writeRulesJson(w, d);
    w.endObject();
    w.newline();
    return;
  }
  out.print("{}: {}\n", target,
            d.samples == 1 ? std::string("one moment")
                           : fmt::format("{} samples over {:.1f} s", d.samples, d.window));
  for (const auto& r : d.rules) {
    if (r.status == RuleStatus::Disabled) continue;
    const char* tag = r.status == RuleStatus::Breached ? "BREACHED"
                      : r.status == RuleStatus::Held   ? "ok"
                                                       : "skipped";
    out.print("{:<8}  {}: {}{}\n", tag, r.rule, r.observed,
              r.threshold.empty() || r.status == RuleStatus::NotEvaluated
                  ? ""
                  : fmt::format(" (threshold: {})", r.threshold));
    if (r.finding) out.print("          {}\n", r.finding->summary);
  }
  size_t b = d.breached(), e = d.evaluated();
  if (b)
    out.print("{} of {} rule{} breached\n", b, e, e == 1 ? "" : "s");
  else if (e == 0)
    out.print("no rule could be evaluated\n");
  else if (e == 1)
    out.print("the 1 evaluated rule holds\n");
  else
    out.print("all {} rules hold\n", e);
  size_t ne = size_t(std::count_if(d.rules.begin(), d.rules.end(),
                                   [](auto& r) { return r.status == RuleStatus::NotEvaluated; }));
  if (ne) out.print("{} rule{} not evaluated (each line says why)\n", ne, ne == 1 ? "" : "s");
}

}  // namespace gms
