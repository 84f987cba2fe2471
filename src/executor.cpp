#include "detail/runs_here.hpp"

#include <sked/executor.hpp>

#include <cxxabi.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <typeinfo>

namespace sked {
namespace {

std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name{
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free};
  return status == 0 && name ? std::string{name.get()} : std::string{type.name()};
}

thread_local int inside_runs = 0;

}  // namespace

namespace detail {

int runs_here() noexcept { return inside_runs; }
InsideRun::InsideRun() noexcept { ++inside_runs; }
InsideRun::~InsideRun() { --inside_runs; }
InsideRuns::InsideRuns(int n) noexcept : left_(n) { inside_runs += n; }
InsideRuns::~InsideRuns() { inside_runs -= left_; }
void InsideRuns::leave() noexcept {
  if (left_ > 0) {
    --left_;
    --inside_runs;
  }
}

}  // namespace detail

void Executor::submit_batch(std::span<RunLease> runs) {
  for (RunLease& run : runs) submit(std::move(run));
}

namespace {

// Listeners running on this thread: one that sets the next cannot wait for itself to return.
thread_local int in_listener = 0;

}  // namespace

void Executor::notify_when_available(std::function<void()> listener) {
  std::unique_lock lock(listener_mutex_);
  listener_ = std::move(listener);
  // Sequentially consistent, as is the freeing worker's count: a caller that looks at `available`
  // after this either sees the worker freed or is called by it.
  armed_.store(static_cast<bool>(listener_));
  // A listener replaced or cancelled (a scheduler going away cancels its own) is not running once
  // this returns.
  if (in_listener == 0) listener_done_.wait(lock, [this] { return listener_calls_ == 0; });
}

void Executor::worker_freed() noexcept {
  if (!armed_.load()) return;
  std::function<void()> listener;
  {
    std::lock_guard lock(listener_mutex_);
    if (!armed_.exchange(false)) return;
    listener = std::move(listener_);
    listener_ = nullptr;
    ++listener_calls_;
  }
  // Outside the lock: the scheduler's listener claims the next runs on this thread and sets the
  // next listener, and another worker freeing meanwhile must not wait for that.
  ++in_listener;
  try {
    listener();
  } catch (...) {
    // A listener that throws must not take down the worker that freed.
  }
  --in_listener;
  std::lock_guard lock(listener_mutex_);
  if (--listener_calls_ == 0) listener_done_.notify_all();
}

std::string timed_out_message(Duration timeout) {
  using namespace std::chrono;
  if (timeout % seconds{1} == Duration::zero())
    return fmt::format("timed out after {}s", duration_cast<seconds>(timeout).count());
  return fmt::format("timed out after {:.3f}s", duration<double>(timeout).count());
}

namespace detail {

Outcome run_task(const TaskFn& task, const Job& job, TimePoint scheduled_run_time,
                 std::stop_token stop, std::function<void(int)> on_process_group) {
  Outcome outcome;
  const detail::InsideRun inside;
  const auto started = std::chrono::steady_clock::now();
  try {
    const JobContext context{job, scheduled_run_time, std::move(stop), std::move(on_process_group)};
    try {
      task(context);
    } catch (...) {
      outcome.traceback = context.output();
      throw;
    }
    outcome.traceback = context.output();
    outcome.status = ExecutionStatus::executed;
  } catch (const std::exception& e) {
    outcome.status = ExecutionStatus::error;
    outcome.exception = fmt::format("{}: {}", type_name(typeid(e)), e.what());
  } catch (...) {
    outcome.status = ExecutionStatus::error;
    const auto* type = abi::__cxa_current_exception_type();
    outcome.exception = type ? fmt::format("{} (not derived from std::exception)", type_name(*type))
                             : std::string{"unknown exception"};
  }
  outcome.duration =
      std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
  return outcome;
}

}  // namespace detail

Outcome run_task(const RunLease& run, std::stop_token stop) {
  return detail::run_task(*run.task(), run.job(), run.execution().run_time, std::move(stop),
                          [&run](int pgid) { run.record_process_group(pgid); });
}

Outcome run_task(const TaskFn& task, const Job& job, TimePoint scheduled_run_time,
                 std::stop_token stop) {
  return detail::run_task(task, job, scheduled_run_time, std::move(stop), {});
}

}  // namespace sked
