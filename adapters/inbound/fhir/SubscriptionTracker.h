// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace gw::fhirin {

// Missed events of a subscription: the numbers first..last never arrived.
struct EventGap {
  std::int64_t first_missing = 0;
  std::int64_t last_missing = 0;
  std::int64_t count() const { return last_missing - first_missing + 1; }
};

// The highest event number seen per (client, subscription), from eventsSinceSubscriptionStart
// and notification-event.event-number (Subscriptions R5 Backport IG, R4). Reports a gap when a
// notification skips numbers, or a heartbeat says more events happened than arrived.
//
// In memory: after a restart the first notification of each subscription sets the baseline
// (no gap can be known until then). A handshake resets the subscription to 0. Thread-safe.
class SubscriptionTracker {
 public:
  // A handshake: the subscription starts (again) at event 0.
  void handshake(const std::string& client, const std::string& subscription);
  // Events first..last arrived (a committed event-notification, resends included). Returns the
  // gap before `first`, if any.
  std::optional<EventGap> events(const std::string& client, const std::string& subscription,
                                 std::int64_t first, std::int64_t last);
  // A heartbeat saying `events_since_start` events happened. Returns the events that did not
  // arrive, if any (reported once: they count as seen afterwards).
  std::optional<EventGap> heartbeat(const std::string& client, const std::string& subscription,
                                    std::int64_t events_since_start);

  // Gaps reported since start.
  std::uint64_t gaps() const;

 private:
  static std::string key(const std::string& client, const std::string& subscription) {
    return client + '\x1f' + subscription;
  }
  mutable std::mutex mutex_;
  std::map<std::string, std::int64_t> highest_;
  std::uint64_t gaps_ = 0;
};

}  // namespace gw::fhirin
