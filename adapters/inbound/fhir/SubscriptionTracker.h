// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "adapters/inbound/fhir/FhirEvent.h"
#include "gateway/api/AuditStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/FhirClientState.h"

namespace gw::fhirin {

// Missed events of a subscription: the numbers first..last never arrived.
struct EventGap {
  std::int64_t first_missing = 0;
  std::int64_t last_missing = 0;
  std::int64_t count() const { return last_missing - first_missing + 1; }
};

// One Subscriptions R5 Backport IG (R4) notification as the tracker sees it.
struct SubscriptionNotification {
  std::string client;
  std::string subscription;
  NotificationType type = NotificationType::Heartbeat;
  std::string status;                              // SubscriptionStatus.status, "" when absent
  std::optional<std::int64_t> events_since_start;  // events-since-subscription-start
  std::optional<std::int64_t> first_event;         // lowest notification-event.event-number
  std::optional<std::int64_t> last_event;          // highest
  std::string peer;                                // for the gap's audit record
};

// The highest event number seen per (client, subscription), from eventsSinceSubscriptionStart
// and notification-event.event-number, and the gaps (missed events) that reveals:
//   - handshake: the subscription starts (again) at event 0;
//   - heartbeat and query-status: a count higher than what arrived is a gap (reported once:
//     the missed numbers count as seen afterwards);
//   - event-notification: a first event number that skips numbers is a gap;
//   - query-event (events the client fetched with $events, e.g. to fill a gap): never a gap,
//     the numbers count as seen.
// The first notification of a subscription never known before sets the baseline. Each change is
// saved in the SubscriptionLedger (with the gap's audit record in the same transaction), so the
// counters and warnings survive a restart and gaps across it are noticed; without a ledger the
// state is in memory and gap records go to `audit`. A gap is also a warning log line.
// Thread-safe (one notification at a time, so saves are in order).
class SubscriptionTracker {
 public:
  // `ledger` and `audit` may be null; both must outlive the tracker.
  SubscriptionTracker(SubscriptionLedger* ledger, AuditStore* audit, ClockPtr clock);

  // Reads the saved subscriptions (at start). The ledger's errors.
  Status load();

  struct Observed {
    std::optional<EventGap> gap;
    Status saved;  // the ledger's (or audit's) error; the in-memory state is updated anyway
  };
  Observed observe(const SubscriptionNotification& notification);

  // Gaps reported since start.
  std::uint64_t gaps() const;

 private:
  static std::string key(const std::string& client, const std::string& subscription) {
    return client + '\x1f' + subscription;
  }
  SubscriptionLedger* const ledger_;
  AuditStore* const audit_;
  const ClockPtr clock_;
  mutable std::mutex mutex_;
  std::map<std::string, SubscriptionRecord> records_;
  std::uint64_t gaps_ = 0;
};

}  // namespace gw::fhirin
