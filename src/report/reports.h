// Reports for the decode commands: map, list, print. Each drives the
// goruntime decoders (a summary pass, then an entries pass) and formats the
// result as aligned text or JSON. docs/output.md describes the JSON shapes.
#pragma once

#include <cstdint>
#include <string>

#include "goruntime/expr.h"
#include "goruntime/list.h"
#include "goruntime/maps.h"
#include "goruntime/value.h"
#include "report/out.h"

namespace gms {

enum class Format { Text, Json };

struct ReportOptions {
  Format format = Format::Text;
  uint64_t limit = 0;          // entries/elements shown (0: all)
  RenderLimits render;
  bool buckets = false;        // map: per-bucket/group detail
  LinkNames links;             // list: --next/--prev
};

// Human sizes: "512 B", "57.2 KiB".
std::string humanBytes(uint64_t n);

// map and list return the number of problems found (0: the structure is sound).
size_t reportMap(Out& out, const Program& p, const Located& l, const ReportOptions& o);
size_t reportList(Out& out, const Program& p, const Located& l, const ReportOptions& o);
void reportValue(Out& out, const Program& p, const Located& l, const ReportOptions& o);

}  // namespace gms
