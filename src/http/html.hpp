#pragma once
// HTML building blocks for the dashboard: escaping, the page frame with its navigation, the
// embedded stylesheet and live-refresh script, and the SVG chart of recent runs. Every string that
// comes from a store passes through `escape` before it reaches a page.

#include <sked/execution.hpp>
#include <sked/time.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sked::http::detail {

/// Text and attribute values: & < > " ' become entities.
[[nodiscard]] std::string escape(std::string_view text);
/// A path segment or query value: everything but unreserved characters percent-encoded.
[[nodiscard]] std::string url_encode(std::string_view text);
/// `?a=1&b=2` from the non-empty values, encoded and escaped for an href.
[[nodiscard]] std::string query_string(const std::map<std::string, std::string>& params);

/// `2026-12-01 15:02:39Z`, or `-`.
[[nodiscard]] std::string show_time(const std::optional<TimePoint>& t);
/// `1.234s`, or `-`.
[[nodiscard]] std::string show_seconds(const std::optional<double>& s);
/// `<span class="badge s-error">error</span>`: a status or state with its colour class.
[[nodiscard]] std::string badge(std::string_view status);

/// What one page response needs besides its body.
struct Frame {
  std::string title{};
  /// Which navigation entry is current: jobs, executions, schedulers, or none.
  std::string section{};
  /// Per-response nonce allowing the one inline script (Content-Security-Policy).
  std::string nonce{};
  /// Whether the script refreshes the page's main content every few seconds.
  bool live = false;
  bool read_only = false;
};

/// The whole document around `body`.
[[nodiscard]] std::string page(const Frame& frame, std::string_view body);

/// The stylesheet served at /assets/sked.css (embedded, so the binary needs no files).
[[nodiscard]] std::string_view stylesheet();

/// A bar per run, oldest left: height the duration, colour the outcome (newest first in `runs`).
[[nodiscard]] std::string duration_chart(const std::vector<Execution>& runs);

}  // namespace sked::http::detail
