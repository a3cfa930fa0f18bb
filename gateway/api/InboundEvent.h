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

// One framed event as an inbound adapter hands it to intake. The metadata fields are routing
// data (no PHI) that the adapter already read while framing; `payload` is the original bytes and
// is PHI: it is only ever stored encrypted and never logged.
struct InboundEvent {
  EventSource source = EventSource::Hl7v2;
  std::string listener;              // configured listener name, e.g. "adt"
  std::string peer;                  // remote address "ip:port"
  std::string sending_application;   // MSH-3 as sent (FHIR: client id)
  std::string sending_facility;      // MSH-4 as sent
  std::string control_id;            // MSH-10 (FHIR: Bundle.id / MessageHeader.id)
  std::string message_type;          // MSH-9 as "ADT^A01" or "ADT^A01^ADT_A01"
  std::string version;               // MSH-12, e.g. "2.5.1"
  std::string payload;               // original bytes (PHI)
};

// What intake answers once an event is durable.
struct IntakeReceipt {
  std::int64_t event_id = 0;  // store id of the committed (or earlier) event
  bool duplicate = false;     // true when the dedupe key was already committed
};

}  // namespace gw
