// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/api/PatientMessage.h"
#include "gateway/api/Result.h"
#include "gateway/mapping/EventView.h"
#include "gateway/mapping/MappingSet.h"
#include "gateway/mapping/PolicyState.h"

namespace gw::mapping {

// The inbound event's new state (DESIGN.md section 2).
enum class EventOutcome { Mapped, Held, Ignored };
std::string_view eventOutcomeName(EventOutcome outcome);  // "mapped" / "held" / "ignored"

// A message to store: metadata (message.sealed_content is left empty) and the PHI content the
// caller seals (PayloadCipher) into message.sealed_content before writing it.
struct ProducedMessage {
  NewPatientMessage message;
  MessageContent content;
};

// A state change of an earlier message, written in the same transaction as the new ones.
struct MessageTransition {
  std::int64_t message_id = 0;
  MessageState to = MessageState::Retracted;  // Retracted or Superseded
  std::string reason;                         // no PHI: "cancelled by ADT^A13"
};

// What one mapping decided, for operators and `gateway mapping test`.
struct MappingDecision {
  std::string mapping;
  std::string outcome;  // "message", "duplicate", "held", "ignored", "retract", "error"
  std::string policy;   // the policy that decided: "idempotency", "status", "missing_data", ...
  std::string reason;   // no PHI
};

struct MappingResult {
  EventOutcome outcome = EventOutcome::Ignored;
  std::string reason;  // why held/ignored, no PHI ("missing patient.email", "no mapping matched")
  std::vector<ProducedMessage> messages;
  std::vector<MessageTransition> transitions;
  std::vector<MappingDecision> decisions;
};

// Everything map() needs besides the event.
struct MapContext {
  std::int64_t event_id = 0;
  // Key of HMAC-SHA256(key, assigning authority | identifier) = patient_key. Not logged.
  std::string_view pseudonym_key;
  const PolicyState* state = nullptr;
};

// Applies a MappingSet to one event: match, extract, policies, render. Pure: no I/O besides
// PolicyState reads, time from the Clock. Thread-safety: map() may be called concurrently.
class MappingEngine {
 public:
  explicit MappingEngine(const Clock& clock) : clock_(clock) {}

  // Runs every mapping whose match holds. The event is held when any matching mapping needs an
  // operator (missing data, a path that fails to evaluate), ignored when none matched or every
  // match was filtered by a policy (e.g. a preliminary result), else mapped. Errors: only what
  // PolicyState returns (e.g. Unavailable), and InvalidArgument without a state.
  Result<MappingResult> map(const MappingSet& set, const EventView& event,
                            const MapContext& context) const;

 private:
  const Clock& clock_;
};

// Picks the template language: `preferred` (normalised: "es-MX", "SPA", "spa" -> "es") if the
// mapping has it, else the mapping's fallbacks, else the default language, else the first.
std::string chooseLanguage(const Mapping& mapping, const std::string& preferred,
                           const std::string& default_language);
std::string normaliseLanguage(std::string_view tag);

// Quiet hours: the earliest time >= `t` that is outside [start, end) local time in `zone`
// (minutes after midnight; start > end spans midnight). Across a DST change the local end time
// that does not exist maps to the moment the clocks change. Unknown zone: `t` unchanged.
SystemTime outsideQuietHours(SystemTime t, const std::string& zone, int start_minutes,
                             int end_minutes);

// Parses HL7 TS (YYYYMMDD[HHMM[SS[.S+]]][+/-ZZZZ]) or ISO 8601 / FHIR dateTime; a value
// without an offset is local time in `zone`. nullopt when it is not a time.
std::optional<SystemTime> parseEventTime(std::string_view text, const std::string& zone);

}  // namespace gw::mapping
