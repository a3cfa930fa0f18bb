// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/api/Result.h"
#include "gateway/mapping/MappingEngine.h"

namespace gw::mapping {

// A patient as the dry-run setup names it (the key is computed as the engine does).
struct DryRunPatient {
  std::string assigning_authority;
  std::string identifier;
};

// State to start a dry run with, and how time moves. Read from JSON by parseDryRunSetup():
//   {"now": "2026-11-25T19:00:00Z", "advance_minutes": 5, "mark_sent": true,
//    "facility_time_zone": "America/New_York",
//    "consent": [{"patient": {"assigning_authority": "DEMO_HOSP", "identifier": "SYN000101"},
//                 "channel": "secure_inbox", "purpose": "*", "consent": "opted_out"}],
//    "preferences": [{"patient": {...}, "time_zone": "Europe/Madrid", "language": "es",
//                     "result_delay_hours": 72}]}
struct DryRunSetup {
  std::optional<SystemTime> now;    // default: the wall clock
  std::chrono::minutes advance{0};  // added to the clock after each event
  bool mark_sent = false;           // messages count as sent once the next event comes
  std::optional<std::string> facility_time_zone;
  struct ConsentEntry {
    DryRunPatient patient;
    ChannelKind channel = ChannelKind::SecureInbox;
    std::string purpose = "*";
    Consent consent = Consent::OptedOut;
  };
  std::vector<ConsentEntry> consent;
  struct PreferenceEntry {
    DryRunPatient patient;
    PatientPreferences preferences;
  };
  std::vector<PreferenceEntry> preferences;
  // Inputs mapped before the case's own (golden tests: "before": ["booked.json"]), relative to
  // the setup file's directory.
  std::vector<std::string> before;
};

// Errors: ParseError with the problem (unknown keys, bad times, unknown channels).
Result<DryRunSetup> parseDryRunSetup(const std::string& json);

// The pseudonym key dry runs use: a fixed, public test value (never a production key).
inline constexpr const char* kDryRunPseudonymKey = "dry-run pseudonym key (not secret)";

// Maps every event of `input_files` in order (an .hl7 file may hold several messages; .json and
// .xml files are FHIR) with an in-memory PolicyState carried from one event to the next, and
// returns the JSON report `gateway mapping test` prints and the golden tests compare: one entry
// per event with its outcome, reason, per-mapping decisions, transitions and the messages
// (metadata and rendered content). The report holds PHI from the inputs: synthetic data only.
// Errors: NotFound / ParseError for an input that cannot be read or parsed.
Result<std::string> dryRun(const MappingSet& set, const std::vector<std::string>& input_files,
                           const DryRunSetup& setup);

// "2026-11-25T14:15:00Z"
std::string formatUtc(SystemTime t);

}  // namespace gw::mapping
