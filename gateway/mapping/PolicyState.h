// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "gateway/api/PatientMessage.h"
#include "gateway/api/Result.h"

namespace gw::mapping {

// An earlier patient message as the policies see it (metadata only, no PHI).
struct PriorMessage {
  std::int64_t id = 0;
  std::string mapping;
  std::string clinical_key;
  std::string visit_key;
  std::string purpose;
  MessageState state = MessageState::Pending;
};

// True for states in which a message has not reached its channel yet (pending, held, failed
// and waiting for a retry, claimed but not yet sent): those can still be retracted/superseded.
bool isUnsent(MessageState state);

// A consent ledger answer for (patient, channel, purpose).
enum class Consent { Unknown, OptedIn, OptedOut };

// What the patient told us (inbox settings); every field optional.
struct PatientPreferences {
  std::string time_zone;  // IANA name overriding the facility's, e.g. "America/Chicago"
  std::string language;   // BCP 47 tag overriding PID-15 / Patient.communication
  // "Delay my results": results are not released before this long after they are final.
  std::optional<std::chrono::hours> result_delay;
};

// The state the mapping engine reads to apply its policies. The gateway implements it over the
// store, inside the mapper's transaction; tests and `gateway mapping test` use
// InMemoryPolicyState. Lookups use keys only (HMACs and digests), never clear identifiers.
// Thread-safety: implementations must allow concurrent calls. Errors: Unavailable when the
// store cannot answer (the mapper retries the event later); the engine passes them on.
class PolicyState {
 public:
  PolicyState() = default;
  virtual ~PolicyState() = default;
  PolicyState(const PolicyState&) = delete;
  PolicyState& operator=(const PolicyState&) = delete;

  // True when a message with this idempotency key was ever created (in any state).
  virtual Result<bool> idempotencyKeyExists(const std::string& idempotency_key) const = 0;
  // Earlier messages with this clinical key (corrections, updates, appointment cancels).
  virtual Result<std::vector<PriorMessage>> byClinicalKey(
      const std::string& clinical_key) const = 0;
  // Earlier messages of this visit (A13/A11 retraction).
  virtual Result<std::vector<PriorMessage>> byVisitKey(const std::string& visit_key) const = 0;
  // The latest ledger entry for (patient, channel, purpose); entries for purpose "*" apply to
  // every purpose.
  virtual Result<Consent> consent(const std::string& patient_key, ChannelKind channel,
                                  const std::string& purpose) const = 0;
  virtual Result<PatientPreferences> preferences(const std::string& patient_key) const = 0;
};

// In-memory PolicyState for tests and dry runs; thread-safe (one mutex).
class InMemoryPolicyState final : public PolicyState {
 public:
  // Records a message as if the store had committed it; returns its id (1, 2, ...).
  std::int64_t add(const NewPatientMessage& message);
  void add(PriorMessage message, std::string idempotency_key);
  void setState(std::int64_t id, MessageState state);
  void setConsent(const std::string& patient_key, ChannelKind channel, const std::string& purpose,
                  Consent consent);
  void setPreferences(const std::string& patient_key, PatientPreferences preferences);

  // PolicyState
  Result<bool> idempotencyKeyExists(const std::string& idempotency_key) const override;
  Result<std::vector<PriorMessage>> byClinicalKey(const std::string& clinical_key) const override;
  Result<std::vector<PriorMessage>> byVisitKey(const std::string& visit_key) const override;
  Result<Consent> consent(const std::string& patient_key, ChannelKind channel,
                          const std::string& purpose) const override;
  Result<PatientPreferences> preferences(const std::string& patient_key) const override;

 private:
  mutable std::mutex mutex_;
  std::vector<PriorMessage> messages_;
  std::vector<std::string> idempotency_keys_;
  std::map<std::tuple<std::string, ChannelKind, std::string>, Consent> consent_;
  std::map<std::string, PatientPreferences> preferences_;
};

}  // namespace gw::mapping
