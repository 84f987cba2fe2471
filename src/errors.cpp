#include <sked/errors.hpp>

#include <fmt/format.h>

namespace sked {

TimeZoneNotFound::TimeZoneNotFound(std::string name)
    : Error(fmt::format("unknown time zone '{}' (expected an IANA name such as 'Europe/Berlin')",
                        name)),
      name_(std::move(name)) {}

TimeZoneNotFound::TimeZoneNotFound(std::string name, const std::string& message)
    : Error(message), name_(std::move(name)) {}

JobNotFound::JobNotFound(std::string job_id, std::string store)
    : Error(store.empty() ? fmt::format("no job with the id '{}' was found", job_id)
                          : fmt::format("no job with the id '{}' was found in job store '{}'",
                                        job_id, store)),
      job_id_(std::move(job_id)) {}

ConflictingIdError::ConflictingIdError(std::string job_id)
    : Error(fmt::format(
          "a job with the id '{}' already exists (pass replace_existing to replace it)", job_id)),
      job_id_(std::move(job_id)) {}

AliasNotFound::AliasNotFound(std::string kind, std::string alias)
    : Error(fmt::format("no {} with the alias '{}' was added to the scheduler", kind, alias)),
      alias_(std::move(alias)) {}

CronSyntaxError::CronSyntaxError(std::string field, std::string token, std::size_t position,
                                 std::string expression, std::string problem)
    : Error(fmt::format("{}: {} (at column {} of '{}')", field, problem, position + 1, expression)),
      field_(std::move(field)),
      token_(std::move(token)),
      position_(position),
      expression_(std::move(expression)) {}

StoreError::StoreError(std::string path, int code, const std::string& message)
    : Error(fmt::format("job store '{}': {}", path, message)),
      path_(std::move(path)),
      code_(code) {}

}  // namespace sked
