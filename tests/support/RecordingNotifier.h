// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "gateway/api/Notifier.h"

namespace gw::test {

// A Notifier that keeps every notification (tests read links and codes from them). Can be told
// to fail the next call with a chosen status. Thread-safe.
class RecordingNotifier final : public Notifier {
 public:
  Status notify(const Notification& notification, Deadline /*deadline*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_next_.isOk()) {
      Status failure = fail_next_;
      fail_next_ = Status::ok();
      return failure;
    }
    sent_.push_back(notification);
    return Status::ok();
  }

  std::vector<Notification> sent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  Notification last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_.empty() ? Notification{} : sent_.back();
  }
  void failNext(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = std::move(status);
  }

 private:
  mutable std::mutex mu_;
  std::vector<Notification> sent_;
  Status fail_next_;
};

}  // namespace gw::test
