// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

#include "gateway/api/Status.h"

namespace gw {

// Holds either a T or a non-OK Status. Accessing value() of an error aborts (a bug).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(data_).isOk()) {
      data_ = Status::internal("Result constructed from an OK Status without a value");
    }
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  // OK when a value is held.
  Status status() const { return ok() ? Status::ok() : std::get<Status>(data_); }

  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  T valueOr(U&& fallback) const& {
    return ok() ? std::get<T>(data_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  T& checked() {
    if (!ok()) {
      std::abort();
    }
    return std::get<T>(data_);
  }
  std::variant<T, Status> data_;
};

namespace internal_status {
template <typename T>
Status toStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal_status

}  // namespace gw

// Declares `lhs` from the value of a Result expression, or returns its Status.
#define GW_ASSIGN_OR_RETURN(lhs, expr) \
  GW_ASSIGN_OR_RETURN_IMPL_(GW_STATUS_CONCAT_(gw_result_, __LINE__), lhs, expr)
#define GW_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) {                                \
    return tmp.status();                          \
  }                                               \
  lhs = std::move(tmp).value()
