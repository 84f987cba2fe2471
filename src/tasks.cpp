#include <sked/errors.hpp>
#include <sked/tasks.hpp>

#include <algorithm>
#include <mutex>

namespace sked {

void TaskRegistry::add(std::string name, TaskFn fn) {
  if (name.empty()) throw InvalidArgument("task registry: a task name must not be empty");
  if (!fn) throw InvalidArgument("task registry: task '" + name + "' has no callable");
  auto shared = std::make_shared<const TaskFn>(std::move(fn));
  std::unique_lock lock(mutex_);
  tasks_.insert_or_assign(std::move(name), std::move(shared));
}

bool TaskRegistry::remove(std::string_view name) {
  std::unique_lock lock(mutex_);
  const auto it = tasks_.find(name);
  if (it == tasks_.end()) return false;
  tasks_.erase(it);
  return true;
}

std::shared_ptr<const TaskFn> TaskRegistry::find(std::string_view name) const {
  std::shared_lock lock(mutex_);
  const auto it = tasks_.find(name);
  return it == tasks_.end() ? nullptr : it->second;
}

bool TaskRegistry::contains(std::string_view name) const {
  // Without copying the task's pointer: adding a job asks this, and the copy was two atomic writes.
  std::shared_lock lock(mutex_);
  return tasks_.find(name) != tasks_.end();
}

std::vector<std::string> TaskRegistry::names() const {
  std::vector<std::string> out;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [name, fn] : tasks_) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sked
