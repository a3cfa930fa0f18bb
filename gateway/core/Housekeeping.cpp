// SPDX-License-Identifier: Apache-2.0
#include "gateway/core/Housekeeping.h"

#include <utility>

namespace gw {

Housekeeping::Housekeeping(MessageStorePtr store, ClockPtr clock, RetentionSettings settings)
    : store_(std::move(store)), clock_(std::move(clock)), settings_(settings) {}

Housekeeping::~Housekeeping() {
  stop();
}

void Housekeeping::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this] {
    for (;;) {
      (void)runOnce();  // errors: retried at the next interval, nothing is lost
      std::unique_lock<std::mutex> wait_lock(mu_);
      if (cv_.wait_for(wait_lock, settings_.interval, [this] { return stopping_; })) {
        return;
      }
    }
  });
}

void Housekeeping::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

Status Housekeeping::runOnce() {
  const SystemTime now = clock_->now();
  GW_ASSIGN_OR_RETURN(std::int64_t released, store_->releaseExpiredLeases(now));
  std::uint64_t expired = 0;
  for (;;) {
    GW_ASSIGN_OR_RETURN(std::vector<std::int64_t> ids, store_->expireDue(now, settings_.batch));
    expired += ids.size();
    if (ids.size() < settings_.batch) {
      break;
    }
  }
  std::uint64_t purged = 0;
  if (settings_.payload_retention.count() > 0) {
    for (;;) {
      GW_ASSIGN_OR_RETURN(std::int64_t n, store_->purgeEventPayloads(
                                              now - settings_.payload_retention, settings_.batch));
      purged += static_cast<std::uint64_t>(n);
      if (static_cast<std::size_t>(n) < settings_.batch) {
        break;
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.leases_released += static_cast<std::uint64_t>(released);
  stats_.messages_expired += expired;
  stats_.payloads_purged += purged;
  return Status::ok();
}

HousekeepingStats Housekeeping::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace gw
