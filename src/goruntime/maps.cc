#include "goruntime/maps.h"

#include <algorithm>

#include "goruntime/classic_map.h"
#include "goruntime/expr.h"

namespace gms {

void MapSummary::rejectHeader(std::string why) {
  problems.push_back(why + "; header corrupt");
  invalidHeader = std::move(why);
}

double MapShape::loadFactor() const {
  if (impl == MapImpl::Classic) return nbuckets ? double(found) / double(nbuckets) : 0;
  return capacity ? double(found) / double(capacity) : 0;
}

double MapShape::load() const {
  // overLoadFactor: count > bucketCnt && count > 6.5 * 2^B (a one-bucket map holds 8).
  if (impl == MapImpl::Classic)
    return nbuckets ? double(found) / std::max(8.0, kClassicMaxLoad * double(nbuckets)) : 0;
  if (small) return double(found) / 8;
  return capacity ? double(found) / (kSwissMaxLoad * double(capacity)) : 0;
}

double MapSummary::loadFactor() const { return shapeOf(*this).loadFactor(); }
double MapSummary::load() const { return shapeOf(*this).load(); }

MapShape shapeOf(const MapSummary& s) {
  MapShape m;
  m.impl = s.impl;
  m.len = s.len;
  m.found = s.found;
  m.torn = s.torn;
  m.footprint = s.footprint;
  m.B = s.B;
  m.nbuckets = s.nbuckets;
  m.overflowBuckets = s.overflowBuckets;
  m.growing = s.growing;
  m.sameSizeGrow = s.sameSizeGrow;
  m.oldBuckets = s.oldBucketCount;
  m.dirLen = s.dirLen;
  m.tables = s.tables.size();
  m.groups = s.groups;
  m.capacity = s.capacity;
  m.tombstones = s.tombstones;
  m.small = s.small;
  return m;
}

MapImpl mapImplOf(const Type* mapType) {
  // Which fields exist decides (a probe, not a read: the Swiss header's
  // dirPtr and the classic one's buckets are each listed for their layout).
  const Type* h = mapType ? mapType->mapHeader : nullptr;
  if (h && h->field("dirPtr")) return MapImpl::Swiss;
  if (h && h->field("buckets")) return MapImpl::Classic;
  fail(ErrorKind::MissingDebugInfo, "cannot tell the map implementation of {} from DWARF",
       mapType ? mapType->name : "<null>");
}

const char* mapLenField(MapImpl impl) { return impl == MapImpl::Classic ? "count" : "used"; }

std::string mapHeaderField(MapImpl impl, const std::string& name) {
  if (name == "len" || name == "count" || name == "used") return mapLenField(impl);
  return name;
}

std::vector<std::string> mapWatchFields(MapImpl impl) {
  if (impl == MapImpl::Classic) return {"count", "B", "buckets", "oldbuckets"};
  return {"used", "dirPtr", "dirLen"};
}

MapSummary walkMap(const Program& p, const Type* mapType, uint64_t headerAddr,
                   const WalkOptions& opts, const EntryFn& onEntry) {
  if (!mapType || mapType->kind != Kind::Map)
    fail(ErrorKind::Usage, "{} is not a map type", mapType ? mapType->name : "<null>");
  MapSummary s;
  s.type = mapType;
  s.addr = headerAddr;
  s.impl = mapImplOf(mapType);
  if (!headerAddr) {
    s.nil = true;
    return s;
  }
  if (mapType->key && mapType->key->kind == Kind::Invalid) {
    // kUnknownMapName: only a header with no entry and no bucket or group
    // is decoded (there is nothing to read a key from); one written since
    // is shown by its header, and its entries refused.
    WalkOptions h = opts;
    h.headerOnly = true;
    MapSummary hs = s;
    try {
      if (s.impl == MapImpl::Classic)
        walkClassicMap(p, mapType, headerAddr, h, nullptr, hs);
      else
        walkSwissMap(p, mapType, headerAddr, h, nullptr, hs);
    } catch (const Fault& f) {
      hs.invalidHeader = fmt::format("unreadable ({})", f.what());
      hs.problems.push_back(fmt::format("map header unreadable: {}", f.what()));
      return hs;
    }
    bool empty = hs.invalidHeader.empty() && hs.len == 0;
    for (const HeaderField& f : hs.header)
      if ((f.name == "buckets" || f.name == "oldbuckets" || f.name == "dirPtr") && f.value)
        empty = false;
    if (!empty) {
      if (hs.invalidHeader.empty())
        hs.problems.push_back(fmt::format(
            "entries not decoded: the map's key and value types are unknown (it had no bucket or "
            "group when it was found); give its type: 0x{:x} --type 'map[K]V'",
            headerAddr));
      return hs;
    }
  }
  try {
    if (s.impl == MapImpl::Classic)
      walkClassicMap(p, mapType, headerAddr, opts, onEntry, s);
    else
      walkSwissMap(p, mapType, headerAddr, opts, onEntry, s);
  } catch (const Fault& f) {
    s.problems.push_back(fmt::format("map header unreadable: {}", f.what()));
    if (s.header.empty()) s.invalidHeader = fmt::format("unreadable ({})", f.what());
  }
  return s;
}

std::string guessMapAddress(const Program& p, const Type* mapType, uint64_t addr) {
  if (auto n = nameAddress(p, addr)) {
    if (n->offset == 0 && n->type->kind == Kind::Map)
      return fmt::format(
          "{:#x} is the variable {} ({}), which holds the map's header pointer: "
          "name it, or give --type '*{}'",
          addr, n->expr, n->type->name, n->type->name);
    return n->str();
  }
  try {
    uint64_t w = p.mem().readPtr(addr);
    if (w && w != addr) {
      WalkOptions o;
      o.headerOnly = true;
      MapSummary h = walkMap(p, mapType, w, o, nullptr);
      if (h.invalidHeader.empty())
        return fmt::format(
            "{:#x} holds {:#x}, a plausible header (len {}): it is probably a "
            "variable holding the map; give {:#x}, or --type '*{}'",
            addr, w, h.len, w, mapType->name);
    }
  } catch (const Error&) {
    // only a hint for the error being built: without it the caller's own message stands
  }
  return "";
}

void requirePlausibleMap(const Program& p, const Type* mapType, uint64_t hdr,
                         std::string_view expr) {
  if (!hdr) return;
  WalkOptions o;
  o.headerOnly = true;
  MapSummary h = walkMap(p, mapType, hdr, o, nullptr);
  if (h.invalidHeader.empty()) return;
  std::string guess = guessMapAddress(p, mapType, hdr);
  fail(ErrorKind::Corrupt, "{}: no {} header at {:#x}: {}{}", expr, mapType->name, hdr,
       h.invalidHeader, guess.empty() ? "" : "; " + guess);
}

SlotState slotState(MapImpl impl, uint8_t c) {
  if (impl == MapImpl::Classic) {
    switch (c) {
      case tophash::kEmptyRest:
        return SlotState::EmptyRest;
      case tophash::kEmptyOne:
        return SlotState::EmptyOne;
      case tophash::kEvacuatedX:
        return SlotState::EvacuatedX;
      case tophash::kEvacuatedY:
        return SlotState::EvacuatedY;
      case tophash::kEvacuatedEmpty:
        return SlotState::EvacuatedEmpty;
      default:
        return SlotState::Full;  // >= minTopHash
    }
  }
  if (c == ctrl::kEmpty) return SlotState::Empty;
  if (c == ctrl::kDeleted) return SlotState::Deleted;
  return (c & 0x80) ? SlotState::Invalid : SlotState::Full;
}

const char* slotStateName(SlotState s) {
  switch (s) {
    case SlotState::Full:
      return "full";
    case SlotState::EmptyRest:
      return "emptyRest";
    case SlotState::EmptyOne:
      return "emptyOne";
    case SlotState::EvacuatedX:
      return "evacuatedX";
    case SlotState::EvacuatedY:
      return "evacuatedY";
    case SlotState::EvacuatedEmpty:
      return "evacuatedEmpty";
    case SlotState::Empty:
      return "empty";
    case SlotState::Deleted:
      return "deleted";
    case SlotState::Invalid:
      break;
  }
  return "invalid";
}

}  // namespace gms
