// The soak test's processes (scripts/soak.sh drives them; tests/soak/check.py reads what they
// leave).
//
//   sked_soak scheduler DB LOG
//     A scheduler process on the SQLite file DB with the real clock, until SIGTERM or SIGINT. Task
//     "soak_noop" sleeps its job's `sleep_ms`, then appends `run JOB_ID RUN_TIME_US PID` to LOG
//     (one O_APPEND write per line, so a SIGKILL leaves whole lines and several processes may share
//     the file). Writes `start` and `stop` lines with their times.
//   sked_soak mutator DB LOG SECONDS JOBS
//     Adds JOBS interval jobs (1-5 s, explicit start date; one in five of those of 3 s or more
//     sleeps 0.3-1.5 s, so that a kill catches runs in flight, the others 0-4 ms), writes `ready`,
//     then for SECONDS adds, pauses, resumes and removes jobs at random, about four operations a
//     second, and writes `end`. Each event is a line `TIME_US OP JOB_ID [INTERVAL_S START_US]`,
//     written after the store call returned (an add's or a resume's TIME_US is when its successful
//     try began: it schedules from then, however long it waited for the store). A store call that
//     fails is tried again every 250 ms (for up to 2 minutes) and its first failure logged `TIME_US
//     retry OP JOB_ID: WHAT`: the soak's fault phases (a full disk, a held lock) make them fail for
//     a while.
//   sked_soak lock DB LOG SECONDS
//     Holds the store's write lock for SECONDS, the way another program's long transaction does:
//     `TIME_US lock` once it holds it, `TIME_US unlock` after its commit. SQLite files only
//     (scripts/soak.sh holds a PostgreSQL store's lock with psql).
//
// Times are microseconds since the Unix epoch. The mutator uses a scheduler that is never started,
// the way an admin tool changes a store that running schedulers share.

#include <sked/sked.hpp>
#include <sked/stores/sqlite.hpp>
#ifdef SKED_HAS_POSTGRES
#include <sked/stores/postgres.hpp>
#endif

#include <SQLiteCpp/Database.h>
#include <fcntl.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

constexpr std::string_view task_name = "soak_noop";

// An append-only log: each line is one write(2) on an O_APPEND descriptor.
class AppendLog {
 public:
  explicit AppendLog(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644)) {
    if (fd_ < 0) throw std::runtime_error("sked_soak: cannot open " + path);
  }
  ~AppendLog() { ::close(fd_); }
  AppendLog(const AppendLog&) = delete;
  AppendLog& operator=(const AppendLog&) = delete;

  void line(const std::string& text) const {
    const std::string out = text + '\n';
    if (::write(fd_, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
      std::cerr << "sked_soak: short write to the log\n";
    }
  }

 private:
  int fd_;
};

std::int64_t micros(sked::TimePoint t) { return t.time_since_epoch().count(); }
std::int64_t now_us() { return micros(sked::SystemClock{}.now()); }

// DB is an SQLite file or, from `scripts/soak.sh --postgres`, a PostgreSQL URL. A killed scheduler
// is known dead quickly, so its runs are recorded interrupted within seconds.
std::shared_ptr<sked::JobStore> open_store(const std::string& db) {
  if (db.starts_with("postgresql://")) {
#ifdef SKED_HAS_POSTGRES
    return std::make_shared<sked::PostgresJobStore>(
        db, sked::PostgresJobStoreOptions{.heartbeat_interval = 1s, .stale_after = 3s});
#else
    throw std::runtime_error("this sked_soak was built without PostgreSQL support");
#endif
  }
  return std::make_shared<sked::SqliteJobStore>(
      db, sked::SqliteJobStoreOptions{.heartbeat_interval = 1s, .stale_after = 3s});
}

int run_scheduler(const std::string& db, const std::string& log_path) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const AppendLog log{log_path};
  const auto pid = static_cast<long>(getpid());
  auto store = open_store(db);
  sked::BlockingScheduler scheduler{{.timezone = sked::TimeZone::utc(),
                                     .max_wait = 500ms,
                                     .logger = sked::stderr_logger(sked::LogLevel::warning)}};
  scheduler.add_jobstore(store);
  scheduler.add_executor(std::make_shared<sked::ThreadPoolExecutor>(32));
  scheduler.tasks().add(std::string{task_name}, [&log, pid](const sked::JobContext& ctx) {
    std::this_thread::sleep_for(std::chrono::milliseconds{ctx.args().value("sleep_ms", 0)});
    log.line("run " + ctx.job_id() + ' ' + std::to_string(micros(ctx.scheduled_run_time())) + ' ' +
             std::to_string(pid));
  });

  std::jthread watcher([&](std::stop_token stop) {
    const timespec tick{0, 50'000'000};
    while (!stop.stop_requested()) {
      const bool signalled = sigtimedwait(&signals, nullptr, &tick) > 0;
      // shutdown() before start() would be a no-op and leave start() blocking for ever.
      if (signalled && scheduler.state() != sked::SchedulerState::stopped) break;
    }
    log.line(std::to_string(now_us()) + " stop " + std::to_string(pid));
    scheduler.shutdown(true);  // waits for the runs in flight
  });
  log.line(std::to_string(now_us()) + " start " + std::to_string(pid));
  scheduler.start();
  watcher.request_stop();
  watcher.join();
  return 0;
}

