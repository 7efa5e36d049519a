// The `diagnose` and `check` reports: a Diagnosis (analysis/diagnose.h)
// rendered as text or JSON. `diagnose` shows the findings, each with its
// evidence and the maps it cites; `check` shows every rule's verdict with
// the observed value and the threshold.
//
// JSON (both commands; `check` adds "breached"):
//   {"target", "window_s", "samples",
//    "findings": [{"rule", "severity", "summary",
//                  "evidence": [{"label", "value"}],
//                  "maps": [{"path", "type", "impl", "lens": [...], "sizes": [...],
//                            "footprint", "shape", "growing", "growths", "addresses"}]}],
//    "rules": [{"rule", "status", "observed", "threshold"}]}
#pragma once

#include <string>
#include <vector>

#include "analysis/diagnose.h"
#include "report/json_writer.h"
#include "report/out.h"
#include "report/reports.h"

namespace gms {

// "findings": [...] as one JSON value (for other reports that embed findings).
void writeFindingsJson(JsonWriter& w, const std::vector<Finding>& findings);

void reportDiagnosis(Out& out, const Diagnosis& d, const std::string& target, Format f);
void reportCheck(Out& out, const Diagnosis& d, const std::string& target, Format f);

}  // namespace gms
