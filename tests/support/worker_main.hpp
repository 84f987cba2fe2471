#pragma once
// The main loop the multi-process tests' scheduler processes share: run the scheduler until SIGTERM
// or SIGINT (blocked by the caller before any thread started), or until the store holds no jobs.

#include <sked/job_store.hpp>
#include <sked/scheduler.hpp>

#include <csignal>
#include <ctime>
#include <exception>
#include <iostream>
#include <string_view>
#include <thread>

namespace sked::test {

/// Runs `scheduler` in this thread; shuts it down (waiting for the runs in flight, so every claimed
/// run is recorded as it ended) on one of `signals`, or with `exit_when_done` once `store` is
/// empty.
inline void run_worker(BlockingScheduler& scheduler, const JobStore& store, const sigset_t& signals,
                       bool exit_when_done, std::string_view name) {
  std::jthread watcher([&](std::stop_token stop) {
    const timespec tick{0, 50'000'000};
    bool started = false;
    while (!stop.stop_requested()) {
      const bool signalled = sigtimedwait(&signals, nullptr, &tick) > 0;
      // shutdown() before start() would be a no-op and leave start() blocking for ever.
      started = started || scheduler.state() != SchedulerState::stopped;
      if (!started) continue;
      if (signalled) break;
      try {
        if (exit_when_done && store.get_all_jobs().empty()) break;
      } catch (const std::exception& e) {
        std::cerr << name << ": " << e.what() << '\n';
      }
    }
    scheduler.shutdown(true);
  });
  scheduler.start();
  watcher.request_stop();
  watcher.join();
  scheduler.shutdown(true);
}

}  // namespace sked::test
