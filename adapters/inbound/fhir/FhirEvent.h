// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/fhir/Resource.h"

namespace gw::fhirin {

// Which endpoint a resource was posted to.
enum class Route {
  ProcessMessage,  // POST [base]/$process-message
  Bundle,          // POST [base] or [base]/Bundle
  Resource,        // POST [base]/{Encounter|DiagnosticReport|Observation|Appointment|Patient}
};

// Why a request is refused, without PHI: HTTP status, OperationOutcome issue.code, a message
// and the FHIRPath expression of the offending element ("" when there is none).
struct RequestProblem {
  int status = 400;
  std::string issue_code = "invalid";
  std::string message;
  std::string expression;
};

// Subscriptions R5 Backport IG (R4) notification types (CodeSystem
// subscription-notification-type): query-status answers a $status query, query-event an $events
// query.
enum class NotificationType {
  None,
  Handshake,
  Heartbeat,
  EventNotification,
  QueryStatus,
  QueryEvent
};
std::string_view notificationTypeName(NotificationType type);

// What the gateway reads from an accepted resource (routing metadata, never PHI).
struct FhirEventInfo {
  std::string message_type;      // "message/R01", "Bundle/transaction", "Observation", ...
  std::string control_id;        // dedupe identity within the client (README: "Event ids")
  std::string sending_facility;  // MessageHeader.source.name or .endpoint
  std::string bundle_type;       // Bundle.type; "" for a single resource
  std::size_t entry_count = 0;
  // Messages: MessageHeader.id and the event (eventCoding system/code or eventUri).
  std::string message_header_id;
  std::string event_system;
  std::string event_code;
  bool event_is_uri = false;  // eventUri rather than eventCoding
  // Subscription notifications (R5 Backport IG for R4, SubscriptionStatus Parameters).
  NotificationType notification = NotificationType::None;
  std::string subscription;  // subscription reference as sent
  std::string subscription_status;  // the status parameter (active, error, off, ...), or ""
  std::optional<std::int64_t> events_since_start;
  std::optional<std::int64_t> first_event_number;  // notification-event.event-number, lowest
  std::optional<std::int64_t> last_event_number;   // highest

  // Handshakes, heartbeats and query-status are answered without storing an event; the
  // notifications that carry events (event-notification, query-event) are stored.
  bool stored() const {
    return notification == NotificationType::None ||
           notification == NotificationType::EventNotification ||
           notification == NotificationType::QueryEvent;
  }
};

// The five resource types accepted one at a time.
bool isSupportedResourceType(std::string_view type);

// Checks `resource` against the rules of the route (adapters/inbound/fhir/README.md, "What is
// accepted") and extracts the event's metadata. `path_type` is the type named in the path for
// Route::Resource. Returns the problem when the resource is refused.
std::optional<RequestProblem> classify(const fhir::Resource& resource, Route route,
                                       std::string_view path_type, FhirEventInfo& info);

// First 32 hex characters of SHA-256 over canonicalJson(node): equal for equal content in JSON
// and XML.
std::string contentDigest(const fhir::Node& node);

}  // namespace gw::fhirin
