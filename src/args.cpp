#include <sked/args.hpp>

#include <nlohmann/json.hpp>

#include <utility>

namespace sked {

namespace {
const nlohmann::json& empty_object() {
  static const nlohmann::json empty = nlohmann::json::object();
  return empty;
}
}  // namespace

Args::Args(const nlohmann::json& value) : value_(std::make_shared<nlohmann::json>(value)) {}
Args::Args(nlohmann::json&& value) : value_(std::make_shared<nlohmann::json>(std::move(value))) {}
Args::Args(std::initializer_list<nlohmann::detail::json_ref<nlohmann::json>> init)
    : value_(std::make_shared<nlohmann::json>(init)) {}

const nlohmann::json& Args::value() const noexcept { return value_ ? *value_ : empty_object(); }

nlohmann::json& Args::edit() {
  // A value no other copy shares is changed in place; otherwise this copy gets its own first.
  if (!value_ || value_.use_count() > 1) value_ = std::make_shared<nlohmann::json>(value());
  return *value_;
}

bool operator==(const Args& a, const Args& b) noexcept {
  return a.value_ == b.value_ || a.value() == b.value();
}

}  // namespace sked
