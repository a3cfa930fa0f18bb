// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gw::fhirin {

// A resource the gateway writes (OperationOutcome, response Bundle, CapabilityStatement), built
// once and rendered as FHIR JSON or FHIR XML. Only what our responses need: primitives are
// strings (or JSON booleans/numbers), elements repeat when marked `repeats`.
struct OutElement {
  std::string name;
  std::string value;
  bool has_value = false;
  bool json_literal = false;  // boolean or number: unquoted in JSON
  bool repeats = false;       // FHIR max cardinality * : always a JSON array
  std::string resource_type;  // non-empty: this element is (or holds) a resource
  std::vector<OutElement> children;

  OutElement& add(OutElement child) {
    children.push_back(std::move(child));
    return children.back();
  }
};

OutElement resource(std::string type);
OutElement element(std::string name, std::vector<OutElement> children = {});
OutElement primitive(std::string name, std::string value);
OutElement boolean(std::string name, bool value);
OutElement integer(std::string name, long long value);
// The element marked as repeating (a JSON array even with one item).
OutElement repeated(OutElement e);

enum class Format { Json, Xml };

// FHIR JSON (resourceType first) or FHIR XML (namespace http://hl7.org/fhir, `value`
// attributes) of a resource made with resource().
std::string render(const OutElement& resource, Format format);
std::string_view contentType(Format format);

}  // namespace gw::fhirin
