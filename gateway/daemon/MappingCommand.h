// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace gw {

struct MappingTestOptions {
  // A mapping file (loaded with the schema and templates of its directory) or a directory of
  // mappings (all of them, as the gateway loads them).
  std::string mapping;
  // HL7 v2 files (several messages each allowed) and FHIR .json/.xml files, mapped in order.
  std::vector<std::string> inputs;
  // Optional dry-run setup (gateway/mapping/DryRun.h): clock, consent, preferences.
  std::string setup_file;
  // Overrides: the clock ("2026-11-25T19:00:00Z") and the facility time zone.
  std::string now;
  std::string time_zone;
};

// `gateway mapping test --mapping FILE INPUT...`: prints, as JSON on standard output, what the
// mapping engine would do with each input event (messages with their rendered content, or why
// none: no match, held, suppressed, and the policy that decided). Nothing is stored or sent.
// Exit codes: 0 done, 2 bad input or setup, 78 mapping errors (printed file:line:col).
int mappingTest(const MappingTestOptions& options);

}  // namespace gw
