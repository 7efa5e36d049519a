// `top` and `advise` reports: every map and list reachable from globals
// ranked by footprint (text, JSON, CSV), and map sizing advice.
#pragma once

#include <string>

#include "analysis/advice.h"
#include "goruntime/discover.h"
#include "report/out.h"
#include "report/reports.h"

namespace gms {

enum class TopFormat { Text, Json, Csv };

void reportTop(Out& out, const Discovery& d, const std::string& target, TopFormat f, uint64_t limit);

// One or more MapAdvice (e.g. classic and Swiss) for the same question.
void reportAdvice(Out& out, const std::vector<MapAdvice>& advice, const std::string& title, Format f);

}  // namespace gms
