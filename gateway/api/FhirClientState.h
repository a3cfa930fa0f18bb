// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/AuditStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/Result.h"

namespace gw {

// The ids (`jti`) of the bearer tokens FHIR clients used, kept until the tokens expire, so a
// replayed token is refused (SMART Backend Services: a client assertion is used once). Durable,
// so a restart does not reopen a window for replay.
//
// Thread-safety: every method may be called concurrently. Errors: Unavailable (cannot record
// now: the caller refuses the request as transient), Internal. Never throws.
class TokenReplayLedger {
 public:
  TokenReplayLedger() = default;
  virtual ~TokenReplayLedger() = default;
  TokenReplayLedger(const TokenReplayLedger&) = delete;
  TokenReplayLedger& operator=(const TokenReplayLedger&) = delete;

  // Records that `client` used token id `jti`, valid until `expires_at`. True the first time;
  // false when the same (client, jti) was recorded before and has not expired. Records that
  // expired before `now` are dropped (a jti may be reused once its token is long gone).
  virtual Result<bool> firstUse(const std::string& client, const std::string& jti,
                                SystemTime expires_at, SystemTime now) = 0;
};

// What the gateway knows about one (client, subscription) of the Subscriptions R5 Backport IG
// notifications it receives. Metadata only, no PHI.
struct SubscriptionRecord {
  std::string client;
  std::string subscription;        // the subscription reference as the client sent it
  std::int64_t highest_event = 0;  // highest event number seen (eventsSinceSubscriptionStart)
  std::int64_t gaps = 0;           // gaps noticed (warnings)
  std::int64_t missed_events = 0;  // events in those gaps
  std::string last_gap;            // the latest gap warning ("" when none)
  std::string last_type;           // latest notification type ("heartbeat", "query-status", ...)
  std::string last_status;         // latest SubscriptionStatus.status sent ("" when none)
  SystemTime updated_at;
};

// Durable subscription state: the counters survive a restart, so gaps across it are noticed and
// the operator sees the warnings (`gateway subscriptions list`).
//
// Thread-safety: every method may be called concurrently. Errors: Unavailable, DataLoss,
// Internal. Never throws.
class SubscriptionLedger {
 public:
  SubscriptionLedger() = default;
  virtual ~SubscriptionLedger() = default;
  SubscriptionLedger(const SubscriptionLedger&) = delete;
  SubscriptionLedger& operator=(const SubscriptionLedger&) = delete;

  // Every known subscription, ordered by client and subscription.
  virtual Result<std::vector<SubscriptionRecord>> listSubscriptions() = 0;
  // Inserts or replaces the record of (record.client, record.subscription); with `gap_audit`,
  // appends that audit record in the same transaction.
  virtual Status saveSubscription(const SubscriptionRecord& record,
                                  const std::optional<AuditEntry>& gap_audit) = 0;
};

}  // namespace gw