int run_mutator(const std::string& db, const std::string& log_path, int seconds, int jobs) {
  const AppendLog log{log_path};
  sked::BlockingScheduler admin{{.timezone = sked::TimeZone::utc()}};
  admin.add_jobstore(open_store(db));
  admin.tasks().add(std::string{task_name}, [](const sked::JobContext&) {});

  std::mt19937_64 random{std::random_device{}()};
  const auto pick = [&random](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>{0, n - 1}(random);
  };
  // Calls `call(again)` until it returns; `again` is true after a failed try. Returns when the try
  // that succeeded began: a resume schedules from then, however long it waited for the store.
  const auto retrying = [&log](const char* op, const std::string& id, const auto& call) {
    const auto give_up = std::chrono::steady_clock::now() + 2min;
    for (bool again = false;; again = true) {
      try {
        const auto began = now_us();
        call(again);
        return began;
      } catch (const std::exception& e) {
        if (std::chrono::steady_clock::now() > give_up) throw;
        if (!again)
          log.line(std::to_string(now_us()) + " retry " + op + ' ' + id + ": " + e.what());
        std::this_thread::sleep_for(250ms);
      }
    }
  };
  std::vector<std::string> active;  // scheduled
  std::vector<std::string> paused;
  int next_id = 0;

  const auto add = [&] {
    const std::string id = "soak-" + std::to_string(next_id++);
    const auto interval = std::uniform_int_distribution<std::int64_t>{1, 5}(random);
    const bool slow = interval >= 3 && pick(5) == 0;
    const int sleep_ms = static_cast<int>(slow ? 300 + pick(1201) : pick(5));
    const sked::TimePoint start = sked::SystemClock{}.now() + std::chrono::seconds{interval};
    // The add schedules from when its successful try began (the first fire time at or after
    // then), however long it then waited for the store: logged with that time, as a resume is.
    const auto asked = retrying("add", id, [&](bool again) {
      try {
        admin.add_job({.id = id,
                       .task = std::string{task_name},
                       .args = {{"sleep_ms", sleep_ms}},
                       .trigger = sked::IntervalTrigger{{.seconds = interval, .start_date = start}},
                       .misfire_grace_time = std::chrono::seconds{30},
                       .coalesce = false,
                       .max_instances = 1});
      } catch (const sked::ConflictingIdError&) {
        if (!again) throw;  // a try that failed after its commit added it
      }
    });
    log.line(std::to_string(asked) + " add " + id + ' ' + std::to_string(interval) + ' ' +
             std::to_string(micros(start)));
    active.push_back(id);
  };
  const auto take = [&](std::vector<std::string>& from) {
    const auto i = pick(from.size());
    std::string id = std::move(from[i]);
    from[i] = std::move(from.back());
    from.pop_back();
    return id;
  };

  for (int i = 0; i < jobs; ++i) add();
  log.line(std::to_string(now_us()) + " ready");

  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds{seconds};
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(250ms);
    try {
      switch (pick(4)) {
        case 0:
          add();
          break;
        case 1:
          if (active.empty()) break;
          {
            const std::string id = take(active);
            (void)retrying("pause", id, [&](bool) { admin.pause_job(id); });
            log.line(std::to_string(now_us()) + " pause " + id);
            paused.push_back(id);
          }
          break;
        case 2:
          if (paused.empty()) break;
          {
            const std::string id = take(paused);
            bool resumed = true;
            const auto began =
                retrying("resume", id, [&](bool) { resumed = admin.resume_job(id).has_value(); });
            if (!resumed) throw std::runtime_error("interval job " + id + " removed on resume");
            log.line(std::to_string(began) + " resume " + id);
            active.push_back(id);
          }
          break;
        default: {
          // Removes a paused job now and then too.
          auto& from = !paused.empty() && pick(4) == 0 ? paused : active;
          if (from.empty()) break;
          const std::string id = take(from);
          (void)retrying("remove", id, [&](bool again) {
            try {
              admin.remove_job(id);
            } catch (const sked::JobNotFound&) {
              if (!again) throw;  // a try that failed after its commit removed it
            }
          });
          log.line(std::to_string(now_us()) + " remove " + id);
          break;
        }
      }
    } catch (const std::exception& e) {
      // A store call that failed for two minutes is a finding: the check fails on it.
      log.line(std::to_string(now_us()) + " failed " + e.what());
      std::cerr << "sked_soak mutator: " << e.what() << '\n';
    }
  }
  log.line(std::to_string(now_us()) + " end");
  return 0;
}

int run_lock(const std::string& db, const std::string& log_path, int seconds) {
  const AppendLog log{log_path};
  SQLite::Database conn{db, SQLite::OPEN_READWRITE, 60'000};
  conn.exec("BEGIN IMMEDIATE");
  log.line(std::to_string(now_us()) + " lock");
  std::this_thread::sleep_for(std::chrono::seconds{seconds});
  conn.exec("COMMIT");
  log.line(std::to_string(now_us()) + " unlock");
  return 0;
}

int usage() {
  std::cerr << "usage: sked_soak scheduler DB LOG\n"
               "       sked_soak mutator DB LOG SECONDS JOBS\n"
               "       sked_soak lock DB LOG SECONDS\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 3 && args[0] == "scheduler") return run_scheduler(args[1], args[2]);
    if (args.size() == 5 && args[0] == "mutator") {
      return run_mutator(args[1], args[2], std::stoi(args[3]), std::stoi(args[4]));
    }
    if (args.size() == 4 && args[0] == "lock")
      return run_lock(args[1], args[2], std::stoi(args[3]));
  } catch (const std::exception& e) {
    std::cerr << "sked_soak: " << e.what() << '\n';
    return 1;
  }
  return usage();
}
