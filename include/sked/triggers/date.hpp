#pragma once
// Fires once.

#include <sked/export.hpp>
#include <sked/trigger.hpp>

namespace sked {

/// Fires once, at `run_date`, and never again.
///
/// **Example**: `sked::DateTrigger{sked::parse_time("2026-12-24T18:00:00+01:00")}`
class SKED_API DateTrigger final : public Trigger {
 public:
  explicit DateTrigger(TimePoint run_date) noexcept : run_date_(run_date) {}

  [[nodiscard]] std::optional<TimePoint> next_fire_time(std::optional<TimePoint> previous,
                                                        TimePoint now) const override;
  [[nodiscard]] std::string describe() const override;
  [[nodiscard]] nlohmann::json to_json() const override;
  [[nodiscard]] static DateTrigger from_json(const nlohmann::json& j);

  [[nodiscard]] TimePoint run_date() const noexcept { return run_date_; }
  friend bool operator==(const DateTrigger& a, const DateTrigger& b) noexcept {
    return a.run_date_ == b.run_date_;
  }

 private:
  TimePoint run_date_;
};

}  // namespace sked
