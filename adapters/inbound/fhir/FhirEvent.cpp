// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/fhir/FhirEvent.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace gw::fhirin {
namespace {

constexpr std::array<std::string_view, 5> kSupportedTypes = {
    "Encounter", "DiagnosticReport", "Observation", "Appointment", "Patient"};

RequestProblem problem(int status, std::string code, std::string message, std::string expression) {
  RequestProblem p;
  p.status = status;
  p.issue_code = std::move(code);
  p.message = std::move(message);
  p.expression = std::move(expression);
  return p;
}

RequestProblem required(const std::string& expression) {
  return problem(422, "required", expression + " is required", expression);
}

std::optional<std::int64_t> parseCount(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

std::string entryPath(std::size_t index) {
  return "Bundle.entry[" + std::to_string(index) + "]";
}

// R4 required elements (1..1 / 1..*) the mapping engine needs, per supported type.
std::optional<RequestProblem> checkResource(const fhir::Node& node, const std::string& at) {
  const std::string_view type = node.resourceType();
  auto need = [&](std::string_view name) -> std::optional<RequestProblem> {
    if (node.child(name) == nullptr) {
      return required(at + "." + std::string(name));
    }
    return std::nullopt;
  };
  std::optional<RequestProblem> missing;
  if (type == "Observation") {
    static constexpr std::array<std::string_view, 8> kStatus = {
        "registered", "preliminary",      "final",  "amended", "corrected",
        "cancelled",  "entered-in-error", "unknown"};
    if ((missing = need("status")) || (missing = need("code"))) {
      return missing;
    }
    const std::string_view status = node.childValue("status");
    if (std::find(kStatus.begin(), kStatus.end(), status) == kStatus.end()) {
      return problem(422, "code-invalid", "Observation.status is not an R4 ObservationStatus code",
                     at + ".status");
    }
  } else if (type == "DiagnosticReport") {
    if ((missing = need("status")) || (missing = need("code"))) {
      return missing;
    }
  } else if (type == "Encounter") {
    if ((missing = need("status")) || (missing = need("class"))) {
      return missing;
    }
  } else if (type == "Appointment") {
    if ((missing = need("status")) || (missing = need("participant"))) {
      return missing;
    }
  }
  return std::nullopt;
}

std::optional<RequestProblem> classifyMessage(const fhir::Resource& resource, FhirEventInfo& info) {
  if (!resource.isBundle()) {
    return problem(422, "invalid", "$process-message takes a message Bundle",
                   std::string(resource.resourceType()));
  }
  if (resource.bundleType() != "message") {
    return problem(422, "invalid", "$process-message takes a Bundle of type message",
                   "Bundle.type");
  }
  const auto& entries = resource.entries();
  const fhir::Node* header = entries.empty() ? nullptr : fhir::Resource::entryResource(*entries[0]);
  if (header == nullptr || header->resourceType() != "MessageHeader") {
    return problem(422, "invalid", "the first entry of a message Bundle must be a MessageHeader",
                   "Bundle.entry[0].resource");
  }
  const std::string at = "Bundle.entry[0].resource";
  if (const fhir::Node* coding = header->child("eventCoding")) {
    info.event_system = std::string(coding->childValue("system"));
    info.event_code = std::string(coding->childValue("code"));
    if (info.event_code.empty()) {
      return required(at + ".eventCoding.code");
    }
  } else if (const fhir::Node* uri = header->child("eventUri"); uri != nullptr && uri->hasValue()) {
    info.event_code = std::string(uri->value());
    info.event_is_uri = true;
  } else {
    return problem(422, "required", "MessageHeader.event[x] (eventCoding or eventUri) is required",
                   at + ".event");
  }
  info.message_header_id = std::string(header->childValue("id"));
  if (const fhir::Node* source = header->child("source")) {
    info.sending_facility = std::string(source->childValue("name"));
    if (info.sending_facility.empty()) {
      info.sending_facility = std::string(source->childValue("endpoint"));
    }
  }
  // FHIR R4 messaging (4.4.1.5): Bundle.id identifies the message instance; MessageHeader.id
  // when a sender leaves Bundle.id out.
  info.control_id = std::string(resource.id());
  if (info.control_id.empty()) {
    info.control_id = info.message_header_id;
  }
  if (info.control_id.empty()) {
    return problem(422, "required", "a message needs Bundle.id or MessageHeader.id", "Bundle.id");
  }
  info.message_type = "message/" + info.event_code;
  return std::nullopt;
}

const fhir::Node* parameter(const fhir::Node& parameters, std::string_view name) {
  for (const fhir::Node& p : parameters.children()) {
    if (p.name() == "parameter" && p.childValue("name") == name) {
      return &p;
    }
  }
  return nullptr;
}

// The value[x] of a Parameters.parameter (or part), whatever its type.
std::string_view parameterValue(const fhir::Node& p) {
  for (const fhir::Node& c : p.children()) {
    if (c.name().substr(0, 5) == "value" && c.name().size() > 5) {
      if (c.hasValue()) {
        return c.value();
      }
      return c.childValue("reference");  // valueReference
    }
  }
  return {};
}

bool isNotificationBundle(const fhir::Resource& resource) {
  if (resource.bundleType() != "history" || resource.entries().empty()) {
    return false;
  }
  const fhir::Node* first = fhir::Resource::entryResource(*resource.entries()[0]);
  return first != nullptr && first->resourceType() == "Parameters" &&
         parameter(*first, "type") != nullptr;
}

std::optional<RequestProblem> classifyNotification(const fhir::Resource& resource,
                                                   FhirEventInfo& info) {
  const fhir::Node& status = *fhir::Resource::entryResource(*resource.entries()[0]);
  const std::string at = "Bundle.entry[0].resource";
  const fhir::Node* subscription = parameter(status, "subscription");
  if (subscription == nullptr || parameterValue(*subscription).empty()) {
    return problem(422, "required", "SubscriptionStatus needs the subscription parameter",
                   at + ".parameter.where(name = 'subscription')");
  }
  info.subscription = std::string(parameterValue(*subscription));
  // The reference names the subscription in the store's records (and the event ids of its
  // notifications): a URL, never a document.
  if (info.subscription.size() > 200) {
    return problem(422, "too-long", "the subscription reference is longer than 200 characters",
                   at + ".parameter.where(name = 'subscription')");
  }
  const std::string_view type = parameterValue(*parameter(status, "type"));
  const std::string type_expression = at + ".parameter.where(name = 'type')";
  if (type == "handshake") {
    info.notification = NotificationType::Handshake;
  } else if (type == "heartbeat") {
    info.notification = NotificationType::Heartbeat;
  } else if (type == "event-notification") {
    info.notification = NotificationType::EventNotification;
  } else if (type == "query-status") {
    info.notification = NotificationType::QueryStatus;
  } else if (type == "query-event") {
    info.notification = NotificationType::QueryEvent;
  } else {
    return problem(422, "code-invalid",
                   "notification type must be handshake, heartbeat, event-notification, "
                   "query-status or query-event",
                   type_expression);
  }
  if (const fhir::Node* status_parameter = parameter(status, "status")) {
    info.subscription_status = std::string(parameterValue(*status_parameter));
  }
  // SubscriptionStatus invariant sst-2: a query-status carries the subscription's status.
  if (info.notification == NotificationType::QueryStatus && info.subscription_status.empty()) {
    return problem(422, "required", "a query-status notification needs the status parameter",
                   at + ".parameter.where(name = 'status')");
  }
  if (const fhir::Node* since = parameter(status, "events-since-subscription-start")) {
    info.events_since_start = parseCount(parameterValue(*since));
    if (!info.events_since_start) {
      return problem(422, "invalid", "events-since-subscription-start is not a count",
                     at + ".parameter.where(name = 'events-since-subscription-start')");
    }
  }
  for (const fhir::Node& p : status.children()) {
    if (p.name() != "parameter" || p.childValue("name") != "notification-event") {
      continue;
    }
    for (const fhir::Node& part : p.children()) {
      if (part.name() == "part" && part.childValue("name") == "event-number") {
        const std::optional<std::int64_t> number = parseCount(parameterValue(part));
        if (!number) {
          return problem(422, "invalid", "notification-event.event-number is not a count",
                         at + ".parameter.where(name = 'notification-event').part");
        }
        info.first_event_number = std::min(info.first_event_number.value_or(*number), *number);
        info.last_event_number = std::max(info.last_event_number.value_or(*number), *number);
      }
    }
  }
  info.message_type = "notification/" + std::string(type);
  // SubscriptionStatus invariant sst-1: a query-event lists its events (an event-notification
  // may instead name its last event by events-since-subscription-start, below).
  if (info.notification == NotificationType::QueryEvent && !info.last_event_number) {
    return problem(422, "required", "a query-event notification needs notification-event entries "
                   "with event-number",
                   at + ".parameter.where(name = 'notification-event')");
  }
  if (info.notification == NotificationType::EventNotification ||
      info.notification == NotificationType::QueryEvent) {
    // Backport IG: events-since-subscription-start is the number of the last event in this
    // notification when the events are not listed.
    if (!info.last_event_number) {
      info.first_event_number = info.events_since_start;
      info.last_event_number = info.events_since_start;
    }
    if (!info.last_event_number) {
      return problem(422, "required",
                     "an event-notification needs notification-event.event-number or "
                     "events-since-subscription-start",
                     at + ".parameter");
    }
    info.control_id = info.subscription + "#" + std::to_string(*info.first_event_number);
    if (*info.last_event_number != *info.first_event_number) {
      info.control_id += "-" + std::to_string(*info.last_event_number);
    }
  }
  return std::nullopt;
}

std::optional<RequestProblem> classifyBundle(const fhir::Resource& resource, FhirEventInfo& info) {
  if (!resource.isBundle()) {
    return problem(
        400, "invalid",
        "a " + std::string(resource.resourceType()) + " was posted where a Bundle is expected",
        std::string(resource.resourceType()));
  }
  const std::string_view type = resource.bundleType();
  if (type.empty()) {
    return required("Bundle.type");
  }
  if (type == "message") {
    return problem(422, "not-supported", "post message Bundles to [base]/$process-message",
                   "Bundle.type");
  }
  if (type != "transaction" && type != "batch" && type != "collection" && type != "history") {
    return problem(422, "not-supported",
                   "Bundle.type must be transaction, batch, collection or history", "Bundle.type");
  }
  const auto& entries = resource.entries();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (type == "transaction" || type == "batch") {
      const fhir::Node* request = entries[i]->child("request");
      if (request == nullptr || request->childValue("method").empty() ||
          request->childValue("url").empty()) {
        return required(entryPath(i) + ".request");
      }
    }
  }
  if (isNotificationBundle(resource)) {
    return classifyNotification(resource, info);
  }
  info.message_type = "Bundle/" + std::string(type);
  info.control_id = resource.id().empty() ? "Bundle#" + contentDigest(resource.root())
                                          : "Bundle/" + std::string(resource.id());
  return std::nullopt;
}

std::optional<RequestProblem> classifySingle(const fhir::Resource& resource,
                                             std::string_view path_type, FhirEventInfo& info) {
  const std::string_view type = resource.resourceType();
  if (type != path_type) {
    return problem(
        400, "invalid",
        "the resource type does not match the type in the URL (" + std::string(path_type) + ")",
        std::string(type));
  }
  if (std::optional<RequestProblem> p = checkResource(resource.root(), std::string(type))) {
    return p;
  }
  const std::string digest = contentDigest(resource.root());
  info.message_type = std::string(type);
  if (resource.id().empty()) {
    info.control_id = std::string(type) + "#" + digest;
    return std::nullopt;
  }
  info.control_id = std::string(type) + "/" + std::string(resource.id());
  const fhir::Node* meta = resource.root().child("meta");
  const std::string_view version = meta != nullptr ? meta->childValue("versionId") : "";
  // A version id names the content; without one, the content digest does, so an update of the
  // same resource is a new event and only a byte-for-byte (or JSON/XML) resend is a duplicate.
  info.control_id += version.empty() ? "#" + digest : "/_history/" + std::string(version);
  return std::nullopt;
}

}  // namespace

