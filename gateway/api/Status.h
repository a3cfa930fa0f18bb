// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gw {

// Error categories shared by every component. Only Unavailable and DeadlineExceeded are
// retryable; callers decide from the code, never from the message text.
enum class StatusCode {
  Ok,
  InvalidArgument,
  ParseError,
  NotFound,
  AlreadyExists,
  PermissionDenied,
  FailedPrecondition,  // the system is not in a state where the operation is safe (not retryable as
                       // is)
  Unavailable,
  DeadlineExceeded,
  DataLoss,
  Internal,
};

// Stable lower-case name of a code ("parse_error"), for logs and audit records.
std::string_view statusCodeName(StatusCode code);

// Where in a config or mapping file an error was found (1-based line and column).
struct SourcePosition {
  std::string file;
  int line = 0;
  int column = 0;
};

// A code, a message (never PHI) and an optional position. Cheap to copy when OK.
class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  static Status invalidArgument(std::string m) {
    return {StatusCode::InvalidArgument, std::move(m)};
  }
  static Status parseError(std::string m) { return {StatusCode::ParseError, std::move(m)}; }
  static Status notFound(std::string m) { return {StatusCode::NotFound, std::move(m)}; }
  static Status alreadyExists(std::string m) { return {StatusCode::AlreadyExists, std::move(m)}; }
  static Status permissionDenied(std::string m) {
    return {StatusCode::PermissionDenied, std::move(m)};
  }
  static Status failedPrecondition(std::string m) {
    return {StatusCode::FailedPrecondition, std::move(m)};
  }
  static Status unavailable(std::string m) { return {StatusCode::Unavailable, std::move(m)}; }
  static Status deadlineExceeded(std::string m) {
    return {StatusCode::DeadlineExceeded, std::move(m)};
  }
  static Status dataLoss(std::string m) { return {StatusCode::DataLoss, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::Internal, std::move(m)}; }

  bool isOk() const { return code_ == StatusCode::Ok; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::optional<SourcePosition>& position() const { return position_; }

  // True for Unavailable and DeadlineExceeded.
  bool isRetryable() const {
    return code_ == StatusCode::Unavailable || code_ == StatusCode::DeadlineExceeded;
  }

  // Returns a copy carrying the position.
  Status withPosition(SourcePosition position) const;
  // Returns a copy whose message is "context: message".
  Status withContext(std::string_view context) const;

  // "file:line:col: error: message" when positioned, else "parse_error: message".
  std::string toString() const;

 private:
  StatusCode code_ = StatusCode::Ok;
  std::string message_;
  std::optional<SourcePosition> position_;
};

}  // namespace gw

#define GW_STATUS_CONCAT_INNER_(a, b) a##b
#define GW_STATUS_CONCAT_(a, b) GW_STATUS_CONCAT_INNER_(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define GW_RETURN_IF_ERROR(expr)                                     \
  do {                                                               \
    ::gw::Status gw_status_ = ::gw::internal_status::toStatus(expr); \
    if (!gw_status_.isOk()) {                                        \
      return gw_status_;                                             \
    }                                                                \
  } while (false)

namespace gw::internal_status {
inline const Status& toStatus(const Status& s) {
  return s;
}
}  // namespace gw::internal_status
