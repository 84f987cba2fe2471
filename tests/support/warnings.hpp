#pragma once
// Collects what a store reports through its on_warning callback, for a test to look at.

#include <algorithm>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sked::test {

struct Warnings {
  std::mutex mutex;
  std::vector<std::string> lines;
  /// The callback to pass as a store's on_warning (thread-safe).
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view m) {
      std::lock_guard lock(mutex);
      lines.emplace_back(m);
    };
  }
  std::size_t count_containing(std::string_view text) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(
        std::count_if(lines.begin(), lines.end(),
                      [&](const std::string& l) { return l.find(text) != std::string::npos; }));
  }
};

}  // namespace sked::test