std::string_view notificationTypeName(NotificationType type) {
  switch (type) {
    case NotificationType::Handshake:
      return "handshake";
    case NotificationType::Heartbeat:
      return "heartbeat";
    case NotificationType::EventNotification:
      return "event-notification";
    case NotificationType::QueryStatus:
      return "query-status";
    case NotificationType::QueryEvent:
      return "query-event";
    case NotificationType::None:
      break;
  }
  return "none";
}

bool isSupportedResourceType(std::string_view type) {
  return std::find(kSupportedTypes.begin(), kSupportedTypes.end(), type) != kSupportedTypes.end();
}

std::string contentDigest(const fhir::Node& node) {
  const std::string canonical = fhir::canonicalJson(node);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return "0";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 16 && i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

std::optional<RequestProblem> classify(const fhir::Resource& resource, Route route,
                                       std::string_view path_type, FhirEventInfo& info) {
  info = FhirEventInfo();
  info.bundle_type = std::string(resource.bundleType());
  info.entry_count = resource.entries().size();
  switch (route) {
    case Route::ProcessMessage:
      return classifyMessage(resource, info);
    case Route::Bundle:
      return classifyBundle(resource, info);
    case Route::Resource:
      return classifySingle(resource, path_type, info);
  }
  return problem(500, "exception", "unknown route", "");
}

}  // namespace gw::fhirin
