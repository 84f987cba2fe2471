#pragma once
// The one exception hierarchy. Every message names the thing that failed and where.

#include <sked/export.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace sked {

/// Root of everything sked throws.
class SKED_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An argument that can never be valid (a zero interval, an end before a start, a bad id).
class SKED_API InvalidArgument : public Error {
 public:
  using Error::Error;
};

class SKED_API TimeZoneNotFound : public Error {
 public:
  explicit TimeZoneNotFound(std::string name);
  /// With a message of its own, for a zone that came from somewhere else than a caller (TZ).
  TimeZoneNotFound(std::string name, const std::string& message);
  [[nodiscard]] const std::string& zone_name() const noexcept { return name_; }

 private:
  std::string name_;
};

class SKED_API JobNotFound : public Error {
 public:
  explicit JobNotFound(std::string job_id, std::string store = {});
  [[nodiscard]] const std::string& job_id() const noexcept { return job_id_; }

 private:
  std::string job_id_;
};

/// A job with this id already exists and the caller did not ask to replace it.
class SKED_API ConflictingIdError : public Error {
 public:
  explicit ConflictingIdError(std::string job_id);
  [[nodiscard]] const std::string& job_id() const noexcept { return job_id_; }

 private:
  std::string job_id_;
};

/// No job store or executor is registered under an alias.
class SKED_API AliasNotFound : public Error {
 public:
  AliasNotFound(std::string kind, std::string alias);
  [[nodiscard]] const std::string& alias() const noexcept { return alias_; }

 private:
  std::string alias_;
};

/// The scheduler was asked to do something its state does not allow (start twice, ...).
class SKED_API SchedulerStateError : public Error {
 public:
  using Error::Error;
};

/// JSON that does not describe a trigger or job this version understands.
class SKED_API SerializationError : public Error {
 public:
  using Error::Error;
};

/// A cron expression that cannot be parsed. `what()` reads
/// `minute: '61' is out of range 0-59 (at column 1 of '61 * * * *')`.
class SKED_API CronSyntaxError : public Error {
 public:
  /// `position` is 0-based into `expression`; the message shows it 1-based as a column.
  CronSyntaxError(std::string field, std::string token, std::size_t position,
                  std::string expression, std::string problem);
  [[nodiscard]] const std::string& field() const noexcept { return field_; }
  [[nodiscard]] const std::string& token() const noexcept { return token_; }
  [[nodiscard]] std::size_t position() const noexcept { return position_; }
  [[nodiscard]] const std::string& expression() const noexcept { return expression_; }

 private:
  std::string field_;
  std::string token_;
  std::size_t position_;
  std::string expression_;
};

/// A job store failed: the database path and, for SQLite, its result code.
class SKED_API StoreError : public Error {
 public:
  StoreError(std::string path, int code, const std::string& message);
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  std::string path_;
  int code_;
};

}  // namespace sked
