// SPDX-License-Identifier: Apache-2.0
#include "gateway/api/Status.h"

namespace gw {

std::string_view statusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::Ok: return "ok";
    case StatusCode::InvalidArgument: return "invalid_argument";
    case StatusCode::ParseError: return "parse_error";
    case StatusCode::NotFound: return "not_found";
    case StatusCode::AlreadyExists: return "already_exists";
    case StatusCode::PermissionDenied: return "permission_denied";
    case StatusCode::FailedPrecondition: return "failed_precondition";
    case StatusCode::Unavailable: return "unavailable";
    case StatusCode::DeadlineExceeded: return "deadline_exceeded";
    case StatusCode::DataLoss: return "data_loss";
    case StatusCode::Internal: return "internal";
  }
  return "unknown";
}

Status Status::withPosition(SourcePosition position) const {
  Status copy = *this;
  copy.position_ = std::move(position);
  return copy;
}

Status Status::withContext(std::string_view context) const {
  if (isOk()) {
    return *this;
  }
  Status copy = *this;
  copy.message_ = std::string(context) + ": " + message_;
  return copy;
}

std::string Status::toString() const {
  if (isOk()) {
    return "ok";
  }
  if (position_) {
    return position_->file + ":" + std::to_string(position_->line) + ":" +
           std::to_string(position_->column) + ": error: " + message_;
  }
  return std::string(statusCodeName(code_)) + ": " + message_;
}

}  // namespace gw
