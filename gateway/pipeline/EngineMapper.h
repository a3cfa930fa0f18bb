// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "gateway/api/Clock.h"
#include "gateway/api/MessageStore.h"
#include "gateway/api/PatientStore.h"
#include "gateway/core/MapperService.h"
#include "gateway/mapping/MappingEngine.h"
#include "gateway/mapping/MappingSet.h"
#include "gateway/mapping/PolicyState.h"

namespace gw {

// The mapping engine's PolicyState over the MessageStore: earlier messages by idempotency,
// clinical and visit key, and the consent ledger; patient preferences (time zone, "delay my
// results") from the PatientStore. Without a PatientStore every patient gets the facility
// defaults.
class StorePolicyState final : public mapping::PolicyState {
 public:
  explicit StorePolicyState(MessageStorePtr store, PatientStorePtr patients = nullptr)
      : store_(std::move(store)), patients_(std::move(patients)) {}

  Result<bool> idempotencyKeyExists(const std::string& idempotency_key) const override;
  Result<std::vector<mapping::PriorMessage>> byClinicalKey(
      const std::string& clinical_key) const override;
  Result<std::vector<mapping::PriorMessage>> byVisitKey(
      const std::string& visit_key) const override;
  Result<mapping::Consent> consent(const std::string& patient_key, ChannelKind channel,
                                   const std::string& purpose) const override;
  Result<mapping::PatientPreferences> preferences(const std::string& patient_key) const override;

 private:
  Result<std::vector<mapping::PriorMessage>> find(MessageQuery query) const;

  MessageStorePtr store_;
  PatientStorePtr patients_;
};

// Runs the mapping engine for the mapper thread: loads the parsed form intake stored (FHIR) or
// parses the stored payload by its source (HL7 v2, FHIR JSON or XML), evaluates the current MappingSet and turns the result into a MappingDraft.
// Earlier messages are retracted/superseded only while they are pending, held or waiting for a
// retry; one a worker is sending right now is left alone (the skip is reported by the store).
class EngineEventMapper final : public EventMapper {
 public:
  EngineEventMapper(std::shared_ptr<const mapping::MappingSet> set, ClockPtr clock,
                    std::string pseudonym_key, std::shared_ptr<const mapping::PolicyState> state);

  Result<MappingDraft> map(const InboundEventRecord& event, std::string_view payload) override;
  // FHIR events with a parsed form (gw::fhir::toCompactTree) are loaded from it, not parsed;
  // a form that does not load falls back to parsing the payload. HL7 v2 is always indexed from
  // the payload (hl7::Message::parse only indexes the bytes; adapters/inbound/fhir/README.md).
  Result<MappingDraft> mapStored(const InboundEventRecord& event, std::string_view payload,
                                 std::string_view parsed_form) override;

  // How many FHIR events were loaded from their parsed form / parsed from the payload.
  struct Stats {
    std::uint64_t loaded = 0;
    std::uint64_t parsed = 0;
  };
  Stats stats() const { return {loaded_.load(), parsed_.load()}; }

  const mapping::MappingSet& mappingSet() const { return *set_; }

 private:
  const std::shared_ptr<const mapping::MappingSet> set_;
  const ClockPtr clock_;
  const std::string pseudonym_key_;
  const std::shared_ptr<const mapping::PolicyState> state_;
  const mapping::MappingEngine engine_;
  std::atomic<std::uint64_t> loaded_{0};
  std::atomic<std::uint64_t> parsed_{0};
};

}  // namespace gw
