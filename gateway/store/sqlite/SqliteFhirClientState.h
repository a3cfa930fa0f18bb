// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "gateway/api/FhirClientState.h"
#include "gateway/store/sqlite/SqliteStore.h"

namespace gw {

// The FHIR intake's durable client state on the SQLite store (migration 8): used token ids
// (table fhir_token_ids) and subscription counters and gap warnings (fhir_subscriptions).
// Writes go through the store's writer (group commit; a gap's audit record in the same
// transaction); reads use its read connection. Thread-safety and errors as the interfaces.
class SqliteFhirClientState final : public TokenReplayLedger, public SubscriptionLedger {
 public:
  explicit SqliteFhirClientState(std::shared_ptr<SqliteStore> store);

  // TokenReplayLedger
  Result<bool> firstUse(const std::string& client, const std::string& jti, SystemTime expires_at,
                        SystemTime now) override;

  // SubscriptionLedger
  Result<std::vector<SubscriptionRecord>> listSubscriptions() override;
  Status saveSubscription(const SubscriptionRecord& record,
                          const std::optional<AuditEntry>& gap_audit) override;

 private:
  std::shared_ptr<SqliteStore> store_;
};

}  // namespace gw
