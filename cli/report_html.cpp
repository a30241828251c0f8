// The SOC report's HTML page: ReportData -> one self-contained page (inline CSS, charts as
// inline SVG). No I/O, no clock reads. Nothing here may emit a script, an external reference, or
// an unescaped string.
#include <algorithm>

#include <fmt/format.h>

#include "cli/report.hpp"
#include "common/timefmt.hpp"

namespace agentgate::cli::report {
namespace {

using std::chrono::seconds;

const char* colour(Action a) {
  switch (a) {
    case Action::accept:
      return "#2e7d32";
    case Action::quarantine:
      return "#e09b00";
    case Action::tempfail:
      return "#8a9099";
    case Action::reject:
      return "#c62828";
  }
  return "#000";
}

std::string age_text(seconds s) {
  auto n = s.count();
  if (n < 3600) return fmt::format("{}m", std::max<std::int64_t>(0, n / 60));
  if (n < 86400) return fmt::format("{}h {}m", n / 3600, n % 3600 / 60);
  return fmt::format("{}d {}h", n / 86400, n % 86400 / 3600);
}

// "2026-12-01 10:00" for people; attributes and JSON keep ISO 8601.
std::string human(Time t) {
  auto iso = common::format_iso8601(t);
  return iso.substr(0, 10) + " " + iso.substr(11, 5);
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// A round axis maximum: 1, 2, 5 x 10^k at or above n.
std::int64_t nice_max(std::int64_t n) {
  std::int64_t m = 1;
  while (true) {
    for (std::int64_t f : {1, 2, 5})
      if (f * m >= n) return f * m;
    m *= 10;
  }
}

constexpr int kW = 960, kH = 280, kLeft = 48, kRight = 12, kTop = 12, kBottom = 36;

std::string decisions_chart(const ReportData& d) {
  bool hourly = d.bucket == Bucket::hour;
  std::string out = fmt::format(
      "<svg id=\"chart-decisions\" role=\"img\" viewBox=\"0 0 {} {}\" data-total=\"{}\" "
      "data-slots=\"{}\" data-bucket=\"{}\" aria-label=\"Decisions per {} by action: {} in "
      "total\"><title>Decisions per {} by action</title>\n",
      kW, d.total == 0 ? 40 : kH, d.total, d.slots.size(), hourly ? "hour" : "day",
      hourly ? "hour" : "day", d.total, hourly ? "hour" : "day");
  if (d.total == 0) {
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"empty\">No decisions in this "
        "period.</text>\n</svg>\n",
        kW / 2, 24);
    return out;
  }
  std::int64_t peak = 1;
  for (const auto& s : d.slots) {
    std::int64_t sum = 0;
    for (auto c : s.counts) sum += c;
    peak = std::max(peak, sum);
  }
  auto top = nice_max(peak);
  double plot_h = kH - kTop - kBottom, plot_w = kW - kLeft - kRight;
  std::int64_t ticks = 1;  // the first of 5, 4, 2 that divides top: integer labels
  for (std::int64_t t : {5, 4, 2})
    if (top % t == 0) {
      ticks = t;
      break;
    }
  for (std::int64_t k = 0; k <= ticks; ++k) {
    double y = kTop + plot_h - plot_h * static_cast<double>(k) / static_cast<double>(ticks);
    out += fmt::format(
        "<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/><text "
        "class=\"axis\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        kLeft, kW - kRight, y, y, kLeft - 6, y + 4, top * k / ticks);
  }
  double slot_w = plot_w / static_cast<double>(d.slots.size());
  double bar_w = std::max(1.0, slot_w * 0.7);
  std::size_t label_every = std::max<std::size_t>(1, d.slots.size() / 12);
  for (std::size_t i = 0; i < d.slots.size(); ++i) {
    const auto& s = d.slots[i];
    auto iso = common::format_iso8601(s.start);
    auto label = hourly ? iso.substr(11, 5) : iso.substr(5, 5);
    double x = kLeft + slot_w * static_cast<double>(i) + (slot_w - bar_w) / 2;
    double y = kTop + plot_h;
    out += fmt::format("<g class=\"slot\" data-slot=\"{}\">", iso);
    for (auto a : kActions) {
      auto n = s.counts[index_of(a)];
      if (n == 0) continue;
      double h = plot_h * static_cast<double>(n) / static_cast<double>(top);
      y -= h;
      out += fmt::format(
          "<rect class=\"bar\" data-action=\"{}\" data-count=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" "
          "width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{} {}: {}</title></rect>",
          to_string(a), n, x, y, bar_w, h, colour(a),
          hourly ? iso.substr(0, 16) : iso.substr(0, 10), to_string(a), n);
    }
    if (i % label_every == 0)
      out += fmt::format(
          "<text class=\"axis\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
          x + bar_w / 2, kH - kBottom + 16, hourly && label == "00:00" ? iso.substr(5, 5) : label);
    out += "</g>\n";
  }
  return out + "</svg>\n";
}

struct Part {
  const char* name;  // data-action
  const char* colour;
  std::int64_t n;
};
struct HBar {
  std::string key;
  std::vector<Part> parts;
};

// Horizontal bars, one row per key, with the key and the count as text.
std::string hbar_chart(const std::string& id, const std::string& what, const char* key_attr,
                       const std::vector<HBar>& rows) {
  std::int64_t total = 0, peak = 1;
  for (const auto& r : rows) {
    std::int64_t sum = 0;
    for (const auto& p : r.parts) sum += p.n;
    total += sum;
    peak = std::max(peak, sum);
  }
  constexpr int row_h = 26, label_w = 260, count_w = 60;
  int h = std::max<int>(row_h, static_cast<int>(rows.size()) * row_h) + 8;
  std::string out = fmt::format(
      "<svg id=\"{}\" role=\"img\" viewBox=\"0 0 {} {}\" data-total=\"{}\" data-rows=\"{}\" "
      "aria-label=\"{}\"><title>{}</title>\n",
      id, kW, h, total, rows.size(), html_escape(what), html_escape(what));
  if (rows.empty())
    return out + fmt::format(
                     "<text x=\"{}\" y=\"18\" text-anchor=\"middle\" class=\"empty\">"
                     "None in this period.</text>\n</svg>\n",
                     kW / 2);
  double plot_w = kW - label_w - count_w;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    int y = 4 + static_cast<int>(i) * row_h;
    std::string key = r.key.size() > 40 ? r.key.substr(0, 39) + "\u2026" : r.key;
    out += fmt::format(
        "<g class=\"row\" {}=\"{}\"><text class=\"label\" x=\"{}\" y=\"{}\" "
        "text-anchor=\"end\">{}</text>",
        key_attr, html_escape(r.key), label_w - 8, y + 17, html_escape(key));
    double x = label_w;
    std::int64_t sum = 0;
    for (const auto& [name, fill, n] : r.parts) {
      if (n == 0) continue;
      double w = plot_w * static_cast<double>(n) / static_cast<double>(peak);
      out += fmt::format(
          "<rect class=\"bar\" data-action=\"{}\" data-count=\"{}\" x=\"{:.1f}\" y=\"{}\" "
          "width=\"{:.1f}\" height=\"{}\" fill=\"{}\"><title>{}: {} {}</title></rect>",
          name, n, x, y + 3, w, row_h - 8, fill, html_escape(r.key), n, name);
      x += w;
      sum += n;
    }
    out += fmt::format("<text class=\"count\" x=\"{:.1f}\" y=\"{}\">{}</text></g>\n", x + 6, y + 17,
                       sum);
  }
  return out + "</svg>\n";
}

std::string legend(std::initializer_list<Action> actions) {
  std::string out = "<ul class=\"legend\">";
  for (auto a : actions)
    out += fmt::format("<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
                       colour(a), to_string(a));
  return out + "</ul>\n";
}

std::string identity_table(const std::string& id, const std::vector<IdentityRow>& rows, Time now,
                           const char* empty) {
  if (rows.empty()) return fmt::format("<p class=\"empty\" id=\"{}\">{}</p>\n", id, empty);
  std::string out = fmt::format(
      "<table id=\"{}\" data-rows=\"{}\"><thead><tr><th>Identity</th><th>Inbox</th>"
      "<th>Status</th><th>Business owner</th><th>Expires</th><th>Last seen</th></tr></thead>"
      "<tbody>\n",
      id, rows.size());
  for (const auto& r : rows) {
    auto left = r.expires_at - now;
    out += fmt::format(
        "<tr data-identity=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} "
        "<span class=\"muted\">({})</span></td><td>{}</td></tr>\n",
        html_escape(r.id), html_escape(r.id), html_escape(r.inbox), html_escape(r.status),
        html_escape(r.owner), human(r.expires_at),
        left.count() > 0 ? "in " + age_text(left) : "expired",
        r.last_seen ? human(*r.last_seen) : "<span class=\"muted\">no event read</span>");
  }
  return out + "</tbody></table>\n";
}

std::string held_table(const ReportData& d) {
  if (d.oldest_held.empty()) return "<p class=\"empty\" id=\"table-held\">Nothing is held.</p>\n";
  std::string out = fmt::format(
      "<table id=\"table-held\" data-rows=\"{}\"><thead><tr><th>Queue id</th><th>Age</th>"
      "<th>Identity</th><th>Reasons</th><th>From</th><th>Subject</th></tr></thead><tbody>\n",
      d.oldest_held.size());
  for (const auto& h : d.oldest_held)
    out += fmt::format(
        "<tr data-queue-id=\"{}\"><td class=\"mono\">{}<br><span class=\"muted\">{}</span></td>"
        "<td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"subject\">{}</td>"
        "</tr>\n",
        html_escape(h.queue_id), html_escape(h.queue_id), html_escape(h.host),
        age_text(d.generated - h.at), html_escape(h.identity), html_escape(joined(h.reasons)),
        html_escape(h.mail_from), html_escape(h.subject));
  return out + "</tbody></table>\n";
}

constexpr const char* kStyle = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
background:#f6f7f9;margin:0 auto;padding:24px 32px;max-width:1040px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 12px}
section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:16px 20px;margin:16px 0}
.meta{color:#57606a;margin:0}.muted{color:#6e7781}.mono{font-family:ui-monospace,monospace;font-size:13px}
.totals{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0 0;padding:0;list-style:none}
.totals li{background:#fff;border:1px solid #d8dde3;border-left:4px solid var(--c);border-radius:4px;
padding:6px 14px;min-width:110px}.totals b{display:block;font-size:20px}
svg{width:100%;height:auto;display:block}svg text{font-size:12px;fill:#1f2328}
svg .axis{fill:#57606a;font-size:11px}svg .grid{stroke:#e4e7eb;stroke-width:1}
svg .empty,p.empty{fill:#6e7781;color:#6e7781;font-style:italic}svg .count{fill:#57606a}
.legend{list-style:none;display:flex;gap:16px;padding:0;margin:8px 0 0}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.subject{word-break:break-word;max-width:280px}
)css";

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters have no business in a report; NUL would end some viewers' text.
        out += static_cast<unsigned char>(c) < 0x20 && c != '\t' ? ' ' : c;
    }
  }
  return out;
}

std::string render_html(const ReportData& d) {
  auto unit = d.bucket == Bucket::hour ? "hour" : "day";
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
      "'unsafe-inline'\">\n<title>agentgate report {}</title>\n<style>{}</style></head>\n<body>\n"
      "<header><h1>agentgate SOC report</h1><p class=\"meta\" id=\"period\" data-since=\"{}\" "
      "data-generated=\"{}\">Period {} to {} UTC ({}, per {}) &middot; generated {} UTC</p>\n"
      "<ul class=\"totals\" "
      "id=\"totals\" data-total=\"{}\"><li style=\"--c:#1f2328\">decisions<b>{}</b></li>",
      common::format_iso8601(d.generated), kStyle, common::format_iso8601(d.since),
      common::format_iso8601(d.generated), human(d.since), human(d.generated),
      common::format_duration(d.generated - d.since), unit, human(d.generated), d.total, d.total);
  for (auto a : kActions)
    out += fmt::format("<li style=\"--c:{}\" data-action=\"{}\" data-count=\"{}\">{}<b>{}</b></li>",
                       colour(a), to_string(a), d.totals[index_of(a)], to_string(a),
                       d.totals[index_of(a)]);
  out += fmt::format(
      "<li style=\"--c:#e09b00\" id=\"held-count\" data-count=\"{}\">held now<b>{}</b></li>"
      "</ul></header>\n",
      d.held, d.held);

