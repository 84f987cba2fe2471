#pragma once
// A job's arguments: one JSON value, declared without the whole of nlohmann/json, which would
// double the compile time of every file that includes <sked/sked.hpp>. Building or reading args
// needs <nlohmann/json.hpp>.

#include <sked/export.hpp>

#include <nlohmann/json_fwd.hpp>

#include <initializer_list>
#include <memory>

NLOHMANN_JSON_NAMESPACE_BEGIN
namespace detail {
// What `nlohmann::json{...}` takes, so that `.args = {{"to", "ops"}}` means what it means there.
template <typename BasicJsonType>
class json_ref;
}  // namespace detail
NLOHMANN_JSON_NAMESPACE_END

namespace sked {

/// A job's arguments: a JSON value, `{}` unless given. Built like an `nlohmann::json`
/// (`.args = {{"to", "ops"}}`, or from a json value) and read through it (`*job.args`,
/// `job.args->at("to")`). Copies share one immutable value, so copying a job does not copy its
/// arguments; `edit()` gives a copy of its own to change.
class SKED_API Args {
 public:
  /// `{}`.
  Args() noexcept = default;
  Args(const nlohmann::json& value);  // NOLINT(google-explicit-constructor): args are a JSON value
  Args(nlohmann::json&& value);       // NOLINT(google-explicit-constructor)
  /// As `nlohmann::json{...}`: `{{"to", "ops"}, {"retries", 3}}` is an object.
  Args(std::initializer_list<nlohmann::detail::json_ref<nlohmann::json>> init);

  [[nodiscard]] const nlohmann::json& value() const noexcept;
  [[nodiscard]] const nlohmann::json& operator*() const noexcept { return value(); }
  [[nodiscard]] const nlohmann::json* operator->() const noexcept { return &value(); }
  /// The value to change in place; shared with no other copy from then on.
  [[nodiscard]] nlohmann::json& edit();

  friend SKED_API bool operator==(const Args& a, const Args& b) noexcept;

 private:
  std::shared_ptr<nlohmann::json> value_;  // null: {}; changed only through edit(), when not shared
};

}  // namespace sked
