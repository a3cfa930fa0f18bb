// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/api/Clock.h"

namespace gw {

enum class EventSource { Hl7v2, Fhir };

// "hl7v2" / "fhir".
std::string_view eventSourceName(EventSource source);

// Routing metadata of an inbound event: what the sender put in its header, plus where it came
// from. Never PHI; kept in clear in the store for routing, search and dedupe.
struct InboundEventMetadata {
  EventSource source = EventSource::Hl7v2;
  std::string listener;              // configured listener name, e.g. "adt"
  std::string peer;                  // remote address "ip:port"
  std::string sending_application;   // MSH-3 as sent (FHIR: client id)
  std::string sending_facility;      // MSH-4 as sent
  std::string control_id;            // MSH-10 (FHIR: Bundle.id / MessageHeader.id)
  std::string message_type;          // MSH-9 as "ADT^A01" or "ADT^A01^ADT_A01"
  std::string version;               // MSH-12, e.g. "2.5.1"
  // The answer the adapter sends once the event is committed ("AA", "CA", "none" when the sender
  // asked for no ACK; FHIR "201"), recorded in the receipt's audit record. Not stored otherwise.
  std::string answer_on_commit;
};

// One framed event as an inbound adapter hands it to intake: the metadata the adapter already
// read while framing, and the original bytes. `payload` is PHI: it is only ever stored encrypted
// and never logged.
struct InboundEvent : InboundEventMetadata {
  std::string payload;               // original bytes (PHI)
  // Optional: what the adapter already parsed, in a compact form the mapper loads instead of
  // parsing `payload` again (FHIR: gw::fhir::toCompactTree). PHI like the payload: stored only
  // sealed, beside it; the payload stays the record. Empty when the adapter keeps none.
  std::string parsed_form;
};

// What intake answers once an event is durable.
struct IntakeReceipt {
  std::int64_t event_id = 0;  // store id of the committed (or earlier) event
  bool duplicate = false;     // true when the dedupe key was already committed
};

}  // namespace gw
