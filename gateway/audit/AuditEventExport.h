// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "gateway/api/AuditStore.h"
#include "gateway/api/Result.h"

namespace gw {

// The IHE BALP pattern an audit action follows; the FHIR export and the ATNA sink
// (AtnaMessage.h) both code their events from it.
enum class AuditEventKind {
  Import,               // "received": an event taken in from the EHR (DICOM 110107, action C)
  ImportRepeat,         // "duplicate": a resend answered from an earlier commit (110107, E)
  PayloadRead,          // "viewed_payload": an operator read PHI (action R)
  Disclosure,           // "sent", "delivered": PHI left for a patient (DICOM 110106 Export, R)
  ApplicationActivity,  // anything else (DICOM 110100, action E)
};
AuditEventKind classifyAuditAction(std::string_view action);

// One audit record as a FHIR R4 AuditEvent (JSON, one line), following the IHE Basic Audit Log
// Patterns: receiving an event from the EHR is an Import (DICOM 110107, action C), a resend
// answered from an earlier commit an Import with action E, an operator viewing a payload a
// RESTful read (action R), a message sent to a patient a PrivacyDisclosure Export (DICOM 110106),
// anything else an Application Activity (DICOM 110100, action E). Every event also carries our
// own action code as a second subtype (system urn:gateway:audit-action), the actor as agent, the
// peer address as agent.network, the gateway as source (type 4, application server), and the
// object id, sequence number and RFC 6962 leaf hash as entity details. Records hold no PHI, so
// neither does the AuditEvent. `observer` names this gateway (the audit origin).
std::string toFhirAuditEvent(const AuditRecord& record, std::string_view observer);

// Writes every audit record after `after_seq`, in seq order, as NDJSON (one AuditEvent per
// line). Returns the number written; stops at the first store error.
Result<std::uint64_t> exportFhirAuditEvents(AuditStore& store, std::ostream& out,
                                            std::string_view observer, std::int64_t after_seq = 0);

}  // namespace gw
