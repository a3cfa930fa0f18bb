// SPDX-License-Identifier: Apache-2.0
#include "gateway/api/InboundEvent.h"
#include "gateway/api/Store.h"

namespace gw {

std::string_view eventSourceName(EventSource source) {
  return source == EventSource::Fhir ? "fhir" : "hl7v2";
}

std::string_view inboundStateName(InboundState state) {
  switch (state) {
    case InboundState::Received: return "received";
    case InboundState::Mapped: return "mapped";
    case InboundState::Held: return "held";
    case InboundState::Ignored: return "ignored";
  }
  return "unknown";
}

}  // namespace gw
