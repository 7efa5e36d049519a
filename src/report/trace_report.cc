#include "report/trace_report.h"

#include <algorithm>
#include <ctime>

#include "report/json_writer.h"

namespace gms {

std::string clockTime(int64_t ns, bool iso) {
  time_t secs = time_t(ns / 1'000'000'000);
  long micros = long((ns % 1'000'000'000) / 1000);
  struct tm tm {};
  char buf[64];
  if (iso) {
    gmtime_r(&secs, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:06}Z", buf, micros);
  }
  localtime_r(&secs, &tm);
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return fmt::format("{}.{:06}", buf, micros);
}

size_t siteIndex(const std::vector<GoFrame>& frames) {
  for (size_t i = 0; i < frames.size(); i++)
    if (frames[i].function != "?" && !isSiteInternal(frames[i].function)) return i;
  return frames.size();
}

std::string siteText(const std::vector<GoFrame>& f) {
  size_t i = siteIndex(f);
  if (i < f.size()) return fmt::format("{} ({}:{})", f[i].function, f[i].file, f[i].line);
  return f.empty() ? "?" : f[0].function + " (runtime only)";
}

namespace {

void jsonSite(JsonWriter& w, std::string_view key, const std::vector<GoFrame>& f) {
  w.key(key);
  size_t i = siteIndex(f);
  if (i >= f.size()) {
    w.null();
    return;
  }
  w.beginObject();
  w.field("function", f[i].function);
  w.field("file", f[i].file);
  w.field("line", int64_t(f[i].line));
  w.endObject();
}

void jsonFrames(JsonWriter& w, std::string_view key, const std::vector<GoFrame>& frames,
                bool withPc = false) {
  w.key(key);
  w.beginArray();
  for (const auto& fr : frames) {
    w.beginObject();
    w.field("function", fr.function);
    w.field("file", fr.file);
    w.field("line", int64_t(fr.line));
    if (withPc) {
      w.key("pc");
      w.hex(fr.pc);
    }
    w.endObject();
  }
  w.endArray();
}

std::string growthText(const GrowEvent& g) {
  switch (g.fn) {
    case GrowFn::HashGrow:
      return fmt::format("B {} → {} ({} → {} buckets{})", g.before, g.after,
                         uint64_t(1) << g.before, uint64_t(1) << g.after,
                         g.sameSize ? ", same-size: too many overflow buckets" : "");
    case GrowFn::GrowToTable:
      return "small map → table of capacity 16";
    case GrowFn::TableGrow:
      return fmt::format("table capacity {} → {}", g.before, g.after);
    case GrowFn::TableSplit:
      break;
  }
  return fmt::format(
      "table of capacity {} split in two{}", g.before,
      g.dirDoubles ? fmt::format(", directory {} → {}", g.dirLen, 2 * g.dirLen) : "");
}

}  // namespace

// --- trace -------------------------------------------------------------------------

void TraceReport::ready(int pid, uint64_t threads) {
  if (json_) {
    JsonWriter w(out_);
    w.beginObject();
    w.field("event", std::string("ready"));
    w.field("trace", what_);
    w.field("pid", int64_t(pid));
    w.field("threads", threads);
    w.endObject();
    w.newline();
    out_.flush();
  } else {
    fmt::print(stderr_, "gomemscope: tracing {} of {} on {} threads of pid {} (Ctrl-C ends)\n",
               what_, subject_, threads, pid);
  }
}

void TraceReport::event(const TraceEvent& e, const std::vector<GoFrame>& f1,
                        const std::vector<GoFrame>& f2, const std::string& mapType) {
  using K = TraceEvent::Kind;
  JsonWriter w(out_);
  switch (e.kind) {
    case K::GrowEnd: {
      auto it = mapOfId_.find(e.growEnd.id);
      uint64_t map = it != mapOfId_.end() ? it->second : 0;
      if (it != mapOfId_.end()) {
        byMap_[map].measured++;
        byMap_[map].ns += e.growEnd.durationNs;
      }
      if (json_) {
        w.beginObject();
        w.field("event", std::string("growEnd"));
        w.field("id", e.growEnd.id);
        w.key("map");
        w.hex(map);
        w.field("durationNs", e.growEnd.durationNs);
        w.endObject();
        w.newline();
      } else {
        out_.print("{} growth #{} of {:#x} done in {:.1f} µs\n", clockTime(e.timeNs), e.growEnd.id,
                   map, double(e.growEnd.durationNs) / 1000.0);
      }
      break;
    }
    case K::Grow: {
      const GrowEvent& g = e.grow;
      auto& ms = byMap_[g.map];
      ms.type = mapType;
      ms.growths++;
      mapOfId_[g.id] = g.map;
      std::string site = siteText(f1);
      bySite_[site]++;
      bool classic = g.fn == GrowFn::HashGrow;
      if (json_) {
        w.beginObject();
        w.field("event", std::string("grow"));
        w.field("id", g.id);
        w.key("map");
        w.hex(g.map);
        w.field("type", mapType);
        w.field("kind", std::string(growFnName(g.fn)));
        w.field("unit", std::string(classic ? "B" : "capacity"));
        w.field("before", g.before);
        w.field("after", g.after);
        w.field("len", g.len);
        if (classic) w.field("sameSize", g.sameSize);
        if (g.fn == GrowFn::TableSplit) {
          w.field("directoryDoubles", g.dirDoubles);
          w.field("directoryLen", g.dirLen);
        }
        w.field("goid", e.goid);
        w.field("tid", int64_t(e.tid));
        jsonSite(w, "site", f1);
        jsonFrames(w, "frames", f1);
        w.endObject();
        w.newline();
      } else {
        out_.print("{} growth #{} of {:#x} ({}) len {}: {}; goid {} at {}\n", clockTime(e.timeNs),
                   g.id, g.map, mapType, g.len, growthText(g), e.goid, site);
      }
      break;
    }
    case K::Remove: {
      const RemoveEvent& r = e.remove;
      if (json_) {
        w.beginObject();
        w.field("event", std::string("remove"));
        w.field("id", r.id);
        w.key("element");
        w.hex(r.elem);
        w.field("len", r.lenAfter);
        w.field("watched", r.watched);
        if (r.evictedId) w.field("unwatched", r.evictedId);
        w.field("goid", e.goid);
        jsonSite(w, "removeSite", f1);
        jsonFrames(w, "frames", f1);
        w.endObject();
        w.newline();
      } else {
        out_.print("{} removed element {:#x} (#{}) goid {} at {}{}\n", clockTime(e.timeNs), r.elem,
                   r.id, e.goid, siteText(f1),
                   r.watched ? "" : " (not watched: no free debug register)");
      }
      break;
    }
    case K::Use: {
      if (json_) {
        w.beginObject();
        w.field("event", std::string("useAfterRemove"));
        w.field("id", e.use.removeId);
        w.key("element");
        w.hex(e.use.elem);
        w.field("goid", e.goid);
        jsonSite(w, "useSite", f1);
        jsonSite(w, "removeSite", f2);
        jsonFrames(w, "useFrames", f1);
        jsonFrames(w, "removeFrames", f2);
        w.endObject();
        w.newline();
      } else {
        out_.print("{} FAULT: element {:#x} removed at {} used at {} (goid {})\n",
                   clockTime(e.timeNs), e.use.elem, siteText(f2), siteText(f1), e.goid);
        if (verbose_) {
          for (const auto& fr : f1)
            out_.print("      use  {} ({}:{})\n", fr.function, fr.file, fr.line);
          for (const auto& fr : f2)
            out_.print("    remove {} ({}:{})\n", fr.function, fr.file, fr.line);
        }
      }
      break;
    }
    case K::Overlap: {
      const OverlapEvent& o = e.overlap;
      if (json_) {
        w.beginObject();
        w.field("event", std::string("concurrentWrite"));
        w.key("map");
        w.hex(o.header);
        w.field("goid", e.goid);
        w.field("otherGoid", o.otherGoid);
        w.field("flagsBefore", o.flagsBefore);
        w.field("flagsAfter", o.flagsAfter);
        jsonSite(w, "site", f1);
        jsonSite(w, "otherSite", f2);
        jsonFrames(w, "frames", f1);
        jsonFrames(w, "otherFrames", f2);
        w.endObject();
        w.newline();
      } else {
        out_.print(
            "{} FAULT: concurrent access to {} ({:#x}): goid {} at {} while goid {} is writing at "
            "{}\n",
            clockTime(e.timeNs), subject_, o.header, e.goid, siteText(f1), o.otherGoid,
            siteText(f2));
        for (const auto& fr : f1)
          out_.print("      goid {:<6} {} ({}:{})\n", e.goid, fr.function, fr.file, fr.line);
        for (const auto& fr : f2)
          out_.print("      goid {:<6} {} ({}:{})\n", o.otherGoid, fr.function, fr.file, fr.line);
      }
      break;
    }
    case K::Write:
      break;  // watch's (WatchReport)
  }
  out_.flush();
}

bool TraceReport::summary(const TraceEndFigures& end) {
  Out so(json_ ? stderr_ : stdout_);
  const TraceTotals& t = end.totals;
  bool fault = false;
  if (what_ == "growth") {
    uint64_t total = 0, ns = 0, measured = 0;
    for (const auto& [m, st] : byMap_) {
      total += st.growths;
      ns += st.ns;
      measured += st.measured;
    }
    so.print(
        "growth summary: {} growths of {} maps in {:.2f} s; {:.1f} µs spent growing ({} of {} "
        "measured)\n",
        total, byMap_.size(), end.seconds, double(ns) / 1000.0, measured, total);
    std::vector<std::pair<uint64_t, uint64_t>> ranked;
    for (const auto& [m, st] : byMap_) ranked.push_back({st.growths, m});
    std::sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });
    so.print("  maps by growths:\n");
    for (const auto& [n, m] : ranked)
      so.print("    {:>6}  {:#x} {} ({:.1f} µs)\n", n, m, byMap_[m].type,
               double(byMap_[m].ns) / 1000.0);
    std::vector<std::pair<uint64_t, std::string>> sites;
    for (const auto& [k, v] : bySite_) sites.push_back({v, k});
    std::sort(sites.begin(), sites.end(), [](auto& a, auto& b) { return a.first > b.first; });
    so.print("  call sites by growths:\n");
    for (const auto& [n, k] : sites) so.print("    {:>6}  {}\n", n, k);
    if (end.confirmed)
      so.print(
          "  missed: threads not armed {}; durations not measured (no free slot) {}; still growing "
          "at end {}; prologue re-entries merged {}\n",
          end.threadsNotArmed, t.notMeasured, t.growingAtEnd, t.prologueReentries);
  } else if (what_ == "removed") {
    fault = t.usesAfterRemove > 0;
    so.print(
        "removed summary: {} removals, {} uses after removal in {:.2f} s; {} removed elements not "
        "watched (4 debug registers: 3 elements at a time); {} runtime reads (GC) and {} reads by "
        "the removing call itself ignored{}\n",
        t.removals, t.usesAfterRemove, end.seconds, t.notWatched, t.runtimeReads, t.sameCallReads,
        t.truncated ? "; list longer than 100000 elements: removals past that not seen" : "");
  } else {
    fault = t.concurrentAccesses > 0;
    so.print(
        "writers summary: {} writes, {} accesses to the writing flag, {} concurrent accesses in "
        "{:.2f} s\n",
        t.writes, t.accesses, t.concurrentAccesses, end.seconds);
  }
  if (!end.confirmed) so.print("  the end was not confirmed by the helper process\n");
  so.flush();
  if (json_) {
    // The summary as the stream's last event (its figures, as the text above).
    JsonWriter w(out_);
    w.beginObject();
    w.field("event", std::string("end"));
    w.field("trace", what_);
    w.field("seconds", end.seconds);
    w.field("confirmed", end.confirmed);
    if (end.confirmed) {
      w.field("processExited", end.processExited);
      w.field("threadsNotArmed", end.threadsNotArmed);
      if (what_ == "growth") {
        w.field("notMeasured", t.notMeasured);
        w.field("prologueReentries", t.prologueReentries);
        w.field("growingAtEnd", t.growingAtEnd);
      } else if (what_ == "removed") {
        w.field("removals", t.removals);
        w.field("notWatched", t.notWatched);
        w.field("usesAfterRemove", t.usesAfterRemove);
        w.field("runtimeReads", t.runtimeReads);
        w.field("sameCallReads", t.sameCallReads);
        w.field("truncated", t.truncated);
      } else {
        w.field("writes", t.writes);
        w.field("accesses", t.accesses);
        w.field("concurrentAccesses", t.concurrentAccesses);
      }
    }
    w.endObject();
    w.newline();
    out_.flush();
  }
  return fault;
}

// --- watch -------------------------------------------------------------------------

void WatchReport::ready(int pid, uint64_t threads) {
  if (json_) return;
  std::string names;
  for (const auto& f : fields_) names += (names.empty() ? "" : ", ") + f.name;
  fmt::print(stderr_, "gomemscope: watching {} on {} threads of pid {} (Ctrl-C ends)\n", names,
             threads, pid);
}

void WatchReport::event(const TraceEvent& e, const std::vector<GoFrame>& frames) {
  if (e.kind != TraceEvent::Kind::Write || e.write.field >= fields_.size()) return;
  const WriteEvent& wr = e.write;
  events_++;
  if (wr.multi) multi_++;
  if (wr.unchanged) unchanged_++;
  if (e.truncated) truncated_++;
  const WatchField& f = fields_[wr.field];
  size_t site = siteIndex(frames);
  std::string where = siteText(frames);
  sites_[where]++;
  if (json_) {
    JsonWriter w(out_);
    w.beginObject();
    w.field("field", f.name);
    w.key("address");
    w.hex(f.addr);
    if (f.pointer) {
      w.key("old");
      w.hex(wr.oldv);
      w.key("new");
      w.hex(wr.newv);
    } else {
      w.field("old", wr.oldv);
      w.field("new", wr.newv);
    }
    w.field("tid", int64_t(e.tid));
    w.field("goid", e.goid);
    w.field("time", clockTime(e.timeNs, true));
    jsonSite(w, "writeSite", frames);
    jsonFrames(w, "frames", frames, true);
    if (e.truncated) w.field("truncated", true);
    w.endObject();
    w.newline();
  } else {
    auto value = [&](uint64_t v) {
      return f.pointer ? fmt::format("{:#x}", v) : fmt::format("{}", v);
    };
    out_.print("{} {} {} → {} tid {} goid {} at {}\n", clockTime(e.timeNs), f.name, value(wr.oldv),
               value(wr.newv), e.tid, e.goid, where);
    if (verbose_)
      for (size_t i = 0; i < frames.size(); i++)
        out_.print("    {}{} ({}:{})\n", i == site ? "> " : "  ", frames[i].function,
                   frames[i].file, frames[i].line);
  }
  out_.flush();
}

void WatchReport::summary(const TraceEndFigures& end) {
  Out so(json_ ? stderr_ : stdout_);
  double secs = end.seconds;
  so.print(
      "watch summary: {} events in {:.2f} s ({:.1f}/s) on {} field{}; threads: {} at start, {} "
      "created, {} exited\n",
      events_, secs, secs > 0 ? double(events_) / secs : 0.0, fields_.size(),
      fields_.size() == 1 ? "" : "s", end.threadsAtStart, end.threadsCreated, end.threadsExited);
  so.print("  write sites ({} distinct):\n", sites_.size());
  std::vector<std::pair<uint64_t, std::string>> bySite;
  for (const auto& [k, v] : sites_) bySite.push_back({v, k});
  std::sort(bySite.begin(), bySite.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (const auto& [n, k] : bySite) so.print("    {:>8}  {}\n", n, k);
  so.print(
      "  missed: {} (threads not armed: {}; end not confirmed: {}); unchanged writes: {}; "
      "multi-field hits: {}; stacks truncated: {}\n",
      end.threadsNotArmed + (end.confirmed ? 0 : 1), end.threadsNotArmed, end.confirmed ? 0 : 1,
      unchanged_, multi_, truncated_);
  if (end.dr6Lost)
    so.print(
        "  traps with an empty DR6: {} (the hypervisor lost the status register; attributed to "
        "the fields whose value changed)\n",
        end.dr6Lost);
  so.flush();
}

}  // namespace gms
