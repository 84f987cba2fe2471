#include "crontab_sync.hpp"

#include <sked/errors.hpp>
#include <sked/serialization.hpp>
#include <sked/triggers/cron.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

namespace sked::cli {
namespace {

constexpr std::string_view legacy_prefix = "cron-";
constexpr std::size_t legacy_hex_digits = 8;

bool owned_by(const Job& job, const std::string& owner) {
  return job.args->is_object() && job.args->value(crontab_owner_key, std::string{}) == owner;
}

// The job as the store gives it back: a zone's name can read back as another name of the same zone.
nlohmann::json stored_state(const Job& job) {
  return job_state_to_json(job_from_state_json(job.id, std::nullopt, job_state_to_json(job)));
}

}  // namespace

std::string read_crontab_file(const std::string& path) {
  const auto cannot = [&](std::string_view why) {
    return InvalidArgument(fmt::format("cannot read crontab file '{}': {}", path, why));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw cannot(std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw cannot(std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw cannot("it is a directory");
  // A pipe is fine (`--crontab <(generate-jobs)`); a device such as /dev/zero never ends.
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    throw cannot("it is not a regular file or a pipe");
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n > 0 && text.size() + static_cast<std::size_t>(n) > max_crontab_bytes) {
      throw cannot(fmt::format("it is longer than {} MiB", max_crontab_bytes >> 20));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      throw cannot(std::strerror(errno));
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

std::string crontab_group(const std::string& owner) { return "crontab:" + owner; }

Job crontab_job(const CrontabLine& line, const std::string& owner, const TimeZone& zone,
                const std::string& group) {
  Job job;
  job.id = line.id;
  job.name = line.id;
  job.task = "shell";
  job.group = group.empty() ? crontab_group(owner) : group;
  job.args = {{"command", line.command}, {crontab_owner_key, owner}};
  if (!line.env.empty()) job.args.edit()["env"] = line.env;
  const TimeZone line_zone = line.timezone.empty() ? zone : TimeZone::locate(line.timezone);
  job.trigger =
      std::make_shared<CronTrigger>(CronTrigger::from_crontab(line.expression, line_zone));
  job.misfire_grace_time = std::chrono::seconds{60};
  job.coalesce = true;
  job.max_instances = 1;
  return job;
}

SyncCounts sync_crontab(JobStore& store, const std::vector<CrontabLine>& lines,
                        const std::string& owner, const TimeZone& zone, TimePoint now,
                        const Logger& log, const std::string& group) {
  std::map<std::string, Job, std::less<>> owned;
  for (auto& job : store.get_all_jobs()) {
    if (owned_by(job, owner)) owned.emplace(job.id, std::move(job));
  }

  // Every job is built and checked first: a line that cannot become a stored job (bytes that are
  // not UTF-8, say) throws here, before the store is touched.
  struct Wanted {
    const CrontabLine* line;
    Job job;
    nlohmann::json state;
  };
  std::vector<Wanted> wanted;
  std::set<std::string, std::less<>> ids;  // of the jobs built so far
  std::set<std::string, std::less<>> line_ids;
  for (const auto& line : lines) line_ids.insert(line.id);
  for (const auto& line : lines) {
    CrontabLine effective = line;
    if (line.derived_id && !owned.contains(line.id)) {
      const std::string legacy = line.id.substr(0, legacy_prefix.size() + legacy_hex_digits);
      if (owned.contains(legacy) && !ids.contains(legacy) && !line_ids.contains(legacy)) {
        effective.id = legacy;
      }
    }
    Job job = crontab_job(effective, owner, zone, group);
    job.next_run_time = job.trigger->next_fire_time(std::nullopt, now);
    job.validate();
    nlohmann::json state = stored_state(job);
    (void)state.dump();  // throws for text that is not UTF-8, as the store's write would
    ids.insert(job.id);
    wanted.push_back({&line, std::move(job), std::move(state)});
  }

  SyncCounts counts;
  for (auto& [line, job, state] : wanted) {
    auto existing = owned.find(job.id);
    if (existing == owned.end()) {
      if (auto found = store.lookup_job(job.id)) {
        if (!owned_by(*found, owner)) {
          log(LogLevel::warning,
              fmt::format("line {}: job '{}' is in the store already and was not added by this "
                          "crontab; the line is skipped",
                          line->line, job.id));
          continue;
        }
        // Added by another `sked run` on the same file since the store was read above.
        existing = owned.emplace(job.id, std::move(*found)).first;
      } else {
        try {
          store.add_job(job);
          ++counts.added;
        } catch (const ConflictingIdError&) {
          ++counts.unchanged;  // another `sked run` on the same file added it just now
        }
        continue;
      }
    }
    if (job_state_to_json(existing->second) == state) {
      ++counts.unchanged;
    } else {
      // A paused job stays paused (as it is in the store now, not as read above); a changed
      // schedule starts afresh from now; a job whose schedule is the same (its command, name or
      // variables changed) keeps its next run, so that no fire time is skipped.
      try {
        (void)store.modify_job(job.id, [&](Job& j) {
          const bool paused = j.paused();
          const bool same_schedule = j.trigger && j.trigger->to_json() == state["trigger"];
          const auto next = same_schedule ? j.next_run_time : job.next_run_time;
          j = job;
          j.next_run_time = paused ? std::nullopt : next;
        });
        ++counts.changed;
      } catch (const JobNotFound&) {
        // Removed by another process meanwhile: the next sync adds it again.
      }
    }
    owned.erase(existing);
  }
  for (const auto& [id, job] : owned) {
    try {
      store.remove_job(id);
      ++counts.removed;
    } catch (const JobNotFound&) {
      // Removed by another process meanwhile.
    }
  }
  return counts;
}

}  // namespace sked::cli
