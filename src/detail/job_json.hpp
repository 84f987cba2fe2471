#pragma once
// The stable JSON of jobs and execution records, and the state a job is reported in: one
// definition shared by the `sked` tool's `--json` output and the HTTP server's /api/, so a script
// reads the same fields from either.

#include <sked/execution.hpp>
#include <sked/export.hpp>  // SKED_API here: sked::http and the tool link these, not part of the API
#include <sked/job.hpp>
#include <sked/job_store.hpp>
#include <sked/time.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sked::detail {

/// A job due for longer than this and not claimed is reported `overdue` or `task unknown`.
inline constexpr auto unclaimed_after = std::chrono::seconds{10};

/// `scheduled`; `paused`; or, due for longer than `unclaimed_after` and not claimed: `task unknown`
/// while schedulers are running on the store (none has the job's task registered), `overdue` while
/// none is (`SqliteJobStore::live_schedulers`). A job that does not coalesce and is `running` (has
/// a `started` record) while schedulers are running is `scheduled`: its due fire times wait for the
/// run to end (`Job::coalesce`).
[[nodiscard]] SKED_API std::string job_state(const Job& job, TimePoint now, bool schedulers_running,
                                             bool running = false);

/// ISO-8601 UTC to the microsecond, as the store writes times; null for an empty time.
[[nodiscard]] SKED_API nlohmann::json json_time(const std::optional<TimePoint>& t);

/// The stable JSON of a job (`sked jobs --json`, `sked show --json`, `/api/jobs`); `last` is its
/// newest record (a `started` one means it is running).
[[nodiscard]] SKED_API nlohmann::json job_json(const Job& job, TimePoint now,
                                               bool schedulers_running,
                                               const std::optional<Execution>& last);
/// The stable JSON of an execution record; `traceback` only `with_output`.
[[nodiscard]] SKED_API nlohmann::json execution_json(const Execution& e, bool with_output);

/// Up to `n` fire times from the job's next run on (none while paused); never past the last time a
/// store can hold.
[[nodiscard]] SKED_API std::vector<TimePoint> next_fire_times(const Job& job, TimePoint now, int n);
/// `run-now request` (attempt 1) or `retry`.
[[nodiscard]] SKED_API const char* run_kind(const RunRequest& r) noexcept;
/// One job in full (`sked show --json`, `/api/jobs/ID`): `job_json` plus timeout, the next 5
/// fire times, `history` (newest first) and the pending runs.
[[nodiscard]] SKED_API nlohmann::json job_details_json(const Job& job, TimePoint now,
                                                       bool schedulers_running,
                                                       const std::vector<Execution>& history,
                                                       const std::vector<RunRequest>& pending);

}  // namespace sked::detail
