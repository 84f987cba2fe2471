#pragma once
// Bringing a crontab file's jobs into a job store, for `sked run --crontab FILE` at start-up and on
// SIGHUP. Depends on sked only (not on CLI11), so tests drive it with a memory store.

#include "crontab_file.hpp"

#include <sked/job.hpp>
#include <sked/job_store.hpp>
#include <sked/scheduler.hpp>
#include <sked/time.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace sked::cli {

/// The `args` key that marks a job as a crontab file's (its absolute path): a sync removes only
/// jobs it marks, never a job an application put in the same store.
inline constexpr const char* crontab_owner_key = "crontab";

/// The longest crontab file read, in bytes.
inline constexpr std::size_t max_crontab_bytes = std::size_t{16} << 20;

/// The text of the crontab file at `path`, a regular file or a pipe. Throws `InvalidArgument`
/// naming the path and the reason when it cannot be read whole: missing, a directory or a device,
/// not readable, a read error, longer than `max_crontab_bytes`. Never returns an empty text for a
/// file it could not read (that would remove every job of the file).
[[nodiscard]] std::string read_crontab_file(const std::string& path);

/// The group of a crontab file's jobs: `crontab:` and `owner` (the file's absolute path), so that
/// only the `sked run` daemons of that file claim them (`SchedulerOptions::groups`).
[[nodiscard]] std::string crontab_group(const std::string& owner);

/// The persisted `shell` job of a line: named by its id (a log line names the job, never the
/// command that may hold a password), with its command, its variables and `owner` in its args, in
/// `group`, or when it is empty the group `crontab_group(owner)`.
[[nodiscard]] Job crontab_job(const CrontabLine& line, const std::string& owner,
                              const TimeZone& zone, const std::string& group = {});

struct SyncCounts {
  int added = 0, changed = 0, removed = 0, unchanged = 0;
};

/// Makes the jobs of `store` that `owner` marks exactly those of `lines`: adds new lines, updates
/// changed ones (a paused job stays paused; a changed schedule starts afresh from `now`, an
/// unchanged one keeps its next run), removes
/// jobs whose line is gone. Every job is built and checked before the store is touched, so a line
/// that cannot become a job throws and changes nothing. Other processes may sync the same file at
/// the same time: a job of `owner` that appears meanwhile is the same file's, not a foreign one,
/// and a job removed or added meanwhile is no error. A job of the same id not marked by `owner` is
/// left alone (with a warning to `log`). A line with a derived id whose job is in the store under
/// the 8-digit id that sked derived before (`cron-` and the first 8 of the 16 hex digits) keeps
/// that job and id.
/// The jobs are in `group` (`crontab_job`).
SyncCounts sync_crontab(JobStore& store, const std::vector<CrontabLine>& lines,
                        const std::string& owner, const TimeZone& zone, TimePoint now,
                        const Logger& log, const std::string& group = {});

}  // namespace sked::cli
