#include "report/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "report/reports.h"

namespace gms {

std::string htmlEscape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
          o += "\xEF\xBF\xBD";
        else
          o += ch;
    }
  }
  return o;
}

namespace {

using Buf = fmt::memory_buffer;

template <typename... Args>
void put(Buf& b, fmt::format_string<Args...> f, Args&&... args) {
  fmt::format_to(std::back_inserter(b), f, std::forward<Args>(args)...);
}
void put(Buf& b, std::string_view s) { b.append(s.data(), s.data() + s.size()); }

std::string esc(std::string_view s) { return htmlEscape(s); }

// Shortens long target strings (paths, types) for labels; tooltips keep them whole.
std::string shorten(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n - 1;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) cut--;  // UTF-8 boundary
  return s.substr(0, cut) + "\u2026";
}

const char* kCss = R"(
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2330;background:#fff;max-width:1200px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}.meta dt{color:#667}.meta dd{margin:0;font-family:ui-monospace,monospace}
.note{color:#6a5a00;background:#fff8dc;border-left:3px solid #e0b000;padding:4px 8px;margin:6px 0}
.muted{color:#778}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #eef}th{color:#556;font-weight:600}td.l,th.l{text-align:left}
svg text{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:11px;fill:#334}
.bar.map{fill:#3b78b8}.bar.list{fill:#7aa95c}
.u0{fill:#eef0f3}.u1{fill:#d6e9f8}.u2{fill:#b3d6f0}.u3{fill:#8ec1e6}.u4{fill:#66a9da}.u5{fill:#4390c9}.u6{fill:#2a75b3}.u7{fill:#185a96}.u8{fill:#0b3f73}
.cell.evac{fill:#e4dcc4}.cell.pending{stroke:#e66a00;stroke-width:1.5}
.ovf1{fill:#f5a623}.ovf2{fill:#e4402f}.ovf3{fill:#7a0010}.tomb{fill:#d62728}
.hist{fill:#5b8fc7}.axis{stroke:#99a;stroke-width:1}.grid{stroke:#e4e6ee;stroke-width:1}
.s0{stroke:#1f77b4}.s1{stroke:#2ca02c}.s2{stroke:#9467bd}.s3{stroke:#d62728}.s4{stroke:#ff7f0e}
.line{fill:none;stroke-width:2}.k0{fill:#1f77b4}.k1{fill:#2ca02c}.k2{fill:#9467bd}.k3{fill:#d62728}.k4{fill:#ff7f0e}
.legend{display:flex;gap:14px;flex-wrap:wrap;align-items:center;margin:6px 0;font-size:12.5px}
.legend span.sw{display:inline-block;width:12px;height:12px;vertical-align:-2px;margin-right:4px;border:1px solid #ccd}
.finding{border-left:4px solid #e0b000;padding:6px 10px;margin:8px 0;background:#fcfcf4}.finding.critical{border-color:#d62728;background:#fff5f5}
.sev{font-weight:700;text-transform:uppercase;font-size:11px;margin-right:6px}
footer{margin-top:32px;color:#889;font-size:12px}
)";

const char* kSwatch[] = {"#eef0f3", "#d6e9f8", "#b3d6f0", "#8ec1e6", "#66a9da",
                         "#4390c9", "#2a75b3", "#185a96", "#0b3f73"};

// ---- header ---------------------------------------------------------------

void header(Buf& b, const HtmlReportData& d) {
  put(b, "<header id=\"summary\"><h1>gomemscope report</h1><dl class=\"meta\">");
  auto row = [&](const char* k, const std::string& v) {
    if (!v.empty()) put(b, "<dt>{}</dt><dd>{}</dd>", k, esc(v));
  };
  row("target", d.target);
  row("generated", d.generatedAt);
  row("Go version", d.goVersion);
  row("map implementation",
      d.mapImpl == "swiss"     ? "swiss (internal/runtime/maps: directory, tables, groups of 8)"
      : d.mapImpl == "classic" ? "classic (runtime.hmap: 2^B buckets of 8, overflow chains)"
                               : d.mapImpl);
  if (d.hasMap) row("heatmap of", d.mapPath + "  " + d.mapType);
  put(b, "</dl>");
  for (const auto& n : d.notes) put(b, "<p class=\"note\">{}</p>", esc(n));
  put(b, "</header>\n");
}

// ---- top maps ---------------------------------------------------------------

void topMaps(Buf& b, const HtmlReportData& d, const HtmlReportOptions& o) {
  put(b, "<section id=\"top-maps\"><h2>Largest maps and lists (reachable from globals)</h2>\n");
  if (!d.discoverNote.empty()) put(b, "<p class=\"note\">{}</p>", esc(d.discoverNote));
  if (d.items.empty()) {
    put(b,
        "<p class=\"muted\">No maps or lists were found from the program's "
        "globals.</p></section>\n");
    return;
  }
  size_t n = std::min(d.items.size(), o.maxBars);
  uint64_t maxFp = 1;
  for (size_t i = 0; i < n; i++) maxFp = std::max(maxFp, d.items[i].footprint);
  const int labelW = 430, barMax = 480, rowH = 22, w = labelW + barMax + 170;
  int h = int(n) * rowH + 8;
  put(b,
      "<div class=\"legend\"><span><span class=\"sw\" "
      "style=\"background:#3b78b8\"></span>map</span>"
      "<span><span class=\"sw\" style=\"background:#7aa95c\"></span>container/list</span>"
      "<span class=\"muted\">bar length: footprint (bytes the structure itself "
      "owns)</span></div>\n");
  put(b, "<svg width=\"{}\" height=\"{}\" role=\"img\">\n", w, h);
  for (size_t i = 0; i < n; i++) {
    const Found& f = d.items[i];
    bool isMap = f.kind != FoundKind::List;  // a sync.Map is drawn as a map
    int y = int(i) * rowH + 4;
    double frac = double(f.footprint) / double(maxFp);
    int bw = std::max(1, int(std::lround(frac * barMax)));
    std::string tip = fmt::format("{}\n{}\nlen {}, footprint {}", f.path.display(), f.typeName,
                                  f.len, humanBytes(f.footprint));
    if (isMap && f.shape.growing)
      tip += f.shape.sameSizeGrow ? ", same-size growth in progress" : ", growing";
    if (f.problems) tip += fmt::format(", {} problems: {}", f.problems, f.firstProblem);
    put(b, "<g class=\"toprow\"><title>{}</title>", esc(tip));
    put(b, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", labelW - 8, y + 14,
        esc(shorten(f.path.display(), 58)));
    put(b, "<rect class=\"bar {}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\"/>",
        isMap ? "map" : "list", labelW, y + 2, bw, rowH - 6);
    put(b, "<text x=\"{}\" y=\"{}\">{} · len {}</text></g>\n", labelW + bw + 6, y + 14,
        esc(humanBytes(f.footprint)), f.len);
  }
  put(b, "</svg>\n");
  if (d.items.size() > n)
    put(b, "<p class=\"muted\">{} more not shown (<code>gomemscope top</code> lists all).</p>\n",
        d.items.size() - n);
  put(b, "</section>\n");
}

// ---- heatmap ------------------------------------------------------------------

// One bucket with its overflow chain (classic) or one group (Swiss).
struct Cell {
  uint64_t index = 0;
  uint64_t addr = 0;
  int used = 0;        // full slots in the main bucket / group
  int chainUsed = 0;   // classic: full slots over the whole chain
  int overflow = 0;    // classic: overflow buckets in the chain
  int tombstones = 0;  // swiss
  bool evacuated = false;
};

struct Section {
  std::string title;
  bool old = false;  // classic: the old array during a growth
  std::vector<Cell> cells;
};

std::vector<Section> sections(const MapSummary& m) {
  std::vector<Section> out;
  if (m.impl == MapImpl::Classic) {
    Section cur, old;
    cur.title = fmt::format("buckets (2^{} = {})", m.B, m.nbuckets);
    old.old = true;
    old.title = fmt::format(
        "old buckets during growth ({}): {} evacuated, {} pending (nevacuate={})", m.oldBucketCount,
        m.evacuated, m.oldBucketCount >= m.evacuated ? m.oldBucketCount - m.evacuated : 0,
        m.nevacuate);
    for (const auto& r : m.buckets) {
      Section& s = r.old ? old : cur;
      if (r.chainPos == 0 || s.cells.empty() || s.cells.back().index != r.index) {
        Cell c;
        c.index = r.index;
        c.addr = r.addr;
        c.used = r.used;
        c.chainUsed = r.used;
        c.evacuated = r.old && r.ctrl[0] >= 2 && r.ctrl[0] <= 4;
        s.cells.push_back(c);
      } else {
        s.cells.back().overflow++;
        s.cells.back().chainUsed += r.used;
      }
    }
    out.push_back(std::move(cur));
    if (m.growing || !old.cells.empty()) out.push_back(std::move(old));
    return out;
  }
  std::map<int, size_t> byTable;
  for (const auto& r : m.buckets) {
    auto [it, fresh] = byTable.try_emplace(r.table, out.size());
    if (fresh) {
      Section s;
      if (r.table < 0) {
        s.title = "small map: one group, no table";
      } else if (size_t(r.table) < m.tables.size()) {
        const auto& t = m.tables[size_t(r.table)];
        s.title = fmt::format("table {} (localDepth {}, {} groups, used {}/{}, {} tombstones)",
                              r.table, t.localDepth, t.groups, t.used, t.capacity, t.tombstones);
      } else {
        s.title = fmt::format("table {}", r.table);
      }
      out.push_back(std::move(s));
    }
    Cell c;
    c.index = r.index;
    c.addr = r.addr;
    c.used = r.used;
    for (uint8_t x : r.ctrl) c.tombstones += x == 0xFE;
    out[it->second].cells.push_back(c);
  }
  return out;
}

constexpr int kCols = 64, kCell = 11, kGap = 1, kPitch = kCell + kGap;

void heatmap(Buf& b, const HtmlReportData& d, const HtmlReportOptions& o) {
  put(b, "<section id=\"heatmap\"><h2>Heatmap of one map</h2>\n");
  if (!d.hasMap) {
    put(b, "<p class=\"muted\">{}</p></section>\n",
        esc(d.mapNote.empty() ? "No map to show (use --map EXPR)." : d.mapNote));
    return;
  }
  const MapSummary& m = d.map;
  bool classic = m.impl == MapImpl::Classic;
  put(b, "<p><code>{}</code> <code>{}</code>: len {}, footprint {}, ", esc(d.mapPath),
      esc(d.mapType), m.len, esc(humanBytes(m.footprint.total())));
  if (m.nil) {
    put(b, "nil map.</p></section>\n");
    return;
  }
  if (classic)
    put(b,
        "2^{} = {} buckets, {} overflow buckets, longest chain {}, load {:.2f} ({:.2f} "
        "entries/bucket; 1.00 = 6.5, where it grows).",
        m.B, m.nbuckets, m.overflowBuckets, m.maxChain, m.load(), m.loadFactor());
  else if (m.small)
    put(b, "small map: one group of 8 slots, load {:.2f} (1.00 = all 8, then it becomes a table).",
        m.load());
  else
    put(b,
        "directory of {} (global depth {}), {} tables, {} groups, {} slots, load {:.2f} ({:.2f} "
        "of the slots; 1.00 = 7/8, where tables grow), {} tombstones.",
        m.dirLen, m.globalDepth, m.tables.size(), m.groups, m.capacity, m.load(), m.loadFactor(),
        m.tombstones);
  put(b, "</p>\n");
  if (classic && m.growing)
    put(b,
        "<p class=\"note\">Growing ({}): {} of {} old buckets evacuated; pending ones still hold "
        "entries and are outlined.</p>\n",
        m.sameSizeGrow ? "same-size, too many overflow buckets" : "doubling", m.evacuated,
        m.oldBucketCount);
  for (const auto& p : m.problems) put(b, "<p class=\"note\">problem: {}</p>\n", esc(p));

  // Legend.
  put(b, "<div class=\"legend\"><span>{} slots:</span>",
      classic ? "full slots in the main bucket" : "full slots in the group");
  for (int i = 0; i <= 8; i++)
    put(b, "<span><span class=\"sw\" style=\"background:{}\"></span>{}</span>", kSwatch[i], i);
  if (classic)
    put(b,
        "<span><svg width=\"12\" height=\"12\"><polygon class=\"ovf1\" points=\"4,0 12,0 "
        "12,8\"/></svg>1 overflow</span>"
        "<span><svg width=\"12\" height=\"12\"><polygon class=\"ovf2\" points=\"4,0 12,0 "
        "12,8\"/></svg>2</span>"
        "<span><svg width=\"12\" height=\"12\"><polygon class=\"ovf3\" points=\"4,0 12,0 "
        "12,8\"/></svg>3+</span>"
        "<span><span class=\"sw\" style=\"background:#e4dcc4\"></span>old, evacuated</span>"
        "<span><span class=\"sw\" style=\"border:2px solid #e66a00\"></span>old, pending</span>");
  else
    put(b,
        "<span><svg width=\"12\" height=\"12\"><circle class=\"tomb\" cx=\"8\" cy=\"8\" "
        "r=\"3\"/></svg>has tombstones</span>");
  put(b, "</div>\n");

  auto secs = sections(m);
  size_t total = 0;
  for (const auto& s : secs) total += s.cells.size();
  size_t k = 1;
  if (o.maxCells && total > o.maxCells) {
    // Aggregating per section can add one partial cell per section; keep within the cap.
    for (k = (total + o.maxCells - 1) / o.maxCells; k < total; k++) {
      size_t cells = 0;
      for (const auto& s : secs) cells += (s.cells.size() + k - 1) / k;
      if (cells <= o.maxCells) break;
    }
  }
  size_t shown = 0;
  for (const auto& s : secs) shown += (s.cells.size() + k - 1) / k;
  if (k > 1)
    put(b,
        "<p class=\"note\">{} {} are drawn as {} cells: each cell is the average of {} consecutive "
        "{} (the longest chain and all tombstones are kept).</p>\n",
        total, classic ? "buckets" : "groups", shown, k, classic ? "buckets" : "groups");

  // Layout: every section starts on a new row, with a caption line above it;
  // many small Swiss tables instead flow one after another (compact), each
  // cell's tooltip naming its table.
  bool compact = !classic && secs.size() > 16;
  if (compact)
    put(b,
        "<p class=\"muted\">{} tables drawn one after another in directory order; hover a cell for "
        "its table.</p>\n",
        secs.size());
  int y = 0;
  size_t flow = 0;  // compact: cells drawn so far
  Buf body;
  if (compact) y += 2;
  for (const auto& s : secs) {
    if (s.cells.empty() && !s.old) continue;
    if (!compact) {
      y += 14;
      put(body, "<text x=\"0\" y=\"{}\">{}</text>\n", y - 3, esc(s.title));
    }
    size_t n = (s.cells.size() + k - 1) / k;
    for (size_t j = 0; j < n; j++) {
      size_t lo = j * k, hi = std::min(s.cells.size(), lo + k);
      int used = 0, maxOvf = 0, tomb = 0, evac = 0;
      for (size_t i = lo; i < hi; i++) {
        const Cell& c = s.cells[i];
        used += c.used;
        maxOvf = std::max(maxOvf, c.overflow);
        tomb += c.tombstones;
        evac += c.evacuated;
      }
      int cnt = int(hi - lo);
      int avg = int(std::lround(double(used) / cnt));
      size_t pos = compact ? flow++ : j;
      int cx = int(pos % kCols) * kPitch, cy = y + int(pos / kCols) * kPitch;
      std::string cls = fmt::format("cell u{}", std::clamp(avg, 0, 8));
      if (s.old) cls += evac == cnt ? " old evac" : " old pending";
      if (k > 1) cls += " agg";
      std::string tip;
      const Cell& c0 = s.cells[lo];
      if (k == 1) {
        if (classic && c0.evacuated)
          tip = fmt::format("old bucket {} at {:#x}: evacuated", c0.index, c0.addr);
        else if (classic)
          tip = fmt::format(
              "{}bucket {} at {:#x}: {}/8 used{}", s.old ? "old " : "", c0.index, c0.addr, c0.used,
              c0.overflow ? fmt::format(", {} overflow bucket{} ({} entries in the chain)",
                                        c0.overflow, c0.overflow == 1 ? "" : "s", c0.chainUsed)
                          : "");
        else
          tip = fmt::format("group {} at {:#x}: {}/8 full{}", c0.index, c0.addr, c0.used,
                            c0.tombstones ? fmt::format(", {} tombstones", c0.tombstones) : "");
      } else {
        tip = fmt::format("{} {}..{}: {:.1f} used on average", classic ? "buckets" : "groups",
                          c0.index, s.cells[hi - 1].index, double(used) / cnt);
        if (classic && maxOvf) tip += fmt::format(", longest overflow chain {}", maxOvf);
        if (s.old) tip += fmt::format(", {}/{} evacuated", evac, cnt);
        if (tomb) tip += fmt::format(", {} tombstones", tomb);
      }
      if (compact) tip = s.title + ": " + tip;
      put(body,
          "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" "
          "height=\"{}\"><title>{}</title></rect>",
          cls, cx, cy, kCell, kCell, esc(tip));
      if (maxOvf > 0)
        put(body, "<polygon class=\"ovf{}\" points=\"{},{} {},{} {},{}\"/>", std::min(maxOvf, 3),
            cx + 4, cy, cx + kCell, cy, cx + kCell, cy + 7);
      if (tomb > 0)
        put(body, "<circle class=\"tomb\" cx=\"{}\" cy=\"{}\" r=\"2.5\"/>", cx + kCell - 3,
            cy + kCell - 3);
      put(body, "\n");
    }
    if (!compact) y += int((n + kCols - 1) / kCols) * kPitch + 6;
  }
  if (compact) y += int((flow + kCols - 1) / kCols) * kPitch + 2;
  put(b, "<svg width=\"{}\" height=\"{}\" data-cells=\"{}\" data-units=\"{}\" role=\"img\">\n",
      kCols * kPitch, std::max(y, 1), shown, total);
  b.append(body.data(), body.data() + body.size());
  put(b, "</svg>\n");
  if (m.buckets.empty()) put(b, "<p class=\"muted\">No bucket records were collected.</p>\n");
  put(b, "</section>\n");
}

// ---- histogram --------------------------------------------------------------

void barChart(Buf& b, const std::vector<std::pair<std::string, uint64_t>>& bars,
              const std::string& xLabel) {
  uint64_t maxV = 1;
  for (const auto& [_, v] : bars) maxV = std::max(maxV, v);
  const int left = 60, barW = 34, gap = 8, plotH = 160, top = 16;
  int w = left + int(bars.size()) * (barW + gap) + 20, h = top + plotH + 40;
  put(b, "<svg width=\"{}\" height=\"{}\" role=\"img\">\n", std::max(w, 300), h);
  put(b, "<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", left - 4, top + plotH,
      w - 10, top + plotH);
  put(b, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", left - 8, top + 4, maxV);
  put(b, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>", left - 8, top + plotH);
  for (size_t i = 0; i < bars.size(); i++) {
    int x = left + int(i) * (barW + gap);
    int bh = int(std::lround(double(bars[i].second) / double(maxV) * plotH));
    if (bars[i].second && bh < 1) bh = 1;
    put(b,
        "<g><title>{}: {}</title><rect class=\"hist\" x=\"{}\" y=\"{}\" width=\"{}\" "
        "height=\"{}\"/>",
        esc(bars[i].first), bars[i].second, x, top + plotH - bh, barW, bh);
    put(b, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", x + barW / 2,
        top + plotH - bh - 3, bars[i].second);
    put(b, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>\n", x + barW / 2,
        top + plotH + 14, esc(bars[i].first));
  }
  put(b, "<text x=\"{}\" y=\"{}\">{}</text>", left, top + plotH + 32, esc(xLabel));
  put(b, "</svg>\n");
}

void histogram(Buf& b, const HtmlReportData& d) {
  put(b, "<section id=\"chain-histogram\">");
  if (!d.hasMap || d.map.nil || d.map.buckets.empty()) {
    put(b, "<h2>Chain lengths</h2><p class=\"muted\">No map buckets to count.</p></section>\n");
    return;
  }
  const MapSummary& m = d.map;
  std::vector<std::pair<std::string, uint64_t>> bars;
  if (m.impl == MapImpl::Classic) {
    put(b,
        "<h2>Overflow chain lengths</h2><p>Buckets per chain (1 = no overflow bucket), over the "
        "current "
        "array and the old buckets not yet evacuated. Long chains mean slow lookups: many keys "
        "hash to the same bucket, or the map was filled and then emptied.</p>\n");
    std::map<int, uint64_t> h;
    for (const auto& s : sections(m))
      for (const auto& c : s.cells)
        if (!c.evacuated) h[c.overflow + 1]++;
    int maxLen = h.empty() ? 1 : h.rbegin()->first;
    for (int len = 1; len <= maxLen && len <= 40; len++)
      bars.push_back({std::to_string(len), h[len]});
    barChart(b, bars, "buckets in the chain");
  } else {
    put(b,
        "<h2>Group fill</h2><p>Groups by number of full slots. A lookup probes groups until it "
        "finds "
        "an empty slot, so full groups (8) and tombstones lengthen probe sequences.</p>\n");
    uint64_t h[9] = {};
    uint64_t withTomb = 0;
    for (const auto& r : m.buckets) {
      h[std::clamp(r.used, 0, 8)]++;
      for (uint8_t x : r.ctrl)
        if (x == 0xFE) {
          withTomb++;
          break;
        }
    }
    for (int i = 0; i <= 8; i++) bars.push_back({std::to_string(i), h[i]});
    barChart(b, bars, "full slots in the group");
    put(b, "<p class=\"muted\">{} group{} with tombstones.</p>\n", withTomb,
        withTomb == 1 ? "" : "s");
  }
  put(b, "</section>\n");
}

// ---- memstats ---------------------------------------------------------------

struct Series {
  const char* name;
  uint64_t (*get)(const MemStats&);
};

void lineChart(Buf& b, const std::vector<MemStatsSample>& ss, const std::vector<Series>& series,
               bool bytes, const char* id) {
  const int left = 80, right = 20, top = 14, plotW = 760, plotH = 200;
  uint64_t maxV = 1;
  for (const auto& s : ss)
    for (const auto& se : series) maxV = std::max(maxV, se.get(s.stats));
  double t0 = ss.front().seconds, t1 = std::max(ss.back().seconds, t0 + 1e-9);
  put(b, "<div class=\"legend\">");
  for (size_t i = 0; i < series.size(); i++)
    put(b,
        "<span><svg width=\"14\" height=\"4\"><rect class=\"k{}\" width=\"14\" "
        "height=\"4\"/></svg> {}</span>",
        i, series[i].name);
  put(b, "</div>\n<svg class=\"chart\" id=\"{}\" width=\"{}\" height=\"{}\" role=\"img\">\n", id,
      left + plotW + right, top + plotH + 34);
  for (int g = 0; g <= 4; g++) {
    int y = top + plotH - g * plotH / 4;
    uint64_t v = uint64_t(double(maxV) * g / 4);
    put(b, "<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", left, y, left + plotW,
        y);
    put(b, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", left - 6, y + 4,
        bytes ? esc(humanBytes(v)) : fmt::format("{:g}", double(maxV) * g / 4));
  }
  put(b, "<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", left, top + plotH,
      left + plotW, top + plotH);
  for (int g = 0; g <= 4; g++) {
    double t = t0 + (t1 - t0) * g / 4;
    put(b, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.1f}s</text>", left + g * plotW / 4,
        top + plotH + 16, t);
  }
  for (size_t i = 0; i < series.size(); i++) {
    put(b, "<polyline class=\"line s{}\" points=\"", i);
    for (const auto& s : ss) {
      double x = left + (s.seconds - t0) / (t1 - t0) * plotW;
      double y = top + plotH - double(series[i].get(s.stats)) / double(maxV) * plotH;
      put(b, "{:.1f},{:.1f} ", x, y);
    }
    put(b, "\"><title>{}</title></polyline>\n", series[i].name);
  }
  put(b, "</svg>\n");
}

void memstats(Buf& b, const HtmlReportData& d) {
  put(b, "<section id=\"memstats-series\"><h2>runtime.MemStats</h2>\n");
  if (!d.memStatsNote.empty()) put(b, "<p class=\"note\">{}</p>\n", esc(d.memStatsNote));
  if (d.samples.empty()) {
    put(b, "</section>\n");
    return;
  }
  const MemStats& m = d.samples.back().stats;
  put(b, "<table class=\"mono\"><tr><th class=\"l\">field</th><th>value</th>");
  bool series = d.samples.size() >= 2;
  if (series) put(b, "<th>first sample</th><th>change</th>");
  put(b, "</tr>\n");
  const MemStats& f = d.samples.front().stats;
  std::vector<const MemStatsScalar*> rows;
  for (const auto& s : memStatsScalars())
    if (s.htmlRow) rows.push_back(&s);
  std::sort(rows.begin(), rows.end(), [](const MemStatsScalar* x, const MemStatsScalar* y) {
    return x->htmlRow < y->htmlRow;
  });
  for (const MemStatsScalar* r : rows) {
    bool bytes = r->unit == MemStatsUnit::Bytes;
    uint64_t last = r->get(m), first = r->get(f);
    std::string v = bytes ? fmt::format("{} ({})", humanBytes(last), last) : std::to_string(last);
    put(b, "<tr><td class=\"l\">{}</td><td>{}</td>", r->name, esc(v));
    if (series) {
      int64_t delta = int64_t(last - first);
      put(b, "<td>{}</td><td>{}{}</td>", esc(bytes ? humanBytes(first) : std::to_string(first)),
          delta >= 0 ? "+" : "-",
          esc(bytes ? humanBytes(uint64_t(delta >= 0 ? delta : -delta))
                    : std::to_string(delta >= 0 ? delta : -delta)));
    }
    put(b, "</tr>\n");
  }
  put(b, "<tr><td class=\"l\">GCCPUFraction</td><td>{:.4f}</td>{}</tr>\n", m.GCCPUFraction,
      series ? "<td></td><td></td>" : "");
  put(b, "</table>\n");
  if (!series) {
    put(b,
        "<p class=\"muted\">One sample. Run with <code>--every 1s --for 30s</code> on a live "
        "process for "
        "time series of the heap and the GC.</p></section>\n");
    return;
  }
  put(b, "<h3>Heap over {} samples ({:.1f} s)</h3>\n", d.samples.size(),
      d.samples.back().seconds - d.samples.front().seconds);
  std::vector<Series> heap, gc;
  for (const MemStatsScalar* r : rows)
    if (r->htmlChart) (r->unit == MemStatsUnit::Bytes ? heap : gc).push_back({r->name, r->get});
  lineChart(b, d.samples, heap, true, "memstats-heap");
  put(b, "<h3>Completed GC cycles (NumGC)</h3>\n");
  lineChart(b, d.samples, gc, false, "memstats-gc");
  put(b, "</section>\n");
}

// ---- findings ---------------------------------------------------------------

void findings(Buf& b, const HtmlReportData& d) {
  put(b, "<section id=\"findings\"><h2>Findings</h2>\n");
  if (!d.findingsAvailable) {
    put(b, "<p class=\"muted\">{}</p></section>\n",
        esc(d.findingsNote.empty() ? "Findings: run with --every/--for" : d.findingsNote));
    return;
  }
  if (!d.findingsNote.empty()) put(b, "<p class=\"muted\">{}</p>\n", esc(d.findingsNote));
  if (d.findings.empty()) {
    put(b, "<p>No rule fired: nothing suspicious over the samples taken.</p></section>\n");
    return;
  }
  for (const auto& f : d.findings) {
    put(b, "<div class=\"finding {}\"><span class=\"sev\">{}</span><b>{}</b> <code>{}</code>",
        esc(f.severity), esc(f.severity), esc(f.summary), esc(f.rule));
    if (!f.evidence.empty()) {
      put(b, "<table>");
      for (const auto& [k, v] : f.evidence)
        put(b, "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>", esc(k), esc(v));
      put(b, "</table>");
    }
    for (const auto& me : f.maps) {
      std::string lens;
      for (size_t i = 0; i < me.lens.size(); i++)
        lens += (i ? " → " : "") + std::to_string(me.lens[i]);
      put(b, "<p class=\"mono\">{} {} ({}) {}; len {}; footprint {}{}{}</p>", esc(me.path),
          esc(me.type), esc(me.impl), esc(me.shape), esc(lens), esc(humanBytes(me.footprint)),
          me.growing ? "; growing" : "",
          me.growths ? fmt::format("; {} growths observed", me.growths) : "");
    }
    put(b, "</div>\n");
  }
  put(b, "</section>\n");
}

}  // namespace

std::string renderHtmlReport(const HtmlReportData& d, const HtmlReportOptions& o) {
  Buf b;
  put(b,
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>gomemscope "
      "report: {}</title>\n",
      esc(d.target));
  put(b, "<style>{}</style></head>\n<body>\n", kCss);
  header(b, d);
  topMaps(b, d, o);
  heatmap(b, d, o);
  histogram(b, d);
  memstats(b, d);
  findings(b, d);
  put(b,
      "<footer>Generated by {}. Self-contained: no scripts, fonts or images are loaded. Hover a "
      "bar or a cell for details.</footer>\n",
      esc(d.toolVersion.empty() ? "gomemscope" : d.toolVersion));
  put(b, "</body></html>\n");
  return fmt::to_string(b);
}

}  // namespace gms
