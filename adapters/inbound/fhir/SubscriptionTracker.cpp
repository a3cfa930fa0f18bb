// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/fhir/SubscriptionTracker.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <utility>

namespace gw::fhirin {

SubscriptionTracker::SubscriptionTracker(SubscriptionLedger* ledger, AuditStore* audit,
                                         ClockPtr clock)
    : ledger_(ledger), audit_(audit), clock_(std::move(clock)) {}

Status SubscriptionTracker::load() {
  if (ledger_ == nullptr) {
    return Status::ok();
  }
  GW_ASSIGN_OR_RETURN(std::vector<SubscriptionRecord> saved, ledger_->listSubscriptions());
  std::lock_guard<std::mutex> lock(mutex_);
  for (SubscriptionRecord& r : saved) {
    std::string k = key(r.client, r.subscription);
    records_[std::move(k)] = std::move(r);
  }
  return Status::ok();
}

SubscriptionTracker::Observed SubscriptionTracker::observe(const SubscriptionNotification& n) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto [it, inserted] = records_.try_emplace(key(n.client, n.subscription));
  SubscriptionRecord& r = it->second;
  if (inserted) {
    r.client = n.client;
    r.subscription = n.subscription;
  }
  Observed out;
  // The count this notification vouches for: after it, events 1..count have happened.
  std::optional<std::int64_t> count;
  switch (n.type) {
    case NotificationType::Handshake:
      r.highest_event = 0;
      break;
    case NotificationType::Heartbeat:
    case NotificationType::QueryStatus:
      count = n.events_since_start;
      if (count && !inserted && *count > r.highest_event) {
        out.gap = EventGap{r.highest_event + 1, *count};
      }
      break;
    case NotificationType::EventNotification:
      count = n.last_event;
      if (n.first_event && !inserted && *n.first_event > r.highest_event + 1) {
        out.gap = EventGap{r.highest_event + 1, *n.first_event - 1};
      }
      break;
    case NotificationType::QueryEvent:
      count = n.last_event;
      break;
    case NotificationType::None:
      break;
  }
  if (count) {
    r.highest_event = inserted ? *count : std::max(r.highest_event, *count);
  }
  r.last_type = std::string(notificationTypeName(n.type));
  if (!n.status.empty()) {
    r.last_status = n.status;
  }
  r.updated_at = clock_->now();

  std::optional<AuditEntry> audit;
  if (out.gap) {
    ++gaps_;
    const EventGap& gap = *out.gap;
    const std::string range = std::to_string(gap.first_missing) +
                              (gap.count() > 1 ? ".." + std::to_string(gap.last_missing) : "");
    const std::string reason = "subscription notifications missed: event " + range + " (" +
                               std::to_string(gap.count()) + " event" +
                               (gap.count() == 1 ? "" : "s") + ", noticed on " + r.last_type +
                               ")";
    ++r.gaps;
    r.missed_events += gap.count();
    r.last_gap = reason;
    poco_warning(Poco::Logger::get("gw.inbound.fhir"),
                 "[client=" + n.client + "] [subscription=" + n.subscription + "] " + reason);
    audit = AuditEntry{r.updated_at,   "fhir_client:" + n.client, "subscription_gap",
                       "subscription:" + n.subscription, "warning", n.peer, reason};
  }
  if (ledger_ != nullptr) {
    out.saved = ledger_->saveSubscription(r, audit);
  } else if (audit && audit_ != nullptr) {
    const Result<std::int64_t> seq = audit_->appendAudit(*audit);
    out.saved = seq.status();
  }
  if (!out.saved.isOk()) {
    poco_error(Poco::Logger::get("gw.inbound.fhir"),
               "[client=" + n.client + "] [subscription=" + n.subscription +
                   "] cannot save the subscription state: " + out.saved.toString());
  }
  return out;
}

std::uint64_t SubscriptionTracker::gaps() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return gaps_;
}

}  // namespace gw::fhirin
