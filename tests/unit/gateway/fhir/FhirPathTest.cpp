// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/fhir/FhirPath.h"
#include "gateway/fhir/Resource.h"

namespace gw::fhir {
namespace {

constexpr char kBundle[] = R"({
  "resourceType": "Bundle", "id": "b1", "type": "message",
  "entry": [
    {"fullUrl": "urn:uuid:h", "resource": {"resourceType": "MessageHeader", "id": "h",
      "eventCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0003", "code": "A03"},
      "focus": [{"reference": "urn:uuid:e"}]}},
    {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "id": "p",
      "active": true,
      "name": [{"use": "official", "family": "Doe", "given": ["Jane", "Q"]},
               {"use": "nickname", "given": ["JJ"]}],
      "telecom": [{"system": "phone", "value": "555"}, {"system": "email", "value": "j@x.org"}],
      "deceasedBoolean": false,
      "communication": [{"language": {"coding": [{"code": "es"}]}, "preferred": true}]}},
    {"fullUrl": "urn:uuid:e", "resource": {"resourceType": "Encounter", "id": "e",
      "status": "finished", "subject": {"reference": "urn:uuid:p"},
      "participant": [{"individual": {"reference": "Practitioner/dr"}}]}},
    {"fullUrl": "urn:uuid:o", "resource": {"resourceType": "Observation", "id": "o",
      "status": "final", "subject": {"reference": "Patient/p"},
      "valueQuantity": {"value": 5.0, "unit": "mmol/L"},
      "component": [{"valueString": "text"}, {"valueAge": {"value": 42}},
                    {"valueCodeableConcept": {"text": "cc"}}, {"valueInteger": 3}],
      "effectiveDateTime": "2024-01-01"}},
    {"fullUrl": "urn:uuid:dr", "resource": {"resourceType": "Practitioner", "id": "dr",
      "name": [{"family": "House"}]}}
  ]
})";

class FhirPathTest : public ::testing::Test {
 protected:
  FhirPathTest() : bundle_(std::move(parseJson(kBundle)).value()) {}

  Collection eval(std::string_view path) const {
    Result<FhirPath> compiled = FhirPath::compile(path);
    if (!compiled.ok()) {
      ADD_FAILURE() << path << ": " << compiled.status().toString();
      return {};
    }
    kept_.push_back(*compiled);  // String items refer to their FhirPath
    Result<Collection> result = compiled->evaluate(bundle_);
    if (!result.ok()) {
      ADD_FAILURE() << path << ": " << result.status().toString();
      return {};
    }
    return std::move(result).value();
  }

  // Texts of the result items.
  std::vector<std::string> texts(std::string_view path) const {
    std::vector<std::string> out;
    for (const Item& item : eval(path)) {
      out.push_back(toText(item));
    }
    return out;
  }

  std::string compileError(std::string_view path) const {
    const Result<FhirPath> compiled = FhirPath::compile(path);
    EXPECT_FALSE(compiled.ok()) << path;
    if (compiled.ok()) {
      return "<compiled>";
    }
    EXPECT_EQ(compiled.status().code(), StatusCode::InvalidArgument);
    return compiled.status().message();
  }

  std::string evalError(std::string_view path) const {
    const Result<FhirPath> compiled = FhirPath::compile(path);
    EXPECT_TRUE(compiled.ok()) << compiled.status().toString();
    if (!compiled.ok()) {
      return "<not compiled>";
    }
    const Result<Collection> result = compiled->evaluate(bundle_);
    EXPECT_FALSE(result.ok()) << path;
    return result.ok() ? "<evaluated>" : result.status().message();
  }

  using Strings = std::vector<std::string>;

  Resource bundle_;
  mutable std::vector<FhirPath> kept_;
};

TEST_F(FhirPathTest, NavigationFlattensRepetitions) {
  EXPECT_EQ(texts("Bundle.entry.resource.name.given"), (Strings{"Jane", "Q", "JJ"}));
  EXPECT_EQ(texts("entry.resource.name.family"), (Strings{"Doe", "House"}));
  EXPECT_EQ(texts("Bundle.type"), (Strings{"message"}));
  EXPECT_TRUE(eval("Bundle.nothing.here").empty());
  EXPECT_EQ(texts("Bundle.`type`"), (Strings{"message"}));
}

