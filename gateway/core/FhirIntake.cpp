// SPDX-License-Identifier: Apache-2.0
#include "gateway/core/FhirIntake.h"

#include "gateway/crypto/Digest.h"

namespace gw {

FhirIntake::FhirIntake(StorePtr store, PayloadCipherPtr cipher, ClockPtr clock,
                       FhirIntakeSettings settings)
    : store_(std::move(store)),
      cipher_(std::move(cipher)),
      clock_(std::move(clock)),
      settings_(settings) {}

std::string FhirIntake::dedupeKey(const InboundEventMetadata& event) {
  // Unit separators between the parts, so ("AB","C") and ("A","BC") differ.
  std::string material = "fhir";
  material += '\x1f';
  material += event.sending_application;
  material += '\x1f';
  material += event.control_id;
  Result<std::string> digest = sha256Hex(material);
  return digest.ok() ? std::move(digest).value() : std::string();
}

Status FhirIntake::validate(const InboundEvent& event) const {
  // Messages name the rule, never the value (a value could be PHI).
  if (event.source != EventSource::Fhir) {
    return Status::invalidArgument("not a FHIR event");
  }
  if (event.sending_application.empty()) {
    return Status::invalidArgument("the client id is missing");
  }
  if (event.control_id.empty()) {
    return Status::invalidArgument("the event has no id (Bundle.id, MessageHeader.id or id)");
  }
  if (event.control_id.size() > settings_.max_control_id_length) {
    return Status::invalidArgument("the event id is longer than " +
                                   std::to_string(settings_.max_control_id_length) + " characters");
  }
  if (event.message_type.empty()) {
    return Status::invalidArgument("the event type is missing");
  }
  if (event.sending_application.size() > settings_.max_sender_length ||
      event.sending_facility.size() > settings_.max_sender_length) {
    return Status::invalidArgument("the client id or message source is longer than " +
                                   std::to_string(settings_.max_sender_length) + " characters");
  }
  if (event.payload.empty()) {
    return Status::invalidArgument("the request body is empty");
  }
  return Status::ok();
}

Result<IntakeReceipt> FhirIntake::accept(InboundEvent event, Deadline deadline) {
  if (shutting_down_.load()) {
    failed_.fetch_add(1);
    return Status::unavailable("gateway is shutting down");
  }
  if (Status valid = validate(event); !valid.isOk()) {
    rejected_.fetch_add(1);
    return valid;
  }
  const std::uint64_t payload_bytes = event.payload.size();
  NewInboundEvent record;
  record.dedupe_key = dedupeKey(event);
  if (record.dedupe_key.empty()) {
    failed_.fetch_add(1);
    return Status::internal("cannot compute the dedupe key");
  }
  // Sealed here, on the request's thread, so the store's single writer only writes.
  Result<std::string> sealed = cipher_->seal(event.payload, record.dedupe_key);
  if (!sealed.ok()) {
    failed_.fetch_add(1);
    return sealed.status().withContext("sealing the payload");
  }
  if (!event.parsed_form.empty()) {
    Result<std::string> sealed_form =
        cipher_->seal(event.parsed_form, parsedFormAssociatedData(record.dedupe_key));
    if (!sealed_form.ok()) {
      failed_.fetch_add(1);
      return sealed_form.status().withContext("sealing the parsed form");
    }
    record.sealed_parsed_form = std::move(sealed_form).value();
  }
  static_cast<InboundEventMetadata&>(record) = std::move(event);  // metadata only
  record.received_at = clock_->now();
  record.payload_bytes = payload_bytes;
  record.sealed_payload = std::move(sealed).value();

  Result<IntakeReceipt> receipt = store_->commitInbound(std::move(record), deadline);
  if (!receipt.ok()) {
    failed_.fetch_add(1);
    return receipt.status();
  }
  (receipt->duplicate ? duplicates_ : accepted_).fetch_add(1);
  if (!receipt->duplicate && on_committed_) {
    on_committed_();
  }
  return receipt;
}

FhirIntake::Stats FhirIntake::stats() const {
  Stats s;
  s.accepted = accepted_.load();
  s.duplicates = duplicates_.load();
  s.rejected = rejected_.load();
  s.failed = failed_.load();
  return s;
}

}  // namespace gw
