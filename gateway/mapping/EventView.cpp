// SPDX-License-Identifier: Apache-2.0
#include "gateway/mapping/EventView.h"

#include <cctype>

#include "gateway/hl7/Path.h"

namespace gw::mapping {

std::string_view eventSourceName(EventSource source) {
  return source == EventSource::Hl7v2 ? "hl7v2" : "fhir";
}

Result<EventPath> EventPath::compile(EventSource source, std::string_view text) {
  EventPath path;
  path.source_ = source;
  path.text_ = std::string(text);
  if (text.empty()) {
    return Status::invalidArgument("empty path");
  }
  if (source == EventSource::Hl7v2) {
    hl7::detail::PathSpec spec;
    if (!hl7::detail::parsePath(text, spec)) {
      return Status::invalidArgument("\"" + std::string(text) +
                                     "\" is not an HL7 v2 path (expected e.g. PID-5.2, "
                                     "PID-13[.2=NET].4, OBX[*]-5)");
    }
    path.many_ = text.find('*') != std::string_view::npos;
    return path;
  }
  Result<fhir::FhirPath> compiled = fhir::FhirPath::compile(text);
  if (!compiled.ok()) {
    return Status::invalidArgument("\"" + std::string(text) + "\" is not a supported FHIRPath: " +
                                   compiled.status().message());
  }
  path.fhir_ = std::move(compiled).value();
  path.many_ = true;
  // A leading upper-case identifier is a resource type (FHIR elements start in lower case).
  if (std::isupper(static_cast<unsigned char>(text.front())) != 0) {
    std::size_t end = 0;
    while (end < text.size() && std::isalnum(static_cast<unsigned char>(text[end])) != 0) {
      ++end;
    }
    path.resource_type_ = std::string(text.substr(0, end));
  }
  return path;
}

bool Hl7EventView::isEvent(std::string_view event) const {
  const std::string type = message_.messageType();
  if (type == event) {
    return true;
  }
  // "ADT" matches every ADT trigger.
  return event.find('^') == std::string_view::npos && type.size() > event.size() &&
         type.compare(0, event.size(), event) == 0 && type[event.size()] == '^';
}

Result<std::vector<std::string>> Hl7EventView::values(const EventPath& path) const {
  if (path.source() != EventSource::Hl7v2) {
    return Status::invalidArgument("FHIRPath used on an HL7 v2 event");
  }
  if (path.many()) {
    return message_.getAll(path.text());
  }
  std::vector<std::string> out;
  std::string value = message_.get(path.text());
  if (!value.empty()) {
    out.push_back(std::move(value));
  }
  return out;
}

Result<std::string> Hl7EventView::first(const EventPath& path) const {
  if (path.source() != EventSource::Hl7v2) {
    return Status::invalidArgument("FHIRPath used on an HL7 v2 event");
  }
  return message_.get(path.text());
}

FhirEventView::FhirEventView(const fhir::Resource& resource) : resource_(resource) {
  resources_.push_back(&resource.root());
  for (const fhir::Node* entry : resource.entries()) {
    if (const fhir::Node* r = fhir::Resource::entryResource(*entry); r != nullptr) {
      resources_.push_back(r);
    }
  }
}

bool FhirEventView::isEvent(std::string_view event) const {
  for (const fhir::Node* r : resources_) {
    if (r->resourceType() == event) {
      return true;
    }
  }
  return false;
}

std::string FhirEventView::describe() const {
  std::string out(resource_.resourceType());
  if (resource_.isBundle() && !resource_.bundleType().empty()) {
    out += "/" + std::string(resource_.bundleType());
  }
  return out;
}

const fhir::Node* FhirEventView::contextFor(const EventPath& path) const {
  if (path.resourceType().empty() || path.resourceType() == "Resource" ||
      path.resourceType() == "DomainResource") {
    return resources_.front();
  }
  for (const fhir::Node* r : resources_) {
    if (r->resourceType() == path.resourceType()) {
      return r;
    }
  }
  return nullptr;
}

Result<std::vector<std::string>> FhirEventView::values(const EventPath& path) const {
  if (path.fhirPath() == nullptr) {
    return Status::invalidArgument("HL7 v2 path used on a FHIR event");
  }
  std::vector<std::string> out;
  const fhir::Node* context = contextFor(path);
  if (context == nullptr) {
    return out;
  }
  fhir::EvalContext eval;
  eval.resource = &resource_;
  GW_ASSIGN_OR_RETURN(fhir::Collection items, path.fhirPath()->evaluate(*context, eval));
  out.reserve(items.size());
  for (const fhir::Item& item : items) {
    out.push_back(fhir::toText(item));
  }
  return out;
}

Result<std::string> FhirEventView::first(const EventPath& path) const {
  GW_ASSIGN_OR_RETURN(std::vector<std::string> all, values(path));
  return all.empty() ? std::string() : std::move(all.front());
}

}  // namespace gw::mapping
