#pragma once
// CPU time of the whole process (every thread), which a busy shared machine disturbs far less than
// elapsed time: the figure to compare changes by.

#include <sys/resource.h>

namespace sked::bench {

inline double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace sked::bench