TEST_F(FhirPathTest, LeadingTypeNameFiltersTheContext) {
  EXPECT_EQ(eval("Patient.name").size(), 0u);  // the context is a Bundle
  EXPECT_EQ(eval("Bundle").size(), 1u);
  EXPECT_EQ(eval("Resource.id").size(), 1u);
  const Node* patient = Resource::entryResource(*bundle_.entries()[1]);
  const Result<FhirPath> path = FhirPath::compile("Patient.name.family");
  ASSERT_TRUE(path.ok());
  const Result<std::string> family = path->evaluateText(*patient);
  ASSERT_TRUE(family.ok());
  EXPECT_EQ(*family, "Doe");
}

TEST_F(FhirPathTest, Indexer) {
  EXPECT_EQ(texts("Bundle.entry[1].resource.name[0].given[1]"), (Strings{"Q"}));
  EXPECT_EQ(texts("Bundle.entry.resource.name.given[2]"), (Strings{"JJ"}));
  EXPECT_TRUE(eval("Bundle.entry.resource.name.given[3]").empty());
  EXPECT_TRUE(eval("Bundle.entry[99]").empty());
}

TEST_F(FhirPathTest, FirstLastCountEmptyExists) {
  EXPECT_EQ(texts("Bundle.entry.resource.name.given.first()"), (Strings{"Jane"}));
  EXPECT_EQ(texts("Bundle.entry.resource.name.family.last()"), (Strings{"House"}));
  EXPECT_EQ(texts("Bundle.entry.count()"), (Strings{"5"}));
  EXPECT_EQ(eval("Bundle.entry.count()").front().kind(), Item::Kind::Integer);
  EXPECT_EQ(texts("Bundle.entry.empty()"), (Strings{"false"}));
  EXPECT_EQ(texts("Bundle.nothing.empty()"), (Strings{"true"}));
  EXPECT_EQ(texts("Bundle.entry.exists()"), (Strings{"true"}));
  EXPECT_EQ(texts("Bundle.nothing.exists()"), (Strings{"false"}));
  EXPECT_TRUE(eval("Bundle.nothing.first()").empty());
  EXPECT_EQ(texts("Bundle.nothing.count()"), (Strings{"0"}));
}

TEST_F(FhirPathTest, WhereWithEqualityAndLiterals) {
  EXPECT_EQ(texts("Bundle.entry.resource.name.where(use = 'official').family"),
            (Strings{"Doe"}));
  EXPECT_EQ(texts("Bundle.entry.resource.name.where(use != 'official').given"),
            (Strings{"JJ"}));  // the practitioner's name has no use: empty, not true
  EXPECT_EQ(texts("Bundle.entry.resource.telecom.where(system = 'email').value"),
            (Strings{"j@x.org"}));
  EXPECT_EQ(texts("Bundle.entry.resource.where(active = true).id"), (Strings{"p"}));
  EXPECT_EQ(texts("Bundle.entry.resource.where(deceased = false).id"), (Strings{"p"}));
  EXPECT_EQ(texts("Bundle.entry.resource.communication.where(preferred).language.coding.code"),
            (Strings{"es"}));
  EXPECT_EQ(texts("Bundle.entry.where(resource.id = 'e').fullUrl"), (Strings{"urn:uuid:e"}));
}

TEST_F(FhirPathTest, WhereWithExistsAndOrAndThis) {
  EXPECT_EQ(texts("Bundle.entry.resource.where(name.exists()).id"), (Strings{"p", "dr"}));
  EXPECT_EQ(texts("Bundle.entry.resource.where(name.exists() and active = true).id"),
            (Strings{"p"}));
  EXPECT_EQ(texts("Bundle.entry.resource.where(id = 'e' or id = 'o').id"), (Strings{"e", "o"}));
  EXPECT_EQ(texts("Bundle.entry.resource.name.given.where($this = 'Q')"), (Strings{"Q"}));
  EXPECT_EQ(texts("Bundle.entry.resource.where(telecom.exists(system = 'email')).id"),
            (Strings{"p"}));
  EXPECT_EQ(texts("Bundle.entry.resource.where((id = 'e') and (status = 'finished')).id"),
            (Strings{"e"}));
  EXPECT_EQ(texts("Bundle.entry.resource.where(status.exists().not()).id"),
            (Strings{"h", "p", "dr"}));
}

