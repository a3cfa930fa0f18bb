// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "gateway/api/AuditStore.h"
#include "gateway/api/Status.h"

// IHE ATNA (ITI-20 Record Audit Event) messages for the live audit sink (AtnaSink.h): one audit
// record as a DICOM PS3.15 Annex A.5 AuditMessage, wrapped in an RFC 5424 syslog message, framed
// for syslog over TLS with RFC 5425 octet counting. Audit records hold no PHI; neither do these
// messages (only our ids, action codes, peer addresses and the record's hash).
namespace gw::atna {

// RFC 5424 section 6.2 header fields that identify us. Empty fields are sent as the NILVALUE "-".
struct SyslogHeader {
  std::string hostname;                // HOSTNAME: FQDN or address of this machine (1..255)
  std::string app_name;                // APP-NAME (1..48)
  std::string procid;                  // PROCID: our process id (1..128)
  std::string msgid = "IHE+RFC-3881";  // MSGID used by IHE ITI-20 for DICOM/RFC 3881 XML
};

// RFC 5424 PRI: facility 10 (security/authorization, as IHE ITI-20 asks) and severity 5
// (notice) for a successful outcome, 4 (warning) otherwise.
int syslogPriority(std::string_view outcome);

// OK when `value` is a valid RFC 5424 header field of at most `max_length` characters:
// PRINTUSASCII (33..126) only. InvalidArgument names `field` otherwise.
Status checkHeaderField(std::string_view field, std::string_view value, std::size_t max_length);

// The record as a DICOM PS3.15 A.5.1 AuditMessage (UTF-8 XML with declaration), coded from the
// same IHE BALP classification as the FHIR export (AuditEventExport.h):
//   EventIdentification: EventActionCode, EventDateTime (the record's time, UTC), outcome
//     indicator (0 ok, 8 internal/data_loss, 4 other failures); EventID from DCM: 110107 Import
//     (received, duplicate), 110106 Export (sent, delivered), 110110 Patient Record (operator
//     read of a payload), 110100 Application Activity (anything else); EventTypeCode: our action
//     code (code system "urn:gateway:audit-action") and, for imports and exports, the ISO 21089
//     lifecycle event.
//   ActiveParticipant: the actor (UserIsRequestor for "operator:" actors); for an import with a
//     peer address also the peer as Source (DCM 110153) and the actor as Destination (110152);
//     for an export the actor as Source. The peer address is the NetworkAccessPointID (type 2).
//   AuditSourceIdentification: AuditSourceID = `audit_source_id`, type 4 (application server).
//   ParticipantObjectIdentification: the record's object id (e.g. "inbound_event:42") with its
//     kind as ParticipantObjectIDTypeCode, and details audit_seq, leaf_hash, outcome (when not
//     ok) and reason (when set), base64 as the schema requires.
// Characters XML cannot carry (control characters, malformed UTF-8) become '?'.
std::string toAuditMessageXml(const AuditRecord& record, std::string_view audit_source_id);

// One RFC 5424 message: "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - " then the UTF-8 BOM
// and `xml` (section 6.4). TIMESTAMP is the record's time (UTC, milliseconds).
std::string toSyslogMessage(const AuditRecord& record, const SyslogHeader& header,
                            std::string_view xml);

// RFC 5425 section 4.3 octet-counting frame: "MSG-LEN SP SYSLOG-MSG".
std::string octetCountedFrame(std::string_view syslog_message);

}  // namespace gw::atna
