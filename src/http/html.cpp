#include "http/html.hpp"

#include "detail/sqlite_time.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace sked::http::detail {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
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
        out += c;
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::string query_string(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    out += out.empty() ? "?" : "&amp;";
    out += url_encode(k) + "=" + url_encode(v);
  }
  return out;
}

std::string show_time(const std::optional<TimePoint>& t) {
  if (!t) return "-";
  std::string s = sked::detail::format_db_time(*t);  // 2026-12-01T15:02:39.123456Z
  return s.substr(0, 10) + " " + s.substr(11, 8) + "Z";
}

std::string show_seconds(const std::optional<double>& s) {
  if (!s) return "-";
  return fmt::format("{:.3f}s", *s);
}

std::string badge(std::string_view status) {
  std::string cls{status};
  std::replace(cls.begin(), cls.end(), ' ', '-');
  return fmt::format(R"(<span class="badge s-{}">{}</span>)", escape(cls), escape(status));
}

namespace {

// Replaces <main> with the same page fetched again, so new runs and states appear without a
// reload; it pauses while the pointer is over a form so a click is never lost to a refresh.
constexpr std::string_view live_script = R"(
(function () {
  var busy = false;
  document.addEventListener('focusin', function () { busy = true; });
  document.addEventListener('focusout', function () { busy = false; });
  setInterval(function () {
    if (busy || document.hidden) return;
    fetch(location.href, {credentials: 'same-origin', headers: {'X-Sked-Refresh': '1'}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var next = new DOMParser().parseFromString(html, 'text/html').querySelector('main');
        var main = document.querySelector('main');
        if (next && main && !busy) main.replaceWith(next);
      })
      .catch(function () {});
  }, 2000);
})();
)";

constexpr std::string_view css = R"(
:root { --fg: #1d232a; --muted: #5d6b78; --line: #d9dee3; --bg: #fff; --head: #f4f6f8;
        --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --info: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1.5em; align-items: baseline; padding: .6em 1.2em;
         border-bottom: 1px solid var(--line); background: var(--head); }
header strong { font-size: 1.1em; }
header a { color: var(--fg); text-decoration: none; }
header a.current { font-weight: 600; border-bottom: 2px solid var(--info); }
header .ro { margin-left: auto; color: var(--warn); }
main { padding: 1em 1.2em; }
h1 { font-size: 1.3em; margin: .2em 0 .6em; }
h2 { font-size: 1.1em; margin: 1.4em 0 .5em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, monospace; font-size: .95em; }
a { color: var(--info); }
form.filters { display: flex; flex-wrap: wrap; gap: .6em; align-items: end; margin-bottom: 1em; }
form.filters label { display: flex; flex-direction: column; font-size: .85em; color: var(--muted); }
form.inline { display: inline; }
input, select, button { font: inherit; padding: .25em .5em; }
button { cursor: pointer; border: 1px solid var(--line); background: var(--head); border-radius: 4px; }
button.danger { color: var(--bad); border-color: var(--bad); }
.actions { display: flex; gap: .5em; margin: .8em 0; }
.badge { display: inline-block; padding: 0 .45em; border-radius: 3px; font-size: .9em;
         border: 1px solid currentColor; }
.s-executed, .s-scheduled, .s-alive { color: var(--ok); }
.s-error, .s-interrupted, .s-task-unknown, .s-dead { color: var(--bad); }
.s-missed, .s-max_instances, .s-paused, .s-overdue { color: var(--warn); }
.s-started { color: var(--info); }
.muted { color: var(--muted); }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1.2em; }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; }
pre { background: var(--head); padding: .5em; overflow-x: auto; max-height: 20em; }
.pager { display: flex; gap: 1em; margin: .8em 0; align-items: center; }
.notice { padding: .5em .8em; border: 1px solid var(--warn); background: #fff8e5; }
svg.chart { border: 1px solid var(--line); background: var(--bg); }
)";

}  // namespace

std::string_view stylesheet() { return css; }

std::string page(const Frame& frame, std::string_view body) {
  const auto nav = [&](std::string_view section, std::string_view href, std::string_view label) {
    return fmt::format(R"(<a href="{}"{}>{}</a>)", href,
                       frame.section == section ? R"( class="current")" : "", label);
  };
  std::string out;
  out.reserve(body.size() + 2048);
  out += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += fmt::format("<title>{} - sked</title>", escape(frame.title));
  out += "<link rel=\"stylesheet\" href=\"/assets/sked.css\"></head><body><header>";
  out += "<strong>sked</strong>";
  out += nav("jobs", "/", "Jobs");
  out += nav("executions", "/executions", "Executions");
  out += nav("schedulers", "/schedulers", "Schedulers");
  out += nav("metrics", "/metrics", "Metrics");
  if (frame.read_only) out += R"(<span class="ro">read-only</span>)";
  out += "</header>\n<main>";
  out += body;
  out += "</main>\n";
  if (frame.live) {
    out += fmt::format("<script nonce=\"{}\">{}</script>", frame.nonce, live_script);
  }
  out += "</body></html>\n";
  return out;
}

std::string duration_chart(const std::vector<Execution>& runs) {
  constexpr int width = 600;
  constexpr int height = 120;
  constexpr int pad = 4;
  if (runs.empty()) return R"(<p class="muted">No runs yet.</p>)";
  double longest = 0;
  for (const auto& e : runs) {
    if (e.duration) longest = std::max(longest, std::chrono::duration<double>(*e.duration).count());
  }
  if (longest <= 0) longest = 1;
  const auto n = static_cast<int>(runs.size());
  // At least 30 slots, so that a few runs do not make a few wide blocks.
  const double slot = static_cast<double>(width - 2 * pad) / std::max(n, 30);
  std::string out = fmt::format(
      R"(<svg class="chart" role="img" width="{}" height="{}" viewBox="0 0 {} {}")"
      R"( aria-label="Durations of the last {} runs, oldest left; the tallest is {:.3f}s">)",
      width, height + 16, width, height + 16, n, longest);
  for (int i = 0; i < n; ++i) {
    const Execution& e = runs[static_cast<std::size_t>(n - 1 - i)];  // oldest first
    const double d = e.duration ? std::chrono::duration<double>(*e.duration).count() : 0;
    // Runs without a duration (missed, still running) show as a short stub in their colour.
    const double h = std::max(3.0, (height - 2 * pad) * d / longest);
    const char* colour = "#0969da";
    switch (e.status) {
      case ExecutionStatus::executed:
        colour = "#1a7f37";
        break;
      case ExecutionStatus::error:
      case ExecutionStatus::interrupted:
        colour = "#cf222e";
        break;
      case ExecutionStatus::missed:
      case ExecutionStatus::max_instances:
        colour = "#9a6700";
        break;
      case ExecutionStatus::started:
        break;
    }
    out += fmt::format(
        R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"><title>{} {} {}</title></rect>)",
        pad + i * slot + slot * 0.1, height - pad - h, std::max(1.0, slot * 0.8), h, colour,
        escape(show_time(e.run_time)), escape(to_string(e.status)),
        escape(show_seconds(e.duration ? std::optional{d} : std::nullopt)));
  }
  out += fmt::format(
      R"(<text x="{}" y="{}" font-size="11" fill="#5d6b78">longest {:.3f}s</text></svg>)", pad,
      height + 12, longest);
  return out;
}

}  // namespace sked::http::detail
