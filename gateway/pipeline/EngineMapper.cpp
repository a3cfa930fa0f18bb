// SPDX-License-Identifier: Apache-2.0
#include "gateway/pipeline/EngineMapper.h"

#include <utility>

#include "gateway/fhir/CompactTree.h"
#include "gateway/fhir/Resource.h"
#include "gateway/hl7/Message.h"

namespace gw {
namespace {

mapping::PriorMessage toPrior(const PatientMessageRecord& record) {
  mapping::PriorMessage prior;
  prior.id = record.id;
  prior.mapping = record.mapping;
  prior.clinical_key = record.clinical_key;
  prior.visit_key = record.visit_key;
  prior.purpose = record.purpose;
  prior.state = record.state;
  return prior;
}

// States in which the mapper may still retract or supersede a message.
const std::vector<MessageState> kChangeable = {MessageState::Pending, MessageState::Held,
                                               MessageState::Failed};

MappingDraft toDraft(mapping::MappingResult result) {
  MappingDraft draft;
  switch (result.outcome) {
    case mapping::EventOutcome::Mapped:
      draft.state = InboundState::Mapped;
      break;
    case mapping::EventOutcome::Held:
      draft.state = InboundState::Held;
      break;
    case mapping::EventOutcome::Ignored:
      draft.state = InboundState::Ignored;
      break;
  }
  draft.reason = std::move(result.reason);
  for (mapping::ProducedMessage& produced : result.messages) {
    draft.messages.push_back({std::move(produced.message), std::move(produced.content)});
  }
  for (const mapping::MessageTransition& t : result.transitions) {
    draft.transitions.push_back({t.message_id, kChangeable, t.to, t.reason});
  }
  return draft;
}

bool looksLikeXml(std::string_view payload) {
  for (const char c : payload) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      continue;
    }
    return c == '<';
  }
  return false;
}

}  // namespace

Result<std::vector<mapping::PriorMessage>> StorePolicyState::find(MessageQuery query) const {
  std::vector<mapping::PriorMessage> out;
  query.limit = 1000;
  for (;;) {
    GW_ASSIGN_OR_RETURN(std::vector<PatientMessageRecord> page, store_->findMessages(query));
    for (const PatientMessageRecord& record : page) {
      out.push_back(toPrior(record));
      query.after_id = record.id;
    }
    if (page.size() < query.limit) {
      return out;
    }
  }
}

Result<bool> StorePolicyState::idempotencyKeyExists(const std::string& idempotency_key) const {
  MessageQuery query;
  query.idempotency_key = idempotency_key;
  query.limit = 1;
  GW_ASSIGN_OR_RETURN(std::vector<PatientMessageRecord> found, store_->findMessages(query));
  return !found.empty();
}

Result<std::vector<mapping::PriorMessage>> StorePolicyState::byClinicalKey(
    const std::string& clinical_key) const {
  MessageQuery query;
  query.clinical_key = clinical_key;
  return find(std::move(query));
}

Result<std::vector<mapping::PriorMessage>> StorePolicyState::byVisitKey(
    const std::string& visit_key) const {
  MessageQuery query;
  query.visit_key = visit_key;
  return find(std::move(query));
}

Result<mapping::Consent> StorePolicyState::consent(const std::string& patient_key,
                                                   ChannelKind channel,
                                                   const std::string& purpose) const {
  GW_ASSIGN_OR_RETURN(std::optional<ConsentRecord> latest,
                      store_->latestConsent(patient_key, channel, purpose));
  if (!latest) {
    return mapping::Consent::Unknown;
  }
  return latest->opted_in ? mapping::Consent::OptedIn : mapping::Consent::OptedOut;
}

Result<mapping::PatientPreferences> StorePolicyState::preferences(
    const std::string& patient_key) const {
  mapping::PatientPreferences preferences;
  if (!patients_) {
    return preferences;
  }
  GW_ASSIGN_OR_RETURN(std::optional<PatientPreferenceRecord> stored,
                      patients_->preferences(patient_key));
  if (stored) {
    preferences.time_zone = stored->time_zone;
    if (stored->result_delay.count() > 0) {
      preferences.result_delay = stored->result_delay;
    }
  }
  return preferences;
}

EngineEventMapper::EngineEventMapper(std::shared_ptr<const mapping::MappingSet> set, ClockPtr clock,
                                     std::string pseudonym_key,
                                     std::shared_ptr<const mapping::PolicyState> state)
    : set_(std::move(set)),
      clock_(std::move(clock)),
      pseudonym_key_(std::move(pseudonym_key)),
      state_(std::move(state)),
      engine_(*clock_) {}

Result<MappingDraft> EngineEventMapper::map(const InboundEventRecord& event,
                                            std::string_view payload) {
  return mapStored(event, payload, std::string_view());
}

Result<MappingDraft> EngineEventMapper::mapStored(const InboundEventRecord& event,
                                                  std::string_view payload,
                                                  std::string_view parsed_form) {
  mapping::MapContext context;
  context.event_id = event.id;
  context.pseudonym_key = pseudonym_key_;
  context.state = state_.get();
  if (event.source == EventSource::Hl7v2) {
    GW_ASSIGN_OR_RETURN(hl7::Message message, hl7::Message::parse(payload));
    const mapping::Hl7EventView view(message);
    GW_ASSIGN_OR_RETURN(mapping::MappingResult result, engine_.map(*set_, view, context));
    return toDraft(std::move(result));
  }
  Result<fhir::Resource> loaded = parsed_form.empty()
                                      ? Result<fhir::Resource>(Status::notFound("no parsed form"))
                                      : fhir::fromCompactTree(parsed_form);
  if (loaded.ok()) {
    ++loaded_;
  } else {
    ++parsed_;
    loaded = looksLikeXml(payload) ? fhir::parseXml(payload) : fhir::parseJson(payload);
  }
  GW_ASSIGN_OR_RETURN(fhir::Resource resource, std::move(loaded));
  const mapping::FhirEventView view(resource);
  GW_ASSIGN_OR_RETURN(mapping::MappingResult result, engine_.map(*set_, view, context));
  return toDraft(std::move(result));
}

}  // namespace gw
