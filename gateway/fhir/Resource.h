// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/Result.h"

namespace gw::fhir {

namespace detail {
struct Storage;
class TreeBuilder;
}  // namespace detail

// One FHIR element of a parsed resource, the same whether it came from JSON or XML.
//
// Shape (FHIR R4 "JSON Representation" and "XML Representation", both mapped onto one tree):
//   - name(): the element name as written ("birthDate", "valueQuantity", "entry"). The root node
//     of a resource is named after its resource type ("Patient").
//   - value(): the primitive value as exact text, never converted. JSON numbers keep their
//     spelling ("1.50" stays "1.50", "1E-22" stays "1E-22"), booleans are "true"/"false", and XML
//     `value` attributes are taken as written. hasValue() tells an absent value from "".
//   - children(): sub-elements in document order. A repeating element (a JSON array, repeated
//     XML elements) is one child per repetition, all with the same name; there are no array
//     nodes. Element ids and extensions of a primitive (JSON `_birthDate`, XML `id` attribute and
//     `<extension>` inside `<birthDate value="...">`) are children "id" and "extension" of the
//     primitive node, which then has both a value and children. The XML `url` attribute of an
//     extension is a child "url", exactly like the JSON property.
//   - resourceType(): non-empty for a node that is a resource: the root, and every nested
//     resource (Bundle.entry.resource, contained, Parameters.parameter.resource, ...). In JSON the
//     `resourceType` property sets it (and is not a child); in XML the wrapper element
//     (<resource>, <contained>) becomes the node and the inner <Patient> element sets its type,
//     so `entry.resource` is one node in both formats.
//   - The narrative's xhtml (`text.div`) is dropped by both parsers: it is markup for humans, may
//     hold PHI, and nothing downstream reads it. `text.status` stays.
//
// Nodes are owned by their Resource and live exactly as long as it; a Node is never copied.
// Thread-safety: a Node is immutable after parsing; const access from any thread.
class Node {
 public:
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  std::string_view name() const { return name_; }
  // Non-empty when this node is a resource (see above), e.g. "Patient".
  std::string_view resourceType() const { return resource_type_; }
  bool isResource() const { return !resource_type_.empty(); }

  bool hasValue() const { return has_value_; }
  // The primitive value as exact text; "" when there is none.
  std::string_view value() const { return value_; }

  const Node* parent() const { return parent_; }
  const Node* firstChild() const { return first_child_; }
  const Node* nextSibling() const { return next_sibling_; }
  std::size_t childCount() const { return child_count_; }

  // The first child with that exact name, or nullptr.
  const Node* child(std::string_view name) const;
  // The value of the first child with that name, or "" (e.g. node.childValue("reference")).
  std::string_view childValue(std::string_view name) const;

  // Forward iteration over the children in document order: for (const Node& c : n.children()).
  class ChildIterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Node;
    using difference_type = std::ptrdiff_t;
    using pointer = const Node*;
    using reference = const Node&;
    explicit ChildIterator(const Node* node = nullptr) : node_(node) {}
    const Node& operator*() const { return *node_; }
    const Node* operator->() const { return node_; }
    ChildIterator& operator++() {
      node_ = node_->next_sibling_;
      return *this;
    }
    bool operator==(const ChildIterator& other) const { return node_ == other.node_; }
    bool operator!=(const ChildIterator& other) const { return node_ != other.node_; }

   private:
    const Node* node_;
  };
  struct ChildRange {
    const Node* first;
    ChildIterator begin() const { return ChildIterator(first); }
    ChildIterator end() const { return ChildIterator(nullptr); }
  };
  ChildRange children() const { return ChildRange{first_child_}; }

  // FHIRPath-like location from the root, for diagnostics: "Bundle.entry[3].resource.name[0]".
  // Repeated elements carry their 0-based index; single ones none. Contains no values.
  std::string path() const;

 private:
  friend class detail::TreeBuilder;
  friend struct detail::Storage;
  Node() = default;

  std::string_view name_;
  std::string_view value_;
  std::string_view resource_type_;
  Node* parent_ = nullptr;
  Node* first_child_ = nullptr;
  Node* last_child_ = nullptr;
  Node* next_sibling_ = nullptr;
  std::uint32_t child_count_ = 0;
  bool has_value_ = false;
  bool null_placeholder_ = false;  // JSON null inside an array, only while parsing
};

// A parsed FHIR resource (a Bundle or any single resource) that owns all of its nodes and their
// text. Move-only; moving keeps every Node* and string_view valid. Immutable after parsing, so
// const methods may be called from any thread.
class Resource {
 public:
  Resource(Resource&&) noexcept;
  Resource& operator=(Resource&&) noexcept;
  ~Resource();
  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;

  const Node& root() const { return *root_; }
  std::string_view resourceType() const { return root_->resourceType(); }
  // The resource's logical id (`id` element), or "".
  std::string_view id() const { return root_->childValue("id"); }

