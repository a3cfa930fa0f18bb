// SPDX-License-Identifier: Apache-2.0
#include "gateway/core/Intake.h"

#include "gateway/crypto/Digest.h"

namespace gw {

Intake::Intake(StorePtr store, PayloadCipherPtr cipher, ClockPtr clock, IntakeSettings settings)
    : store_(std::move(store)),
      cipher_(std::move(cipher)),
      clock_(std::move(clock)),
      settings_(settings) {}

std::string Intake::dedupeKey(const InboundEvent& event) {
  std::string digest = legacyDedupeKey(event);
  return digest.empty() ? std::string() : event.control_id + '\x1f' + digest;
}

std::string Intake::legacyDedupeKey(const InboundEvent& event) {
  // Unit separator between parts, so ("AB","C") and ("A","BC") differ.
  std::string material;
  material.reserve(16 + event.listener.size() + event.sending_application.size() +
                   event.sending_facility.size() + event.control_id.size());
  material += eventSourceName(event.source);
  for (const std::string* part :
       {&event.listener, &event.sending_application, &event.sending_facility, &event.control_id}) {
    material += '\x1f';
    material += *part;
  }
  Result<std::string> digest = sha256Hex(material);
  return digest.ok() ? std::move(digest).value() : std::string();
}

Status Intake::validate(const InboundEvent& event) const {
  // Messages name the rule, never the value (a value could be PHI).
  if (event.control_id.empty()) {
    return Status::invalidArgument("MSH-10 (message control id) is missing");
  }
  if (event.control_id.size() > settings_.max_control_id_length) {
    return Status::invalidArgument("MSH-10 (message control id) is longer than " +
                                   std::to_string(settings_.max_control_id_length) + " characters");
  }
  if (event.message_type.empty()) {
    return Status::invalidArgument("MSH-9 (message type) is missing");
  }
  if (event.sending_application.size() > settings_.max_sender_length ||
      event.sending_facility.size() > settings_.max_sender_length) {
    return Status::invalidArgument("MSH-3/MSH-4 (sender) is longer than " +
                                   std::to_string(settings_.max_sender_length) + " characters");
  }
  if (event.payload.empty()) {
    return Status::invalidArgument("the message is empty");
  }
  return Status::ok();
}

Result<NewInboundEvent> Intake::prepare(InboundEvent event) {
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
  record.legacy_dedupe_key = legacyDedupeKey(event);
  if (!record.legacy_dedupe_key.empty()) {
    record.dedupe_key = event.control_id + '\x1f' + record.legacy_dedupe_key;
  }
  if (record.dedupe_key.empty()) {
    failed_.fetch_add(1);
    return Status::internal("cannot compute the dedupe key");
  }
  // Sealed here, on the adapter's thread, so the store's single writer only writes.
  Result<std::string> sealed = cipher_->seal(event.payload, record.dedupe_key);
  if (!sealed.ok()) {
    failed_.fetch_add(1);
    return sealed.status().withContext("sealing the payload");
  }
  static_cast<InboundEventMetadata&>(record) = std::move(event);  // metadata only
  record.received_at = clock_->now();
  record.payload_bytes = payload_bytes;
  record.sealed_payload = std::move(sealed).value();
  return record;
}

bool Intake::count(const Result<IntakeReceipt>& receipt) {
  if (!receipt.ok()) {
    failed_.fetch_add(1);
    return false;
  }
  (receipt->duplicate ? duplicates_ : accepted_).fetch_add(1);
  return !receipt->duplicate;
}

Result<IntakeReceipt> Intake::accept(InboundEvent event, Deadline deadline) {
  Result<NewInboundEvent> record = prepare(std::move(event));
  if (!record.ok()) {
    return record.status();
  }
  Result<IntakeReceipt> receipt = store_->commitInbound(std::move(record).value(), deadline);
  if (count(receipt) && on_committed_) {
    on_committed_();
  }
  return receipt;
}

void Intake::acceptBatch(std::vector<InboundEvent> events, Deadline deadline, BatchDone done) {
  // Results of the events that failed before the store, in place; the slots of the others are
  // filled from the store's results, whose order is that of `committed`.
  auto results = std::make_shared<std::vector<Result<IntakeReceipt>>>();
  results->reserve(events.size());
  std::vector<std::size_t> slots;
  std::vector<NewInboundEvent> committed;
  slots.reserve(events.size());
  committed.reserve(events.size());
  for (InboundEvent& event : events) {
    Result<NewInboundEvent> record = prepare(std::move(event));
    if (record.ok()) {
      slots.push_back(results->size());
      committed.push_back(std::move(record).value());
      results->push_back(Status::internal("the store gave no result for this event"));
    } else {
      results->push_back(record.status());
    }
  }
  if (committed.empty()) {
    done(std::move(*results));
    return;
  }
  store_->commitInboundBatch(
      std::move(committed), deadline,
      [this, results, slots = std::move(slots),
       done = std::move(done)](std::vector<Result<IntakeReceipt>> receipts) {
        bool stored = false;
        for (std::size_t i = 0; i < slots.size(); ++i) {
          Result<IntakeReceipt> receipt =
              i < receipts.size()
                  ? std::move(receipts[i])
                  : Result<IntakeReceipt>(Status::internal("the store gave no result"));
          stored = count(receipt) || stored;
          (*results)[slots[i]] = std::move(receipt);
        }
        if (stored && on_committed_) {
          on_committed_();
        }
        done(std::move(*results));
      });
}

IntakeStats Intake::stats() const {
  IntakeStats s;
  s.accepted = accepted_.load();
  s.duplicates = duplicates_.load();
  s.rejected = rejected_.load();
  s.failed = failed_.load();
  return s;
}

}  // namespace gw