TEST_F(FhirPathTest, ThreeValuedLogic) {
  EXPECT_EQ(texts("true and false"), (Strings{"false"}));
  EXPECT_EQ(texts("true or false"), (Strings{"true"}));
  EXPECT_TRUE(eval("true and Bundle.nothing").empty());
  EXPECT_EQ(texts("false and Bundle.nothing"), (Strings{"false"}));
  EXPECT_EQ(texts("true or Bundle.nothing"), (Strings{"true"}));
  EXPECT_TRUE(eval("false or Bundle.nothing").empty());
  EXPECT_EQ(texts("Bundle.type and true"), (Strings{"true"}));  // a single non-boolean is true
}

TEST_F(FhirPathTest, EqualityRules) {
  EXPECT_EQ(texts("Bundle.type = 'message'"), (Strings{"true"}));
  EXPECT_EQ(texts("Bundle.type != 'message'"), (Strings{"false"}));
  EXPECT_TRUE(eval("Bundle.nothing = 'x'").empty());
  // Collections: same count and items in order.
  EXPECT_EQ(texts("Bundle.entry[1].resource.name[0].given = Bundle.entry[1].resource.name[0].given"),
            (Strings{"true"}));
  EXPECT_EQ(texts("Bundle.entry.resource.name.given = 'Jane'"), (Strings{"false"}));
  // Integers: count() and decimal-valued elements.
  EXPECT_EQ(texts("Bundle.entry.count() = 5"), (Strings{"true"}));
  EXPECT_EQ(texts("Bundle.entry[3].resource.value.value = 5"), (Strings{"true"}));
  EXPECT_EQ(texts("Bundle.entry[3].resource.value.value = '5'"), (Strings{"false"}));  // text
  EXPECT_EQ(texts("Bundle.entry[3].resource.value.value = '5.0'"), (Strings{"true"}));
  // Elements without values compare as trees.
  EXPECT_EQ(texts("Bundle.entry[1].resource.name[0] = Bundle.entry[1].resource.name[0]"),
            (Strings{"true"}));
  EXPECT_EQ(texts("Bundle.entry[1].resource.name[0] = Bundle.entry[1].resource.name[1]"),
            (Strings{"false"}));
  EXPECT_EQ(texts("'a' = 'a'"), (Strings{"true"}));
  EXPECT_EQ(texts("1 = 1"), (Strings{"true"}));
  EXPECT_EQ(texts("'1' = 1"), (Strings{"false"}));
}

TEST_F(FhirPathTest, ChoiceTypesAndOfType) {
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Observation).value.unit"), (Strings{"mmol/L"}));
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Observation).value.ofType(Quantity).value"),
            (Strings{"5.0"}));
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Observation).component.value.ofType(string)"),
            (Strings{"text"}));
  // Age is a Quantity; integer is not.
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Observation).component.value.ofType(Quantity).value"),
            (Strings{"42"}));
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Observation).component.value.ofType(FHIR.integer)"),
            (Strings{"3"}));
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Observation).effective"), (Strings{"2024-01-01"}));
  EXPECT_EQ(eval("Bundle.entry.resource.ofType(Observation).effective").front().type(),
            "dateTime");
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Patient).deceased"), (Strings{"false"}));
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Resource).count()"), (Strings{"5"}));
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Patient).name.family"), (Strings{"Doe"}));
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Encounter).status"), (Strings{"finished"}));
}

TEST_F(FhirPathTest, As) {
  EXPECT_EQ(texts("Bundle.entry[3].resource.value.as(Quantity).unit"), (Strings{"mmol/L"}));
  EXPECT_TRUE(eval("Bundle.entry[3].resource.value.as(string)").empty());
  EXPECT_EQ(texts("Bundle.entry[1].resource.as(Patient).id"), (Strings{"p"}));
  EXPECT_EQ(evalError("Bundle.entry.resource.as(Patient)"),
            "FHIRPath column 23: as() needs at most one item, got 5 (use ofType())");
}

TEST_F(FhirPathTest, OfTypeOnAnElementOfUnknownTypeIsAnError) {
  EXPECT_EQ(evalError("Bundle.entry[1].resource.name.ofType(HumanName)"),
            "FHIRPath column 31: ofType(): the type of Bundle.entry[1].resource.name[0] is not "
            "known (only resources and choice elements reached through their base name carry a "
            "type)");
}

