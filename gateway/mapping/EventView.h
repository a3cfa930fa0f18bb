// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/Result.h"
#include "gateway/fhir/FhirPath.h"
#include "gateway/fhir/Resource.h"
#include "gateway/hl7/Message.h"

namespace gw::mapping {

// Where an inbound event came from; decides the path language of a mapping.
enum class EventSource { Hl7v2, Fhir };
std::string_view eventSourceName(EventSource source);  // "hl7v2" / "fhir"

// A path compiled once (when a mapping is loaded) and evaluated on many events.
//   - HL7 v2: the gw_hl7 path language ("PID-5.2", "PID-13[.2=NET].4", "OBX[*]-5").
//   - FHIR: the gw_fhir FHIRPath subset. A path that starts with a resource type
//     ("Encounter.subject.resolve().name.given") is evaluated on the first resource of that type
//     in the event (the root, else the Bundle entries in order); any other path on the root.
// Copyable; evaluation is const and thread-safe.
class EventPath {
 public:
  // Errors: InvalidArgument naming what is wrong (for FHIR with the column inside the path).
  static Result<EventPath> compile(EventSource source, std::string_view text);

  EventSource source() const { return source_; }
  const std::string& text() const { return text_; }
  // True when the path can select several values (HL7 '*', or any FHIR path).
  bool many() const { return many_; }
  // FHIR: the leading resource type, "" when the path does not start with one.
  const std::string& resourceType() const { return resource_type_; }
  const fhir::FhirPath* fhirPath() const { return fhir_ ? &*fhir_ : nullptr; }

 private:
  EventSource source_ = EventSource::Hl7v2;
  std::string text_;
  bool many_ = false;
  std::string resource_type_;
  std::optional<fhir::FhirPath> fhir_;
};

// One inbound event as mappings see it (DESIGN.md section 6): the engine asks paths and never
// cares whether the event is HL7 v2 or FHIR. Implementations refer to a parsed event that must
// outlive the view. Thread-safety: const methods may be called concurrently.
class EventView {
 public:
  EventView() = default;
  virtual ~EventView() = default;
  EventView(const EventView&) = delete;
  EventView& operator=(const EventView&) = delete;

  virtual EventSource source() const = 0;
  // True when the event is of that kind: an HL7 message type "ADT^A03" (MSH-9.1^MSH-9.2; "ADT"
  // alone matches any trigger), or for FHIR a resource type present as the root or in a Bundle.
  virtual bool isEvent(std::string_view event) const = 0;
  // What the event is, for "no mapping matched" reasons (never PHI): "ADT^A03", "Bundle/message".
  virtual std::string describe() const = 0;
  // Every value the path selects, as text, in document order (empty values of an HL7 '*' path
  // are kept so lists line up). Errors: InvalidArgument for a FHIR evaluation error, or a path
  // compiled for the other source.
  virtual Result<std::vector<std::string>> values(const EventPath& path) const = 0;
  // The first value, or "" when the path selects nothing.
  virtual Result<std::string> first(const EventPath& path) const = 0;
};

// A view over a parsed HL7 v2 message (which must outlive it, as must its bytes).
class Hl7EventView final : public EventView {
 public:
  explicit Hl7EventView(const hl7::Message& message) : message_(message) {}

  EventSource source() const override { return EventSource::Hl7v2; }
  bool isEvent(std::string_view event) const override;
  std::string describe() const override { return message_.messageType(); }
  Result<std::vector<std::string>> values(const EventPath& path) const override;
  Result<std::string> first(const EventPath& path) const override;

 private:
  const hl7::Message& message_;
};

// A view over a parsed FHIR resource or Bundle (which must outlive it).
class FhirEventView final : public EventView {
 public:
  explicit FhirEventView(const fhir::Resource& resource);

  EventSource source() const override { return EventSource::Fhir; }
  bool isEvent(std::string_view event) const override;
  std::string describe() const override;
  Result<std::vector<std::string>> values(const EventPath& path) const override;
  Result<std::string> first(const EventPath& path) const override;

 private:
  // The node a path is evaluated on (see EventPath), or nullptr when the event has no resource
  // of the path's leading type.
  const fhir::Node* contextFor(const EventPath& path) const;

  const fhir::Resource& resource_;
  std::vector<const fhir::Node*> resources_;  // root, then the Bundle's entry resources
};

}  // namespace gw::mapping
