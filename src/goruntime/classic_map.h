// Internal to the map decoders; see maps.h.
#pragma once

#include "goruntime/maps.h"

namespace gms {
void walkClassicMap(const Program& p, const Type* mapType, uint64_t addr, const WalkOptions& o,
                    const EntryFn& fn, MapSummary& s);
void walkSwissMap(const Program& p, const Type* mapType, uint64_t addr, const WalkOptions& o,
                  const EntryFn& fn, MapSummary& s);
}  // namespace gms