TEST_F(FhirPathTest, ResolveInsideTheBundle) {
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(MessageHeader).focus.resolve().status"),
            (Strings{"finished"}));
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Encounter).subject.resolve().name.where("
                  "use = 'official').family"),
            (Strings{"Doe"}));
  // Relative Type/id, and a chain of two resolves.
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(Observation).subject.resolve().id"),
            (Strings{"p"}));
  EXPECT_EQ(texts("Bundle.entry.resource.ofType(MessageHeader).focus.resolve()"
                  ".participant.individual.resolve().name.family"),
            (Strings{"House"}));
  EXPECT_EQ(eval("Bundle.entry.resource.ofType(MessageHeader).focus.resolve()").front().type(),
            "Encounter");
  // A reference's value resolves too (e.g. a canonical or fullUrl).
  EXPECT_EQ(texts("Bundle.entry[2].fullUrl.resolve().id"), (Strings{"e"}));
}

TEST_F(FhirPathTest, ResolveWithoutAResourceIsAnError) {
  const Result<FhirPath> path = FhirPath::compile("subject.resolve()");
  ASSERT_TRUE(path.ok());
  const Node* encounter = Resource::entryResource(*bundle_.entries()[2]);
  const Result<Collection> result = path->evaluate(*encounter);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "FHIRPath column 9: resolve() needs the Resource in the EvalContext");
  EvalContext context;
  context.resource = &bundle_;
  const Result<Collection> resolved = path->evaluate(*encounter, context);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(toText(*resolved), "p");  // the first primitive below the Patient: its id
}

TEST_F(FhirPathTest, SingletonErrorsAreReported) {
  EXPECT_EQ(evalError("Bundle.entry.resource.where(name.given)"),
            "FHIRPath column 23: where() criteria needs a single item, got 3");
  EXPECT_EQ(evalError("Bundle.entry.resource.name.given and true"),
            "FHIRPath column 34: 'and' needs a single item, got 3");
}

TEST_F(FhirPathTest, ToTextRendersTheFirstPrimitive) {
  EXPECT_EQ(toText(eval("Bundle.entry[1].resource.name")), "official");
  EXPECT_EQ(toText(eval("Bundle.nothing")), "");
  EXPECT_EQ(toText(eval("'lit'")), "lit");
  EXPECT_EQ(toText(eval("true")), "true");
  EXPECT_EQ(toText(eval("Bundle.entry.count()")), "5");
}

TEST_F(FhirPathTest, SelectAndEvaluateBoolean) {
  const Result<std::vector<const Node*>> nodes =
      evaluate("Bundle.entry.resource.ofType(Patient).telecom", bundle_.root(), {&bundle_});
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[1]->childValue("value"), "j@x.org");

  const Result<std::vector<const Node*>> computed = evaluate("Bundle.entry.exists()", bundle_.root());
  ASSERT_FALSE(computed.ok());
  EXPECT_EQ(computed.status().message(),
            "FHIRPath 'Bundle.entry.exists()' yields a boolean, not elements");

  const Result<FhirPath> condition =
      FhirPath::compile("Bundle.entry.resource.ofType(Encounter).status = 'finished'");
  ASSERT_TRUE(condition.ok());
  const Result<std::optional<bool>> value = condition->evaluateBoolean(bundle_.root());
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, std::optional<bool>(true));
  const Result<FhirPath> missing = FhirPath::compile("Bundle.nothing = 'x'");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing->evaluateBoolean(bundle_.root()), std::nullopt);
  const Result<FhirPath> many = FhirPath::compile("Bundle.entry");
  ASSERT_TRUE(many.ok());
  EXPECT_FALSE(many->evaluateBoolean(bundle_.root()).ok());
}

TEST_F(FhirPathTest, CompiledPathIsReusableAndCopyable) {
  const Result<FhirPath> path = FhirPath::compile("name.where(use = 'official').family");
  ASSERT_TRUE(path.ok());
  const FhirPath copy = *path;
  EXPECT_EQ(copy.text(), "name.where(use = 'official').family");
  const Node* patient = Resource::entryResource(*bundle_.entries()[1]);
  const Node* practitioner = Resource::entryResource(*bundle_.entries()[4]);
  EXPECT_EQ(*copy.evaluateText(*patient), "Doe");
  EXPECT_EQ(*path->evaluateText(*practitioner), "");
}

TEST_F(FhirPathTest, StringLiteralEscapes) {
  EXPECT_EQ(texts(R"('it\'s \u00e9\n')"), (Strings{"it's \xC3\xA9\n"}));
}