  out += fmt::format("<section><h2>Decisions per {} by action</h2>\n", unit);
  out += decisions_chart(d) +
         legend({Action::accept, Action::quarantine, Action::tempfail, Action::reject}) +
         "</section>\n";

  std::vector<HBar> reasons;
  for (const auto& r : d.top_reasons) reasons.push_back({r.key, {{"non-accept", "#4a6fa5", r.n}}});
  out +=
      "<section><h2>Top reasons (reject, tempfail, quarantine)</h2>\n" +
      hbar_chart("chart-reasons", "Top reasons of non-accept decisions", "data-reason", reasons) +
      "</section>\n";
  std::vector<HBar> ids;
  for (const auto& i : d.top_identities)
    ids.push_back({i.id,
                   {{"reject", colour(Action::reject), i.rejected},
                    {"quarantine", colour(Action::quarantine), i.quarantined}}});
  out += "<section><h2>Top identities by rejections and quarantines</h2>\n" +
         hbar_chart("chart-identities", "Identities by rejections and quarantines", "data-identity",
                    ids) +
         legend({Action::reject, Action::quarantine}) + "</section>\n";

  out += fmt::format("<section><h2>Identities expiring within {}</h2>\n",
                     common::format_duration(d.expiring)) +
         identity_table("table-expiring", d.expiring_identities, d.generated,
                        "No live identity expires in this window.") +
         "</section>\n";
  out += fmt::format("<section><h2>Dormant identities (active, no event in {} days)</h2>\n",
                     d.dormant.count() / 86400) +
         identity_table("table-dormant", d.dormant_identities, d.generated,
                        "No active identity is dormant.") +
         "</section>\n";
  out += fmt::format(
             "<section><h2>Quarantine queue: {} held</h2>\n<p class=\"meta\">Oldest first{}.</p>\n",
             d.held,
             d.held > static_cast<std::int64_t>(d.oldest_held.size())
                 ? fmt::format(", the {} oldest shown", d.oldest_held.size())
                 : "") +
         held_table(d) + "</section>\n</body></html>\n";
  return out;
}

}  // namespace agentgate::cli::report
