// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/fhir/SubscriptionTracker.h"

#include <algorithm>

namespace gw::fhirin {

void SubscriptionTracker::handshake(const std::string& client, const std::string& subscription) {
  std::lock_guard<std::mutex> lock(mutex_);
  highest_[key(client, subscription)] = 0;
}

std::optional<EventGap> SubscriptionTracker::events(const std::string& client,
                                                    const std::string& subscription,
                                                    std::int64_t first, std::int64_t last) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto [it, inserted] = highest_.emplace(key(client, subscription), last);
  if (inserted) {
    return std::nullopt;  // baseline
  }
  std::optional<EventGap> gap;
  if (first > it->second + 1) {
    gap = EventGap{it->second + 1, first - 1};
    ++gaps_;
  }
  it->second = std::max(it->second, last);
  return gap;
}

std::optional<EventGap> SubscriptionTracker::heartbeat(const std::string& client,
                                                       const std::string& subscription,
                                                       std::int64_t events_since_start) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto [it, inserted] = highest_.emplace(key(client, subscription), events_since_start);
  if (inserted) {
    return std::nullopt;
  }
  std::optional<EventGap> gap;
  if (events_since_start > it->second) {
    gap = EventGap{it->second + 1, events_since_start};
    ++gaps_;
    it->second = events_since_start;
  }
  return gap;
}

std::uint64_t SubscriptionTracker::gaps() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return gaps_;
}

}  // namespace gw::fhirin