TEST_F(FhirPathTest, CompileErrorsCarryAColumn) {
  EXPECT_EQ(compileError("Patient.name.substring(0)"),
            "FHIRPath column 14: function 'substring' is not supported");
  EXPECT_EQ(compileError("name | telecom"), "FHIRPath column 6: operator '|' is not supported");
  EXPECT_EQ(compileError("a > 1"), "FHIRPath column 3: operator '>' is not supported");
  EXPECT_EQ(compileError("a <= 1"), "FHIRPath column 3: operator '<=' is not supported");
  EXPECT_EQ(compileError("a + 1"), "FHIRPath column 3: operator '+' is not supported");
  EXPECT_EQ(compileError("a xor b"), "FHIRPath column 3: operator 'xor' is not supported");
  EXPECT_EQ(compileError("a implies b"), "FHIRPath column 3: operator 'implies' is not supported");
  EXPECT_EQ(compileError("value is Quantity"), "FHIRPath column 7: operator 'is' is not supported");
  EXPECT_EQ(compileError("value as Quantity"), "FHIRPath column 7: operator 'as' is not supported");
  EXPECT_EQ(compileError("a ~ b"), "FHIRPath column 3: operator '~' is not supported");
  EXPECT_EQ(compileError("value = 1.5"), "FHIRPath column 9: decimal literals are not supported");
  EXPECT_EQ(compileError("value = 5 'mg'"),
            "FHIRPath column 9: quantity literals are not supported");
  EXPECT_EQ(compileError("birthDate = @2020"),
            "FHIRPath column 13: date/time literals are not supported");
  EXPECT_EQ(compileError("%resource.id"),
            "FHIRPath column 1: environment variables (%name) are not supported");
  EXPECT_EQ(compileError("name.where($index = 0)"),
            "FHIRPath column 12: '$index' is not supported (only $this)");
  EXPECT_EQ(compileError("name.where(use = 'x'"), "FHIRPath column 21: expected ')'");
  EXPECT_EQ(compileError("name.where()"), "FHIRPath column 12: where() needs an argument");
  EXPECT_EQ(compileError("name.first(1)"), "FHIRPath column 12: first() takes no arguments");
  EXPECT_EQ(compileError("name.exists(a, b)"), "FHIRPath column 14: exists() takes one argument");
  EXPECT_EQ(compileError("value.ofType(Quantiti)"),
            "FHIRPath column 14: unknown or unsupported type 'Quantiti' in ofType() (resource "
            "types, Resource, DomainResource and choice data types are supported)");
  EXPECT_EQ(compileError("value.ofType(System.String)"),
            "FHIRPath column 14: only FHIR types are supported, not 'System'");
  EXPECT_EQ(compileError("Patinet.name"), "FHIRPath column 1: unknown type 'Patinet'");
  EXPECT_EQ(compileError("entry.Resource"),
            "FHIRPath column 7: 'Resource': element names start with a lower-case letter (use "
            "ofType(Resource) to filter by type)");
  EXPECT_EQ(compileError("name[a]"), "FHIRPath column 6: an index must be an integer literal");
  EXPECT_EQ(compileError("name."), "FHIRPath column 6: expected a name or function after '.'");
  EXPECT_EQ(compileError("name given"), "FHIRPath column 6: unexpected token");
  EXPECT_EQ(compileError(""), "FHIRPath column 1: empty expression");
  EXPECT_EQ(compileError("name = 'abc"), "FHIRPath column 8: unterminated string literal");
  EXPECT_EQ(compileError("name = \"abc\""),
            "FHIRPath column 8: strings are written in single quotes");
  EXPECT_EQ(compileError("name // comment"), "FHIRPath column 6: comments are not supported");
  EXPECT_EQ(compileError("{}"), "FHIRPath column 1: collection literals are not supported");
  EXPECT_EQ(compileError("name)"), "FHIRPath column 5: unexpected ')'");
}

TEST_F(FhirPathTest, DeepNestingIsACompileError) {
  EXPECT_EQ(texts("((((Bundle.type))))"), (Strings{"message"}));
  const std::string deep = std::string(100000, '(') + "type" + std::string(100000, ')');
  EXPECT_EQ(compileError(deep), "FHIRPath column 33: expression nested more than 32 levels deep");
}

TEST_F(FhirPathTest, CompileErrorHasAPosition) {
  const Result<FhirPath> compiled = FhirPath::compile("name.substring(0)");
  ASSERT_FALSE(compiled.ok());
  ASSERT_TRUE(compiled.status().position().has_value());
  EXPECT_EQ(compiled.status().position()->line, 1);
  EXPECT_EQ(compiled.status().position()->column, 6);
}

}  // namespace
}  // namespace gw::fhir
