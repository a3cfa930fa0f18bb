// SPDX-License-Identifier: Apache-2.0
#include "gateway/mapping/PolicyState.h"

#include <algorithm>

namespace gw::mapping {

bool isUnsent(MessageState state) {
  return state == MessageState::Pending || state == MessageState::Held ||
         state == MessageState::Failed || state == MessageState::Sending;
}

std::int64_t InMemoryPolicyState::add(const NewPatientMessage& message) {
  PriorMessage prior;
  prior.mapping = message.mapping;
  prior.clinical_key = message.clinical_key;
  prior.visit_key = message.visit_key;
  prior.purpose = message.purpose;
  prior.state = message.state;
  std::lock_guard<std::mutex> lock(mutex_);
  prior.id = static_cast<std::int64_t>(messages_.size()) + 1;
  messages_.push_back(prior);
  idempotency_keys_.push_back(message.idempotency_key);
  return prior.id;
}

void InMemoryPolicyState::add(PriorMessage message, std::string idempotency_key) {
  std::lock_guard<std::mutex> lock(mutex_);
  message.id = static_cast<std::int64_t>(messages_.size()) + 1;
  messages_.push_back(std::move(message));
  idempotency_keys_.push_back(std::move(idempotency_key));
}

void InMemoryPolicyState::setState(std::int64_t id, MessageState state) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (id >= 1 && static_cast<std::size_t>(id) <= messages_.size()) {
    messages_[static_cast<std::size_t>(id) - 1].state = state;
  }
}

void InMemoryPolicyState::setConsent(const std::string& patient_key, ChannelKind channel,
                                     const std::string& purpose, Consent consent) {
  std::lock_guard<std::mutex> lock(mutex_);
  consent_[{patient_key, channel, purpose}] = consent;
}

void InMemoryPolicyState::setPreferences(const std::string& patient_key,
                                         PatientPreferences preferences) {
  std::lock_guard<std::mutex> lock(mutex_);
  preferences_[patient_key] = std::move(preferences);
}

Result<bool> InMemoryPolicyState::idempotencyKeyExists(const std::string& idempotency_key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::find(idempotency_keys_.begin(), idempotency_keys_.end(), idempotency_key) !=
         idempotency_keys_.end();
}

Result<std::vector<PriorMessage>> InMemoryPolicyState::byClinicalKey(
    const std::string& clinical_key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<PriorMessage> out;
  for (const PriorMessage& m : messages_) {
    if (m.clinical_key == clinical_key) {
      out.push_back(m);
    }
  }
  return out;
}

Result<std::vector<PriorMessage>> InMemoryPolicyState::byVisitKey(
    const std::string& visit_key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<PriorMessage> out;
  for (const PriorMessage& m : messages_) {
    if (!visit_key.empty() && m.visit_key == visit_key) {
      out.push_back(m);
    }
  }
  return out;
}

Result<Consent> InMemoryPolicyState::consent(const std::string& patient_key, ChannelKind channel,
                                             const std::string& purpose) const {
  std::lock_guard<std::mutex> lock(mutex_);
  // The specific purpose wins over the "*" (every purpose) entry.
  if (auto it = consent_.find({patient_key, channel, purpose}); it != consent_.end()) {
    return it->second;
  }
  if (auto it = consent_.find({patient_key, channel, "*"}); it != consent_.end()) {
    return it->second;
  }
  return Consent::Unknown;
}

Result<PatientPreferences> InMemoryPolicyState::preferences(const std::string& patient_key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = preferences_.find(patient_key);
  return it == preferences_.end() ? PatientPreferences{} : it->second;
}

}  // namespace gw::mapping
