// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/Result.h"
#include "gateway/fhir/Resource.h"

namespace gw::fhir {

namespace detail {
struct Program;
}  // namespace detail

// One item of a FHIRPath result: an element of the tree, or a value the expression computed
// (a Boolean from exists()/=/and, an Integer from count(), a literal). Trivially copyable; a
// Node item is valid while its Resource lives, a String item while its FhirPath lives.
class Item {
 public:
  enum class Kind { Node, Boolean, Integer, String };

  static Item node(const Node& node, std::string_view type = std::string_view()) {
    Item item(Kind::Node);
    item.node_ = &node;
    item.type_ = type;
    return item;
  }
  static Item boolean(bool value) {
    Item item(Kind::Boolean);
    item.integer_ = value ? 1 : 0;
    return item;
  }
  static Item integer(std::int64_t value) {
    Item item(Kind::Integer);
    item.integer_ = value;
    return item;
  }
  static Item string(std::string_view value) {
    Item item(Kind::String);
    item.string_ = value;
    return item;
  }

  Kind kind() const { return kind_; }
  const Node* node() const { return node_; }  // nullptr unless Kind::Node
  bool booleanValue() const { return integer_ != 0; }
  std::int64_t integerValue() const { return integer_; }
  std::string_view stringValue() const { return string_; }

  // The FHIR type the evaluator knows: a resource's type ("Patient"); for an element reached
  // through a choice name, the type from its name (navigating `value` to `valueQuantity` gives
  // "Quantity", to `valueDateTime` "dateTime"); "boolean", "integer" or "string" for computed
  // values; "" when unknown (any other element: this subset has no FHIR type model).
  std::string_view type() const;

 private:
  explicit Item(Kind kind) : kind_(kind) {}
  Kind kind_;
  const Node* node_ = nullptr;
  std::string_view type_;
  std::string_view string_;
  std::int64_t integer_ = 0;
};

using Collection = std::vector<Item>;

struct EvalContext {
  // The resource the context node belongs to; resolve() looks references up in it (a Bundle's
  // entries, contained resources). Without it, resolve() is an evaluation error.
  const Resource* resource = nullptr;
};

// A compiled FHIRPath expression (the subset below), compiled once and evaluated many times.
// Copies share the compiled program; evaluation is const and thread-safe.
//
// Supported (FHIRPath N1, http://hl7.org/fhirpath/N1/), exactly:
//   - Navigation `Patient.name.given`: an identifier (or `backtick` identifier) selects the
//     children with that name, in document order, flattening repetitions. A name also selects
//     choice elements `name<Type>` for the R4 choice data types (`value` matches valueString,
//     valueQuantity, valueCodeableConcept, ...; see the type list in FhirPath.cpp), which then
//     carry that type for ofType()/as().
//   - A leading type name (an upper-case identifier: `Patient.name`, `Bundle.entry`) keeps the
//     context only when it is a resource of that type (Resource/DomainResource match any).
//   - Indexer `[n]` with an integer literal (0-based).
//   - Literals: 'string' (escapes \' \" \\ \/ \f \n \r \t \uXXXX), true, false, integers.
//   - `$this`: the item where()/exists() is testing; at the top level, the context.
//   - `a = b`, `a != b`: empty when either side is empty; false when the counts differ;
//     otherwise item by item: primitive text compared exactly ('1.0' = '1.00' is false, codes
//     and ids are compared as sent), except that an Integer (literal or count()) equals an
//     element whose text is the same decimal number (count() = 2, value = 5 with "5.0");
//     elements without a value compare as trees (equivalent()); booleans as "true"/"false".
//   - `and`, `or` with FHIRPath three-valued logic on singletons (empty = unknown). A single
//     item that is not a boolean counts as true; more than one item is an evaluation error.
//   - Functions: where(criteria), exists(), exists(criteria), empty(), count(), first(), last(),
//     not(), ofType(Type), as(Type), resolve().
//     ofType(T) keeps the items of type T (or a subtype: Age/Count/Distance/Duration/
//     SimpleQuantity/MoneyQuantity are Quantity; code/id/markdown are string; url/canonical/oid/
//     uuid are uri; positiveInt/unsignedInt are integer); T is an R4 resource type, Resource,
//     DomainResource, or a choice data type, optionally prefixed `FHIR.`. An item whose type is
//     not known (an element reached by its exact name) is an evaluation error, never a silent
//     "no match". as(T) is ofType(T) on at most one item (more is an evaluation error).
//     resolve() maps each Reference (its `reference`), or each uri/canonical value, to the
//     resource it names through Resource::resolve() (Bundle entries, contained resources);
//     references that resolve to nothing are dropped.
//   - Parentheses for grouping.
// Anything else is a compile error with a column: other functions (substring, select, ...),
// operators (| + - * / < > <= >= ~ !~ & is as in contains implies xor div mod), decimal,
// date/time and quantity literals, %variables, $index/$total, comments, unknown type names,
// member names starting with an upper-case letter (no FHIR element does), and parentheses or
// function arguments nested more than 32 deep.
class FhirPath {
 public:
  // Errors: InvalidArgument "FHIRPath column N: <what>" (1-based column), with the position
  // also in status.position() (line 1, that column, empty file) for callers to rebase.
  static Result<FhirPath> compile(std::string_view text);

  // Evaluates with `context` as the input collection and $this. Errors: InvalidArgument
  // "FHIRPath column N: <what>" for the evaluation errors listed above.
  Result<Collection> evaluate(const Node& context, const EvalContext& eval = {}) const;
  // Evaluates on the root of `resource`, with `resource` for resolve().
  Result<Collection> evaluate(const Resource& resource) const;

  // As evaluate(), keeping the nodes; a computed value in the result (a Boolean, Integer or
  // String) is an InvalidArgument error, since it is not an element.
  Result<std::vector<const Node*>> select(const Node& context, const EvalContext& eval = {}) const;

  // The result rendered by toText(const Collection&): "" when empty.
  Result<std::string> evaluateText(const Node& context, const EvalContext& eval = {}) const;

  // The result as a boolean with FHIRPath singleton rules: nullopt when empty, the value of a
  // single Boolean (or "true"/"false" element), true for any other single item; more than one
  // item is an InvalidArgument error.
  Result<std::optional<bool>> evaluateBoolean(const Node& context,
                                              const EvalContext& eval = {}) const;

  // The text it was compiled from.
  const std::string& text() const;

 private:
  explicit FhirPath(std::shared_ptr<const detail::Program> program)
      : program_(std::move(program)) {}
  std::shared_ptr<const detail::Program> program_;
};

// Compiles and evaluates in one step, keeping only elements (as FhirPath::select()); compile
// errors as FhirPath::compile(). For repeated use, compile once.
Result<std::vector<const Node*>> evaluate(std::string_view path, const Node& context,
                                          const EvalContext& eval = {});

// Text of one item: a primitive element's value; for an element without a value, the first
// value below it in document order (Patient.name -> its first family/given/...); "" if none;
// "true"/"false" for Booleans; decimal digits for Integers; a String as it is.
std::string toText(const Item& item);
// Text of the first item, or "" for an empty collection.
std::string toText(const Collection& items);

}  // namespace gw::fhir
