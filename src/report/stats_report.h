// The `stats` report: runtime.MemStats as read from raw memory, as aligned
// text (with the tiny/small/large split and the busiest size classes) or as
// JSON whose keys are exactly runtime.MemStats' field names (plus "extras").
#pragma once

#include "goruntime/memstats.h"
#include "report/json_writer.h"
#include "report/out.h"

namespace gms {

void writeMemStatsJson(JsonWriter& w, const MemStats& m, bool withPauses);
void reportMemStatsText(Out& out, const MemStats& m, const std::string& target);

}  // namespace gms
