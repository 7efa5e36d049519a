// The `diff` report: a Diff (analysis/diff.h) as aligned text — the maps and
// lists that changed, sorted by |footprint delta|, then the MemStats fields
// that changed, then the page comparison — or as one JSON object:
//   {"before": {"target", "time"}, "after": {...}, "seconds",
//    "maps": [{"path", "type", "kind": "map"|"list", "status", "matchedBy",
//              "address": {"before", "after"}, "len": {"before", "after", "delta"},
//              "footprint": {...}, "pagesChanged", "pagesRetainedChanged"}, ...],
//    "memstats": {"HeapAlloc": {"before", "after", "delta"}, ...} | null,
//    "rates": {"allocsPerSecond", "bytesPerSecond", "gcPerMinute"} (when "seconds" is known),
//    "pages": {"compared", "changed", "added", "removed", "unreadable",
//              "attributed": {"maps", "lists", "stacks", "globals", "otherHeap", "other"}} | null}
// JSON lists every map and list (unchanged ones with status "unchanged");
// text lists unchanged ones only when `all` is set.
#pragma once

#include "analysis/diff.h"
#include "report/out.h"
#include "report/reports.h"

namespace gms {

void reportDiff(Out& out, const Diff& d, Format f, bool all);

}  // namespace gms
