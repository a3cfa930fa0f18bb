// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "gateway/api/Clock.h"
#include "gateway/api/InboundSink.h"
#include "gateway/api/PayloadCipher.h"
#include "gateway/api/Store.h"

namespace gw {

// Limits FHIR intake applies to the metadata an adapter extracted.
struct FhirIntakeSettings {
  // Longest control id: "Type/id" (FHIR ids are at most 64 characters) plus a version or a
  // content digest; anything longer is refused.
  std::size_t max_control_id_length = 256;
  // Longest client id / message source text.
  std::size_t max_sender_length = 255;
};

// The durable intake of FHIR events (the HL7 v2 twin is Intake). Same guarantees: accept()
// returns OK only after the store commit, the payload (the original request bytes, PHI) is
// sealed with the PayloadCipher on the caller's thread with the dedupe key as associated data,
// and a resend of a committed dedupe key is answered from the earlier event (duplicate=true).
// The adapter's parsed form (InboundEvent::parsed_form, the compact tree of the resource) is
// sealed the same way (associated data parsedFormAssociatedData(dedupe key)) and committed in
// the same transaction, so the mapper loads it instead of parsing the payload again.
//
// How a FHIR event fills InboundEventMetadata (set by the FHIR adapter, checked here):
//   source               EventSource::Fhir
//   listener             server name from config ("fhir")
//   peer                 remote "ip:port"
//   sending_application  authenticated client id (JWT iss / mutual-TLS client, "local" for
//                        unauthenticated loopback)
//   sending_facility     MessageHeader.source.name (or .endpoint) for messages; "" otherwise
//   control_id           what identifies this event for dedupe (adapters/inbound/fhir/README.md)
//   message_type         "message/<event code>", "Bundle/<type>", "notification/<type>" or the
//                        resource type of a single resource ("Observation")
//   version              "4.0.1" (FHIR R4)
// Dedupe key (DESIGN.md section 3): hex SHA-256 of ("fhir", client id, control id); the
// listener is not part of it, so a client is recognised whichever endpoint it posts to.
// Thread-safe.
class FhirIntake final : public InboundSink {
 public:
  FhirIntake(StorePtr store, PayloadCipherPtr cipher, ClockPtr clock,
             FhirIntakeSettings settings = {});

  // InboundSink. InvalidArgument for metadata that breaks the rules above (the adapter answers
  // 422); the store's errors otherwise (Unavailable: 503).
  Result<IntakeReceipt> accept(InboundEvent event, Deadline deadline) override;

  // After this, accept() answers Unavailable ("gateway is shutting down").
  void beginShutdown() { shutting_down_.store(true); }
  // Called after each commit that stored a new event (not for a duplicate), as Intake does.
  // Set it before the first accept(); it must be cheap.
  void setOnCommitted(std::function<void()> on_committed) {
    on_committed_ = std::move(on_committed);
  }

  struct Stats {
    std::uint64_t accepted = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t rejected = 0;
    std::uint64_t failed = 0;
  };
  Stats stats() const;

  static std::string dedupeKey(const InboundEventMetadata& event);

 private:
  Status validate(const InboundEvent& event) const;

  StorePtr store_;
  PayloadCipherPtr cipher_;
  ClockPtr clock_;
  FhirIntakeSettings settings_;
  std::function<void()> on_committed_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> duplicates_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> failed_{0};
};

}  // namespace gw