  // Bundle support (FHIR R4 Bundle). For any other resource: false, "", no entries.
  bool isBundle() const { return resourceType() == "Bundle"; }
  std::string_view bundleType() const;  // Bundle.type, e.g. "message"; "" when absent
  // Bundle.entry elements, in document order.
  const std::vector<const Node*>& entries() const;
  // The entry's resource node (entry.resource), or nullptr for an entry without one.
  static const Node* entryResource(const Node& entry) { return entry.child("resource"); }

  // Finds the resource a reference points to, following FHIR R4 Bundle 3.3.1 ("Resolving
  // references in Bundles") and References 2.3.0.1 (contained resources):
  //   - "#id": the resource with that id in the `contained` of the resource that holds `from`
  //     (its container, when `from` is inside a contained resource); "#" alone: that container.
  //   - An absolute reference (with a scheme: "urn:uuid:...", "urn:oid:...", "https://..."):
  //     the entry whose fullUrl is exactly that string.
  //   - A relative "Type/id" (a trailing "/_history/v" is ignored): when the entry holding `from`
  //     has a RESTful fullUrl ".../Type2/id2", the entry whose fullUrl is that base + reference;
  //     otherwise the entry whose resource has that type and id. A match that is not unique (two
  //     entries with the same fullUrl, or the same type and id) resolves to nothing.
  // `from` is the Reference element (or any node inside the Bundle); it may be nullptr, which
  // disables the contained and base-URL rules. Returns the resource node, or nullptr.
  const Node* resolve(std::string_view reference, const Node* from = nullptr) const;

 private:
  friend class detail::TreeBuilder;
  explicit Resource(std::unique_ptr<detail::Storage> storage);

  std::unique_ptr<detail::Storage> storage_;
  const Node* root_ = nullptr;
};

// Limits applied while parsing untrusted input. Exceeding one gives a ParseError.
struct ParseLimits {
  // Deepest nesting: JSON objects and arrays, or XML elements (narrative included).
  std::size_t max_depth = 64;
  // Longest string value, key or number (JSON) or attribute value (XML), in bytes of UTF-8.
  std::size_t max_string_bytes = 1024 * 1024;
  // Largest document, in bytes as received.
  std::size_t max_total_bytes = 10 * 1024 * 1024;
};

// Parses a FHIR R4 resource in JSON (application/fhir+json). Accepts a leading UTF-8 BOM; keeps
// numbers as exact text; requires valid UTF-8 and an object with "resourceType" at the top.
// Errors (all ParseError; messages name a location, never a value from the input):
//   - syntax errors: "invalid JSON at offset 1234 (Bundle.entry[3].resource): <reason>"
//   - invalid UTF-8: "invalid JSON at offset N (...): Invalid encoding in string."
//   - limits: "nesting deeper than 64 at Bundle.entry[3]...", "string longer than 1048576 bytes
//     at ...", "document of N bytes is larger than the limit of M bytes"
//   - shapes FHIR JSON forbids: a top level that is not an object, no or a non-string
//     resourceType, an array of arrays, a null outside the arrays that line up with `_x`
//     arrays, `_x` that is not an object, a null in both `x` and `_x` at the same index, a NUL
//     byte, numbers beyond +-1.8e308 (RapidJSON's "Number too big").
// Not checked (this is a reader, not a validator): element names and types against the R4
// definitions, and duplicate property names in one object (kept as repetitions, in order).
Result<Resource> parseJson(std::string_view bytes, const ParseLimits& limits = {});

// Parses a FHIR R4 resource in XML (application/fhir+xml) with Xerces-C. The root element and
// all content elements must be in the http://hl7.org/fhir namespace; xhtml (narrative) is
// skipped; attributes in other namespaces (xsi:schemaLocation) are ignored; text content in a
// FHIR element is an error. No DTD is ever processed: a DOCTYPE is refused before its internal
// subset is read (so no entity expansion), external entities and DTDs are never loaded (a
// refusing entity resolver, no default resolution, no external DTD, no schema loading).
// Errors (ParseError): "DOCTYPE is not allowed in FHIR XML", "root element is not in the
// http://hl7.org/fhir namespace", "malformed XML at line L, column C: <parser message>",
// limit errors as for JSON (with the element path). Thread-safe; Xerces is initialised once.
Result<Resource> parseXml(std::string_view bytes, const ParseLimits& limits = {});

// A canonical JSON rendering of a node and everything below it, equal for the same content
// whatever the source format: each element is an object with "@resourceType" (resources),
// "@value" (primitives) and one key per child name, sorted, holding the repetitions in document
// order as an array. Example: {"@resourceType":"Patient","birthDate":[{"@value":"1970-01-01"}]}.
// The node's own name is not part of it. Use it for equality, hashing and golden files.
std::string canonicalJson(const Node& node);

// True when canonicalJson(a) == canonicalJson(b), computed without building the strings.
bool equivalent(const Node& a, const Node& b);

// The first place where two trees differ, as a path relative to `a` ("Observation.meta",
// "Patient.name[1].given"), or nullopt when they are equivalent. Never contains values.
std::optional<std::string> firstDifference(const Node& a, const Node& b);

}  // namespace gw::fhir
