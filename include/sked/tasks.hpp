#pragma once
// Tasks by name: a C++ callable cannot be stored, so persisted jobs name a task registered here.

#include <sked/export.hpp>
#include <sked/job.hpp>

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sked {

/// Name -> callable. This class is thread-safe; tasks may be added while the scheduler runs, and a
/// job naming a task that appears later runs from then on.
///
/// **Example**: `scheduler.tasks().add("print_task", [](const sked::JobContext& ctx) { ... });`
class SKED_API TaskRegistry {
 public:
  /// Adds or replaces a task. Throws `InvalidArgument` for an empty name or callable.
  void add(std::string name, TaskFn fn);
  /// Returns whether a task was removed.
  bool remove(std::string_view name);
  [[nodiscard]] std::shared_ptr<const TaskFn> find(std::string_view name) const;
  [[nodiscard]] bool contains(std::string_view name) const;
  [[nodiscard]] std::vector<std::string> names() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const TaskFn>, Hash, std::equal_to<>> tasks_;
};

}  // namespace sked
